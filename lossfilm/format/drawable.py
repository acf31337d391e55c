"""Whether a landscape can be drawn as it is, and what a viewer should be told about it.

:func:`drawing_problems` runs before any rendering (``lossfilm.film`` and
``lossfilm.still`` call it while checking their inputs). A landscape that
cannot be drawn at all (no finite loss) is an :class:`ArtifactError`; one
that draws but may mislead (holes where the loss is NaN or inf, a constant
and so flat surface, path points off the grid, a loss so large that only a
log scale shows its shape) gives one warning line each.

Examples
--------
>>> import numpy as np
>>> from types import SimpleNamespace
>>> land = SimpleNamespace(loss=np.ones((3, 3)), computed=np.ones((3, 3), bool), alphas=np.arange(3.0),
...                        betas=np.arange(3.0), path_alpha=np.array([0.5, 9.0]), path_beta=np.array([1.0, 1.0]))
>>> for line in drawing_problems(land, "land.npz"):
...     print(line)
land.npz: the loss is 1 at every grid node: the surface is flat
land.npz: 1 of 2 path points lie outside the grid (alpha 0 to 2, beta 0 to 2); the ball leaves the surface there
"""

from __future__ import annotations

import numpy as np

from lossfilm.format.errors import ArtifactError

LOG_HINT_RANGE = 1e8  # a loss that spans more than this many times its smallest value reads better as --log-z
FLOAT32_MAX = float(np.finfo(np.float32).max)  # VTK draws heights in float32


def surface_cells(finite):
    """How many grid cells have four finite corners: the quads a surface is drawn from.

    >>> surface_cells(np.array([[True, True, False], [True, True, True]]))
    1
    """
    finite = np.asarray(finite, dtype=bool)
    if finite.ndim != 2 or min(finite.shape) < 2:
        return 0
    return int((finite[:-1, :-1] & finite[1:, :-1] & finite[:-1, 1:] & finite[1:, 1:]).sum())


def no_surface(finite):
    """Why a grid with ``finite`` nodes (a boolean mask) has no surface, in words; "" if it has one.

    >>> no_surface(np.zeros((3, 3), bool))
    'every grid node is NaN, inf or not computed: there is no surface to draw'
    """
    finite = np.asarray(finite, dtype=bool)
    if not finite.any():
        return "every grid node is NaN, inf or not computed: there is no surface to draw"
    if not surface_cells(finite):
        return (f"only {int(finite.sum())} of {finite.size} grid nodes are finite and no four of them make a grid "
                "cell (2 x 2 neighbouring nodes): there is no surface to draw")
    return ""


def grid_problems(landscape, where):
    """The landscape step's warning lines (empty if none): a grid with nothing, or no surface, to draw.

    The file is still written (its finished nodes are a result); the render step refuses it in the same words.
    """
    loss = np.asarray(landscape.loss, dtype=np.float64)
    computed = np.asarray(getattr(landscape, "computed", np.ones(loss.shape, bool)), dtype=bool)
    reason = no_surface(np.isfinite(loss) & computed)
    if not reason:
        return []
    return [f"{where}: {reason} (check the loss function, the learning rate or --range); rendering this "
            "landscape will be refused"]


def drawing_problems(landscape, where, log_z=False):
    """Warning lines about ``landscape`` (named ``where``); ArtifactError if nothing of it can be drawn."""
    loss = np.asarray(landscape.loss, dtype=np.float64)
    computed = np.asarray(getattr(landscape, "computed", np.ones(loss.shape, bool)), dtype=bool)
    finite = np.isfinite(loss) & computed
    if not finite.any():
        raise ArtifactError(f"{where}: the landscape has no finite loss value to draw "
                            "(every grid node is NaN, inf or not computed)")
    if not surface_cells(finite):
        raise ArtifactError(f"{where}: {no_surface(finite)}")
    values = loss[finite]
    lo, hi = float(values.min()), float(values.max())
    lines = []
    holes = int((~finite).sum())
    if holes:
        lines.append(f"{where}: {holes} of {loss.size} grid nodes are NaN, inf or not computed; "
                     "they are drawn as holes")
    if hi == lo:
        lines.append(f"{where}: the loss is {lo:.6g} at every grid node: the surface is flat")
    elif not log_z and lo > 0 and hi / lo > LOG_HINT_RANGE:
        lines.append(f"{where}: the loss spans {lo:.3g} to {hi:.3g}; only its largest values show in a linear "
                     "height: use --log-z (log_z=True)")
    elif max(abs(lo), abs(hi)) > FLOAT32_MAX:
        lines.append(f"{where}: the loss reaches {max(abs(lo), abs(hi)):.3g}, beyond float32; the surface is drawn "
                     "relative to its range and the numbers in scientific notation")
    alpha, beta = np.asarray(landscape.path_alpha), np.asarray(landscape.path_beta)
    a, b = np.asarray(landscape.alphas), np.asarray(landscape.betas)
    outside = ~((alpha >= a.min()) & (alpha <= a.max()) & (beta >= b.min()) & (beta <= b.max()))
    if outside.any():
        every = " (all of them)" if outside.all() else ""
        lines.append(f"{where}: {int(outside.sum())} of {len(alpha)} path points lie outside the grid{every} "
                     f"(alpha {a.min():.3g} to {a.max():.3g}, beta {b.min():.3g} to {b.max():.3g}); "
                     "the ball leaves the surface there")
    return lines
