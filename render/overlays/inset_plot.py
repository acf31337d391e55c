"""A small 2-D line plot drawn over the film: axes with round ticks, curves that grow, a moving dot.

The plot is drawn with the overlay's flat actors (:mod:`lossfilm.render.screen.overlay`:
lines, text, discs) in pixels, in the film's own fonts and colours, so it
renders off-screen like the rest of the heads-up display and reads the same
in every frame size. :class:`lossfilm.render.overlays.segment_view.LineView` draws the
1-D view of a landscape on it.

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

from lossfilm.render.overlays.hud import tick_decimals
from lossfilm.render.screen.overlay import disc_2d, fade, mark, polygon_2d, polyline_2d, text, text_width
from lossfilm.render.elements.surface import nice_step


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


class LinePlot:
    """Axes with round ticks, curves that can grow, a moving dot and a legend, in screen pixels.

    Parameters
    ----------
    plotter : pyvista.Plotter
    theme : lossfilm.render.elements.theme.Theme
    box : PlotBox
        The axes' place and ranges.
    font : int
        Tick-label size in pixels (titles and legend scale from it).
    x_label, y_label : str
    y_label_justify : {"right", "left"}
        The y label ends at the tick labels ("right", for a short word) or
        starts at the axis ("left", for a long one that would leave the frame).
    panel : bool
        A translucent panel behind the plot (an inset over the 3D scene).
    name : str
        Prefix of the actors' names.
    """

    def __init__(self, plotter, theme, box, *, font, x_label="", y_label="", y_label_justify="right", panel=False,
                 name="lineplot"):
        self.plotter = plotter
        self.theme = theme
        self.box = box
        self.font = int(font)
        self.name = name
        self.actors = []
        self.curves = []
        self.legend_rows = []
        self.rules = []  # the grid and marker lines, which a legend row cuts a gap in
        if panel:
            pad = 1.1 * self.font
            self._polygon([(box.left - 3.6 * self.font, box.bottom - 2.9 * self.font),
                           (box.left + box.width + pad, box.bottom - 2.9 * self.font),
                           (box.left + box.width + pad, box.bottom + box.height + pad),
                           (box.left - 3.6 * self.font, box.bottom + box.height + pad)],
                          theme.background, opacity=0.78)
        self._axes(x_label, y_label, y_label_justify)

    # building -------------------------------------------------------------------
    def add_curve(self, x, y, color, *, width=2.0, label=""):
        """A curve through the data points (x, y); NaN points break it. Returns a :class:`Curve`."""
        curve = Curve(self, np.asarray(x, dtype=float), np.asarray(y, dtype=float), color, width,
                      f"{self.name}_curve_{len(self.curves)}")
        self.curves.append(curve)
        if label:
            self._legend_row(label, color, width)
        return curve

    def add_legend(self, label, color, *, width=2.0):
        """A legend row with no curve (e.g. for a line that lies off the chart)."""
        self._legend_row(label, color, width)

    def add_dot(self, color, radius_px):
        """A disc that :meth:`Dot.move_to` puts on a data point."""
        return Dot(self, color, radius_px, f"{self.name}_dot_{len(self.actors)}")

    def add_marker_line(self, x, label):
        """A thin vertical line at data ``x`` across the axes, labelled above them (e.g. "initial")."""
        (px, _), = self.box.to_pixels([x], [self.box.y_range[0]])
        bottom, top = self.box.bottom, self.box.bottom + self.box.height
        ends = np.array([[px, bottom], [px, top]])
        self.rules.append(Rule(self._polyline(ends, self.theme.text_dim, max(1.0, 0.12 * self.font), opacity=0.8),
                               ends))
        self._text(label, px, top + 0.3 * self.font, self.theme.text_dim, justify="center")

    def add_note(self, x, y, words, color, radius_px):
        """A dot on data point (x, y) with ``words`` beside it (e.g. a barrier's height at its peak)."""
        dot = self.add_dot(color, radius_px)
        dot.move_to(x, y)
        (px, py), = self.box.to_pixels([x], [y])
        right = px < self.box.left + 0.6 * self.box.width  # the words go where there is room
        self._text(words, px + (1 if right else -1) * 1.2 * radius_px, py + 1.2 * radius_px, color,
                   justify="left" if right else "right")
        return dot

    def set_opacity(self, opacity):
        fade(self.actors, opacity)

    # the axes ---------------------------------------------------------------------
    def _axes(self, x_label, y_label, y_label_justify="right"):
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
            ends = np.array([[left, py], [right, py]])
            grid = self._polyline(ends, theme.text_dim, max(1.0, 0.1 * self.font), opacity=0.3)  # a faint grid line
            self.rules.append(Rule(grid, ends))
            self._text(label, left - tick - 0.2 * self.font, py, theme.text_dim, justify="right",
                       vertical="center")
        if x_label:
            self._text(x_label, 0.5 * (left + right), bottom - tick - 1.5 * self.font, theme.text,
                       justify="center", vertical="top")
        if y_label:
            x = left - tick - 0.2 * self.font if y_label_justify == "right" else left
            self._text(y_label, x, top + 0.55 * self.font, theme.text, justify=y_label_justify)

    def _legend_row(self, label, color, width):
        """A legend entry in the upper-right corner inside the axes: a short stroke and the label."""
        box = self.box
        right, top = box.left + box.width, box.bottom + box.height
        y = top - (len(self.legend_rows) + 0.9) * 1.45 * self.font
        self.legend_rows.append(self._text(label, right - 0.6 * self.font, y, self.theme.text, justify="right",
                                           vertical="center"))
        stroke = 2.2 * self.font
        end = right - 0.6 * self.font - text_width(self.plotter, label, self.font) - 0.5 * self.font
        self._polyline(np.array([[end - stroke, y], [end, y]]), color, width)
        # a grid line or a marker line under the row would run through its words: it breaks around the row
        pad = 0.35 * self.font
        row = np.array([end - stroke - pad, right - 0.6 * self.font + pad, y - 0.5 * self.font - pad,
                        y + 0.5 * self.font + pad])
        for rule in self.rules:
            rule.cut(row)

    # primitives -------------------------------------------------------------------
    def _keep(self, actor):
        self.actors.append(actor)
        return actor

    def _polyline(self, points, color, width, *, opacity=1.0, name=None):
        return self._keep(mark(self.plotter, polyline_2d(points), color, line_width=width, opacity=opacity,
                               name=name))

    def _polygon(self, corners, color, *, opacity=1.0):
        return self._keep(mark(self.plotter, polygon_2d(corners), color, opacity=opacity))

    def _text(self, words, x, y, color, *, justify="left", vertical="bottom"):
        return self._keep(text(self.plotter, words, size=self.font, color=color, at=(x, y), justify=justify,
                               vertical=vertical))


class Rule:
    """A straight grid or marker line of a plot, which breaks where a box (a legend row) sits on it."""

    def __init__(self, actor, ends):
        self.actor = actor
        self.ends = np.asarray(ends, dtype=float)  # (2, 2): horizontal or vertical
        self.gaps = []  # (lo, hi) along the line's own direction

    def cut(self, box):
        """Break the line where it crosses ``box`` = (x0, x1, y0, y1)."""
        (x0, y0), (x1, y1) = self.ends
        along = 0 if abs(x1 - x0) >= abs(y1 - y0) else 1  # 0: horizontal
        across = self.ends[0, 1 - along]
        if not box[2 - 2 * along] <= across <= box[3 - 2 * along]:
            return
        self.gaps.append((box[2 * along], box[2 * along + 1]))
        start, stop = sorted(self.ends[:, along])
        points, at = [], start
        for lo, hi in sorted(self.gaps):
            if hi <= at or lo >= stop:
                continue
            if lo > at:
                points += [(at, across), (lo, across), (np.nan, np.nan)]
            at = max(at, hi)
        if at < stop:
            points += [(at, across), (stop, across)]
        points = np.array(points or [(np.nan, np.nan)], dtype=float)
        if along == 1:
            points = points[:, ::-1]
        self.actor.GetMapper().SetInputData(polyline_2d(points))


class Curve:
    """One curve of a :class:`LinePlot`; :meth:`show_until` draws it from its start up to an x value."""

    def __init__(self, plot, x, y, color, width, name):
        self.plot = plot
        self.x, self.y = x, y
        self.pixels = plot.box.to_pixels(x, y)  # (n, 2)
        self.actor = plot._polyline(self.pixels, color, width, name=name)
        self.mapper = self.actor.GetMapper()
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
            self.mapper.SetInputData(polyline_2d(points))


class Dot:
    """A disc on the plot at a data point (hidden at a non-finite one)."""

    def __init__(self, plot, color, radius_px, name):
        self.plot = plot
        self.actor = plot._keep(mark(plot.plotter, disc_2d((0.0, 0.0), radius_px, sides=40, rim_line=True), color,
                                     name=name))

    def move_to(self, x, y):
        (px, py), = self.plot.box.to_pixels([x], [y])
        visible = bool(np.isfinite(px) and np.isfinite(py))
        self.actor.SetVisibility(visible)
        if visible:
            self.actor.SetPosition(float(px), float(py))


def _ticks(lo, hi, count):
    """Round tick values within [lo, hi], the ends included when they are round."""
    step = nice_step((hi - lo) / max(count, 1))
    first = math.ceil(lo / step - 1e-9) * step
    return np.round(np.arange(first, hi + 1e-9 * step, step), 12)


def _power_label(value):
    exponent = int(round(math.log10(value)))
    return f"{value:g}" if -3 <= exponent <= 3 else f"1e{exponent}"
