"""The things that ride on the surface: the ball, its trail, and the start/minimum markers.

Each is added to the plotter once and then updated in place by the
animations (``actor.position = ...``, ``mesh.copy_from(...)``), never
re-added, so a frame costs one render and nothing else.

Examples
--------
>>> # ball = Ball(plotter, radius=0.05, color="#ff3b5c"); ball.move_to(path, 0.5)
>>> # trail = Trail(plotter, path, radius=0.015, color="#ff7a59"); trail.show_until(0.5)
"""

from __future__ import annotations

import numpy as np


class Ball:
    """A glossy sphere resting on the surface (its centre one radius along the normal)."""

    def __init__(self, plotter, radius, color, name="ball", *, rest=False):
        """``rest=True``: the ball rests on the rims of a groove narrower than itself
        (:meth:`lossfilm.render.path.BallPath.center_at`) instead of sinking into its walls."""
        import pyvista as pv

        self.radius = radius
        self.rest = rest
        sphere = pv.Sphere(radius=radius, center=(0.0, 0.0, 0.0), theta_resolution=48, phi_resolution=32)
        self.actor = plotter.add_mesh(
            sphere, color=color, smooth_shading=False, ambient=0.25, diffuse=0.75,
            specular=0.7, specular_power=60.0, name=name, show_scalar_bar=False,
        )
        self.actor.prop.interpolation = "phong"  # the sphere brings its own normals
        self.center = np.zeros(3)

    def move_to(self, path, progress):
        """Put the ball on the path at arc fraction ``progress``."""
        self.center = path.center_at(progress, self.radius, rest=self.rest)
        self.actor.position = tuple(self.center)

    def set_opacity(self, opacity):
        self.actor.prop.opacity = float(opacity)
        self.actor.visibility = opacity > 0


class Trail:
    """A tube along the path from the start to the ball, and its shadow on the floor.

    ``fade=True`` makes the older part of the tube fade out (per-point alpha).
    """

    def __init__(self, plotter, path, radius, color, *, floor_z=None, shadow_color=None,
                 shadow_width=2.0, fade=False, lift=0.0, name="trail"):
        """``lift``: extra height along the surface normal; trails of a race that share a
        valley get different lifts, so one lies cleanly on another instead of speckling."""
        import pyvista as pv

        self.path = path
        self.radius = radius
        self.lift = float(lift)
        self.fade = fade
        self.color = np.array(pv.Color(color).int_rgb, dtype=np.uint8)
        kwargs = dict(smooth_shading=False, ambient=0.3, diffuse=0.7, specular=0.4,
                      specular_power=30.0, name=name, show_scalar_bar=False)
        self.mesh = self._tube(path.upto(1.0))
        if fade:
            self.actor = plotter.add_mesh(self.mesh, scalars="rgba", rgb=True, **kwargs)
        else:
            self.actor = plotter.add_mesh(self.mesh, color=color, **kwargs)
        self.actor.prop.interpolation = "phong"  # the tube brings its own normals
        self.floor_z = floor_z
        self.shadow = None
        if floor_z is not None:
            self.shadow = self._floor_line(path.upto(1.0)[0])
            self.shadow_actor = plotter.add_mesh(
                self.shadow, color=shadow_color or color, line_width=shadow_width, lighting=False,
                name=f"{name}_shadow", show_scalar_bar=False, render_lines_as_tubes=True,
            )
        self.progress = 1.0

    def show_until(self, progress):
        """Show the trail from the start up to arc fraction ``progress``."""
        progress = float(np.clip(progress, 0.0, 1.0))
        if progress == self.progress:
            return
        self.progress = progress
        visible = progress * self.path.length > 0.5 * self.radius
        self.actor.visibility = visible
        if self.shadow is not None:
            self.shadow_actor.visibility = visible
        if not visible:
            return
        upto = self.path.upto(progress)
        self.mesh.copy_from(self._tube(upto))
        if self.shadow is not None:
            self.shadow.copy_from(self._floor_line(upto[0]))

    def set_opacity(self, opacity):
        self.actor.prop.opacity = float(opacity)
        if self.shadow is not None:
            self.shadow_actor.prop.opacity = float(opacity)

    def _tube(self, upto):
        points, normals = upto
        # a tube needs no more detail than about half its radius
        spacing = self.path.length / max(len(self.path.arc) - 1, 1)
        every = max(1, int(0.5 * self.radius / max(spacing, 1e-12)))
        if every > 1 and len(points) > 2:
            keep = np.unique(np.concatenate([np.arange(0, len(points) - 1, every), [len(points) - 1]]))
            points, normals = points[keep], normals[keep]
            if len(points) < 2:
                points, normals = np.repeat(points, 2, axis=0), np.repeat(normals, 2, axis=0)
        centers = points + (self.radius + self.lift) * normals  # (K, 3): the tube rests on the surface
        line = polyline(centers)
        # give the tube filter the surface normal (made perpendicular to the path) as its
        # reference direction: its own sliding normals twist and speckle the highlights
        tangent = np.gradient(centers, axis=0)  # (K, 3)
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)
        side = normals - (normals * tangent).sum(axis=1, keepdims=True) * tangent
        side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
        line.point_data["Normals"] = side
        line.point_data.active_normals_name = "Normals"
        if self.fade:
            age = np.linspace(0.0, 1.0, len(centers))  # 0 at the start, 1 at the ball
            alpha = (255 * (0.15 + 0.85 * age ** 1.5)).astype(np.uint8)
            line.point_data["rgba"] = np.column_stack([np.tile(self.color, (len(centers), 1)), alpha])
        return line.tube(radius=self.radius, n_sides=16, capping=True)

    def _floor_line(self, points):
        flat = np.array(points, dtype=float)
        flat[:, 2] = self.floor_z + 2e-3 * abs(self.floor_z) + 0.05 * self.lift
        return polyline(flat)


def polyline(points):
    """One connected polyline through ``points`` (n, 3).

    One cell, not n-1 separate segments: a tube around separate segments gets
    a cap at every joint, which shows as rings and speckles.
    """
    import pyvista as pv

    points = np.asarray(points, dtype=float)
    return pv.PolyData(points, lines=np.concatenate([[len(points)], np.arange(len(points))]))


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
            self.label = world_text(plotter, label, self.point + np.array([0.0, 0.0, lift]),
                                    font_size=font_size, color=text_color, name=f"{name}_label",
                                    offset=(0.0, 0.5 * font_size), box=box, box_opacity=box_opacity)
        self.box_opacity = box_opacity
        self.set_opacity(1.0)

    def set_opacity(self, opacity):
        opacity = float(np.clip(opacity, 0.0, 1.0))
        self.actor.prop.opacity = opacity
        self.actor.visibility = opacity > 0
        if self.label is not None:
            self.label.GetTextProperty().SetOpacity(opacity)
            self.label.GetTextProperty().SetBackgroundOpacity(opacity * self.box_opacity)
            self.label.SetVisibility(opacity > 0)


def world_text(plotter, text, position, *, font_size, color, bold=False, name=None,
               justify="center", vertical="bottom", offset=(0.0, 0.0), box=None, box_opacity=0.0):
    """A 2D text label anchored at a 3D point (always faces the viewer, drawn on top).

    ``offset`` shifts it by pixels from the projected point (e.g. up, clear of the ball);
    ``box`` is a colour for a translucent box behind it (legible over any part of the surface).

    Examples
    --------
    >>> # world_text(plotter, "start", (0, 0, 1), font_size=20, color="white", offset=(0, 12))
    """
    import pyvista as pv
    from vtkmodules.vtkRenderingCore import vtkCoordinate, vtkTextActor

    actor = vtkTextActor()
    actor.SetInput(text)
    anchor = vtkCoordinate()
    anchor.SetCoordinateSystemToWorld()
    anchor.SetValue(*map(float, position))
    coord = actor.GetPositionCoordinate()
    coord.SetCoordinateSystemToDisplay()
    coord.SetValue(float(offset[0]), float(offset[1]))
    coord.SetReferenceCoordinate(anchor)
    actor._anchor = anchor  # keep the reference alive with the actor
    prop = actor.GetTextProperty()
    prop.SetFontSize(int(round(font_size)))
    prop.SetColor(pv.Color(color).float_rgb)
    prop.SetBold(bold)
    prop.SetFontFamilyToArial()
    if box is not None and box_opacity > 0:
        prop.SetBackgroundColor(pv.Color(box).float_rgb)
        prop.SetBackgroundOpacity(box_opacity)
    {"left": prop.SetJustificationToLeft, "center": prop.SetJustificationToCentered,
     "right": prop.SetJustificationToRight}[justify]()
    {"bottom": prop.SetVerticalJustificationToBottom, "center": prop.SetVerticalJustificationToCentered,
     "top": prop.SetVerticalJustificationToTop}[vertical]()
    plotter.add_actor(actor, name=name, reset_camera=False, pickable=False)
    return actor


class Star:
    """A small star marking a point of the surface (a known minimum), drawn flat on the screen.

    It keeps its size in pixels, faces the viewer from every side and lies
    over the 3D scene, so a steep valley cannot bury it and a ball resting on
    the point shows around it; it is hidden while the surface stands between
    it and the camera (call :meth:`hide_when_behind`). An outline in a second
    colour makes it read on any part of the surface.
    """

    def __init__(self, plotter, point, radius_px, color, *, outline=None, outline_width=2.0, label="",
                 font_size=14, text_color="white", label_offset=0.0, box=None, box_opacity=0.0, shape="star",
                 name="star"):
        import pyvista as pv
        from vtkmodules.vtkRenderingCore import vtkActor2D, vtkCoordinate, vtkPolyDataMapper2D

        self.plotter = plotter
        self.point = np.asarray(point, dtype=float)
        rim = marker_outline(shape, radius_px)  # (n, 2) pixels around the point, a tip straight up
        n = len(rim)
        points = np.column_stack([np.vstack([[0.0, 0.0], rim]), np.zeros(n + 1)])  # (n+1, 3)
        fan = np.hstack([np.full((n, 1), 3), np.zeros((n, 1), int), 1 + np.arange(n)[:, None],
                         1 + (np.arange(n)[:, None] + 1) % n])
        edge = np.concatenate([[n + 1], 1 + np.arange(n), [1]])
        shapes = [(pv.PolyData(points, faces=fan.ravel()), color)]
        if outline is not None:
            shapes.append((pv.PolyData(points, lines=edge), outline))
        self.anchor = vtkCoordinate()
        self.anchor.SetCoordinateSystemToWorld()
        self.anchor.SetValue(*map(float, self.point))
        self.actors = []
        for k, (shape, rgb) in enumerate(shapes):
            mapper = vtkPolyDataMapper2D()
            mapper.SetInputData(shape)
            actor = vtkActor2D()
            actor.SetMapper(mapper)
            actor.GetProperty().SetColor(pv.Color(rgb).float_rgb)
            actor.GetProperty().SetLineWidth(float(outline_width))
            coord = actor.GetPositionCoordinate()
            coord.SetCoordinateSystemToDisplay()
            coord.SetValue(0.0, 0.0)
            coord.SetReferenceCoordinate(self.anchor)
            plotter.add_actor(actor, name=f"{name}_{k}", reset_camera=False, pickable=False)
            self.actors.append(actor)
        self.label = None
        if label:
            self.label = world_text(plotter, label, self.point, font_size=font_size, color=text_color,
                                    name=f"{name}_label", offset=(0.0, radius_px + label_offset), box=box,
                                    box_opacity=box_opacity)
        self.box_opacity = box_opacity
        self.opacity = 1.0
        self.behind = False

    def hide_when_behind(self, surface, tolerance=0.0):
        """Hide the star (and its label) before each render in which the surface hides its point.

        ``tolerance``: how far the surface may rise above the line of sight
        first (a point at the bottom of a narrow groove still counts as seen).
        """
        from lossfilm.render.camera import sight_blocked

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
        if self.label is not None:
            self.label.GetTextProperty().SetOpacity(self.opacity)
            self.label.GetTextProperty().SetBackgroundOpacity(self.opacity * self.box_opacity)
            self.label.SetVisibility(visible)


def marker_outline(shape, radius):
    """Corners (n, 2) of a marker shape, a tip straight up: ``"star"`` (a minimum) or ``"diamond"``.

    Examples
    --------
    >>> marker_outline("diamond", 2.0).round(6).tolist()
    [[0.0, 2.0], [-1.4, 0.0], [0.0, -2.0], [1.4, 0.0]]
    """
    if shape == "diamond":
        return np.array([[0.0, radius], [-0.7 * radius, 0.0], [0.0, -radius], [0.7 * radius, 0.0]])
    return star_outline(radius)[:, ::-1]


def star_outline(radius, inner=0.45, points=5):
    """The corners of a star (2 * points, 2), outer and inner in turn, the first pointing along +x.

    Examples
    --------
    >>> corners = star_outline(1.0)
    >>> corners.shape, np.round(corners[0], 6).tolist()
    ((10, 2), [1.0, 0.0])
    """
    angle = np.arange(2 * points) * np.pi / points  # (2p,)
    r = np.where(np.arange(2 * points) % 2 == 0, radius, inner * radius)
    return np.column_stack([r * np.cos(angle), r * np.sin(angle)])
