"""orbit: a turntable of the surface with the whole path drawn, for a title slide.

Options (``--option key=value``): ``degrees`` (how far the camera turns;
360 loops seamlessly), ``length`` (seconds), ``counters`` (show the final
step/loss/accuracy), plus the common ``camera``, ``orbit`` (false: the
camera stays put), ``floor`` and ``title``.
"""

from lossfilm.render.framework import animation
from lossfilm.render.framework.easing import linear
from lossfilm.render.framework.scene import Scene


class Orbit(Scene):
    """The camera circles the surface; the path, its ends and the ball at the minimum stay put."""

    options = {"degrees": 360.0, "counters": False, "length": 6.0}

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
