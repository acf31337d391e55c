"""orbit: a turntable of the surface with the whole path drawn, for a title slide.

Options (``--option key=value``): ``degrees`` (how far the camera turns;
360 loops seamlessly), ``length`` (seconds), ``counters`` (show the final
step/loss/accuracy), plus the common ``camera``, ``orbit`` (false: the
camera stays put), ``floor`` and ``title``.
"""

from lossfilm.format.declared.options import Option
from lossfilm.format.declared.values import Flag
from lossfilm.render.framework import animation
from lossfilm.render.framework.easing import linear
from lossfilm.render.framework.scene import Scene
from lossfilm.render.framework.scene_options import RUN, SWEEP


class Orbit(Scene):
    """The camera circles the surface; the path, its ends and the ball at the minimum stay put."""

    options = {
        "degrees": SWEEP.but(name="degrees", default=360.0, help="degrees the camera turns (360 loops seamlessly)"),
        "counters": Option("counters", Flag(), False, "show the final step, loss and accuracy"),
        "length": RUN.but(name="length", default=6.0, help="seconds of the film"),
    }

    def construct(self):
        self.add_surface()
        path = self.add_path()
        self.add_trail()
        self.add_ball(at=1.0)
        self.add_markers()
        hud = self.add_hud(counters=self.option("counters"))
        hud.show(path.state_at(1.0))
        camera = self.add_camera()
        length = self.option("length")
        if self.option("orbit") and self.option("degrees"):
            self.play(animation.Orbit(camera, self.option("degrees")), run_time=length, rate_func=linear)
        else:
            self.wait(length)
