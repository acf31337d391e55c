"""The 1-D view as a small 2-D plot: the loss along the straight line from the initial to the final
parameters (Goodfellow, Vinyals and Saxe, 2015) beside the loss along the training path.

Both run from 0 (the initial parameters) to 1 (the final ones): the line by
its position ``t`` on ``theta_0 + t (theta_T - theta_0)``, the path by the
share of its optimizer steps done. The line goes a quarter beyond each end
(``t`` from -0.25 to 1.25) to show the walls.

The plot is drawn with screen-space actors (lines, text, discs) in pixels,
in the film's own fonts and colours, so it renders off-screen like the rest
of the heads-up display and reads the same in every frame size. It serves
as an inset in the descent scene and full-frame in the ``line`` scene.

Examples
--------
>>> PlotBox(left=100, bottom=50, width=400, height=200, x_range=(0.0, 1.0), y_range=(0.0, 2.0)).to_pixels(
...     np.array([0.5]), np.array([1.0])).tolist()
[[300.0, 150.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lossfilm.render.hud import tick_decimals
from lossfilm.render.surface import nice_step


@dataclass(frozen=True)
class PlotBox:
    """Where the axes are in the frame (pixels) and what data range they show."""

    left: float
    bottom: float
    width: float
    height: float
    x_range: tuple
    y_range: tuple
    log_y: bool = False

    def to_pixels(self, x, y):
        """Pixel coordinates (n, 2) of data points (NaN stays NaN)."""
        x0, x1 = self.x_range
        y0, y1 = (_log(v) for v in self.y_range) if self.log_y else self.y_range
        yy = _log(np.asarray(y, dtype=float)) if self.log_y else np.asarray(y, dtype=float)
        px = self.left + (np.asarray(x, dtype=float) - x0) / (x1 - x0) * self.width
        py = self.bottom + (yy - y0) / (y1 - y0) * self.height
        return np.column_stack([px, py])


def _log(values):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.where(np.asarray(values, dtype=float) > 0, values, np.nan))


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


class LinePlot:
    """Axes with round ticks, curves that can grow, a moving dot and a legend, in screen pixels.

    Parameters
    ----------
    plotter : pyvista.Plotter
    theme : lossfilm.render.theme.Theme
    box : PlotBox
        The axes' place and ranges.
    font : int
        Tick-label size in pixels (titles and legend scale from it).
    x_label, y_label : str
    panel : bool
        A translucent panel behind the plot (an inset over the 3D scene).
    name : str
        Prefix of the actors' names.
    """

    def __init__(self, plotter, theme, box, *, font, x_label="", y_label="", panel=False, name="lineplot"):
        self.plotter = plotter
        self.theme = theme
        self.box = box
        self.font = int(font)
        self.name = name
        self.actors = []
        self.curves = []
        self.legend_rows = []
        if panel:
            pad = 1.1 * self.font
            self._polygon([(box.left - 3.6 * self.font, box.bottom - 2.9 * self.font),
                           (box.left + box.width + pad, box.bottom - 2.9 * self.font),
                           (box.left + box.width + pad, box.bottom + box.height + pad),
                           (box.left - 3.6 * self.font, box.bottom + box.height + pad)],
                          theme.background, opacity=0.78)
        self._axes(x_label, y_label)

    # building -------------------------------------------------------------------
    def add_curve(self, x, y, color, *, width=2.0, label=""):
        """A curve through the data points (x, y); NaN points break it. Returns a :class:`Curve`."""
        curve = Curve(self, np.asarray(x, dtype=float), np.asarray(y, dtype=float), color, width,
                      f"{self.name}_curve_{len(self.curves)}")
        self.curves.append(curve)
        if label:
            self._legend_row(label, color, width)
        return curve

    def add_dot(self, color, radius_px):
        """A disc that :meth:`Dot.move_to` puts on a data point."""
        return Dot(self, color, radius_px, f"{self.name}_dot_{len(self.actors)}")

    def add_marker_line(self, x, label):
        """A thin vertical line at data ``x`` across the axes, labelled above them (e.g. "initial")."""
        (px, _), = self.box.to_pixels([x], [self.box.y_range[0]])
        bottom, top = self.box.bottom, self.box.bottom + self.box.height
        self._polyline(np.array([[px, bottom], [px, top]]), self.theme.text_dim, max(1.0, 0.12 * self.font),
                       opacity=0.8)
        self._text(label, px, top + 0.3 * self.font, self.theme.text_dim, justify="center")

    def set_opacity(self, opacity):
        opacity = float(np.clip(opacity, 0.0, 1.0))
        for actor in self.actors:
            prop = actor.GetTextProperty() if hasattr(actor, "GetTextProperty") else actor.GetProperty()
            prop.SetOpacity(opacity * getattr(actor, "_base_opacity", 1.0))
            actor.SetVisibility(opacity > 0)

    # the axes ---------------------------------------------------------------------
    def _axes(self, x_label, y_label):
        box, theme = self.box, self.theme
        left, bottom, right, top = box.left, box.bottom, box.left + box.width, box.bottom + box.height
        line = max(1.0, 0.13 * self.font)  # supersampling thins screen-space lines: these allow for it
        self._polyline(np.array([[left, top], [left, bottom], [right, bottom]]), theme.text_dim, line)
        tick = 0.35 * self.font
        x_ticks = _ticks(*box.x_range, int(np.clip(box.width / (3.6 * self.font), 2, 6)))
        for x in x_ticks:
            (px, _), = box.to_pixels([x], [box.y_range[0]])
            self._polyline(np.array([[px, bottom], [px, bottom - tick]]), theme.text_dim, line)
            self._text(f"{x:.{tick_decimals(x_ticks)}f}", px, bottom - tick - 0.2 * self.font, theme.text_dim,
                       justify="center", vertical="top")
        if box.log_y:
            lo, hi = (int(round(math.log10(v))) for v in box.y_range)
            y_ticks = [10.0 ** e for e in range(lo, hi + 1)]
            labels = [_power_label(v) for v in y_ticks]
        else:
            y_ticks = list(_ticks(*box.y_range, 4))
            labels = [f"{v:.{tick_decimals(y_ticks)}f}" for v in y_ticks]
        for y, label in zip(y_ticks, labels):
            (_, py), = box.to_pixels([box.x_range[0]], [y])
            self._polyline(np.array([[left, py], [right, py]]), theme.text_dim, max(1.0, 0.1 * self.font),
                           opacity=0.3)  # a faint grid line
            self._text(label, left - tick - 0.2 * self.font, py, theme.text_dim, justify="right",
                       vertical="center")
        if x_label:
            self._text(x_label, 0.5 * (left + right), bottom - tick - 1.5 * self.font, theme.text,
                       justify="center", vertical="top")
        if y_label:
            self._text(y_label, left - tick - 0.2 * self.font, top + 0.55 * self.font, theme.text, justify="right")

    def _legend_row(self, label, color, width):
        """A legend entry in the upper-right corner inside the axes: a short stroke and the label."""
        box = self.box
        right, top = box.left + box.width, box.bottom + box.height
        y = top - (len(self.legend_rows) + 0.9) * 1.45 * self.font
        text = self._text(label, right - 0.6 * self.font, y, self.theme.text, justify="right", vertical="center")
        self.legend_rows.append(text)
        stroke = 2.2 * self.font
        end = right - 0.6 * self.font - self._width(label) - 0.5 * self.font
        self._polyline(np.array([[end - stroke, y], [end, y]]), color, width)

    # primitives -------------------------------------------------------------------
    def _width(self, text):
        from vtkmodules.vtkRenderingCore import vtkTextProperty, vtkTextRenderer
        import vtkmodules.vtkRenderingFreeType  # noqa: F401  (registers the FreeType text renderer)

        prop = vtkTextProperty()
        prop.SetFontSize(self.font)
        prop.SetFontFamilyToArial()
        bbox = [0, 0, 0, 0]
        if not vtkTextRenderer().GetBoundingBox(prop, text, bbox, self.plotter.ren_win.GetDPI()):
            return 0.7 * self.font * len(text)
        return float(bbox[1] - bbox[0])

    def _polyline(self, points, color, width, *, opacity=1.0, name=None):
        mapper, actor = _actor2d(self.plotter, _polyline_data(points), color, name)
        actor.GetProperty().SetLineWidth(float(width))
        actor.GetProperty().SetOpacity(opacity)
        actor._base_opacity = opacity
        self.actors.append(actor)
        return mapper, actor

    def _polygon(self, corners, color, *, opacity=1.0):
        import pyvista as pv

        corners = np.asarray(corners, dtype=float)
        poly = pv.PolyData(np.column_stack([corners, np.zeros(len(corners))]),
                           faces=np.concatenate([[len(corners)], np.arange(len(corners))]))
        _, actor = _actor2d(self.plotter, poly, color, None)
        actor.GetProperty().SetOpacity(opacity)
        actor._base_opacity = opacity
        self.actors.append(actor)
        return actor

    def _text(self, text, x, y, color, *, justify="left", vertical="bottom", size=None):
        import pyvista as pv
        from vtkmodules.vtkRenderingCore import vtkTextActor

        actor = vtkTextActor()
        actor.SetInput(text)
        prop = actor.GetTextProperty()
        prop.SetFontSize(int(size or self.font))
        prop.SetColor(pv.Color(color).float_rgb)
        prop.SetFontFamilyToArial()
        {"left": prop.SetJustificationToLeft, "center": prop.SetJustificationToCentered,
         "right": prop.SetJustificationToRight}[justify]()
        {"bottom": prop.SetVerticalJustificationToBottom, "center": prop.SetVerticalJustificationToCentered,
         "top": prop.SetVerticalJustificationToTop}[vertical]()
        actor.SetPosition(float(x), float(y))
        self.plotter.add_actor(actor, reset_camera=False, pickable=False)
        self.actors.append(actor)
        return actor


class LineView:
    """The 1-D view of a landscape: the straight line's loss and each path's loss, on one :class:`LinePlot`.

    Parameters
    ----------
    plotter : pyvista.Plotter
    theme : lossfilm.render.theme.Theme
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
        self.paths = []  # (progress, loss) per path
        for k in range(len(landscape.path_names)):
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
        for x, label in ((0.0, "initial"), (1.0, "final")):
            self.plot.add_marker_line(x, label)
        width = max(1.5, 0.2 * font)
        self.line = self.plot.add_curve(t, line_loss, theme.text, width=width, label=line_label)
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
        """Put path ``path``'s dot where a :class:`lossfilm.render.path.PathState` is (the ball follows it)."""
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


def has_line(landscape):
    """Whether the landscape carries the 1-D view (``line_t`` and ``line_loss`` with finite values)."""
    t, loss = getattr(landscape, "line_t", None), getattr(landscape, "line_loss", None)
    if t is None or loss is None or len(t) < 2 or len(t) != len(loss):
        return False
    return bool(np.isfinite(np.asarray(loss, dtype=float)).any())


class Curve:
    """One curve of a :class:`LinePlot`; :meth:`show_until` draws it from its start up to an x value."""

    def __init__(self, plot, x, y, color, width, name):
        self.plot = plot
        self.x, self.y = x, y
        self.pixels = plot.box.to_pixels(x, y)  # (n, 2)
        self.mapper, self.actor = plot._polyline(self.pixels, color, width, name=name)
        self.until = np.inf

    def show_until(self, x):
        """Draw the curve up to data ``x`` (its end blended between two points); ``inf``: all of it."""
        if x == self.until:
            return
        self.until = x
        keep = self.x <= x
        points = self.pixels[keep]
        if np.isfinite(x) and keep.sum() < len(self.x) and keep.any():
            k = int(keep.sum())  # the first point beyond x
            a, b = self.x[k - 1], self.x[k]
            w = 0.0 if b == a else (x - a) / (b - a)
            points = np.vstack([points, (1 - w) * self.pixels[k - 1] + w * self.pixels[k]])
        self.actor.SetVisibility(len(points) >= 2)
        if len(points) >= 2:
            self.mapper.SetInputData(_polyline_data(points))


class Dot:
    """A disc on the plot at a data point (hidden at a non-finite one)."""

    def __init__(self, plot, color, radius_px, name):
        from vtkmodules.vtkFiltersSources import vtkRegularPolygonSource

        self.plot = plot
        source = vtkRegularPolygonSource()
        source.SetNumberOfSides(40)
        source.SetRadius(float(radius_px))
        source.SetCenter(0.0, 0.0, 0.0)
        source.Update()
        import pyvista as pv

        _, self.actor = _actor2d(plot.plotter, pv.wrap(source.GetOutput()), color, name)
        plot.actors.append(self.actor)

    def move_to(self, x, y):
        (px, py), = self.plot.box.to_pixels([x], [y])
        visible = bool(np.isfinite(px) and np.isfinite(py))
        self.actor.SetVisibility(visible)
        if visible:
            self.actor.SetPosition(float(px), float(py))


def _polyline_data(points):
    """A polyline through pixel ``points`` (n, 2), broken where a point is NaN."""
    import pyvista as pv

    points = np.asarray(points, dtype=float)
    ok = np.isfinite(points).all(axis=1)
    runs, start = [], None
    for i, good in enumerate(np.append(ok, False)):
        if good and start is None:
            start = i
        elif not good and start is not None:
            if i - start >= 2:
                runs.append(np.arange(start, i))
            start = None
    xyz = np.column_stack([np.nan_to_num(points), np.zeros(len(points))])
    if not runs:
        return pv.PolyData(xyz[:1] if len(xyz) else np.zeros((1, 3)))
    lines = np.concatenate([np.concatenate([[len(r)], r]) for r in runs])
    return pv.PolyData(xyz, lines=lines)


def _actor2d(plotter, data, color, name):
    import pyvista as pv
    from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D

    mapper = vtkPolyDataMapper2D()
    mapper.SetInputData(data)
    actor = vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(pv.Color(color).float_rgb)
    plotter.add_actor(actor, name=name, reset_camera=False, pickable=False)
    return mapper, actor


def _ticks(lo, hi, count):
    """Round tick values within [lo, hi], the ends included when they are round."""
    step = nice_step((hi - lo) / max(count, 1))
    first = math.ceil(lo / step - 1e-9) * step
    return np.round(np.arange(first, hi + 1e-9 * step, step), 12)


def _power_label(value):
    exponent = int(round(math.log10(value)))
    return f"{value:g}" if -3 <= exponent <= 3 else f"1e{exponent}"
