"""race: several optimizers race down one surface, a ball and a trail each, on one clock of optimizer steps.

The landscape holds several paths on one plane (``lossfilm race`` makes
it). Every ball is driven by the same clock: at each moment all balls are
at the same optimizer step, so the one ahead got further in as many steps.
A path with fewer steps finishes first and waits at its end (its finish ring
appears); the film waits for the last one. The surface takes a quiet
colormap so that the balls' colour-blind-safe colours stand out; the legend
in the lower-left corner gives each path's name, colour and loss now.

Options (``--option key=value``): ``clock`` (linear, sqrt or log: how time
runs through the steps; sqrt and log give the first steps, where most of the
descent happens, more time), ``easing`` (linear, ease-in-out, ease-in,
ease-out, on top of the clock), ``intro`` (seconds before the start),
``run`` (seconds of racing), ``hold`` (seconds at the end), ``sweep``
(degrees the camera turns over the whole film), ``fade`` (fade the old part
of the trails), ``smooth`` (smooth noisy paths over this many snapshots),
``colormap`` (race: the quiet one; theme: the theme's own), plus the common
``camera``, ``orbit``, ``floor`` and ``title``.
"""

from lossfilm.render.framework.animation import Race
from lossfilm.render.overlays.hud import find_setting
from lossfilm.render.overlays.segment_view import between_of
from lossfilm.format.declared.options import Option
from lossfilm.format.declared.values import Choice
from lossfilm.render.framework.race_scene import RaceScene
from lossfilm.render.framework.scene_options import CLOCK, EASING, FADE, HOLD, INTRO, RUN, SMOOTH, SWEEP
from lossfilm.render.elements.theme import for_race


class OptimizerRace(RaceScene):
    """A ball and a trail per path, a legend with live losses, a slow camera turn, a pause at the end."""

    options = {
        "clock": CLOCK,
        "easing": EASING.but(default="linear"),
        "intro": INTRO.but(default=0.6),
        "run": RUN.but(default=7.8),
        "hold": HOLD.but(default=1.6),
        "sweep": SWEEP.but(default=40.0),
        "fade": FADE,
        "smooth": SMOOTH,
        "colormap": Option("colormap", Choice(("race", "theme")), "race",
                           "the surface's colours: quiet ones that leave the racers' colours apart, or the theme's"),
    }
    quantity = "loss"  # what the legend's numbers are

    def construct(self):
        self.set_up()
        self.race()

    def choose_theme(self, theme):
        """The theme with its quiet race colormap (``colormap=race``), or as it is (``colormap=theme``)."""
        return for_race(theme) if self.option("colormap") == "race" else theme

    def set_up(self):
        """Surface, paths, runners, markers, text and camera (everything before the clock starts)."""
        self.add_surface()
        self.add_paths(smooth=self.option("smooth"))
        self.add_runners(fade=self.option("fade"))
        self.add_start_markers()
        self.add_hud(counters=False, title_text=self.title_text(), subtitle=self.subtitle_text(),
                     bar_title=self.bar_title())
        self.add_legend(quantity=self.quantity, keys=self.legend_keys())
        self.add_camera()

    def race(self):
        """The timeline: a moment at the start, the race, a pause at the end; the camera turns throughout."""
        camera = self.camera
        intro, run, hold = self.option("intro"), self.option("run"), self.option("hold")
        turn = self.steady_turn(camera, intro + run + hold)

        racing = self.racing = Race(self.runners, self.legend, clock=self.option("clock"),
                                    easing=self.option("easing"))
        if intro > 0:
            self.play(*turn(intro), run_time=intro) if turn.turning else self.wait(intro)
        self.play(racing, *turn(run), run_time=run)
        if hold > 0:
            self.play(*turn(hold), run_time=hold) if turn.turning else self.wait(hold)

    def title_text(self):
        """``"Optimizer race on digits, 64-128-10"`` from the run's settings (what is known of it)."""
        settings = self.landscape.settings
        data = find_setting(settings, "data", "dataset")
        sizes = find_setting(settings, "sizes", "layer_sizes")
        title = "Optimizer race" if between_of(self.landscape) is None else "Two runs on one surface"
        if isinstance(data, dict):
            data = data.get("spec")
        if data:
            title += f" on {str(data).rstrip('/').split('/')[-1]}"
        if isinstance(sizes, (list, tuple)) and sizes:
            title += ", " + "-".join(str(int(s)) for s in sizes)
        return title

    def subtitle_text(self):
        between = between_of(self.landscape)
        if between is not None:  # lossfilm line's landscape: the plane through both models and A's start
            height = between.get("barrier")
            barrier = f"; barrier on the straight segment {height:.3g}" if height == height else ""
            shared = (self.landscape.settings.get("plane") or {}).get("origin") == "the shared initial point"
            start = "their shared start" if shared else "the first run's start"
            return f"the plane through both final points and {start}{barrier}"
        return f"{len(self.landscape.path_names)} optimizers, same start, one clock of optimizer steps"

    def bar_title(self):
        return None  # "loss", or "log10 loss"

    def legend_keys(self):
        """Rows under the legend's paths explaining markers: (label, fill, outline)."""
        return ()


SCENE = OptimizerRace
