"""The lit loss surface: height scaling, the surface mesh, the floor and its contours.

The plane's coordinates (alpha, beta) and the loss are unrelated units, so
the loss is mapped to a scene height that is a fixed fraction of the
surface's width (:class:`Relief`): a flat-looking or needle-like surface
reads the same in every film. Everything else in the scene (ball, trail,
labels) is placed through the same :class:`Relief`, so it sits on what is
drawn.

Examples
--------
>>> import numpy as np
>>> relief = Relief(log_z=False, data_min=0.0, data_max=2.0, scale=0.5, floor_z=-0.2)
>>> relief.z(np.array([0.0, 2.0])).tolist()
[0.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossfilm.render.elements.mesh import visible_surface
from lossfilm.render.elements.theme import colormap

HEIGHT_FRACTION = 0.5  # surface height / its larger horizontal extent
FLOOR_GAP = 0.15  # distance of the contour floor under the surface, x height


@dataclass(frozen=True)
class Relief:
    """How a loss value becomes a height in the scene.

    ``z = (f(loss) - data_min) * scale`` with ``f`` the identity or log10.
    """

    log_z: bool
    data_min: float  # f(loss) at the surface's lowest finite node
    data_max: float  # f(loss) at its highest
    scale: float  # scene units per unit of f(loss)
    floor_z: float  # height of the contour floor
    log_floor: float = 0.0  # > 0: with log_z, values below it (zero and negative too) are drawn at it

    @classmethod
    def of(cls, landscape, log_z=False, height_fraction=HEIGHT_FRACTION, log_floor=0.0):
        """The relief of a landscape: its finite loss range fills ``height_fraction`` x width.

        ``log_floor`` > 0 clamps a log-scaled height there instead of blanking
        zeros: a test function whose minimum is exactly 0 keeps its bottom.

        Examples
        --------
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> land = SimpleNamespace(alphas=np.linspace(-1, 1, 3), betas=np.linspace(-1, 1, 3),
        ...                        loss=np.full((3, 3), 2.0) + np.eye(3))
        >>> Relief.of(land).top  # half the width (2.0)
        1.0
        """
        values = to_data(landscape.loss, log_z, log_floor)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            data_min, data_max = 0.0, 1.0
        else:
            data_min, data_max = float(finite.min()), float(finite.max())
        width = max(np.ptp(landscape.alphas), np.ptp(landscape.betas), 1e-12)
        # a perfectly flat grid still gets a (zero-height) surface at a sane scale
        span = data_max - data_min if data_max > data_min else 1.0
        scale = height_fraction * width / span
        floor_z = -FLOOR_GAP * height_fraction * width
        return cls(log_z=log_z, data_min=data_min, data_max=data_max, scale=float(scale), floor_z=float(floor_z),
                   log_floor=float(log_floor))

    def data(self, loss):
        """The loss as the surface plots it (as is, or log10), before scaling to a height."""
        return to_data(loss, self.log_z, self.log_floor)

    def z(self, loss):
        """Scene height of ``loss`` values (any shape; non-finite stays NaN)."""
        return (self.data(loss) - self.data_min) * self.scale

    @property
    def top(self):
        """Scene height of the highest finite node (the lowest is at 0)."""
        return float((self.data_max - self.data_min) * self.scale)


def to_data(loss, log_z, log_floor=0.0):
    """The loss as the surface plots it: as is, or log10 (non-finite -> NaN).

    A loss of 0 has no logarithm: it is NaN too (blanked, like the mesh export
    does), unless ``log_floor`` > 0, where every finite loss below it is drawn at it.

    Examples
    --------
    >>> to_data(np.array([100.0, 0.0, np.inf]), True).tolist()
    [2.0, nan, nan]
    >>> to_data(np.array([100.0, 0.0]), True, log_floor=0.01).tolist()
    [2.0, -2.0]
    """
    loss = np.asarray(loss, dtype=float)
    if log_z and log_floor > 0:
        loss = np.where(np.isfinite(loss), np.maximum(loss, log_floor), loss)
    with np.errstate(invalid="ignore", divide="ignore"):
        data = np.log10(np.where(loss > 0, loss, np.nan)) if log_z else loss.copy()
    data[~np.isfinite(loss)] = np.nan
    return data


class Surface:
    """The drawn surface, its floor with contour lines, and heights on it.

    Build with :func:`add_surface`. ``height_at(alpha, beta)`` is the scene
    height of the drawn surface there (bilinear, like the mesh), NaN over
    blanked nodes.
    """

    def __init__(self, landscape, relief, mesh, actors):
        self.landscape = landscape
        self.relief = relief
        self.mesh = mesh  # PolyData in scene coordinates, finite cells only
        self.actors = actors  # name -> vtkActor
        self._heights = relief.z(landscape.loss)  # (R1, R2) scene z, NaN where blanked

    @property
    def bounds(self):
        """(xmin, xmax, ymin, ymax, zmin, zmax) of surface and floor together."""
        a, b = self.landscape.alphas, self.landscape.betas
        return (float(a.min()), float(a.max()), float(b.min()), float(b.max()),
                self.relief.floor_z, self.relief.top)

    def height_at(self, alpha, beta):
        """Bilinear scene height of the grid at points (clamped to the grid).

        Examples
        --------
        >>> # surface.height_at(np.array([0.0]), np.array([0.0])) -> array([z])
        """
        return bilinear(self.landscape.alphas, self.landscape.betas, self._heights, alpha, beta)


def bilinear(xs, ys, values, x, y):
    """Bilinear interpolation of ``values`` (len(xs), len(ys)) at points (x, y).

    Points outside the grid are clamped to its edge; NaN corners give NaN.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> bilinear(np.array([0.0, 1.0]), np.array([0.0, 1.0]), v, np.array([0.5]), np.array([0.5])).tolist()
    [1.5]
    """
    x = np.clip(np.asarray(x, dtype=float), xs[0], xs[-1])
    y = np.clip(np.asarray(y, dtype=float), ys[0], ys[-1])
    i = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 2)
    j = np.clip(np.searchsorted(ys, y, side="right") - 1, 0, len(ys) - 2)
    tx = (x - xs[i]) / (xs[i + 1] - xs[i])
    ty = (y - ys[j]) / (ys[j + 1] - ys[j])
    return ((1 - tx) * (1 - ty) * values[i, j] + tx * (1 - ty) * values[i + 1, j]
            + (1 - tx) * ty * values[i, j + 1] + tx * ty * values[i + 1, j + 1])


def surface_mesh(landscape, relief):
    """The finite part of the surface as PolyData in scene coordinates, with point normals."""
    floored = relief.log_z and relief.log_floor > 0  # every finite node is drawn, zeros too
    poly = visible_surface(landscape, log_z=relief.log_z and not floored)
    points = np.array(poly.points, dtype=float)
    loss = np.asarray(poly.point_data["loss"], dtype=float)
    points[:, 2] = np.nan_to_num(relief.z(loss), nan=0.0)
    poly.points = points
    if floored:
        poly.point_data["log_loss"] = relief.data(loss)
    poly = poly.triangulate().compute_normals(
        cell_normals=False, point_normals=True, split_vertices=False, consistent_normals=True,
        auto_orient_normals=False)
    normals = poly.point_data["Normals"]
    if len(normals) and normals[:, 2].mean() < 0:  # a height field faces up
        poly.point_data["Normals"] = -normals
        poly.point_data.active_normals_name = "Normals"
    return poly


def contour_levels(lo, hi, count):
    """About ``count`` round levels strictly inside (lo, hi).

    Examples
    --------
    >>> contour_levels(0.0, 1.0, 4).tolist()
    [0.25, 0.5, 0.75]
    """
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return np.array([])
    step = nice_step((hi - lo) / max(count, 1))
    levels = np.arange(np.floor(lo / step) * step, hi, step)
    levels = levels[(levels > lo + 1e-9 * step) & (levels < hi - 1e-9 * step)]
    with np.errstate(over="ignore", invalid="ignore"):  # a loss near 1e300 overflows the rounding
        rounded = np.round(levels, 12)
    return np.where(np.isfinite(rounded), rounded, levels)


def nice_step(raw):
    """The smallest of 1, 2, 2.5, 5 x 10^k not below ``raw``.

    Examples
    --------
    >>> nice_step(0.23), nice_step(3.0)
    (0.25, 5.0)
    """
    if raw <= 0 or not np.isfinite(raw):
        return 1.0
    exponent = np.floor(np.log10(raw))
    for mantissa in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = mantissa * 10.0 ** exponent
        if step >= raw * (1 - 1e-9):
            return float(step)
    return float(10.0 ** (exponent + 1))


def add_surface(plotter, landscape, theme, relief, *, floor=True, isolines=True, n_contours=14, line_width=1.5):
    """Draw the lit surface (and the contour floor) into ``plotter``.

    Parameters
    ----------
    plotter : pyvista.Plotter
    landscape : lossfilm.format.landscape.Landscape
    theme : lossfilm.render.elements.theme.Theme
    relief : Relief
    floor : bool
        Draw a floor under the surface carrying its contour lines.
    isolines : bool
        Draw faint contour lines on the surface itself (they show its shape).
    n_contours : int
        About how many contour levels.
    line_width : float
        Contour line width in pixels (scale it with the frame height).

    Returns
    -------
    Surface

    Examples
    --------
    >>> # surface = add_surface(plotter, landscape, get_theme("dark"), Relief.of(landscape))
    """
    import pyvista as pv

    cmap = colormap(theme)
    mesh = surface_mesh(landscape, relief)
    scalars = "log_loss" if relief.log_z else "loss"
    clim = (relief.data_min, relief.data_max if relief.data_max > relief.data_min else relief.data_min + 1)
    actors = {}
    actors["surface"] = plotter.add_mesh(
        mesh, scalars=scalars, cmap=cmap, clim=clim, smooth_shading=False,
        ambient=theme.ambient, diffuse=theme.diffuse, specular=theme.specular,
        specular_power=theme.specular_power, show_scalar_bar=False, name="surface",
        interpolate_before_map=True,
    )
    # our own normals (computed once) with per-pixel lighting: smooth, no dotted highlights
    actors["surface"].prop.interpolation = "phong"
    levels = contour_levels(relief.data_min, relief.data_max, n_contours)
    if isolines and levels.size:
        lines = mesh.contour(isosurfaces=levels, scalars=scalars)
        if lines.n_points:
            # lifted a hair along the normal so the surface never hides them (no z-fighting)
            lift = 2e-3 * max(np.ptp(landscape.alphas), np.ptp(landscape.betas))
            lines.points = np.asarray(lines.points) + lift * np.asarray(lines.point_data["Normals"])
            actors["isolines"] = plotter.add_mesh(
                lines, color=theme.isoline, opacity=theme.isoline_opacity, line_width=0.8 * line_width,
                lighting=False, show_scalar_bar=False, name="isolines",
            )
            # Drawn in the opaque pass, still blended over the surface drawn before them: the same pixels,
            # but no translucent pass, which cost 40% of a frame under Mesa llvmpipe (70 -> 42 ms at 720p).
            actors["isolines"].SetForceOpaque(True)
    if floor:
        xmin, xmax, ymin, ymax = (landscape.alphas.min(), landscape.alphas.max(),
                                  landscape.betas.min(), landscape.betas.max())
        plane = pv.Plane(center=((xmin + xmax) / 2, (ymin + ymax) / 2, relief.floor_z),
                         direction=(0, 0, 1), i_size=xmax - xmin, j_size=ymax - ymin,
                         i_resolution=1, j_resolution=1)
        actors["floor"] = plotter.add_mesh(
            plane, color=theme.floor, opacity=theme.floor_opacity, ambient=0.6, diffuse=0.4,
            specular=0.0, show_scalar_bar=False, name="floor", lighting=True,
        )
        outline = pv.Rectangle([(xmin, ymin, relief.floor_z), (xmax, ymin, relief.floor_z),
                                (xmax, ymax, relief.floor_z)])
        actors["floor_edge"] = plotter.add_mesh(
            outline.extract_all_edges(), color=theme.edge, line_width=line_width,
            lighting=False, show_scalar_bar=False, name="floor_edge",
        )
        lines = _floor_contours(mesh, scalars, relief, levels)
        if lines is not None:
            actors["contours"] = plotter.add_mesh(
                lines, scalars=scalars, cmap=cmap, clim=clim, line_width=line_width,
                lighting=False, show_scalar_bar=False, name="contours",
            )
    return Surface(landscape, relief, mesh, actors)


def _floor_contours(mesh, scalars, relief, levels):
    """Contour lines of the surface, flattened onto the floor (None if there are none)."""
    if levels.size == 0:
        return None
    lines = mesh.contour(isosurfaces=levels, scalars=scalars)
    if lines.n_points == 0:
        return None
    points = np.array(lines.points, dtype=float)
    # a hair above the floor so the lines win the depth test against it
    points[:, 2] = relief.floor_z + 1e-3 * abs(relief.floor_z)
    lines.points = points
    return lines
