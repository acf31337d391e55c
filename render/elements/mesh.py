"""The landscape as a PyVista structured grid, and its ``.vts`` / ``.obj`` exports.

Point ``(i, j)`` of the grid is ``(alphas[i], betas[j], z[i, j])`` with
``z`` the loss or ``log10`` of it. Non-finite or not-yet-computed nodes never
put NaN into the points: their height is clamped to the largest finite value
and they are hidden by blanking (``hide_points``), so neither PyVista nor
ParaView draws the cells around them.

Examples
--------
>>> import numpy as np
>>> from lossfilm.format.landscape import Landscape
>>> land = Landscape.load("media/cache/landscape.npz")  # doctest: +SKIP
>>> grid = structured_grid(land, log_z=True)  # doctest: +SKIP
>>> grid.point_data["loss"].shape == (land.loss.size,)  # doctest: +SKIP
True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lossfilm.format.artifact import atomic_path
from lossfilm.format.errors import ConfigError, RenderError


def structured_grid(landscape, log_z=False):
    """A ``pyvista.StructuredGrid`` of the loss surface.

    Parameters
    ----------
    landscape : Landscape
    log_z : bool
        Height is ``log10(loss)`` instead of the loss.

    Returns
    -------
    pyvista.StructuredGrid
        Dimensions ``(R1, R2, 1)``; point arrays ``"loss"``, ``"log_loss"``
        and ``"accuracy"`` (clamped like the height where the loss is not
        finite, so filters never meet NaN) and ``"finite"`` (1 where the loss
        is a real value, 0 at the hidden nodes).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> loss = np.array([[1.0, 10.0], [np.nan, 100.0]])
    >>> land = SimpleNamespace(alphas=np.array([0.0, 1.0]), betas=np.array([0.0, 1.0]), loss=loss,
    ...                        accuracy=np.full((2, 2), 0.5), computed=np.ones((2, 2), bool))
    >>> grid = structured_grid(land, log_z=True)
    >>> grid.points[:, 2].tolist()  # x fastest: (0,0), (1,0), (0,1), (1,1)
    [0.0, 2.0, 1.0, 2.0]
    >>> grid.point_data["finite"].tolist()
    [1, 0, 1, 1]
    """
    import pyvista as pv

    alphas = np.asarray(landscape.alphas, dtype=np.float64)
    betas = np.asarray(landscape.betas, dtype=np.float64)
    loss = np.asarray(landscape.loss, dtype=np.float64)
    finite = np.asarray(landscape.computed, bool) & np.isfinite(loss)  # (R1,R2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_loss = np.log10(loss)
    log_finite = finite & np.isfinite(log_loss)  # a loss of exactly 0 has no logarithm
    loss_filled = _clamped(loss, finite)
    log_filled = _clamped(log_loss, log_finite)
    z = log_filled if log_z else loss_filled
    A, B = np.meshgrid(alphas, betas, indexing="ij")  # (R1,R2)
    grid = pv.StructuredGrid(A, B, z)
    # VTK orders points with the first axis fastest: Fortran order of (R1, R2).
    grid.point_data["loss"] = loss_filled.ravel(order="F")
    grid.point_data["log_loss"] = log_filled.ravel(order="F")
    accuracy = np.asarray(landscape.accuracy, dtype=np.float64)
    grid.point_data["accuracy"] = np.where(np.isfinite(accuracy), accuracy, 0.0).ravel(order="F")
    visible = log_finite if log_z else finite
    grid.point_data["finite"] = visible.ravel(order="F").astype(np.uint8)
    hidden = np.flatnonzero(~visible.ravel(order="F"))
    if hidden.size:
        grid.hide_points(hidden)
    return grid


def export_vts(landscape, path, log_z=False):
    """Write the structured grid to a ``.vts`` file (ParaView opens it), atomically.

    Examples
    --------
    >>> export_vts(land, "media/cache/landscape.vts")  # doctest: +SKIP
    """
    path = _checked(path, ".vts")
    grid = structured_grid(landscape, log_z=log_z)
    with atomic_path(path) as tmp:
        _write(grid, tmp, path)


def export_obj(landscape, path, log_z=False):
    """Write the visible surface as a Wavefront ``.obj`` mesh, atomically.

    Only cells whose four corners have a finite loss are written.

    Examples
    --------
    >>> export_obj(land, "media/cache/landscape.obj")  # doctest: +SKIP
    """
    path = _checked(path, ".obj")
    surface = visible_surface(landscape, log_z=log_z)
    if surface.n_cells == 0:
        raise RenderError(f"{path}: the landscape has no finite cell to write")
    with atomic_path(path) as tmp:
        _write(surface, tmp, path)


def visible_surface(landscape, log_z=False):
    """A ``pyvista.PolyData`` of the grid's cells whose corners are all finite."""
    grid = structured_grid(landscape, log_z=log_z)
    visible = grid.point_data["finite"].astype(bool).reshape(len(landscape.betas), len(landscape.alphas))
    # cell (i, j) spans points (i..i+1, j..j+1); cells are ordered like points, i fastest.
    cells = visible[:-1, :-1] & visible[1:, :-1] & visible[:-1, 1:] & visible[1:, 1:]  # (R2-1,R1-1)
    import pyvista as pv
    from vtkmodules.vtkFiltersGeometry import vtkGeometryFilter

    # vtkGeometryFilter directly: PyVista's wrappers for it change between versions.
    geometry = vtkGeometryFilter()
    geometry.SetInputData(grid.extract_cells(np.flatnonzero(cells.ravel())))
    geometry.Update()
    return pv.wrap(geometry.GetOutput())


def _clamped(values, finite):
    """``values`` with non-finite entries set to the largest finite one (0 if there is none)."""
    fill = values[finite].max() if finite.any() else 0.0
    return np.where(finite, values, fill)


def _checked(path, suffix):
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise ConfigError(f"{path}: the file name must end in {suffix}")
    return path


def _write(mesh, tmp, path):
    try:
        mesh.save(str(tmp))
    except (OSError, ValueError, TypeError) as exc:
        raise RenderError(f"{path}: cannot write ({exc})") from exc
