"""The plane: an origin and two directions through parameter space (orthonormal, but for ``--scaling li``).

Three ways to choose it for a run, all with the origin at the final parameters:

- ``pca_plane``: the two leading principal directions of the snapshot offsets
  ``theta_t - theta_final``, centred on their mean as Li et al. 2018's code
  (scikit-learn's PCA) does (kind ``pca``), or uncentred (``pca-uncentred``),
  found by streaming the snapshots in blocks, never forming a P x P matrix.
- ``random_plane``: seeded Gaussian directions, filter-normalised (Li et al.),
  then made orthonormal, or kept at Li et al.'s exact scaling.
- ``anchors_plane``: the plane through three chosen snapshots.
- the Hessian plane: the top two eigenvectors of the loss's Hessian at the
  final parameters (Lanczos, :mod:`lossfilm.training.curvature.lanczos`), optionally
  filter-normalised; it needs the evaluation's Hessian-vector products.

:func:`make_plane` makes the plane of a landscape's ``directions_kind`` for
its paths (:mod:`lossfilm.training.landscape.descent_paths`): one builder per kind, registered
with :func:`plane_builder`. A race's plane goes through the racers' shared
start instead (so every ball starts at (0, 0)): PCA of all their snapshots
together, or the plane through the start and the first two final points. A
2-D function's plane is its own axes. To add a kind, see
:mod:`lossfilm.format.planes`.

Point ``(alpha, beta)`` of a plane is ``origin + alpha * d1 + beta * d2``;
coordinates are distances in parameter space along the unit directions
(multiples of the whole directions for ``scaling="li"``).
The origin and directions are rounded to float32 once, when the plane is
made, and everything downstream uses those rounded values, so a landscape
file is self-consistent: its losses are exactly at the points it stores.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> params = np.cumsum(rng.normal(size=(20, 50)), axis=0).astype(np.float32)
>>> plane = pca_plane(params)
>>> bool(np.allclose(plane.directions @ plane.directions.T, np.eye(2), atol=1e-6))
True
>>> alpha, beta, residual = plane.project(params)
>>> float(alpha[-1]), float(beta[-1]), float(residual[-1])
(0.0, 0.0, 0.0)
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from lossfilm.format.errors import ConfigError, DataError
from lossfilm.format.planes import PLANE_KINDS, SCALINGS
from lossfilm.training.curvature.lanczos import top_eigenpairs
from lossfilm.training.landscape.param_roles import param_role
from lossfilm.training.landscape.pca import (GRAM_MAX_SNAPSHOTS, mean_row, row_blocks, stacked_rows, top2_gram,
                                   top2_randomized)

DIRECTIONS = tuple(name for name, kind in PLANE_KINDS.items() if kind.network)  # the --directions choices


@dataclass(frozen=True)
class Plane:
    """A 2D plane through parameter space.

    Attributes
    ----------
    origin : ndarray, shape (P,), float32
    directions : ndarray, shape (2, P), float32
        Orthonormal (to float32 rounding) unit directions ``d1``, ``d2``;
        for a random plane with ``scaling="li"``, Li et al.'s filter-normalised ones.
    directions_kind : str
        The kind of plane, a key of :data:`lossfilm.format.planes.PLANE_KINDS`
        (``"pca"``, ``"random"``, ...).
    explained_variance : ndarray, shape (2,)
        Share of the offsets' total variance along each direction (PCA);
        NaN for the other kinds.
    info : dict
        JSON-able record of what produced the plane (method, seed, anchors).
    """

    origin: np.ndarray
    directions: np.ndarray
    directions_kind: str
    explained_variance: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))
    info: dict = field(default_factory=dict)

    def point(self, alpha, beta):
        """The parameter vector (P,) float64 at plane coordinates ``(alpha, beta)``.

        Examples
        --------
        >>> plane = Plane(np.zeros(3, np.float32), np.eye(3, dtype=np.float32)[:2], "random")
        >>> plane.point(2.0, -1.0).tolist()
        [2.0, -1.0, 0.0]
        """
        d1, d2 = self.directions.astype(np.float64)
        return self.origin.astype(np.float64) + alpha * d1 + beta * d2

    def project(self, params, progress=False):
        """Coordinates and distance from the plane of each row of ``params``.

        Rows are streamed in blocks, so ``params`` may be a large memmap.
        The projection is the exact least-squares one onto the stored
        float32 directions (their 2x2 Gram matrix is inverted, not assumed
        to be the identity).

        Parameters
        ----------
        params : array_like, shape (T, P)
        progress : bool
            A progress bar with ETA on stderr (for a large memory-mapped trajectory).

        Returns
        -------
        alpha, beta, residual : ndarray, shape (T,) each, float64
            ``residual[t] = ||theta_t - (origin + alpha_t d1 + beta_t d2)||``.

        Examples
        --------
        >>> plane = Plane(np.zeros(3, np.float32), np.eye(3, dtype=np.float32)[:2], "random")
        >>> a, b, r = plane.project(np.array([[1.0, 2.0, 2.0]]))
        >>> a.tolist(), b.tolist(), r.tolist()
        ([1.0], [2.0], [2.0])
        """
        params = _rows(params, self.origin.size, "params")
        origin = self.origin.astype(np.float64)
        D = self.directions.astype(np.float64)  # (2,P)
        gram_inv = np.linalg.inv(D @ D.T)  # (2,2), the identity up to float32 rounding
        coords = np.empty((len(params), 2))
        residual = np.empty(len(params))
        bar = tqdm(total=len(params), disable=not progress, file=sys.stderr, unit="snapshot", desc="projection",
                   dynamic_ncols=True)
        for start, block in row_blocks(params):
            bar.update(len(block))
            offsets = block - origin  # (b,P)
            c = (offsets @ D.T) @ gram_inv  # (b,P)@(P,2) -> (b,2)
            offsets -= c @ D
            coords[start:start + len(block)] = c
            residual[start:start + len(block)] = np.sqrt(np.einsum("ij,ij->i", offsets, offsets))
        bar.close()
        bad = np.flatnonzero(~np.isfinite(residual))
        if bad.size:
            raise DataError(f"snapshot {bad[0]}: parameters contain NaN or inf; cannot project it")
        return coords[:, 0], coords[:, 1], residual


_BUILDERS: dict[str, tuple[Callable, bool]] = {}  # directions_kind -> (builder, whether it also makes a race's plane)
_NEEDS_LOSS: set[str] = set()  # kinds whose builder also takes the evaluation (it measures the loss)


def plane_builder(kind, *, race=False, needs_loss=False):
    """Register ``builder(paths, settings) -> Plane`` as the maker of planes of ``kind``.

    ``kind`` must be in :data:`lossfilm.format.planes.PLANE_KINDS` (its
    label, summary and grid reach live there). With ``race=True`` the
    builder also makes a race's plane (``paths.race``): its origin must be the
    racers' shared start. With ``needs_loss=True`` it is called as
    ``builder(paths, settings, evaluation)`` (e.g. for the loss's curvature).
    """
    if kind not in PLANE_KINDS:
        raise ValueError(f"plane kind {kind!r} is not in lossfilm.format.planes.PLANE_KINDS; add it there first")

    def register(builder):
        _BUILDERS[kind] = (builder, race)
        if needs_loss:
            _NEEDS_LOSS.add(kind)
        return builder
    return register


def make_plane(paths, settings, evaluation=None, *, progress=False):
    """The plane of kind ``settings.directions_kind`` for ``paths`` (a Run, a Race or Iterates).

    ``progress`` reaches the builders that take it (the PCA's): a long
    computation then reports on stderr.

    Examples
    --------
    >>> from lossfilm.format.trajectory import Trajectory
    >>> from lossfilm.training.landscape.descent_paths import Run
    >>> from lossfilm.training.landscape.settings import LandscapeSettings
    >>> rng = np.random.default_rng(1)
    >>> run = Run(Trajectory.from_snapshots([{"w": rng.normal(size=8)} for _ in range(5)]))
    >>> make_plane(run, LandscapeSettings(directions_kind="anchors")).info["anchors"]
    [0, 2, 4]
    """
    check_directions(paths, settings)
    builder, _ = _BUILDERS[settings.directions_kind]
    if settings.directions_kind in _NEEDS_LOSS:
        if evaluation is None:
            raise ConfigError(f"--directions {settings.directions_kind}: this plane is made from the loss; "
                              "no evaluation was given")
        return builder(paths, settings, evaluation)
    if progress and "progress" in inspect.signature(builder).parameters:
        return builder(paths, settings, progress=True)
    return builder(paths, settings)


def check_directions(paths, settings):
    """Raise ConfigError unless a plane of ``settings.directions_kind`` can be made for ``paths``."""
    kind = settings.directions_kind
    if kind not in _BUILDERS:
        raise ConfigError(f"--directions {kind!r}: no builder makes this kind of plane; "
                          f"choose one of {', '.join(DIRECTIONS)}")
    if paths.race and not _BUILDERS[kind][1]:
        raise ConfigError(f"--directions {kind}: a race's plane goes through the racers' shared start; "
                          f"choose one of {', '.join(race_directions())}")


def race_directions():
    """The kinds of plane a race can use (the race's ``--directions`` choices)."""
    return tuple(kind for kind, (_, race) in _BUILDERS.items() if race)


@plane_builder("pca", race=True)
def _pca_of_paths(paths, settings, centred=True, progress=False):
    """A run's PCA plane; a race's: PCA of every racer's offsets from their shared start."""
    if not paths.race:
        (trajectory,) = paths.trajectories
        return pca_plane(trajectory.params, layout=trajectory.layout, seed=settings.seed, centred=centred,
                         progress=progress)
    start, origin = _shared_start(paths.trajectories)
    with stacked_rows(paths.trajectories, start) as rows:
        # its origin is the last row: the start
        made = pca_plane(rows, seed=settings.seed, centred=centred, progress=progress)
    return _through_start(paths.trajectories, start, made, dict(
        made.info, method="pca of all paths' offsets from the start", origin=origin, paths=len(paths.trajectories)))


@plane_builder("pca-uncentred", race=True)
def _uncentred_pca_of_paths(paths, settings, progress=False):
    """As ``pca``, without subtracting the offsets' mean (lossfilm's convention before 0.2)."""
    return _pca_of_paths(paths, settings, centred=False, progress=progress)


@plane_builder("random")
def _random_of_path(paths, settings):
    (trajectory,) = paths.trajectories
    return random_plane(trajectory.layout, np.asarray(trajectory.params[-1]), seed=settings.seed,
                        biases=settings.biases, bias_names=settings.bias_names, scaling=settings.scaling)


@plane_builder("anchors", race=True)
def _anchors_of_paths(paths, settings):
    """A run's plane through three of its snapshots; a race's through the start and the first two final points."""
    if not paths.race:
        (trajectory,) = paths.trajectories
        return anchors_plane(trajectory.params, settings.anchors)
    if settings.anchors is not None:
        raise ConfigError("--anchors: a race's anchors plane goes through the start and the first two "
                          "optimizers' final points; choose no snapshots")
    if len(paths.trajectories) < 2:
        raise ConfigError("--directions anchors needs two paths (start, and two final points); use --directions pca")
    start, origin = _shared_start(paths.trajectories)
    first, second = paths.trajectories[:2]
    made = anchors_plane(np.stack([first.params[-1], second.params[-1], start]), (0, 1, 2))  # (3,P)
    return _through_start(paths.trajectories, start, made, {
        "method": "anchors", "anchors": "the first two paths' final points", "origin": origin})


@plane_builder("axes")
def _axes_of_function(paths, settings):
    """A 2-D function's own x and y: origin 0, the identity directions; nothing is projected."""
    size = paths.trajectories[0].layout.size
    if size != 2:
        raise ConfigError(f"--directions axes: the plane of a 2-D function's own x and y; these paths have "
                          f"{size} parameters")
    return Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "axes", np.full(2, np.nan), {})


@plane_builder("hessian", needs_loss=True)
def _hessian_at_final(paths, settings, evaluation):
    """The plane of the top two Hessian eigenvectors (by |eigenvalue|) at a run's final snapshot."""
    (trajectory,) = paths.trajectories
    origin = np.array(trajectory.params[-1], dtype=np.float32)
    hvp = evaluation.hessian_at(origin.astype(np.float64))
    if hvp is None:
        raise ConfigError("--directions hessian: this loss has no Hessian-vector products (a 2-D function "
                          "is drawn on its own axes)")
    pairs = top_eigenpairs(hvp, origin.size, k=2, tol=settings.hessian_tol, seed=settings.seed)
    d1, d2 = pairs.vectors
    if settings.filter_normalise:
        d1, d2 = (_filter_normalised(trajectory.layout, origin, _Given(trajectory.layout, d), settings.biases)
                  for d in (d1, d2))
    d1, d2 = _orthonormal(d1, d2, "no Hessian plane: the eigenvectors vanish after filter normalisation "
                                  "(the weights at the final snapshot are zero)")
    first = np.asarray(trajectory.params[0], dtype=np.float64) - origin
    directions = np.stack([_sign_fixed(d, first) for d in (d1, d2)]).astype(np.float32)
    # The curvature along the stored directions: the eigenvalues, unless filter normalisation turned them.
    curvature = [float(d @ hvp(d)) for d in directions.astype(np.float64)]
    info = {"method": "lanczos", **pairs.record(), "tol": settings.hessian_tol, "seed": int(settings.seed),
            "filter_normalise": bool(settings.filter_normalise), "curvature": curvature,
            "saddle": bool((pairs.values < 0).any())}
    return Plane(origin, directions, "hessian", np.full(2, np.nan), info)


class _Given:
    """Stands in for the generator of :func:`_filter_normalised`, handing out a given direction's arrays,
    so that a Hessian eigenvector is scaled by exactly the same per-filter and bias rule as a random one."""

    def __init__(self, layout, direction):
        self.parts = iter(layout.unflatten(np.asarray(direction, dtype=np.float64)).values())

    def standard_normal(self, shape):
        return np.array(next(self.parts), dtype=np.float64).reshape(shape)


def pca_plane(params, *, layout=None, seed=0, method="auto", max_passes=8, centred=True, progress=False):
    """The plane of the two leading principal directions of the path.

    The origin is the final snapshot, and a snapshot's coordinates are the
    projections of its offset ``theta_t - theta_final`` on the directions
    (so the final point sits at (0, 0)). The directions are, by default
    (``centred=True``), those of Li et al. 2018's code: scikit-learn's
    ``PCA`` of the offsets, which first subtracts their mean; the
    ``explained_variance`` is then each direction's share of the offsets'
    variance about their mean (``PCA.explained_variance_ratio_``). With
    ``centred=False`` the directions are the top right singular vectors of
    the offsets themselves, the plane through the final point that holds
    the most of the path's squared distance from it; the shares are then of
    ``sum(||theta_t - theta_final||**2)``, and
    ``sum(residual**2) = (1 - sum(explained_variance)) * sum(||A[t]||**2)``.

    Signs are chosen so that the first snapshot has non-negative coordinates.

    Parameters
    ----------
    params : array_like, shape (T, P)
        Snapshots, e.g. a trajectory's memmap; read in row or column blocks.
    layout : ParamLayout, optional
        Used only when the path is a straight line (rank 1): the second
        direction is then a seeded filter-normalised random one.
    seed : int
        Seed of the randomised method's start (and of the rank-1 fallback).
    method : {"auto", "gram", "randomized"}
        ``"gram"``: eigenvectors of the T x T Gram matrix (exact; for small T).
        ``"randomized"``: block subspace iteration with streaming passes over
        the rows, stopping when the top two directions stop moving.
        ``"auto"`` picks gram for T <= 256.
    max_passes : int
        Most passes of the randomised method.
    centred : bool
        Subtract the offsets' mean first (Li et al., scikit-learn), or not.
    progress : bool
        Say on stderr what the PCA is doing, with an ETA of the randomised passes.

    Raises
    ------
    DataError
        With one snapshot, or when all snapshots are identical.

    Examples
    --------
    >>> t = np.linspace(0, 1, 30)[:, None]
    >>> params = np.hstack([t, t ** 2, 0 * t]).astype(np.float32)
    >>> plane = pca_plane(params)
    >>> round(float(plane.explained_variance.sum()), 6), plane.info["centred"]
    (1.0, True)
    """
    params = _rows(params, None, "params")
    T, P = params.shape
    if T < 2:
        raise DataError("no PCA plane: the trajectory has a single snapshot; use --directions random")
    origin = np.array(params[-1], dtype=np.float32)
    if method == "auto":
        method = "gram" if T <= GRAM_MAX_SNAPSHOTS else "randomized"
    started = time.perf_counter()
    centre = mean_row(params) if centred else origin  # the point the PCA measures variance about
    if method == "gram":
        vectors, values, total, passes = top2_gram(params, centre)
    elif method == "randomized":
        vectors, values, total, passes = top2_randomized(params, centre, np.random.default_rng(seed), max_passes,
                                                         progress=progress)
    else:
        raise DataError(f"unknown PCA method {method!r}; use 'auto', 'gram' or 'randomized'")
    if not np.isfinite(total):
        raise DataError("no PCA plane: the snapshots contain NaN or inf")
    if total == 0.0 or values[0] <= 1e-12 * total:
        raise DataError(f"no PCA plane: all {T} snapshots are identical, the path has no variance; "
                        "use --directions random")
    info = {"method": method, "passes": passes, "snapshots": T, "centred": bool(centred)}
    if progress and method == "randomized":
        print(f"PCA of {T} snapshots x {P:,} parameters: {passes} pass(es), "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    d1 = vectors[0] / np.linalg.norm(vectors[0])
    if values[1] <= 1e-12 * total:
        # A straight path: any second direction holds it; pick a reproducible one.
        info["pc2"] = "random: the path is a straight line"
        d2 = _random_unit(layout, origin, np.random.default_rng(seed), "zero", P)
    else:
        d2 = vectors[1]
    d1, d2 = _orthonormal(d1, d2, "no PCA plane")
    first = np.asarray(params[0], dtype=np.float64) - origin
    d1, d2 = (_sign_fixed(d, first) for d in (d1, d2))
    ratio = np.array([values[0], values[1]]) / total
    return Plane(origin, np.stack([d1, d2]).astype(np.float32), "pca" if centred else "pca-uncentred", ratio, info)


def random_plane(layout, origin, *, seed=0, biases="zero", bias_names=None, scaling="orthonormal"):
    """A plane of two seeded, filter-normalised Gaussian directions (Li et al.).

    Each weight array's rows (``W`` is ``(out, in)``: one row per neuron, the
    "filter") are scaled to the norm of the same row of ``origin``; a 1-D
    array counts as one filter. Bias-like parameters (``b1``, ``fc1.bias``,
    BatchNorm's: Li et al.'s ``ignore='biasbn'``, by the rule of
    :func:`lossfilm.training.landscape.param_roles.param_role`) are zeroed, or with
    ``biases="filter"`` scaled as one filter; buffers (``*.running_mean``...)
    are always zeroed. With ``scaling="orthonormal"`` (the default) the two
    directions are then made orthonormal (Gram-Schmidt), so grid coordinates
    are distances in parameter space; the second direction's filters then drift
    off their exact norms (by its small overlap with the first). With
    ``scaling="li"`` they are kept exactly as Li et al. 2018 make them: every
    filter of both directions has its weight filter's norm, and a coordinate
    of 1 is one whole filter-normalised direction (their plots' -1..1).

    Parameters
    ----------
    layout : ParamLayout
    origin : array_like, shape (P,)
        The final parameters; also the plane's origin.
    seed : int
    biases : {"zero", "filter"}
    bias_names : collection of str, optional
        The bias-like parameters by name, instead of the naming rule.
    scaling : {"orthonormal", "li"}

    Examples
    --------
    >>> from lossfilm.format.layout import ParamLayout
    >>> layout = ParamLayout(("W1", "b1"), ((3, 4), (1, 3)))
    >>> plane = random_plane(layout, np.ones(15), seed=0)
    >>> plane.directions[:, 12:].tolist()  # biases stay put
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    if biases not in ("zero", "filter"):
        raise DataError(f"unknown bias treatment {biases!r}; use 'zero' or 'filter'")
    origin = np.asarray(origin, dtype=np.float32)
    if origin.shape != (layout.size,):
        raise DataError(f"origin has shape {origin.shape}, the layout has {layout.size} parameters")
    rng = np.random.default_rng(seed)
    d1 = _filter_normalised(layout, origin, rng, biases, bias_names)
    d2 = _filter_normalised(layout, origin, rng, biases, bias_names)
    if scaling not in SCALINGS:
        raise DataError(f"unknown scaling {scaling!r}; use 'orthonormal' or 'li'")
    message = ("no random plane: the weights at the origin are all zero "
               "(a filter-normalised direction would be zero too)")
    if scaling == "orthonormal":
        d1, d2 = _orthonormal(d1, d2, message)
    else:
        _orthonormal(d1, d2, message)  # only checks that they span a plane
    info = {"seed": int(seed), "biases": biases, "scaling": scaling}
    if bias_names is not None:
        info["bias_names"] = sorted(bias_names)
    return Plane(origin, np.stack([d1, d2]).astype(np.float32), "random", np.full(2, np.nan), info)


def anchors_plane(params, anchors=None):
    """The plane through three snapshots ``(i, j, k)``; the origin is snapshot ``k``.

    The default, ``(0, T // 2, T - 1)``, is the initial, middle and final
    snapshot. ``d1`` points from ``k`` towards ``i``; ``d2`` completes the
    plane towards ``j``. All three snapshots lie on the plane.

    Examples
    --------
    >>> params = np.array([[2.0, 0, 0], [1.0, 1.0, 0], [0, 0, 0]], np.float32)
    >>> plane = anchors_plane(params)
    >>> [round(float(r), 6) for r in plane.project(params)[2]]
    [0.0, 0.0, 0.0]
    """
    params = _rows(params, None, "params")
    T = len(params)
    if anchors is None:
        anchors = (0, T // 2, T - 1)
    anchors = [int(a) for a in anchors]
    if len(anchors) != 3:
        raise DataError(f"--anchors: need three snapshot indices, got {len(anchors)}")
    resolved = [a + T if a < 0 else a for a in anchors]
    if not all(0 <= a < T for a in resolved):
        raise DataError(f"--anchors {anchors}: indices must lie in 0..{T - 1} (the trajectory has {T} snapshots)")
    if len(set(resolved)) != 3:
        raise DataError(f"no anchors plane: --anchors {resolved} are not three different snapshots"
                        + (f" (the trajectory has only {T})" if T < 3 else ""))
    i, j, k = resolved
    origin = np.array(params[k], dtype=np.float32)
    u = np.asarray(params[i], dtype=np.float64) - origin
    v = np.asarray(params[j], dtype=np.float64) - origin
    d1, d2 = _orthonormal(u, v, f"no anchors plane: snapshots {i}, {j}, {k} are identical or on one line; "
                                "choose other --anchors or use --directions random")
    return Plane(origin, np.stack([d1, d2]).astype(np.float32), "anchors", np.full(2, np.nan),
                 {"anchors": resolved})


def subsample_indices(n, max_points):
    """At most ``max_points`` indices of ``range(n)``, evenly spaced, first and last included.

    Examples
    --------
    >>> subsample_indices(10, 4).tolist()
    [0, 3, 6, 9]
    >>> subsample_indices(3, 1000).tolist()
    [0, 1, 2]
    """
    if max_points < 2:
        raise DataError(f"--max-path {max_points}: must be at least 2 (the first and last snapshot)")
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(np.int64))


def _shared_start(trajectories):
    """The first path's initial point (P,) float32, and how to name it: shared by every path or not."""
    start = np.asarray(trajectories[0].params[0], dtype=np.float32)
    shared = all(np.array_equal(t.params[0], start) for t in trajectories)
    return start, "the shared initial point" if shared else "the first path's initial point"


def _through_start(trajectories, start, made, info):
    """``made``, a plane through ``start``, with signs such that the first path's final point has coordinates >= 0."""
    first_end = np.asarray(trajectories[0].params[-1], dtype=np.float64) - start
    # float32 negation is exact, so the plane stays the one computed
    d1, d2 = (-d if float(d.astype(np.float64) @ first_end) < 0 else d for d in made.directions)
    return Plane(start, np.stack([d1, d2]), made.directions_kind, made.explained_variance, info)


def _filter_normalised(layout, origin, rng, biases, bias_names=None):
    parts = []
    for name, shape, w in zip(layout.names, layout.shapes, layout.unflatten(origin).values()):
        w = np.asarray(w, dtype=np.float64)
        d = rng.standard_normal(shape)
        role = param_role(name, shape, bias_names)
        bias_like = role == "bias"
        if role == "buffer" or (bias_like and biases == "zero"):
            d = np.zeros(shape)
        else:
            rows = shape[0] if len(shape) >= 2 and not bias_like else 1
            d2, w2 = d.reshape(rows, -1), w.reshape(rows, -1)
            d2 *= (np.linalg.norm(w2, axis=1) / np.linalg.norm(d2, axis=1).clip(min=1e-300))[:, None]
        parts.append(d.ravel())
    return np.concatenate(parts)


def _random_unit(layout, origin, rng, biases, size):
    if layout is not None:
        direction = _filter_normalised(layout, origin, rng, biases)
        if np.linalg.norm(direction) > 0:
            return direction
    return rng.standard_normal(size)


def _orthonormal(u, v, message):
    """Gram-Schmidt (twice, for float64 accuracy) on two vectors; DataError if they span < 2D."""
    nu = np.linalg.norm(u)
    if not nu > 0:
        raise DataError(message)
    d1 = u / nu
    d2 = np.array(v, dtype=np.float64)
    scale = np.linalg.norm(d2)
    for _ in range(2):
        d2 -= (d1 @ d2) * d1
    nv = np.linalg.norm(d2)
    if not nv > 1e-7 * scale:
        raise DataError(message)
    return d1, d2 / nv


def _sign_fixed(direction, first):
    """Flip ``direction`` so that ``first`` projects non-negatively (ties: largest entry positive)."""
    c = float(direction @ first)
    if abs(c) <= 1e-12 * (np.linalg.norm(first) + 1e-300):
        c = float(direction[np.argmax(np.abs(direction))])
    return -direction if c < 0 else direction


def _rows(params, size, name):
    params = params if isinstance(params, np.ndarray) else np.asarray(params)
    if params.ndim != 2 or (size is not None and params.shape[1] != size):
        want = f"(T, {size})" if size is not None else "(T, P)"
        raise DataError(f"{name}: shape {params.shape}, expected {want}")
    return params
