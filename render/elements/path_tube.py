"""The training path on the surface, as a smooth curve the ball can follow.

The recorded snapshots are a polyline in the plane; a film needs a point
for every frame time, far more (or fewer) than there are snapshots. The
snapshots are joined by a centripetal Catmull-Rom spline (passes through
every snapshot, no kinks, no overshoot loops), laid onto the drawn surface,
and re-sampled uniformly in 3D arc length. ``progress`` in [0, 1] is the
fraction of that arc length: equal steps of progress are equal distances on
screen, so the ball never jumps or stutters.

Heights: the ball rides the on-plane loss of the path (``path_loss_plane``);
between snapshots the curve follows the drawn surface, corrected by the
(linearly blended) difference between the two at the snapshots, and never
below the drawn surface, so the ball is not buried where the grid is coarse.

Several paths on one surface (an optimizer race) are stored one after
another in the landscape; :func:`one_path` gives the landscape seen through
one of them, and each gets its own :class:`BallPath`.

Examples
--------
>>> # path = BallPath(landscape, surface)
>>> # path.point_at(0.5)       -> (3,) point on the surface half-way along the path
>>> # path.state_at(0.5).step  -> the optimizer step there
>>> # adam = BallPath(one_path(landscape, "adam"), surface)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lossfilm.format.errors import ArtifactError, ConfigError

SAMPLES = 1500  # points of the re-sampled curve; the trail tube is built from them
DENSE_LIMIT = 40_000  # spline evaluations before re-sampling


@dataclass(frozen=True)
class PathState:
    """What the heads-up display shows at one point of the path (NaN: unknown)."""

    index: float  # fractional snapshot index
    step: float
    epoch: float
    loss_true: float
    loss_plane: float
    accuracy: float
    step_is_epoch: bool = False  # full-batch training: every step is one epoch, shown as a whole number


_PATH_ARRAYS = ("path_alpha", "path_beta", "path_loss_plane", "path_loss_true", "path_accuracy",
                "residuals", "path_steps", "path_epochs")


def one_path(landscape, name=None):
    """The landscape with only the path called ``name`` (default: the first).

    The grid and every other field are shared, not copied; the result has
    one path, so anything written for a single path works on it.

    Raises
    ------
    ConfigError
        No path of that name; the message lists the names.

    Examples
    --------
    >>> # one_path(race_landscape, "adam").path_names
    >>> # ('adam',)
    """
    names = tuple(landscape.path_names)
    if name is None:
        name = names[0]
    if name not in names:
        raise ConfigError(f"path {name!r} is not in this landscape; it has {', '.join(names)}")
    if len(names) == 1:
        return landscape
    rows = np.flatnonzero(np.asarray(landscape.path_owner) == names.index(name))
    sliced = {field: np.asarray(getattr(landscape, field))[rows] for field in _PATH_ARRAYS}
    return dataclasses.replace(landscape, **sliced, path_owner=np.zeros(len(rows), dtype=np.int64),
                               path_names=(name,))


class BallPath:
    """The path as a curve on the surface, parametrised by arc-length fraction.

    Parameters
    ----------
    landscape : lossfilm.format.landscape.Landscape
    surface : lossfilm.render.elements.surface.Surface
        Gives the drawn heights (``height_at``) and the relief (loss -> z).
    smooth : float
        Gaussian smoothing of the plane coordinates, in snapshots (0: exact;
        a few snapshots calm a noisy SGD path; the ends stay put).
    samples : int
        Points of the re-sampled curve.
    name : str, optional
        Which path of a landscape with several (default: the first).
    """

    def __init__(self, landscape, surface, *, smooth=0.0, samples=SAMPLES, name=None):
        landscape = one_path(landscape, name)
        self.name = landscape.path_names[0]
        self.landscape = landscape
        self._rest_cache = {}  # ball radius -> (S, 3) resting centres
        self.surface = surface
        relief = surface.relief
        alpha = np.asarray(landscape.path_alpha, dtype=float)  # (T,)
        beta = np.asarray(landscape.path_beta, dtype=float)  # (T,)
        T = len(alpha)
        if T == 0:
            raise ArtifactError("landscape: the path has no snapshots; nothing to film")
        if smooth > 0 and T > 2:
            alpha, beta = _gaussian(alpha, smooth), _gaussian(beta, smooth)
        self.plane = np.stack([alpha, beta], axis=1)  # (T, 2)

        # snapshot heights: the on-plane loss, where it is finite
        plane_z = relief.z(landscape.path_loss_plane)  # (T,)
        drawn_z = surface.height_at(alpha, beta)  # (T,)
        correction = np.nan_to_num(plane_z - drawn_z, nan=0.0)  # (T,)

        xy, index = _spline(self.plane)  # (N, 2), (N,) fractional snapshot index
        z = surface.height_at(xy[:, 0], xy[:, 1])  # (N,)
        z = z + np.maximum(np.interp(index, np.arange(T), correction), 0.0)
        missing = ~np.isfinite(z)  # over blanked nodes: the snapshot heights, blended
        if missing.any():
            fallback = _interp_finite(index[missing], plane_z)
            z[missing] = np.where(np.isfinite(fallback), fallback, relief.top)
        points = np.column_stack([xy, z])  # (N, 3)

        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
        self.length = float(arc[-1])
        if self.length > 0:
            fraction = arc / self.length
            # uniform in arc length; keep the curve's end exactly
            self.arc = np.linspace(0.0, 1.0, max(2, samples))  # (S,)
            self.points = np.column_stack([np.interp(self.arc, fraction, points[:, k]) for k in range(3)])
            self.index = np.interp(self.arc, fraction, index)  # (S,)
        else:  # a path that never moves: one point
            self.arc = np.array([0.0, 1.0])
            self.points = np.repeat(points[:1], 2, axis=0)
            self.index = np.array([0.0, float(T - 1)])
        self.normals = self.surface_normal(self.points[:, 0], self.points[:, 1])  # (S, 3)

    def point_at(self, progress):
        """The on-surface point at arc fraction ``progress`` (clamped to [0, 1])."""
        p = float(np.clip(progress, 0.0, 1.0))
        return np.array([np.interp(p, self.arc, self.points[:, k]) for k in range(3)])

    def normal_at(self, progress):
        """Unit surface normal (pointing up) at arc fraction ``progress``."""
        p = float(np.clip(progress, 0.0, 1.0))
        n = np.array([np.interp(p, self.arc, self.normals[:, k]) for k in range(3)])
        return n / np.linalg.norm(n)

    def index_at(self, progress):
        """Fractional snapshot index at arc fraction ``progress``."""
        return float(np.interp(np.clip(progress, 0.0, 1.0), self.arc, self.index))

    def progress_at_index(self, index):
        """Arc fraction at fractional snapshot ``index`` (inverse of :meth:`index_at`)."""
        return float(np.interp(index, self.index, self.arc))

    @property
    def first_step(self):
        return float(self.landscape.path_steps[0])

    @property
    def last_step(self):
        """The optimizer step of the last snapshot: the ball rests at the end from here on."""
        return float(np.max(self.landscape.path_steps))

    def index_at_step(self, step):
        """Fractional snapshot index at optimizer step ``step`` (the shared clock of a race).

        The last snapshot with ``path_steps <= step``, blended towards the
        next one; before the first snapshot the start, after the last one
        the end (the ball rests there).

        Examples
        --------
        >>> # steps 0, 10, 20: step 15 -> index 1.5; step 99 -> index 2.0
        """
        steps = np.maximum.accumulate(np.asarray(self.landscape.path_steps, dtype=float))
        if step <= steps[0] or len(steps) == 1:
            return 0.0
        if step >= steps[-1]:
            return float(len(steps) - 1)
        i = int(np.searchsorted(steps, step, side="right")) - 1  # steps[i] <= step < steps[i + 1]
        return i + (step - steps[i]) / (steps[i + 1] - steps[i])

    def progress_at_step_fraction(self, fraction):
        """Arc fraction reached after ``fraction`` of the optimizer steps.

        This is the ``"steps"`` easing: time proportional to optimizer steps,
        so the fast early descent shows as fast motion.

        Examples
        --------
        >>> # path.progress_at_step_fraction(0.1) -> often > 0.5: most distance is covered early
        """
        steps = np.asarray(self.landscape.path_steps, dtype=float)
        f = float(np.clip(fraction, 0.0, 1.0))
        if len(steps) < 2 or steps[-1] <= steps[0]:
            return f
        if f >= 1.0:
            return 1.0
        steps = np.maximum.accumulate(steps)
        step = steps[0] + f * (steps[-1] - steps[0])
        # the first snapshot that reached this step: snapshots of one step take no time
        i = int(np.searchsorted(steps, step, side="left"))
        if i == 0:
            return 0.0
        index = i - 1 + (step - steps[i - 1]) / (steps[i] - steps[i - 1])
        return self.progress_at_index(index)

    def state_at(self, progress):
        """Step, epoch, losses and accuracy at ``progress``, blended between snapshots."""
        return self.state_at_index(self.index_at(progress))

    def state_at_index(self, index):
        """Step, epoch, losses and accuracy at fractional snapshot ``index``.

        The epoch is the one of the whole step the HUD shows (between two
        snapshots the step is blended, then rounded): a counter never reads
        "step 25, epoch 25.39" where a step is an epoch.
        """
        land = self.landscape
        step = _at(land.path_steps, index)
        steps = np.asarray(land.path_steps, dtype=float)
        epochs = np.asarray(land.path_epochs, dtype=float)
        epoch = _at(epochs, index)
        if len(steps) > 1 and np.all(np.diff(steps) > 0) and np.isfinite(epochs).all():
            epoch = float(np.interp(round(step), steps, epochs))
        return PathState(
            index=index,
            step=step,
            epoch=epoch,
            loss_true=_at(land.path_loss_true, index),
            loss_plane=_at(land.path_loss_plane, index),
            accuracy=_at(land.path_accuracy, index),
            step_is_epoch=self.step_is_epoch,
        )

    @property
    def step_is_epoch(self):
        """Whether every optimizer step of the path is one epoch (full-batch training)."""
        steps = np.asarray(self.landscape.path_steps, dtype=float)
        epochs = np.asarray(self.landscape.path_epochs, dtype=float)
        if len(steps) < 2 or not np.isfinite(epochs).all():
            return False
        return bool(np.allclose(np.diff(epochs), np.diff(steps), rtol=1e-6, atol=1e-9))

    def center_at(self, progress, radius, *, rest=False):
        """Centre of a ball of ``radius`` on the path at ``progress``: one radius along the normal.

        ``rest=True`` raises it, where need be, until it no longer cuts into
        the drawn surface: in a groove narrower than the ball it rests on the
        rims, in plain sight, instead of sinking into the walls.
        """
        p = float(np.clip(progress, 0.0, 1.0))
        if not rest:
            return self.point_at(p) + radius * self.normal_at(p)
        centers = self._resting(radius)
        return np.array([np.interp(p, self.arc, centers[:, k]) for k in range(3)])

    def _resting(self, radius):
        cache = self._rest_cache
        if radius not in cache:
            centers = self.points + radius * self.normals  # (S, 3)
            rings = np.array([0.0, 0.35, 0.7, 0.95])
            angles = np.linspace(0.0, 2 * np.pi, 16, endpoint=False)
            d = np.array([[r * np.cos(a), r * np.sin(a)] for r in rings for a in angles]) * radius  # (M, 2)
            x = centers[:, :1] + d[None, :, 0]  # (S, M)
            y = centers[:, 1:2] + d[None, :, 1]
            ground = self.surface.height_at(x.ravel(), y.ravel()).reshape(x.shape)  # (S, M)
            cap = np.sqrt(np.maximum(radius ** 2 - (d ** 2).sum(axis=1), 0.0))  # (M,) sphere above each offset
            needed = np.nanmax(np.where(np.isfinite(ground), ground + cap[None, :], -np.inf), axis=1)  # (S,)
            centers[:, 2] = np.maximum(centers[:, 2], needed)
            cache[radius] = centers
        return cache[radius]

    def upto(self, progress):
        """The curve from the start to ``progress``: (K, 3) points and (K, 3) normals, K >= 2."""
        p = float(np.clip(progress, 0.0, 1.0))
        k = int(np.searchsorted(self.arc, p, side="left"))
        head = self.point_at(p)[None, :]
        points = np.concatenate([self.points[:k], head])
        normals = np.concatenate([self.normals[:k], self.normal_at(p)[None, :]])
        if len(points) < 2:  # a tube needs two points; a zero-length one draws nothing
            points = np.concatenate([points, points])
            normals = np.concatenate([normals, normals])
        return points, normals

    def surface_normal(self, x, y):
        """Unit normals of the drawn surface at points (x, y): (n, 3)."""
        land = self.landscape
        hx = 0.5 * float(np.min(np.diff(land.alphas)))
        hy = 0.5 * float(np.min(np.diff(land.betas)))
        dzdx = (self.surface.height_at(x + hx, y) - self.surface.height_at(x - hx, y)) / (2 * hx)
        dzdy = (self.surface.height_at(x, y + hy) - self.surface.height_at(x, y - hy)) / (2 * hy)
        n = np.column_stack([-np.nan_to_num(dzdx), -np.nan_to_num(dzdy), np.ones_like(dzdx)])
        return n / np.linalg.norm(n, axis=1, keepdims=True)


def _at(values, index):
    """Linear blend of per-snapshot ``values`` at a fractional index (NaN stays NaN)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return float(values[0])
    i = int(np.clip(np.floor(index), 0, len(values) - 2))
    t = float(np.clip(index - i, 0.0, 1.0))
    return float((1 - t) * values[i] + t * values[i + 1]) if t > 0 else float(values[i])


def _interp_finite(index, values):
    """Interpolate ``values`` at fractional indices using only their finite entries."""
    ok = np.isfinite(values)
    if not ok.any():
        return np.full(len(index), np.nan)
    return np.interp(index, np.flatnonzero(ok), values[ok])


def _gaussian(values, sigma):
    """Gaussian smoothing along the path with the first and last values held."""
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, radius, mode="reflect", reflect_type="odd")
    smoothed = np.convolve(padded, kernel, mode="valid")
    # fade the smoothing out at the ends so the start and the minimum stay where they were
    weight = np.minimum(np.arange(len(values)), np.arange(len(values))[::-1]) / max(radius, 1)
    weight = np.clip(weight, 0.0, 1.0)
    return weight * smoothed + (1 - weight) * values


def _spline(points):
    """Centripetal Catmull-Rom through 2D ``points`` (T, 2).

    Returns the dense curve (N, 2) and the fractional snapshot index of each
    of its points. Repeated consecutive points (a converged run) are merged.
    """
    T = len(points)
    step = np.linalg.norm(np.diff(points, axis=0), axis=1)  # (T-1,)
    scale = max(np.ptp(points, axis=0).max(), 1e-300)
    # the last snapshot of each run of equal points: the ball waits there, then moves on
    keep = np.concatenate([np.flatnonzero(step > 1e-9 * scale), [T - 1]])
    P = points[keep]  # (K, 2)
    K = len(P)
    if K < 2:
        return np.repeat(points[:1], 2, axis=0), np.array([0.0, float(T - 1)])
    ext = np.concatenate([2 * P[:1] - P[1:2], P, 2 * P[-1:] - P[-2:-1]])  # (K+2, 2) mirrored ends
    dt = np.sqrt(np.maximum(np.linalg.norm(np.diff(ext, axis=0), axis=1), 1e-12 * scale))  # (K+1,)
    knots = np.concatenate([[0.0], np.cumsum(dt)])  # (K+2,)

    per = int(np.clip(DENSE_LIMIT // (K - 1), 1, 24))  # evaluations per segment
    u = np.arange(per) / per  # (per,) in [0, 1)
    seg = np.repeat(np.arange(K - 1), per)  # (M,) segment of each evaluation
    frac = np.tile(u, K - 1)  # (M,)
    p0, p1, p2, p3 = ext[seg], ext[seg + 1], ext[seg + 2], ext[seg + 3]  # (M, 2) each
    t0, t1, t2, t3 = knots[seg], knots[seg + 1], knots[seg + 2], knots[seg + 3]  # (M,) each
    t = (t1 + frac * (t2 - t1))[:, None]  # (M, 1)
    t0, t1, t2, t3 = (k[:, None] for k in (t0, t1, t2, t3))
    # Barry-Goldman pyramid: three linear blends, then two, then one
    a1 = ((t1 - t) * p0 + (t - t0) * p1) / (t1 - t0)
    a2 = ((t2 - t) * p1 + (t - t1) * p2) / (t2 - t1)
    a3 = ((t3 - t) * p2 + (t - t2) * p3) / (t3 - t2)
    b1 = ((t2 - t) * a1 + (t - t0) * a2) / (t2 - t0)
    b2 = ((t3 - t) * a2 + (t - t1) * a3) / (t3 - t1)
    curve = ((t2 - t) * b1 + (t - t1) * b2) / (t2 - t1)  # (M, 2)

    start, end = keep[seg].astype(float), (keep[seg] + 1).astype(float)
    # open with snapshot 0 (the first run) and close on the last snapshot
    curve = np.concatenate([P[:1], curve, P[-1:]])  # (M+2, 2)
    index = np.concatenate([[0.0], start + frac * (end - start), [float(T - 1)]])  # (M+2,)
    return curve, index
