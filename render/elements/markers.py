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
from lossfilm.render.screen.overlay import mark, shape_2d, text, world_anchor
from lossfilm.render.screen.placement import Label, compass, placer_for, project


class Marker:
    """A ring on the surface around a point of the path, with a text label beside it.

    Given the ``surface``, the ring is draped over it (each point of its rims
    a hair above the surface under it) on a dark halo, so a steep or curved
    surface never buries half of it and it reads on any colour; without, it
    is a flat disc on the tangent plane. The label takes the first free place
    around the ring each frame (:mod:`lossfilm.render.screen.placement`):
    above it where nothing is in the way, else beside or below it, never
    across the path, a ball or another text.
    """

    def __init__(self, plotter, point, normal, radius, color, label="", *, font_size=14,
                 text_color="white", lift=0.0, box=None, box_opacity=0.0, surface=None, halo=None,
                 name="marker"):
        """``lift``: unused (the label is placed clear of the ball by the placer); kept for scene files."""
        import pyvista as pv

        self.point = np.asarray(point, dtype=float)
        self.radius = float(radius)
        if surface is None:
            ring = pv.Disc(center=self.point + 0.25 * radius * np.asarray(normal), inner=0.72 * radius,
                           outer=radius, normal=normal, r_res=1, c_res=64)
            self.halo = None
        else:
            ring = draped_ring(surface, self.point, 0.72 * radius, radius)
            around = draped_ring(surface, self.point, 0.6 * radius, 1.12 * radius, below=True)
            self.halo = None if halo is None else plotter.add_mesh(
                around, color=halo, lighting=False, name=f"{name}_halo", show_scalar_bar=False)
        self.rim = np.asarray((ring if self.halo is None else around).points)  # what labels keep off
        self.actor = plotter.add_mesh(ring, color=color, lighting=False, name=name, show_scalar_bar=False)
        for actor in (self.actor, self.halo):
            if actor is not None:  # drawn in front of the surface it lies on, never half inside it
                actor.mapper.SetResolveCoincidentTopologyToPolygonOffset()
                actor.mapper.SetRelativeCoincidentTopologyPolygonOffsetParameters(-2.0, -4.0)
        self.label = None
        placer = placer_for(plotter)
        placer.rings.append(self)
        if label:
            self.label = text(plotter, label, size=font_size, color=text_color,
                              anchor=world_anchor(self.point), box=box, box_opacity=box_opacity,
                              name=f"{name}_label")
            placer.add(Label(self.label, self.point, lambda renderer, at: compass(16),
                             [f * font_size for f in (0.25, 0.8, 1.6, 2.6, 4.0)], turn=2.5 * font_size))
        self.box_opacity = box_opacity
        self.set_opacity(1.0)

    def set_opacity(self, opacity):
        opacity = float(np.clip(opacity, 0.0, 1.0))
        for actor in (self.actor, self.halo):
            if actor is not None:
                actor.prop.opacity = opacity
                actor.visibility = opacity > 0
        _show_label(self.label, opacity, self.box_opacity, opacity > 0)

    def screen_box(self, renderer):
        """The ring's box on screen ``(x0, x1, y0, y1)``, or None while it is hidden."""
        if not self.actor.GetVisibility():
            return None
        pixels = project(renderer, self.rim)
        pixels = pixels[np.isfinite(pixels).all(axis=1)]
        if not len(pixels):
            return None
        return np.array([pixels[:, 0].min(), pixels[:, 0].max(), pixels[:, 1].min(), pixels[:, 1].max()])


def draped_ring(surface, center, inner, outer, *, sides=64, below=False):
    """A ring (PolyData) around ``center`` whose points each lie a hair above the surface under them.

    ``below``: a little lower (a halo drawn under a ring of the same place).
    """
    import pyvista as pv

    extent = max(np.ptp(surface.landscape.alphas), np.ptp(surface.landscape.betas))
    lift = (0.004 if below else 0.007) * extent
    angles = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    rims = []
    for r in (inner, outer):
        x = center[0] + r * np.cos(angles)
        y = center[1] + r * np.sin(angles)
        ground = surface.height_at(x, y)
        z = np.where(np.isfinite(ground), ground, center[2]) + lift
        rims.append(np.column_stack([x, y, z]))
    points = np.vstack(rims)  # (2 * sides, 3): the inner rim, then the outer
    k = np.arange(sides)
    quads = np.column_stack([np.full(sides, 4), k, (k + 1) % sides, sides + (k + 1) % sides, sides + k])
    return pv.PolyData(points, faces=quads.ravel())


class Star:
    """A small star marking a point of the surface (a known minimum), drawn flat on the screen.

    It keeps its size in pixels, faces the viewer from every side and lies
    over the 3D scene, so a steep valley cannot bury it and a ball resting on
    the point shows around it; it is hidden while the surface stands between
    it and the camera (call :meth:`hide_when_behind`). An outline in a second
    colour makes it read on any part of the surface. ``shape`` is one of
    :func:`lossfilm.render.screen.overlay.marker_outline`'s.
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
                              box=box, box_opacity=box_opacity, name=f"{name}_label")
            # its own star is one of the marks the label keeps off: the nearest free place is beside it
            placer_for(plotter).add(Label(self.label, self.point, lambda renderer, at: compass(16),
                                          [label_offset + f * font_size for f in (0.0, 0.6, 1.4, 2.4, 3.6)],
                                          turn=2.5 * font_size))
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
