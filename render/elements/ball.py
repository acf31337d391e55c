"""The things that ride on the surface: the ball and its trail.

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

from lossfilm.render.screen.placement import placer_for, project


class Ball:
    """A glossy sphere resting on the surface (its centre one radius along the normal)."""

    def __init__(self, plotter, radius, color, name="ball", *, rest=False):
        """``rest=True``: the ball rests on the rims of a groove narrower than itself
        (:meth:`lossfilm.render.elements.path_tube.BallPath.center_at`) instead of sinking into its walls."""
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
        self.progress = 0.0  # arc fraction of the path it was last moved to by an animation
        placer_for(plotter).balls.append(self)  # labels keep off it

    def move_to(self, path, progress):
        """Put the ball on the path at arc fraction ``progress``."""
        self.place(path.center_at(progress, self.radius, rest=self.rest))

    def place(self, center):
        """Put the ball's centre at ``center`` (3,)."""
        self.center = np.asarray(center, dtype=float)
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
        placer_for(plotter).paths.append(self)  # labels keep off it

    def screen_points(self, renderer):
        """Pixels (n, 2) of the tube's surface as drawn now (about 1,500 of its points)."""
        points = np.asarray(self.mesh.points)
        return project(renderer, points[:: max(1, len(points) // 1500)])

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


def spread_apart(balls, surface, gap=2.0):
    """Move balls that share a point apart until no two centres are closer than ``gap`` radii (in plan).

    Racers that reach one minimum would merge into one ball; spread, each
    shows its colour, touching the others, around the point they share. Each
    keeps its height above the surface under it. Pairs already apart are not
    moved, and the push grows smoothly as two balls close in.
    """
    centers = np.array([ball.center for ball in balls], dtype=float)  # (K, 3)
    if len(balls) < 2:
        return
    start = centers.copy()
    for _ in range(6):
        moved = False
        for i in range(len(balls)):
            for j in range(i + 1, len(balls)):
                need = 0.5 * gap * (balls[i].radius + balls[j].radius)
                offset = centers[j, :2] - centers[i, :2]
                distance = float(np.hypot(*offset))
                if distance >= need - 1e-12:
                    continue
                if distance < 1e-9 * need:  # the same point: a fixed direction per pair, the same every frame
                    angle = 2 * np.pi * (i + 1) / (len(balls) + 1) + 0.7 * j
                    unit = np.array([np.cos(angle), np.sin(angle)])
                else:
                    unit = offset / distance
                push = 0.5 * (need - distance) * unit
                centers[i, :2] -= push
                centers[j, :2] += push
                moved = True
        if not moved:
            break
    xmin, xmax, ymin, ymax = surface.bounds[:4]  # never pushed off the surface
    centers[:, 0] = np.clip(centers[:, 0], xmin, xmax)
    centers[:, 1] = np.clip(centers[:, 1], ymin, ymax)
    ground_then = surface.height_at(start[:, 0], start[:, 1])
    ground_now = surface.height_at(centers[:, 0], centers[:, 1])
    rise = np.where(np.isfinite(ground_then) & np.isfinite(ground_now), ground_now - ground_then, 0.0)
    centers[:, 2] = start[:, 2] + rise
    for ball, center, old in zip(balls, centers, start):
        if not np.allclose(center, old):
            ball.place(center)
