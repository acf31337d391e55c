"""The 1-D view of a landscape: the loss along the straight line from the initial to the final
parameters (Goodfellow, Vinyals and Saxe, 2015) beside the loss along each training path.

Both run from 0 (the initial parameters) to 1 (the final ones): the line by
its position ``t`` on ``theta_0 + t (theta_T - theta_0)``, the path by the
share of its optimizer steps done. The line goes a quarter beyond each end
(``t`` from -0.25 to 1.25) to show the walls. It is drawn on a
:class:`lossfilm.render.overlays.inset_plot.LinePlot`: an inset in the descent scene,
full frame in the ``line`` scene.

Examples
--------
>>> path_progress(np.array([0, 50, 200])).tolist()
[0.0, 0.25, 1.0]
"""

from __future__ import annotations

import math

import numpy as np

from lossfilm.render.overlays.inset_plot import LinePlot, PlotBox
from lossfilm.render.elements.surface import nice_step


def loss_range(*curves, log_y=False):
    """Round axis limits that hold every finite value of ``curves``.

    Examples
    --------
    >>> loss_range(np.array([0.08, 2.6]))
    (0.0, 3.0)
    >>> loss_range(np.array([0.08, 2.6]), log_y=True)
    (0.01, 10.0)
    """
    values = np.concatenate([np.asarray(c, dtype=float).ravel() for c in curves])
    values = values[np.isfinite(values)]
    if log_y:
        values = values[values > 0]
        if values.size == 0:
            return 0.1, 1.0
        return 10.0 ** math.floor(math.log10(values.min())), 10.0 ** math.ceil(math.log10(values.max()))
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1.0
    step = nice_step((hi - lo) / 4)
    lo = 0.0 if lo >= 0 and lo < 0.5 * hi else math.floor(lo / step) * step
    return lo, math.ceil(hi / step) * step


def path_progress(steps):
    """Share of the optimizer steps done at each snapshot: 0 at the first, 1 at the last.

    Examples
    --------
    >>> path_progress(np.array([0, 50, 200])).tolist()
    [0.0, 0.25, 1.0]
    """
    steps = np.asarray(steps, dtype=float)
    span = steps[-1] - steps[0]
    if len(steps) < 2 or span <= 0:
        return np.linspace(0.0, 1.0, len(steps))
    return (steps - steps[0]) / span


class LineView:
    """The 1-D view of a landscape: the straight line's loss and each path's loss, on one :class:`LinePlot`.

    Parameters
    ----------
    plotter : pyvista.Plotter
    theme : lossfilm.render.elements.theme.Theme
    landscape : lossfilm.format.landscape.Landscape
        With ``line_t`` and ``line_loss`` (check :func:`has_line` first).
    rect : tuple
        (left, bottom, width, height) of the axes, in pixels.
    font : int
        Tick-label size in pixels.
    colors : sequence of colours
        One per path of the landscape.
    dot_colors : sequence of colours, optional
        The dots' (the balls'), if not the curves'.
    panel : bool
        A translucent panel behind it (for an inset).
    log_y : bool or None
        Log-scaled loss axis; None: when the values span more than two decades.
    x_label : str

    Examples
    --------
    >>> # view = LineView(plotter, theme, landscape, (80, 60, 400, 220), font=14, colors=["#2ee6ff"])
    >>> # view.show(path.state_at(0.5))   # the dot follows the ball
    """

    def __init__(self, plotter, theme, landscape, rect, *, font, colors, panel=False, log_y=None,
                 x_label="0 = initial, 1 = final (line: t, path: share of steps)", line_label="straight line",
                 dot_colors=None, name="line_view"):
        t = np.asarray(landscape.line_t, dtype=float)
        line_loss = np.asarray(landscape.line_loss, dtype=float)
        owner = np.asarray(landscape.path_owner)
        between = between_of(landscape)
        if between is not None:  # two models on one line: the segment alone, its ends named, its barrier marked
            x_label = f"0 = {between['names'][0]}, 1 = {between['names'][1]} (position on the segment)"
            line_label = "straight segment"
        self.paths = []  # (progress, loss) per path
        for k in range(len(landscape.path_names) if between is None else 0):
            rows = owner == k
            loss = np.asarray(landscape.path_loss_true, dtype=float)[rows]
            loss = np.where(np.isfinite(loss), loss, np.asarray(landscape.path_loss_plane, dtype=float)[rows])
            self.paths.append((path_progress(np.asarray(landscape.path_steps)[rows]), loss))
        everything = [line_loss] + [loss for _, loss in self.paths]
        if log_y is None:
            values = np.concatenate(everything)
            values = values[np.isfinite(values) & (values > 0)]
            log_y = bool(values.size and values.max() > 100 * values.min())
        x_range = (min(float(np.nanmin(t)), 0.0), max(float(np.nanmax(t)), 1.0))
        box = PlotBox(*rect, x_range=x_range, y_range=loss_range(*everything, log_y=log_y), log_y=log_y)
        self.plot = LinePlot(plotter, theme, box, font=font, x_label=x_label, y_label="loss", panel=panel,
                             name=name)
        ends = ("initial", "final") if between is None else between["names"]
        for x, label in zip((0.0, 1.0), ends):
            self.plot.add_marker_line(x, label)
        width = max(1.5, 0.2 * font)
        self.line = self.plot.add_curve(t, line_loss, theme.text, width=width, label=line_label)
        if between is not None and math.isfinite(between.get("barrier", math.nan)):
            inside = 0.0 < between["peak_t"] < 1.0  # else the highest point is an end: no bump between them
            words = f"barrier {between['barrier']:.3g}" + ("" if inside else " (highest at an end: no bump)")
            self.plot.add_note(between["peak_t"], between["peak_loss"], words, theme.ball, 0.38 * font)
        names = landscape.path_names
        self.curves, self.dots = [], []
        dot_colors = colors if dot_colors is None else dot_colors
        for k, ((x, loss), color, dot) in enumerate(zip(self.paths, colors, dot_colors)):
            label = "training path" if len(names) == 1 else str(names[k])
            self.curves.append(self.plot.add_curve(x, loss, color, width=1.25 * width, label=label))
            self.dots.append(self.plot.add_dot(dot, 0.38 * font))
        self.steps = [(float(np.min(landscape.path_steps[owner == k])), float(np.max(landscape.path_steps[owner == k])))
                      for k in range(len(names))]

    def show(self, state, path=0):
        """Put path ``path``'s dot where a :class:`lossfilm.render.elements.path_tube.PathState` is (the ball follows it)."""
        if path >= len(self.dots):  # two models on one line draw no path
            return
        first, last = self.steps[path]
        x = 0.0 if last <= first else (state.step - first) / (last - first)
        loss = state.loss_true if math.isfinite(state.loss_true) else state.loss_plane
        self.dots[path].move_to(x, loss)

    def grow(self, fraction):
        """Draw each path's curve up to ``fraction`` of its steps, its dot at the head."""
        for (x, loss), curve, dot in zip(self.paths, self.curves, self.dots):
            curve.show_until(fraction if fraction < 1 else np.inf)
            dot.move_to(min(fraction, 1.0), float(np.interp(min(fraction, 1.0), x, loss)))

    def set_opacity(self, opacity):
        self.plot.set_opacity(opacity)


def between_of(landscape):
    """The two-models record (``settings["between"]``: names, barrier, its peak) of a landscape made by
    ``lossfilm line``, or None for a single run's landscape.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> between_of(SimpleNamespace(settings={})) is None
    True
    """
    between = (landscape.settings or {}).get("between")
    if not isinstance(between, dict) or len(between.get("names") or ()) != 2:
        return None
    return between


def has_line(landscape):
    """Whether the landscape carries the 1-D view (``line_t`` and ``line_loss`` with finite values)."""
    t, loss = landscape.line_t, landscape.line_loss
    if t is None or loss is None or len(t) < 2 or len(t) != len(loss):
        return False
    return bool(np.isfinite(np.asarray(loss, dtype=float)).any())
