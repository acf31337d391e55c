"""The optimizer race: one network, one start, several optimizers, one surface.

Every optimizer trains the same network from the same initial parameters
and sees the minibatches in the same order: ``TrainConfig.seed`` draws the
weights and then the shuffles from one generator, so two configs that differ
only in the optimizer share both. Each run is its own cached trajectory
(``OUT/cache/race/<optimizer>.npz``, keyed by its config and data): adding an
optimizer to the race trains only that one.

The common plane
----------------
All paths are drawn on ONE plane, so their positions and losses can be
compared. Its origin is the shared initial point ``theta_0``, so every ball
starts at ``(0, 0)``; its directions are the two leading principal
directions of the union of every snapshot's offset ``theta_t - theta_0``
(uncentred, as :func:`lossfilm.training.plane.pca_plane`): the plane that keeps the
whole field, all paths together, as close as possible to itself. Signs are
chosen so that the first optimizer's final point has non-negative
coordinates. ``plane="anchors"`` is the alternative: the plane through
``theta_0`` and the first two optimizers' final points, which holds those
three exactly and the others only approximately.

Every ball rides the surface: its on-plane loss is the loss at its projected
parameters, evaluated exactly (not read off the grid); the true loss at each
snapshot is kept beside it.

Examples
--------
>>> import numpy as np
>>> from lossfilm.format.trajectory import Trajectory
>>> rng = np.random.default_rng(0)
>>> start = {"w": rng.normal(size=5)}
>>> paths = [Trajectory.from_snapshots([{"w": start["w"] + t * rng.normal(size=5)} for t in range(6)])
...          for _ in range(2)]
>>> land = race_landscape(paths, ("sgd", "adam"), loss_fn=lambda p: float((p["w"] ** 2).sum()), resolution=5)
>>> land.path_names, [len(i) for i in land.path_slices().values()]
(('sgd', 'adam'), [6, 6])
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from lossfilm.format.artifact import check_writable, content_key, reuse
from lossfilm.format.errors import ConfigError, DataError
from lossfilm.training.config import TrainConfig
from lossfilm.training.data import load_data
from lossfilm.training.grid import FunctionEvaluator, MLPEvaluator, evaluate_grid, grid_axes, loss_and_accuracy
from lossfilm.format.landscape import SCHEMA_VERSION, reproducible
from lossfilm.training.landscape import Landscape, _mlp_data, _run, landscape_settings
from lossfilm.training.optimizers import OPTIMIZERS
from lossfilm.training.plane import Plane, anchors_plane, pca_plane, subsample_indices
from lossfilm.training.train import TrainingDiverged, cached_or_train

KIND = "landscape"
# The optimizers' own default learning rates (lossfilm.training.optimizers.DEFAULT_LRS) all converge on the
# default digits run (20 epochs, batch 64, 64-128-10): measured test accuracy, seeds 0 and 1:
# sgd 0.2 -> 96.9/96.7%, momentum 0.05 -> 97.5/96.9%, nesterov 0.05 -> 97.5/96.9%,
# rmsprop 0.001 -> 96.9/96.9%, adam 0.001 -> 96.7/96.9%. So the race needs no tuning of its own;
# RACE_LRS is where a race-only learning rate would go.
RACE_OPTIMIZERS = ("sgd", "momentum", "adam")
RACE_LRS = {}
MAX_SNAPSHOTS = 500  # per optimizer when recording is automatic: a smooth path, files of ~200 MB on MNIST
PLANES = ("pca", "anchors")
_IN_MEMORY_BYTES = 1 << 28  # the stacked snapshots of all paths are read into RAM below 256 MiB


def parse_optimizers(text):
    """``"sgd,momentum,adam"`` -> ``("sgd", "momentum", "adam")``, checked.

    Examples
    --------
    >>> parse_optimizers("sgd, adam")
    ('sgd', 'adam')
    """
    names = tuple(name.strip() for name in str(text).split(",") if name.strip())
    if not names:
        raise ConfigError("--optimizers: name at least one optimizer, e.g. sgd,momentum,adam")
    for name in names:
        if name not in OPTIMIZERS:
            raise ConfigError(f"--optimizers: unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"--optimizers {','.join(names)}: each optimizer may race once")
    return names


def parse_lrs(items, optimizers):
    """``["adam=0.002", ...]`` -> ``{"adam": 0.002}``, for optimizers in the race only.

    Examples
    --------
    >>> parse_lrs(["adam=2e-3"], ("sgd", "adam"))
    {'adam': 0.002}
    """
    lrs = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        name = name.strip()
        try:
            lr = float(value)
        except ValueError:
            lr = float("nan")
        if not sep or not name or not lr > 0 or not math.isfinite(lr):
            raise ConfigError(f"--lr {item}: expected OPTIMIZER=VALUE with a positive number, e.g. adam=0.002")
        if name not in optimizers:
            raise ConfigError(f"--lr {item}: {name!r} is not in the race ({', '.join(optimizers)})")
        lrs[name] = lr
    return lrs


def racer_config(optimizer, *, data="digits", epochs=20, seed=0, lr=None, record_every=1, **settings):
    """The TrainConfig of one racer: the shared settings, this optimizer and its learning rate.

    Examples
    --------
    >>> racer_config("adam").lr, racer_config("adam", lr=0.01).lr
    (None, 0.01)
    """
    lr = RACE_LRS.get(optimizer) if lr is None else lr
    return TrainConfig(data=data, epochs=epochs, seed=seed, optimizer=optimizer, lr=lr,
                       record_every=record_every, **settings)


def auto_record_every(n_train, epochs, batch_size, max_snapshots=MAX_SNAPSHOTS):
    """A snapshot every N steps so a run keeps at most about ``max_snapshots``.

    Examples
    --------
    >>> auto_record_every(1437, 20, 64), auto_record_every(48000, 20, 64)
    (1, 30)
    """
    total = int(epochs) * math.ceil(int(n_train) / int(batch_size))
    return max(1, math.ceil(total / max_snapshots))


def train_racers(optimizers, cache_dir, *, data="digits", epochs=20, seed=0, lrs=None, record_every=None,
                 dataset=None, force=False, progress=True, report=None, **settings):
    """Train (or reuse) one trajectory per optimizer, all from the same start.

    Parameters
    ----------
    optimizers : sequence of str
    cache_dir : path-like
        ``<cache_dir>/<optimizer>.npz`` per racer (made if missing).
    data, epochs, seed : the shared run settings (see ``TrainConfig``).
    lrs : dict, optional
        ``{optimizer: lr}``; others use ``RACE_LRS`` or their own default.
    record_every : int, optional
        Snapshot interval; default :func:`auto_record_every` (every step on digits).
    dataset : Dataset, optional
        Already loaded ``data``.
    force : bool
        Retrain every racer.
    report : callable, optional
        ``report(name, trajectory, action, note)`` after each racer.
    **settings
        Further shared ``TrainConfig`` fields (``hidden``, ``batch_size``, ...).

    Returns
    -------
    list of (name, Trajectory, action)
        ``action`` is ``"compute"``, ``"reuse"`` or ``"update"`` (as
        :func:`lossfilm.training.train.cache_action`). A racer that diverged keeps its
        finite part (``trajectory.diverged``) and is retrained next time.
    """
    optimizers = tuple(optimizers)
    lrs = dict(lrs or {})
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    first = racer_config(optimizers[0], data=data, epochs=epochs, seed=seed, **settings)
    if dataset is None:
        dataset = load_data(first.data, seed=first.seed, test_fraction=first.test_fraction)
    if record_every is None:
        record_every = auto_record_every(len(dataset.y_train), first.epochs, first.batch_size)
    racers = []
    for name in optimizers:
        config = racer_config(name, data=data, epochs=epochs, seed=seed, lr=lrs.get(name),
                              record_every=record_every, **settings)
        path = cache_dir / f"{name}.npz"
        note = ""
        try:
            trajectory, action = cached_or_train(config, path, data=dataset, force=force, progress=progress)
        except TrainingDiverged as exc:
            trajectory, action = exc.trajectory, "update"
            note = f"diverged at step {exc.step} (lr {exc.lr:g}); its path ends there"
        racers.append((name, trajectory, action))
        if report is not None:
            report(name, trajectory, action, note)
    return racers


def race_plane(trajectories, *, plane="pca", seed=0):
    """The common plane of several paths; the origin is the first path's initial point.

    Parameters
    ----------
    trajectories : sequence of Trajectory
        Same parameter layout; normally the same initial point.
    plane : {"pca", "anchors"}
        See the module's notes.
    seed : int
        Seed of the randomised PCA (used for many snapshots).

    Returns
    -------
    Plane
        ``info`` records the method, the origin and (for PCA) the snapshots used.

    Examples
    --------
    >>> from lossfilm.format.trajectory import Trajectory
    >>> a = Trajectory.from_snapshots([{"w": np.array([0.0, 0, 0])}, {"w": np.array([1.0, 0, 0])}])
    >>> b = Trajectory.from_snapshots([{"w": np.array([0.0, 0, 0])}, {"w": np.array([0.0, 2, 0])}])
    >>> p = race_plane([a, b])
    >>> [float(r) for r in p.project(np.vstack([a.params, b.params]))[2]]  # both paths lie on it
    [0.0, 0.0, 0.0, 0.0]
    """
    if plane not in PLANES:
        raise ConfigError(f"--plane {plane!r}: choose one of {', '.join(PLANES)}")
    _check_same_layout(trajectories)
    start = np.asarray(trajectories[0].params[0], dtype=np.float32)  # (P,)
    shared = all(np.array_equal(t.params[0], start) for t in trajectories)
    origin_text = "the shared initial point" if shared else "the first path's initial point"
    if plane == "anchors":
        if len(trajectories) < 2:
            raise ConfigError("--plane anchors needs two paths (start, and two final points); use --plane pca")
        ends = np.stack([trajectories[0].params[-1], trajectories[1].params[-1], start])  # (3,P)
        made = anchors_plane(ends, (0, 1, 2))
        info = {"method": "anchors", "anchors": "the first two paths' final points", "origin": origin_text}
    else:
        total_rows = sum(len(t) for t in trajectories) + 1
        with _stacked(trajectories, start, total_rows) as rows:
            made = pca_plane(rows, seed=seed)  # its origin is the last row: the start
        info = dict(made.info, method="pca of all paths' offsets from the start", origin=origin_text,
                    paths=len(trajectories))
    d1, d2 = made.directions
    first_end = np.asarray(trajectories[0].params[-1], dtype=np.float64) - start
    # float32 negation is exact, so the plane stays the one computed
    d1, d2 = (-d if float(d.astype(np.float64) @ first_end) < 0 else d for d in (d1, d2))
    return Plane(start, np.stack([d1, d2]), made.directions_kind, made.explained_variance, info)


def race_landscape(trajectories, names, *, loss_fn=None, acc_fn=None, data=None, plane="pca", resolution=51,
                   margin=0.3, grid_range=None, samples=10000, max_path=1000, seed=0, workers=None,
                   progress=False):
    """One landscape for several paths: one plane, one grid, every path on it.

    Parameters
    ----------
    trajectories : sequence of Trajectory
        The racers, same layout (built-in MLP runs, or anything with ``loss_fn``).
    names : sequence of str
        One name per path (the legend), e.g. the optimizers.
    loss_fn, acc_fn : callable, optional
        For a user's model, as in :meth:`Landscape.from_trajectory`;
        the built-in MLP is evaluated by its fast path.
    data : tuple (X, y), optional
        Evaluation data of the built-in MLP instead of the first run's own.
    plane : {"pca", "anchors"}
        See :func:`race_plane`.
    resolution, margin, grid_range, samples, max_path, seed, workers, progress
        As in :meth:`Landscape.from_trajectory`; ``max_path`` applies per path
        (the plane uses every snapshot); the grid spans all paths.

    Returns
    -------
    Landscape
        ``path_owner``/``path_names`` tell the paths apart; ``path_steps``
        restarts at 0 for each. ``settings["runs"]`` describes each racer,
        ``settings["stats"]["paths"]`` how well the plane holds each.
    """
    started = time.perf_counter()
    trajectories, names = list(trajectories), tuple(str(n) for n in names)
    if not trajectories:
        raise DataError("race: no paths to draw")
    if len(names) != len(trajectories) or len(set(names)) != len(names):
        raise ConfigError(f"race: need one distinct name per path, got {list(names)} for {len(trajectories)} paths")
    settings = race_settings(plane=plane, resolution=resolution, margin=margin, grid_range=grid_range,
                             samples=samples, max_path=max_path, seed=seed, names=names,
                             evaluation="mlp" if loss_fn is None else
                             f"loss_fn:{getattr(loss_fn, '__module__', '?')}.{getattr(loss_fn, '__qualname__', '?')}")
    X = y = None
    extra = ()
    if loss_fn is None:
        X, y = _mlp_data(trajectories[0], data, samples, seed)
        extra = (X, y) if data is not None else ()
    key = race_key([t.key for t in trajectories], settings, *extra)
    common = race_plane(trajectories, plane=plane, seed=seed)
    layout = trajectories[0].layout
    if loss_fn is None:
        evaluator = MLPEvaluator(common, layout, X, y, workers=workers)
    else:
        evaluator = FunctionEvaluator(common, layout, loss_fn, acc_fn)

    parts = {k: [] for k in ("alpha", "beta", "residual", "steps", "epochs", "true", "acc", "owner")}
    all_alpha, all_beta, path_stats = [], [], {}
    for index, (name, trajectory) in enumerate(zip(names, trajectories)):
        alpha, beta, residual = common.project(trajectory.params)  # (T,) each, every snapshot
        all_alpha.append(alpha)
        all_beta.append(beta)
        keep = subsample_indices(len(trajectory), settings["max_path"])
        true_loss, true_acc = _true_losses(trajectory, keep, evaluator, X, y, progress, name)
        length = float(np.linalg.norm(np.diff(np.asarray(trajectory.params[keep], dtype=np.float64), axis=0),
                                      axis=1).sum()) if len(keep) > 1 else 0.0
        path_stats[name] = {"snapshots": len(trajectory), "path_points": len(keep),
                            "residual_max": float(residual.max()), "residual_final": float(residual[-1]),
                            "path_length_kept": length, "diverged": bool(trajectory.diverged)}
        for part, values in (("alpha", alpha[keep]), ("beta", beta[keep]), ("residual", residual[keep]),
                             ("steps", np.asarray(trajectory.steps)[keep].astype(np.int64)),
                             ("epochs", np.asarray(trajectory.epochs)[keep].astype(np.float64)),
                             ("true", true_loss), ("acc", true_acc),
                             ("owner", np.full(len(keep), index, dtype=np.int64))):
            parts[part].append(values)
    path = {k: np.concatenate(v) for k, v in parts.items()}
    plane_loss, _ = evaluator.at(np.column_stack([path["alpha"], path["beta"]]))  # exact: the ball rides this
    alphas, betas = grid_axes(np.concatenate(all_alpha), np.concatenate(all_beta), resolution=settings["resolution"],
                              margin=settings["margin"], grid_range=settings["range"],
                              scale=float(np.linalg.norm(common.origin)) or 1.0)
    shape = (len(alphas), len(betas))
    loss, accuracy, computed = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, bool)
    evaluate_grid(evaluator, alphas, betas, loss, accuracy, computed, progress=progress)

    residual_all = path["residual"]
    distance2 = path["alpha"] ** 2 + path["beta"] ** 2 + residual_all ** 2
    stats = {"paths": path_stats, "snapshots": int(sum(len(t) for t in trajectories)),
             "path_points": int(len(path["alpha"])), "samples": None if X is None else int(len(X)),
             "residual_max": float(residual_all.max()), "residual_median": float(np.median(residual_all)),
             "path_length": float(sum(s["path_length_kept"] for s in path_stats.values())),
             "plane_path_length": float(sum(np.hypot(np.diff(a), np.diff(b)).sum()
                                            for a, b in zip(all_alpha, all_beta))),
             "captured": float(1.0 - (residual_all ** 2).sum() / distance2.sum()) if distance2.sum() > 0 else 1.0}
    stats["nonfinite"] = int((computed & ~np.isfinite(loss)).sum())
    runs = {name: _run(t) for name, t in zip(names, trajectories)}
    shared = {k: v for k, v in runs[names[0]].items()
              if k not in ("optimizer", "lr", "test_accuracy") and all(r.get(k) == v for r in runs.values())}
    return Landscape(alphas=alphas, betas=betas, loss=loss, accuracy=accuracy, computed=computed,
                     origin=common.origin, directions=common.directions, path_alpha=path["alpha"],
                     path_beta=path["beta"], path_loss_plane=plane_loss, path_loss_true=path["true"],
                     path_accuracy=path["acc"], residuals=path["residual"], path_steps=path["steps"],
                     path_epochs=path["epochs"], explained_variance=np.asarray(common.explained_variance, float),
                     directions_kind=common.directions_kind,
                     settings=dict(settings, plane=common.info, stats=stats, run=shared, runs=runs,
                                   trajectory_keys=[t.key for t in trajectories],
                                   time_s=time.perf_counter() - started),
                     trajectory_key=",".join(t.key for t in trajectories), key=key, path_owner=path["owner"],
                     path_names=names)


def race_settings(*, plane="pca", resolution=51, margin=0.3, grid_range=None, samples=10000, max_path=1000, seed=0,
                  names=(), evaluation="mlp"):
    """The settings that decide a race landscape's content, normalised (JSON-able).

    Examples
    --------
    >>> race_settings(names=("sgd", "adam"))["names"]
    ['sgd', 'adam']
    """
    if plane not in PLANES:
        raise ConfigError(f"--plane {plane!r}: choose one of {', '.join(PLANES)}")
    settings = landscape_settings(resolution=resolution, margin=margin, grid_range=grid_range, samples=samples,
                                  max_path=max_path, seed=seed, evaluation=evaluation)
    settings.update(directions=plane, names=list(names), race=True)
    return settings


def race_key(trajectory_keys, settings, *arrays):
    """Content key of a race landscape: every racer's trajectory key, in order, and the settings.

    Examples
    --------
    >>> s = race_settings(names=("a", "b"))
    >>> race_key(["k1", "k2"], s) == race_key(["k2", "k1"], s)
    False
    """
    return content_key({"trajectory_keys": list(trajectory_keys), **settings}, *arrays)


def cached_race_landscape(racers, out_path, *, force=False, progress=True, workers=None, **options):
    """Reuse the race landscape at ``out_path`` if its key matches, else compute and save it.

    Parameters
    ----------
    racers : sequence of (name, Trajectory)
        Or the ``(name, Trajectory, action)`` triples of :func:`train_racers`.
    out_path : path-like
    **options
        The settings of :func:`race_landscape` (plane, resolution, ...).

    Returns
    -------
    landscape : Landscape
    action : {"compute", "reuse", "update"}
    """
    check_writable(out_path)
    names = tuple(r[0] for r in racers)
    trajectories = [r[1] for r in racers]
    settings = race_settings(names=names, **{k: v for k, v in options.items() if k in _SETTING_NAMES})
    key = race_key([t.key for t in trajectories], settings)
    landscape, action = reuse(out_path, Landscape.load, kind=KIND, schema_version=SCHEMA_VERSION, key=key,
                              force=force)
    if landscape is not None:
        return landscape, action
    landscape = race_landscape(trajectories, names, progress=progress, workers=workers, **options)
    reproducible(landscape).save(out_path)  # byte-identical for the same paths and settings
    return landscape, action


_SETTING_NAMES = ("plane", "resolution", "margin", "grid_range", "samples", "max_path", "seed")


def _true_losses(trajectory, keep, evaluator, X, y, progress, name):
    """Loss and accuracy at each kept snapshot itself (not its projection)."""
    bar = tqdm(keep, disable=not progress, file=sys.stderr, unit="pt", desc=f"{name} path", dynamic_ncols=True)
    if X is not None:
        loss, accuracy = np.empty(len(keep)), np.empty(len(keep))
        with threadpool_limits(1):  # small products: BLAS threads only contend (5x slower on 2 busy cores)
            for n, t in enumerate(bar):
                loss[n], accuracy[n] = loss_and_accuracy(trajectory.snapshot(t), X, y)
        return loss, accuracy
    return evaluator.at_params(trajectory.params[t].astype(np.float64) for t in bar)


def _check_same_layout(trajectories):
    first = trajectories[0].layout
    for i, t in enumerate(trajectories[1:], start=1):
        if t.layout != first:
            raise DataError(f"race: path {i} has parameters {list(t.layout.names)} {list(t.layout.shapes)}, "
                            f"path 0 has {list(first.names)} {list(first.shapes)}; they cannot share a plane")


class _stacked:
    """All paths' snapshots and then the start, as one (T, P) array: in memory, or a temporary memmap."""

    def __init__(self, trajectories, start, total_rows):
        self.trajectories, self.start, self.rows = trajectories, start, total_rows
        self.tmp = None

    def __enter__(self):
        P = self.start.size
        if self.rows * P * 4 <= _IN_MEMORY_BYTES:
            return np.concatenate([np.asarray(t.params, dtype=np.float32) for t in self.trajectories]
                                  + [self.start[None]])
        self.tmp = tempfile.TemporaryDirectory(prefix="lossfilm-race-")
        rows = np.lib.format.open_memmap(os.path.join(self.tmp.name, "rows.npy"), mode="w+", dtype=np.float32,
                                         shape=(self.rows, P))
        at = 0
        for t in self.trajectories:
            for s in range(0, len(t), 4096):
                block = np.asarray(t.params[s:s + 4096], dtype=np.float32)
                rows[at:at + len(block)] = block
                at += len(block)
        rows[at] = self.start
        rows.flush()
        return rows

    def __exit__(self, *exc):
        if self.tmp is not None:
            self.tmp.cleanup()
