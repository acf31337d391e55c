"""The landscape: a loss grid over a 2D plane, with the training path projected on it.

This is the contract between the landscape stage and the render stage. Grid
index ``[i, j]`` is the point ``origin + alphas[i] * d1 + betas[j] * d2``.
Non-finite losses (exploding regions) are stored as NaN; ``computed`` marks
the nodes already evaluated, so an interrupted grid can resume.

``Landscape.from_trajectory`` makes one: it picks the plane
(``lossfilm.training.plane``), projects the path, evaluates the path losses exactly
and the grid (``lossfilm.training.grid``), checkpointing a partial landscape so an
interrupted run resumes.

Examples
--------
>>> import numpy as np
>>> from lossfilm.format.trajectory import Trajectory
>>> rng = np.random.default_rng(0)
>>> snaps = [{"w": rng.normal(size=3)} for _ in range(4)]
>>> traj = Trajectory.from_snapshots(snaps)
>>> land = Landscape.from_trajectory(traj, loss_fn=lambda p: float((p["w"] ** 2).sum()), resolution=5)
>>> land.loss.shape, bool(land.computed.all())
((5, 5), True)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lossfilm.format.artifact import check_writable, content_key, reuse
from lossfilm.format.errors import ArtifactError, ConfigError, DataError
from lossfilm.format.landscape import KIND, SCHEMA_VERSION, reproducible
from lossfilm.format.landscape import Landscape as LandscapeFile
from lossfilm.format.planes import PLANE_KINDS
from lossfilm.training.data import load_data
from lossfilm.training.grid import (FunctionEvaluator, MLPEvaluator, check_mlp_layout, evaluate_grid, grid_axes,
                                    loss_and_accuracy)
from lossfilm.training.line import line_positions, trajectory_line
from lossfilm.training.plane import DIRECTIONS, Plane, make_plane, row_blocks, subsample_indices


class Landscape(LandscapeFile):
    """A :class:`lossfilm.format.landscape.Landscape` that can also be computed from a trajectory."""
    @property
    def plane(self):
        """The plane as a :class:`lossfilm.training.plane.Plane`."""
        return Plane(self.origin, self.directions, self.directions_kind, self.explained_variance,
                     dict(self.settings.get("plane", {})))

    @classmethod
    def from_trajectory(cls, trajectory, loss_fn=None, *, acc_fn=None, data=None, directions="pca",
                        anchors=None, resolution=51, margin=0.3, grid_range=None, samples=10000,
                        max_path=1000, seed=0, biases="zero", executor=None, workers=None,
                        progress=False, checkpoint_path=None, checkpoint_every=5.0,
                        remove_checkpoint=True, line=0, line_range=(-0.25, 1.25)):
        """Choose a plane, project the path on it and evaluate the loss grid.

        Parameters
        ----------
        trajectory : Trajectory
        loss_fn : callable, optional
            ``loss_fn(params_dict) -> float`` for your own model, called once
            per grid node and twice per path point; ``params_dict`` maps the
            trajectory's names to float64 arrays. Not needed for a trajectory
            of the built-in MLP (it knows its model and, through its
            settings, its data), which is evaluated by the fast path.
        acc_fn : callable, optional
            ``acc_fn(params_dict) -> float``; with ``loss_fn`` and without
            this, accuracy is NaN.
        data : tuple (X, y), optional
            Evaluation data for the built-in MLP instead of the run's
            training data.
        directions : {"pca", "random", "anchors"}
        anchors : sequence of 3 int, optional
            Snapshot indices of the anchors plane (default first, middle, last).
        resolution : int
            Grid nodes per side.
        margin : float
            Room around the path, as a share of its bounding box's larger side.
        grid_range : sequence of 4 float, optional
            ``(a_min, a_max, b_min, b_max)`` instead of the fitted extent.
        samples : int
            Evaluate on a seeded subset of this many training samples (all if
            fewer, or if 0). Built-in MLP only.
        max_path : int
            Most path points kept (evenly spaced, first and last included);
            the plane itself uses every snapshot.
        seed : int
            Seed of the random directions, the PCA start and the subset.
        biases : {"zero", "filter"}
            Treatment of biases in random directions.
        executor : concurrent.futures.Executor, optional
            Runs ``loss_fn`` calls (the built-in MLP uses its own threads).
        workers : int, optional
            Threads of the built-in MLP's fast path (default: all cores).
        progress : bool
            Show progress bars with ETA on stderr.
        checkpoint_path : str or Path, optional
            Partial landscape file: saved every ``checkpoint_every`` seconds
            and on Ctrl-C; a matching one is resumed (only its missing nodes
            are computed) and removed at the end unless ``remove_checkpoint``
            is False.
        line : int
            Points of the 1-D view (:mod:`lossfilm.training.line`): the loss along
            the straight line from the first to the last snapshot, stored in
            ``line_t``, ``line_loss``; 0 (the default here): none. ``line=61``
            costs about as much as 61 grid nodes (61 ``loss_fn`` calls).
            :func:`cached_or_compute`, behind the CLI, asks for 61.
        line_range : sequence of 2 float
            The positions ``t`` it spans; 0 is the first snapshot, 1 the last.

        Returns
        -------
        Landscape
            ``key`` hashes the trajectory key and every setting above that
            changes the result; ``settings`` also records the time taken and
            the path statistics.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> from lossfilm.format.trajectory import Trajectory
        >>> traj = Trajectory.from_snapshots([{"w": rng.normal(size=4)} for _ in range(6)])
        >>> land = Landscape.from_trajectory(traj, loss_fn=lambda p: float(np.abs(p["w"]).sum()),
        ...                                  directions="random", resolution=3)
        >>> bool(np.isfinite(land.loss).all()), land.directions_kind
        (True, 'random')
        """
        return _build(cls, trajectory, loss_fn=loss_fn, acc_fn=acc_fn, data=data, directions=directions,
                      anchors=anchors, resolution=resolution, margin=margin, grid_range=grid_range,
                      samples=samples, max_path=max_path, seed=seed, biases=biases, executor=executor,
                      workers=workers, progress=progress, checkpoint_path=checkpoint_path,
                      checkpoint_every=checkpoint_every, remove_checkpoint=remove_checkpoint, line=line,
                      line_range=line_range)


def cached_or_compute(trajectory, out_path, *, force=False, progress=True, workers=None, line=61, **options):
    """Reuse the landscape at ``out_path`` if it has this trajectory's and settings' key, else compute it.

    An interrupted computation leaves its finished nodes in the sidecar
    :func:`checkpoint_path_for` ``(out_path)`` and resumes from it; ``force``
    discards both.

    Parameters
    ----------
    trajectory : Trajectory
        A trajectory of the built-in MLP (``trajectory.model`` set).
    out_path : path-like
        The ``landscape.npz`` to write.
    line : int
        Points of the 1-D view along the line from the first to the last
        snapshot (0: none); see :meth:`Landscape.from_trajectory`.
    **options
        The settings of :func:`landscape_settings` (directions, resolution, ...).

    Returns
    -------
    landscape : Landscape
    action : {"compute", "reuse", "update"}

    Examples
    --------
    >>> land, action = cached_or_compute(traj, "media/cache/landscape.npz")  # doctest: +SKIP
    """
    check_writable(out_path)
    key = landscape_key(trajectory.key, landscape_settings(line=line, **options))
    landscape, action = reuse(out_path, Landscape.load, kind=KIND, schema_version=SCHEMA_VERSION, key=key,
                              force=force)
    if landscape is not None:
        return landscape, action
    sidecar = checkpoint_path_for(out_path)
    if force:
        sidecar.unlink(missing_ok=True)
    landscape = Landscape.from_trajectory(trajectory, progress=progress, workers=workers,
                                          checkpoint_path=sidecar, remove_checkpoint=False, line=line, **options)
    reproducible(landscape).save(out_path)
    sidecar.unlink(missing_ok=True)
    return landscape, action


def landscape_settings(*, directions="pca", anchors=None, resolution=51, margin=0.3, grid_range=None,
                       samples=10000, max_path=1000, seed=0, biases="zero", evaluation="mlp", line=0,
                       line_range=(-0.25, 1.25)):
    """The settings that decide a landscape's content, normalised (JSON-able).

    Examples
    --------
    >>> landscape_settings(grid_range=(0, 1, 0, 1))["range"]
    [0.0, 1.0, 0.0, 1.0]
    >>> landscape_settings()["line"], landscape_settings(line=61)["line"]
    (None, {'points': 61, 'range': [-0.25, 1.25]})
    """
    if directions not in DIRECTIONS:
        raise ConfigError(f"--directions {directions!r}: choose one of {', '.join(DIRECTIONS)}")
    if anchors is not None and directions != "anchors":
        raise ConfigError("--anchors needs --directions anchors")
    if int(resolution) < 3:
        raise ConfigError(f"--resolution {resolution}: need at least 3 nodes per side")
    if not float(margin) >= 0:
        raise ConfigError(f"--margin {margin}: must be >= 0")
    if int(samples) < 0:
        raise ConfigError(f"--samples {samples}: must be >= 0 (0 means all)")
    if int(max_path) < 2:
        raise ConfigError(f"--max-path {max_path}: must be at least 2 (the first and last snapshot)")
    if grid_range is not None and len(grid_range) != 4:
        raise ConfigError("--range: give four numbers A_MIN A_MAX B_MIN B_MAX")
    if int(line) < 0:
        raise ConfigError(f"line {line}: the number of points must be >= 0 (0: no 1-D view)")
    line_range = [float(v) for v in line_range]
    if int(line):
        line_positions(int(line), line_range)  # checks them
    return {"directions": directions, "anchors": None if anchors is None else [int(a) for a in anchors],
            "resolution": int(resolution), "margin": float(margin),
            "range": None if grid_range is None else [float(v) for v in grid_range],
            "samples": int(samples), "max_path": int(max_path), "seed": int(seed), "biases": biases,
            "evaluation": evaluation,
            "line": {"points": int(line), "range": line_range} if int(line) else None}


def landscape_key(trajectory_key, settings, *arrays):
    """Content key of a landscape: the trajectory's key, the settings and any extra data.

    Examples
    --------
    >>> key = landscape_key("0123", landscape_settings())
    >>> key == landscape_key("0123", landscape_settings(resolution=41)), len(key)
    (False, 16)
    """
    return content_key({"trajectory_key": trajectory_key, **settings}, *arrays)


def checkpoint_path_for(path):
    """Where the partial landscape of output ``path`` lives: ``NAME.partial.npz`` beside it.

    Examples
    --------
    >>> checkpoint_path_for("media/cache/landscape.npz").as_posix()
    'media/cache/landscape.partial.npz'
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.partial.npz")


def evaluation_data(trajectory, samples=10000, seed=0):
    """The built-in MLP run's training data, or a seeded subset of ``samples`` of it.

    Rebuilt from ``trajectory.settings["data"]`` with
    :func:`lossfilm.training.data.load_data`; the subset is drawn with
    ``np.random.default_rng(seed)`` and keeps the samples' order.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(settings={"data": {"spec": "digits", "seed": 0, "test_fraction": 0.2}})
    >>> X, y = evaluation_data(run, samples=100)
    >>> X.shape, y.shape
    ((100, 64), (100,))
    """
    spec = (trajectory.settings or {}).get("data")
    if not isinstance(spec, dict) or "spec" not in spec:
        raise ArtifactError("trajectory settings do not say which data trained it (no data.spec); "
                            "pass data=(X, y)")
    kwargs = {k: spec[k] for k in ("seed", "test_fraction") if k in spec}
    dataset = load_data(spec=spec["spec"], **kwargs)
    return _subset(dataset.X_train, dataset.y_train, samples, seed)


def _subset(X, y, samples, seed):
    """A seeded subset of ``samples`` rows (in their original order); all rows if fewer or 0."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise DataError(f"data: {len(X)} samples but {len(y)} labels")
    if samples == 0 or samples >= len(y):
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(y), size=samples, replace=False))
    return X[rows], y[rows]


def _build(cls, trajectory, *, loss_fn, acc_fn, data, directions, anchors, resolution, margin, grid_range,
           samples, max_path, seed, biases, executor, workers, progress, checkpoint_path, checkpoint_every,
           remove_checkpoint, line, line_range):

    started = time.perf_counter()
    layout = trajectory.layout
    evaluation = "mlp" if loss_fn is None else \
        f"loss_fn:{getattr(loss_fn, '__module__', '?')}.{getattr(loss_fn, '__qualname__', '?')}"
    settings = landscape_settings(directions=directions, anchors=anchors, resolution=resolution,
                                  margin=margin, grid_range=grid_range, samples=samples, max_path=max_path,
                                  seed=seed, biases=biases, evaluation=evaluation, line=line,
                                  line_range=line_range)
    X = y = None
    extra = ()
    if loss_fn is None:
        X, y = _mlp_data(trajectory, data, samples, seed)
        extra = (X, y) if data is not None else ()  # the run's own data is in its key already
    key = landscape_key(trajectory.key, settings, *extra)

    land = _resume(cls, checkpoint_path, key)
    if land is not None:
        plane = land.plane
        land.settings["resumed_nodes"] = int(land.computed.sum())
    else:
        plane = make_plane(trajectory.params, directions, layout=layout, seed=seed, anchors=anchors,
                           biases=biases)
    if loss_fn is None:
        evaluator = MLPEvaluator(plane, layout, X, y, workers=workers)
    else:
        evaluator = FunctionEvaluator(plane, layout, loss_fn, acc_fn, executor)

    if land is None:
        land = _new_landscape(cls, trajectory, plane, evaluator, settings, key, X, y, progress)
        if settings["line"]:
            _add_line(land, trajectory, settings["line"], loss_fn, acc_fn, X, y, workers)
    spent = float(land.settings.get("time_s", 0.0))

    def checkpoint():
        land.settings["time_s"] = spent + time.perf_counter() - started
        land.save(checkpoint_path)

    if checkpoint_path is not None:
        checkpoint()  # the plane and path are kept even if the grid is interrupted at once
    evaluate_grid(evaluator, land.alphas, land.betas, land.loss, land.accuracy, land.computed,
                  checkpoint=checkpoint if checkpoint_path is not None else None,
                  every=checkpoint_every, progress=progress)
    land.settings["time_s"] = spent + time.perf_counter() - started
    land.settings["stats"]["nonfinite"] = int(land.nonfinite.sum())
    if checkpoint_path is not None and remove_checkpoint:
        _remove(checkpoint_path)
    return land


def _add_line(land, trajectory, line, loss_fn, acc_fn, X, y, workers):
    """Fill in the 1-D view (first to last snapshot), evaluated exactly."""
    land.line_t, land.line_loss, _ = trajectory_line(trajectory, points=line["points"], t_range=line["range"],
                                                     loss_fn=loss_fn, acc_fn=acc_fn, X=X, y=y, workers=workers)


def _mlp_data(trajectory, data, samples, seed):
    """Evaluation data ``(X, y)`` for the built-in MLP, after checking that it is one."""
    if trajectory.model is None and data is None:
        raise ConfigError("this trajectory has no model spec (it was made from snapshots); "
                          "pass loss_fn=... (and acc_fn=...) for your model")
    check_mlp_layout(trajectory.layout)
    activation = (trajectory.model or {}).get("activation", "relu")
    if activation != "relu":
        raise ConfigError(f"the built-in fast path knows ReLU MLPs, not {activation!r}; pass loss_fn=...")
    X, y = _subset(*data, samples, seed) if data is not None else evaluation_data(trajectory, samples, seed)
    X, W1 = np.asarray(X, dtype=np.float64), trajectory.layout.shapes[0]
    if X.ndim != 2 or X.shape[1] != W1[1]:
        raise DataError(f"evaluation data has shape {X.shape}; the model's W1 {W1} expects {W1[1]} features")
    return X, np.asarray(y)


def _new_landscape(cls, trajectory, plane, evaluator, settings, key, X, y, progress):
    """Project the path, evaluate its losses exactly, lay out an empty grid."""
    alpha, beta, residual = plane.project(trajectory.params)  # (T,) each, every snapshot
    keep = subsample_indices(len(trajectory), settings["max_path"])
    if X is not None:
        true_loss, true_acc = _mlp_snapshot_losses(trajectory, keep, X, y, progress)
    else:
        snapshots = (trajectory.params[t].astype(np.float64) for t in keep)
        true_loss, true_acc = evaluator.at_params(_progress(snapshots, len(keep), progress, "path losses"))
    plane_loss, _ = evaluator.at(np.column_stack([alpha[keep], beta[keep]]))  # exact, not interpolated
    alphas, betas = _grid_axes_for(plane, alpha, beta, residual, settings)
    shape = (len(alphas), len(betas))
    stats = _path_stats(trajectory.params, alpha, beta, residual)
    stats.update(snapshots=len(trajectory), path_points=len(keep), samples=None if X is None else len(X))
    return cls(alphas=alphas, betas=betas, loss=np.full(shape, np.nan), accuracy=np.full(shape, np.nan),
               computed=np.zeros(shape, bool), origin=plane.origin, directions=plane.directions,
               path_alpha=alpha[keep], path_beta=beta[keep], path_loss_plane=plane_loss,
               path_loss_true=true_loss, path_accuracy=true_acc, residuals=residual[keep],
               path_steps=np.asarray(trajectory.steps)[keep].astype(np.int64),
               path_epochs=np.asarray(trajectory.epochs)[keep].astype(np.float64),
               explained_variance=np.asarray(plane.explained_variance, dtype=np.float64),
               directions_kind=plane.directions_kind,
               settings=dict(settings, plane=plane.info, stats=stats, time_s=0.0, run=_run(trajectory)),
               trajectory_key=trajectory.key, key=key)


def _run(trajectory):
    """What trained the path, in a few words for titles: optimizer, lr, data, layer sizes, seed.

    Descriptive only: the key already covers the trajectory through its key.
    """
    settings = trajectory.settings or {}
    optimizer = settings.get("optimizer") if isinstance(settings.get("optimizer"), dict) else {}
    data = settings.get("data") if isinstance(settings.get("data"), dict) else {}
    spec = data.get("spec")
    run = {"optimizer": optimizer.get("name"), "lr": optimizer.get("lr"),
           "data": "mnist" if spec not in (None, "digits") else spec,
           "sizes": (trajectory.model or {}).get("sizes"), "seed": settings.get("seed"),
           "test_accuracy": (settings.get("final") or {}).get("test_accuracy")}
    return {name: value for name, value in run.items() if value is not None}


def _grid_axes_for(plane, alpha, beta, residual, settings):
    """Grid axes around the full projected path, for normalised ``settings``.

    The square reaches as far as the plane's kind asks
    (:attr:`lossfilm.format.planes.PlaneKind.reach`, in multiples of the
    farthest snapshot's distance from the origin).
    """
    distance = float(np.sqrt((alpha ** 2 + beta ** 2 + residual ** 2).max()))
    min_side = PLANE_KINDS[plane.directions_kind].reach * distance
    scale = float(np.linalg.norm(plane.origin)) or 1.0  # only for a path that is one point
    return grid_axes(alpha, beta, resolution=settings["resolution"], margin=settings["margin"],
                     grid_range=settings["range"], min_side=min_side, scale=scale)


def _resume(cls, checkpoint_path, key):
    """The partial landscape at ``checkpoint_path`` if it belongs to ``key``, else None."""
    if checkpoint_path is None or not os.path.exists(checkpoint_path):
        return None
    try:
        land = cls.load(checkpoint_path)
    except ArtifactError:
        return None  # a stale or broken sidecar is simply recomputed (and overwritten)
    return land if land.key == key else None


def _mlp_snapshot_losses(trajectory, keep, X, y, progress):

    loss, accuracy = np.empty(len(keep)), np.empty(len(keep))
    for n, t in enumerate(_progress(keep, len(keep), progress, "path losses")):
        loss[n], accuracy[n] = loss_and_accuracy(trajectory.snapshot(t), X, y)
    return loss, accuracy


def _progress(iterable, total, show, desc):
    return tqdm(iterable, total=total, disable=not show, file=sys.stderr, unit="pt", desc=desc,
                dynamic_ncols=True)


def _path_stats(params, alpha, beta, residual):
    """How well the plane holds the path: residuals against the path's own size."""
    length, previous = 0.0, None
    for _, block in row_blocks(params):
        if previous is not None:
            block = np.vstack([previous, block])
        length += float(np.linalg.norm(np.diff(block, axis=0), axis=1).sum())
        previous = block[-1:]
    distance2 = alpha ** 2 + beta ** 2 + residual ** 2  # squared distance from the origin
    in_plane = float(np.hypot(np.diff(alpha), np.diff(beta)).sum())
    return {"residual_max": float(residual.max()), "residual_median": float(np.median(residual)),
            "path_length": length, "plane_path_length": in_plane,
            "captured": float(1.0 - (residual ** 2).sum() / distance2.sum()) if distance2.sum() > 0 else 1.0}


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass

