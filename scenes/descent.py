"""descent: the ball rolls down the training path, the camera slowly turns, a pause at the minimum.

Options (``--option key=value``): ``easing`` (ease-in-out, linear, ease-in,
ease-out or steps: follow the optimizer's step count), ``roll`` (seconds of
rolling), ``hold`` (seconds at the minimum), ``sweep`` (degrees the camera
turns over the whole film), ``fade`` (fade the old part of the trail),
``smooth`` (smooth a noisy path over this many snapshots), ``inset`` (a
small plot of the 1-D view in the upper-right corner: the loss along the
straight line from the initial to the final parameters and along the path,
with a dot that follows the ball; where the landscape has no line view it is
left out), ``sharpness`` (where the landscape measured the top Hessian
eigenvalue along the path, ``lossfilm landscape --sharpness``: ``inset`` draws
it in a small plot with the optimizer's stability line, 2/eta for SGD,
``hud`` adds its last measured value to the counters, ``both`` does both;
``off`` by default), plus the common ``camera``, ``orbit``, ``floor`` and
``title``.
"""

from lossfilm.format.errors import ConfigError
from lossfilm.format.declared.options import Option
from lossfilm.format.declared.values import Choice, Flag
from lossfilm.render.framework.animation import FadeIn, Roll
from lossfilm.render.overlays.segment_view import has_line
from lossfilm.render.framework.scene import Scene
from lossfilm.render.framework.scene_options import EASING, FADE, HOLD, INTRO, RUN, SMOOTH, SWEEP
from lossfilm.render.overlays.sharpness_view import has_sharpness, hud_line

SHARPNESS = ("off", "inset", "hud", "both")  # the sharpness option's choices


class Descent(Scene):
    """The ball rolls down the path with a growing trail; the end marker appears at the minimum."""

    options = {
        "easing": EASING,
        "intro": INTRO.but(default=0.5),
        "roll": RUN.but(name="roll", default=5.9, help="seconds of rolling"),
        "hold": HOLD.but(default=1.6),
        "sweep": SWEEP.but(default=36.0),
        "fade": FADE,
        "smooth": SMOOTH,
        "inset": Option("inset", Flag(), False, "a small plot of the loss along the straight line and the path"),
        "sharpness": Option("sharpness", Choice(SHARPNESS), "off",
                            "the measured top Hessian eigenvalue: a small plot (inset), a counter (hud) or both"),
    }
    inset_rect = (0.66, 0.64, 0.19, 0.19)  # the inset's axes: (left, bottom, width, height) of the frame
    below_inset_rect = (0.66, 0.34, 0.19, 0.19)  # a second inset, under the first
    beside_inset_frame = (0.02, 0.03, 0.6, 0.89)  # the surface's part of the frame when there is an inset

    def construct(self):
        self.add_surface()
        path = self.add_path(smooth=self.option("smooth"))
        trail = self.add_trail(fade=self.option("fade"))
        ball = self.add_ball(at=0.0)
        _, end = self.add_markers()
        hud = self.add_hud()
        line_inset = self.option("inset") and has_line(self.landscape)
        if line_inset:
            hud.followers.append(self.add_line_view(self.inset_rect, panel=True, x_label="0 = initial, 1 = final"))
        sharpness = self.sharpness_choice()
        if sharpness in ("inset", "both"):
            rect = self.below_inset_rect if line_inset else self.inset_rect
            hud.followers.append(self.add_sharpness_view(rect, panel=True, x_label="share of steps", short=True))
        if sharpness in ("hud", "both"):
            hud.extra_lines.append(hud_line(self.landscape))
        # an inset takes the upper right: the surface keeps to the left of it, so no path runs under the panel
        camera = self.add_camera(frame=self.beside_inset_frame if hud.followers else None)
        end.set_opacity(0.0)  # it appears when the ball arrives

        intro, roll, hold = self.option("intro"), self.option("roll"), self.option("hold")
        turn = self.steady_turn(camera, intro + roll + hold)

        rolling = Roll(ball, path, trail, hud, to=1.0, easing=self.option("easing"))
        if intro > 0:  # the ball waits at the start (a Roll not yet begun shows its start)
            self.play(*turn(intro), run_time=intro) if turn.turning else self.wait(intro)
        self.play(rolling, *turn(roll), run_time=roll)
        if hold > 0:
            appear = min(0.6, hold)
            self.play(FadeIn(end), *turn(appear), run_time=appear)
            rest = hold - appear
            if rest > 0:
                self.play(*turn(rest), run_time=rest) if turn.turning else self.wait(rest)

    def sharpness_choice(self):
        """The ``sharpness`` option (its declaration checked the choice): a landscape without sharpness cannot draw it."""
        choice = self.option("sharpness")
        if choice != "off" and not has_sharpness(self.landscape):
            raise ConfigError(f"option sharpness={choice}: the landscape has no sharpness along the path; "
                              "make it with lossfilm landscape --sharpness")
        return choice
