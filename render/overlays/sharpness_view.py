"""Sharpness along the path: the top Hessian eigenvalue against training progress, with the stability line.

Cohen et al. (2021) watched lambda_max, the largest eigenvalue of the
loss's Hessian, rise during training until it met 2/eta (for SGD with step
size eta) and hover there: the edge of stability. This view draws what the
landscape measured (``sharpness_steps``, ``sharpness``) against the share of
the optimizer's steps done, the same x axis as the 1-D view, with the
optimizer's line (``settings["curvature"]["threshold"]``, e.g. 2/eta) where
there is one, and a dot that follows the ball. Labels say "lambda" and
"eta" in letters: VTK's built-in fonts have no Greek glyphs.

Examples
--------
>>> threshold_label({"rule": "2/eta", "value": 10.0, "optimizer": "sgd"})
'2/eta = 10 (SGD stability line)'
>>> measured_at([0, 100, 200], [4.0, 6.0, 5.0], 150.0)
6.0
"""

from __future__ import annotations

import bisect

import numpy as np

from lossfilm.render.overlays.hud import format_loss
from lossfilm.render.overlays.segment_view import loss_range
from lossfilm.render.overlays.inset_plot import LinePlot, PlotBox

OFF_CHART = 2.5  # a stability line above this many times the highest lambda_max is named, not drawn


def has_sharpness(landscape):
    """Whether the landscape carries a sharpness curve with a finite value."""
    steps, values = landscape.sharpness_steps, landscape.sharpness
    if steps is None or values is None or len(values) < 1 or len(steps) != len(values):
        return False
    return bool(np.isfinite(np.asarray(values, dtype=float)).any())


def stability_threshold(landscape):
    """The optimizer's stability line recorded with the sharpness (``{"value", "rule", ...}``), or None."""
    threshold = (landscape.settings.get("curvature") or {}).get("threshold")
    return threshold if isinstance(threshold, dict) and np.isfinite(threshold.get("value", np.nan)) else None


def threshold_label(threshold):
    """``"2/eta = 10 (SGD stability line)"``."""
    return f"{threshold['rule']} = {threshold['value']:.3g} ({str(threshold.get('optimizer', '')).upper()} stability line)"


def measured_at(steps, values, step):
    """lambda_max at the last measured snapshot at or before ``step`` (the first one before any).

    The HUD shows a measured value, never one interpolated between snapshots.
    """
    k = max(0, bisect.bisect_right(list(steps), step) - 1)
    return float(values[k])


def hud_line(landscape):
    """A function ``state -> "lambda_max 6.02   (2/eta = 10)"`` for the HUD's counters."""
    steps = [float(s) for s in landscape.sharpness_steps]
    values = np.asarray(landscape.sharpness, dtype=float)
    threshold = stability_threshold(landscape)
    suffix = f"   ({threshold['rule']} = {threshold['value']:.3g})" if threshold else ""

    def line(state):
        return f"lambda_max {format_loss(measured_at(steps, values, state.step))}{suffix}"
    return line


class SharpnessView:
    """lambda_max along the path on a :class:`LinePlot`, the stability line, and a dot that follows the ball.

    Parameters
    ----------
    plotter : pyvista.Plotter
    theme : lossfilm.render.elements.theme.Theme
    landscape : lossfilm.format.landscape.Landscape
        With ``sharpness_steps`` and ``sharpness`` (check :func:`has_sharpness` first).
    rect : tuple
        (left, bottom, width, height) of the axes, in pixels.
    font : int
        Tick-label size in pixels.
    color, dot_color : colours
        The curve's and the dot's.
    panel : bool
        A translucent panel behind it (for an inset).
    x_label : str
    short : bool
        Short legend words (for an inset): the stability line's rule and
        value only, the curve named by the y axis alone.
    """

    def __init__(self, plotter, theme, landscape, rect, *, font, color, dot_color=None, panel=False,
                 x_label="share of the optimizer steps", short=False, name="sharpness_view"):
        steps = np.asarray(landscape.sharpness_steps, dtype=float)
        values = np.asarray(landscape.sharpness, dtype=float)
        first, last = float(np.min(landscape.path_steps)), float(np.max(landscape.path_steps))
        self.first, self.span = first, max(last - first, 1e-300)
        self.x, self.values, self.steps = (steps - first) / self.span, values, steps
        threshold = stability_threshold(landscape)
        drawn = threshold is not None and threshold["value"] <= OFF_CHART * np.nanmax(values)
        # headroom above the stability line, so that it does not lie on the top of the axes
        shown = [values, [1.4 * threshold["value"]]] if drawn else [values]
        lo, hi = loss_range(*shown)
        box = PlotBox(*rect, x_range=(0.0, 1.0), y_range=(min(lo, 0.0), hi))
        self.plot = LinePlot(plotter, theme, box, font=font, x_label=x_label, y_label="lambda_max",
                             y_label_justify="left", panel=panel, name=name)
        width = max(1.5, 0.2 * font)
        if threshold is not None:
            label = (f"{threshold['rule']} = {threshold['value']:.3g}" if short else threshold_label(threshold))
            label += "" if drawn else ", off the chart"
            if drawn:
                self.plot.add_curve([0.0, 1.0], [threshold["value"]] * 2, theme.text_dim, width=width, label=label)
            else:
                self.plot.add_legend(label, theme.text_dim, width=width)
        self.curve = self.plot.add_curve(self.x, values, color, width=1.25 * width,
                                         label="" if short else "top Hessian eigenvalue")
        self.dot = self.plot.add_dot(dot_color or color, 0.38 * font)

    def show(self, state):
        """Put the dot on the curve where a :class:`lossfilm.render.elements.path_tube.PathState` is (it follows the ball)."""
        x = min(max((state.step - self.first) / self.span, 0.0), 1.0)
        self.dot.move_to(x, float(np.interp(x, self.x, self.values)))

    def grow(self, fraction):
        """Draw the curve up to ``fraction`` of the steps, the dot at its head."""
        x = min(max(fraction, 0.0), 1.0)
        self.curve.show_until(fraction if fraction < 1 else np.inf)
        self.dot.move_to(x, float(np.interp(x, self.x, self.values)))

    def set_opacity(self, opacity):
        self.plot.set_opacity(opacity)
