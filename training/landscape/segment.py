"""The 1-D view: the loss along the straight line from the initial to the final parameters.

Goodfellow, Vinyals and Saxe (2015) asked whether training meets obstacles
by looking at ``theta(t) = theta_0 + t * (theta_T - theta_0)``: ``t = 0`` is
the initial point, ``t = 1`` the final one, and a little either side shows
the walls. It is the other classic picture of the same question as the
plane, and much cheaper (a few dozen evaluations), so every landscape of the
built-in MLP carries it (``Landscape.line_t``, ``Landscape.line_loss``).
The loss along the path itself is already in ``path_loss_true`` against
``path_steps``.

The line is evaluated exactly, not read off the grid: the built-in MLP by
the plane loss's fast path (the line is a plane whose second direction
is zero), a user's model by its ``loss_fn``.

Examples
--------
>>> import numpy as np
>>> from lossfilm.format.layout import ParamLayout
>>> layout = ParamLayout(("w",), ((2,),))
>>> t = line_positions(5, (0.0, 1.0))
>>> loss, _ = line_losses(np.array([2.0, 0.0]), np.array([0.0, 0.0]), t, layout=layout,
...                       loss_fn=lambda p: float((p["w"] ** 2).sum()))
>>> t.tolist(), loss.tolist()
([0.0, 0.25, 0.5, 0.75, 1.0], [4.0, 2.25, 1.0, 0.25, 0.0])
"""

from __future__ import annotations

import numpy as np

from lossfilm.format.errors import ConfigError
from lossfilm.training.landscape.grid import MLPPlaneLoss, node_values
from lossfilm.training.landscape.plane import Plane

POINTS = 61  # positions along the line: steps of 0.025 over RANGE, so t = 0 and t = 1 are among them
RANGE = (-0.25, 1.25)  # a quarter of the distance beyond each end shows the walls


def line_positions(points=POINTS, t_range=RANGE):
    """The positions ``t`` (points,) along the line, evenly spaced over ``t_range``.

    The ends of the run, ``t = 0`` and ``t = 1``, are always among them
    where the range holds them (the nearest position is moved onto them), so
    the curve passes exactly through the first and last snapshot's loss.

    Examples
    --------
    >>> line_positions(3, (-1.0, 1.0)).tolist()
    [-1.0, 0.0, 1.0]
    >>> line_positions(4, (0.0, 1.2)).round(6).tolist()
    [0.0, 0.4, 0.8, 1.0]
    """
    points = int(points)
    if points < 2:
        raise ConfigError(f"line: need at least 2 points, got {points}")
    lo, hi = (float(v) for v in t_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ConfigError(f"line range {t_range}: need two finite numbers, the first below the second")
    t = np.linspace(lo, hi, points)
    for end in (0.0, 1.0):
        if lo <= end <= hi:
            t[np.argmin(np.abs(t - end))] = end
    return np.unique(t)


def line_losses(start, end, t, *, layout, loss_fn=None, acc_fn=None, X=None, y=None, workers=None,
                orientation="out_in"):
    """Loss (and accuracy) at ``start + t * (end - start)`` for each position ``t``.

    Parameters
    ----------
    start, end : array_like, shape (P,)
        The initial and final flat parameter vectors.
    t : array_like, shape (L,)
    layout : ParamLayout
    loss_fn, acc_fn : callable, optional
        ``fn(params_dict) -> float`` for a user's model; without ``loss_fn``
        the built-in MLP is evaluated on ``X``, ``y``.
    X, y : ndarray, optional
        Evaluation data of the built-in MLP.
    workers : int, optional
        Threads of the MLP fast path.
    orientation : {"out_in", "in_out"}
        How the built-in MLP's W arrays are laid out.

    Returns
    -------
    loss, accuracy : ndarray, shape (L,) each
        NaN where non-finite (accuracy NaN without ``acc_fn`` for a user's model).

    Examples
    --------
    >>> from lossfilm.format.layout import ParamLayout
    >>> layout = ParamLayout(("w",), ((1,),))
    >>> line_losses(np.zeros(1), np.ones(1), np.array([2.0]), layout=layout, loss_fn=lambda p: float(p["w"][0]))[0]
    array([2.])
    """
    start = np.asarray(start, dtype=np.float64)  # (P,)
    direction = np.asarray(end, dtype=np.float64) - start  # (P,) exact for float32 snapshots
    t = np.asarray(t, dtype=np.float64).reshape(-1)  # (L,)
    if loss_fn is None:
        if X is None or y is None:
            raise ConfigError("line: the built-in MLP needs evaluation data X, y (or pass loss_fn=...)")
        # A plane with a zero second direction: its alpha axis is the line, in units of the whole
        # step theta_T - theta_0, so alpha = t. Kept in float64: t = 1 is theta_T itself.
        plane = Plane(start, np.stack([direction, np.zeros_like(direction)]), "line")
        plane_loss = MLPPlaneLoss(plane, layout, X, y, workers=workers, dtype="float64",  # a few points: exact
                                 orientation=orientation)
        return plane_loss.at(np.column_stack([t, np.zeros_like(t)]))
    loss, accuracy = np.empty(len(t)), np.empty(len(t))
    for i, ti in enumerate(t):  # the grid's per-node rule: a non-finite loss is NaN
        node_loss, node_acc = node_values(loss_fn, acc_fn, layout.unflatten(start + ti * direction),
                                          f"at t = {ti:.4g} of the line from the first snapshot to the last")
        loss[i], accuracy[i] = node_loss[0], node_acc[0]
    return loss, accuracy


def trajectory_line(trajectory, *, points=POINTS, t_range=RANGE, loss_fn=None, acc_fn=None, X=None, y=None,
                    workers=None, orientation="out_in"):
    """``(t, loss, accuracy)`` along the line from a trajectory's first to its last snapshot.

    Examples
    --------
    >>> from lossfilm.format.trajectory import Trajectory
    >>> traj = Trajectory.from_snapshots([{"w": np.array([3.0])}, {"w": np.array([1.0])}])
    >>> t, loss, _ = trajectory_line(traj, points=3, t_range=(0, 1), loss_fn=lambda p: float(p["w"][0] ** 2))
    >>> loss.tolist()
    [9.0, 4.0, 1.0]
    """
    t = line_positions(points, t_range)
    loss, accuracy = line_losses(trajectory.params[0], trajectory.params[-1], t, layout=trajectory.layout,
                                 loss_fn=loss_fn, acc_fn=acc_fn, X=X, y=y, workers=workers,
                                 orientation=orientation)
    return t, loss, accuracy
