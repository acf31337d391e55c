"""line: the 1-D view, full frame: the loss along the straight line from the initial to the final
parameters, and along the training path.

Goodfellow, Vinyals and Saxe (2015) looked at training along the straight
line ``theta_0 + t (theta_T - theta_0)``: ``t = 0`` is the initial point,
``t = 1`` the final one, a quarter beyond each end shows the walls. Beside it
the path's own loss, against the share of its optimizer steps, is drawn as
the training goes, so the two ways from the same start to the same end can
be compared: a line that falls smoothly says no obstacle lay between them.
The landscape must carry the line (``line_t``, ``line_loss``; ``lossfilm
landscape`` and ``lossfilm demo`` compute it).

On a landscape of two models (``lossfilm line A.npz B.npz``) it draws the
loss along the straight segment from model A to model B instead, its ends
named after the models and its barrier (the highest loss on the segment
above the mean of the two ends) marked at its peak.

With ``plot=sharpness`` it draws instead the top Hessian eigenvalue along
the path (``lossfilm landscape --sharpness``) beside the optimizer's
stability line, 2/eta for SGD (Cohen et al. 2021); ``plot=both`` stacks the
two, sharing the x axis (share of the optimizer's steps).

Options (``--option key=value``): ``plot`` (loss, sharpness or both), ``intro`` (seconds before the path starts),
``run`` (seconds the path takes), ``hold`` (seconds at the end), ``log``
(auto, true or false: a log-scaled loss axis; auto when the values span more
than two decades), plus the common ``title`` (the others do not apply to a
flat plot).
"""

from lossfilm.format.declared.options import Option
from lossfilm.format.declared.values import Choice
from lossfilm.render.framework.animation import Grow
from lossfilm.render.overlays.hud import film_title
from lossfilm.render.overlays.segment_view import between_of
from lossfilm.render.framework.scene import Scene
from lossfilm.render.framework.scene_options import HOLD, INTRO, RUN

PLOTS = ("loss", "sharpness", "both")  # the plot option's choices


class Line(Scene):
    """The straight line's loss drawn at once, the path's loss growing beside it, a pause at the end."""

    options = {
        "intro": INTRO.but(default=0.6, help="seconds before the path starts"),
        "run": RUN.but(default=5.0),
        "hold": HOLD.but(default=1.4),
        "log": Option("log", Choice(("auto", "true", "false")), "auto", "a log-scaled loss axis (auto: where the "
                                                                        "loss spans decades)"),
        "plot": Option("plot", Choice(PLOTS), "loss", "what to plot: the loss, the sharpness or both"),
    }
    plot_rect = (0.1, 0.17, 0.82, 0.6)  # the axes: (left, bottom, width, height) of the frame
    upper_rect, lower_rect = (0.1, 0.53, 0.82, 0.27), (0.1, 0.13, 0.82, 0.27)  # plot=both: two stacked axes

    def construct(self):
        log, plot = self.option("log"), self.option("plot")  # their declarations checked the choices
        font = self.font_px(self.theme.text_size if plot != "both" else 0.85 * self.theme.text_size)
        views = []
        if plot in ("loss", "both"):
            views.append(self.add_line_view(self.plot_rect if plot == "loss" else self.upper_rect, font=font,
                                            log_y={"auto": None, "true": True, "false": False}[log]))
        if plot in ("sharpness", "both"):
            views.append(self.add_sharpness_view(self.plot_rect if plot == "sharpness" else self.lower_rect,
                                                 font=font))
        between = between_of(self.landscape)
        subtitle = {"loss": "loss along the straight line (Goodfellow et al. 2015) and along the path"
                    if between is None else "loss along the straight segment between two trained models "
                                            "(linear mode connectivity, Frankle et al. 2020)",
                    "sharpness": "top Hessian eigenvalue along the path, and the edge of stability "
                                 "(Cohen et al. 2021)",
                    "both": "loss along the line and the path (top); the path's sharpness (bottom)"}[plot]
        self.add_hud(counters=False, scalar_bar=False, axis_labels=False, title_text=self.title_text(plot),
                     subtitle=subtitle)
        intro, run, hold = self.option("intro"), self.option("run"), self.option("hold")
        growing = [Grow(view) for view in views]
        if intro > 0:
            self.wait(intro)
        self.play(*growing, run_time=max(run, 1e-3))
        if hold > 0:
            self.wait(hold)

    def title_text(self, plot="loss"):
        between = between_of(self.landscape)
        if between is not None and plot != "sharpness":
            a, b = between["names"]
            height = between.get("barrier")
            barrier = f", barrier {height:.3g}" if isinstance(height, float) and height == height else ""
            return f"Two models on one line: {a} to {b}{barrier}"
        what = "Sharpness along the path" if plot == "sharpness" else "From initial to final parameters"
        return f"{what}: {film_title(self.landscape.settings)}"


SCENE = Line
