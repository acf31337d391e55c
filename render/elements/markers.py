"""Marks on points of the surface: a ring on the path (its start, its end) and a star on a known minimum.

Both carry an optional label that follows their point on the screen. They
fade with ``set_opacity`` (for :class:`lossfilm.render.framework.animation.FadeIn`).

Examples
--------
>>> # start = Marker(plotter, path.point_at(0.0), path.normal_at(0.0), 0.05, "white", " start ")
>>> # star = Star(plotter, (1.0, 1.0, 0.0), radius_px=12, color="white", outline="black")
>>> # star.hide_when_behind(surface)
"""

from __future__ import annotations

import numpy as np

from lossfilm.render.elements.camera import sight_blocked
from lossfilm.render.elements.overlay import mark, shape_2d, text, world_anchor


class Marker:
    """A ring lying on the surface around a point of the path, with a text label above it."""

    def __init__(self, plotter, point, normal, radius, color, label="", *, font_size=14,
                 text_color="white", lift=0.0, box=None, box_opacity=0.0, name="marker"):
        """``lift``: the label's anchor height above the point (clear of the ball)."""
        import pyvista as pv

        self.point = np.asarray(point, dtype=float)
        ring = pv.Disc(center=self.point + 0.25 * radius * np.asarray(normal), inner=0.72 * radius,
                       outer=radius, normal=normal, r_res=1, c_res=64)
        self.actor = plotter.add_mesh(ring, color=color, lighting=False, name=name, show_scalar_bar=False)
        self.label = None
        if label:
            self.label = text(plotter, label, size=font_size, color=text_color,
                              anchor=world_anchor(self.point + np.array([0.0, 0.0, lift])),
                              at=(0.0, 0.5 * font_size), justify="center", box=box, box_opacity=box_opacity,
                              name=f"{name}_label")
        self.box_opacity = box_opacity
        self.set_opacity(1.0)

    def set_opacity(self, opacity):
        opacity = float(np.clip(opacity, 0.0, 1.0))
        self.actor.prop.opacity = opacity
        self.actor.visibility = opacity > 0
        _show_label(self.label, opacity, self.box_opacity, opacity > 0)


class Star:
    """A small star marking a point of the surface (a known minimum), drawn flat on the screen.

    It keeps its size in pixels, faces the viewer from every side and lies
    over the 3D scene, so a steep valley cannot bury it and a ball resting on
    the point shows around it; it is hidden while the surface stands between
    it and the camera (call :meth:`hide_when_behind`). An outline in a second
    colour makes it read on any part of the surface. ``shape`` is one of
    :func:`lossfilm.render.elements.overlay.marker_outline`'s.
    """

    def __init__(self, plotter, point, radius_px, color, *, outline=None, outline_width=2.0, label="",
                 font_size=14, text_color="white", label_offset=0.0, box=None, box_opacity=0.0, shape="star",
                 name="star"):
        self.plotter = plotter
        self.point = np.asarray(point, dtype=float)
        self.anchor = world_anchor(self.point)
        fill, edge = shape_2d(shape, radius_px)
        shapes = [(fill, color)] + ([(edge, outline)] if outline is not None else [])
        self.actors = [mark(plotter, part, rgb, line_width=outline_width, anchor=self.anchor, name=f"{name}_{k}")
                       for k, (part, rgb) in enumerate(shapes)]
        self.label = None
        if label:
            self.label = text(plotter, label, size=font_size, color=text_color, anchor=world_anchor(self.point),
                              at=(0.0, radius_px + label_offset), justify="center", box=box,
                              box_opacity=box_opacity, name=f"{name}_label")
        self.box_opacity = box_opacity
        self.opacity = 1.0
        self.behind = False

    def hide_when_behind(self, surface, tolerance=0.0):
        """Hide the star (and its label) before each render in which the surface hides its point.

        ``tolerance``: how far the surface may rise above the line of sight
        first (a point at the bottom of a narrow groove still counts as seen).
        """
        lift = 1e-3 * max(np.ptp(surface.landscape.alphas), np.ptp(surface.landscape.betas))
        seen_from = self.point + np.array([0.0, 0.0, lift])

        def check(renderer, _event):
            eye = np.array(renderer.GetActiveCamera().GetPosition())
            self.behind = bool(sight_blocked(seen_from[None, :], eye[None, :], surface.height_at,
                                             surface.bounds[:4], tolerance)[0])
            self._show()

        self.plotter.renderer.AddObserver("StartEvent", check)

    def set_opacity(self, opacity):
        self.opacity = float(np.clip(opacity, 0.0, 1.0))
        self._show()

    def _show(self):
        visible = self.opacity > 0 and not self.behind
        for actor in self.actors:
            actor.GetProperty().SetOpacity(self.opacity)
            actor.SetVisibility(visible)
        _show_label(self.label, self.opacity, self.box_opacity, visible)


def _show_label(label, opacity, box_opacity, visible):
    """Fade a marker's label (text and the box behind it) with the marker."""
    if label is not None:
        label.GetTextProperty().SetOpacity(opacity)
        label.GetTextProperty().SetBackgroundOpacity(opacity * box_opacity)
        label.SetVisibility(visible)
