"""The landscape pipeline: paths on a plane, their exact losses, and the loss grid around them.

One pipeline, :func:`build_landscape` ``(paths, settings, evaluation)``,
makes every landscape: a single training run's
(:meth:`Landscape.from_trajectory`, ``lossfilm landscape``), a race's
(:mod:`lossfilm.training.landscape.race`) and a classic 2-D function's
(:mod:`lossfilm.training.landscape.classic`). It

1. makes the plane of ``settings.directions_kind`` for the paths
   (:func:`lossfilm.training.landscape.plane.make_plane`);
2. projects every snapshot of every path on it, keeps at most
   ``settings.max_path`` points of each, and evaluates the loss exactly at
   each kept snapshot and at its projection (the height the ball rides);
3. with ``settings.sharpness``, measures the top Hessian eigenvalue at that
   many snapshots (:mod:`lossfilm.training.curvature.sharpness`);
4. fits the grid around all paths (:func:`lossfilm.training.landscape.grid.grid_axes`,
   as far as the plane kind's reach asks) and evaluates it, checkpointing a
   partial landscape so that an interrupted grid resumes.

:func:`cached_landscape` is the one cached stage around it: a landscape
file whose key matches is reused. The grid index ``[i, j]`` is the point
``origin + alphas[i] * d1 + betas[j] * d2``
(:mod:`lossfilm.format.landscape` is the file).

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
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from lossfilm.format.artifact import content_key, is_artifact, reuse
from lossfilm.format.budget import Cost, check_cost
from lossfilm.format.drawable import grid_problems
from lossfilm.format.errors import ArtifactError, ConfigError, LossfilmWarning
from lossfilm.format.safe_write import check_file_target
from lossfilm.format.landscape import KIND, SCHEMA_VERSION, reproducible
from lossfilm.format.landscape import Landscape as LandscapeFile
from lossfilm.format.planes import PLANE_KINDS
from lossfilm.format.version import CODE_VERSIONS
from lossfilm.training.grid_cluster import is_client, on_cluster
from lossfilm.training.landscape.evaluation import MLPEvaluation, evaluation_for
from lossfilm.training.landscape.grid import evaluate_grid, grid_axes
from lossfilm.training.landscape.segment import POINTS
from lossfilm.training.landscape.descent_paths import Run
from lossfilm.training.landscape.plane import Plane, make_plane, subsample_indices
from lossfilm.training.landscape.settings import GRID_WORKERS, LandscapeSettings
from lossfilm.training.curvature.sharpness import sharpness_along


class Landscape(LandscapeFile):
    """A :class:`lossfilm.format.landscape.Landscape` that can also be computed from a trajectory."""
    @property
    def plane(self):
        """The plane as a :class:`lossfilm.training.landscape.plane.Plane`."""
        return Plane(self.origin, self.directions, self.directions_kind, self.explained_variance,
                     dict(self.settings.get("plane", {})))

    @classmethod
    def from_trajectory(cls, trajectory, loss_fn=None, *, acc_fn=None, grad_fn=None, data=None, layout=None,
                        settings=None, executor=None, workers=None, progress=False, checkpoint_path=None,
                        checkpoint_every=5.0, remove_checkpoint=True, force=False, **options):
        """Choose a plane, project the path on it and evaluate the loss grid.

        Parameters
        ----------
        trajectory : Trajectory
        loss_fn : callable, optional
            ``loss_fn(params_dict) -> float`` for your own model, called once
            per grid node and twice per kept path point (once for a point on
            the plane, such as the origin); ``params_dict`` maps the
            trajectory's names to float64 arrays. It returns a real number (a
            0-d or one-element array is fine; NaN and inf become holes); what
            it raises, ``sys.exit()`` included, or any other return value is
            one :class:`lossfilm.format.errors.UserCodeError` line naming it
            and the grid node or snapshot. Not needed for a trajectory
            of the built-in MLP (it knows its model and, through its
            settings, its data), which is evaluated by the fast path. A
            :class:`lossfilm.torch.TorchLoss` evaluates a PyTorch model,
            many nodes per call, on ``samples`` of its data.
        acc_fn : callable, optional
            ``acc_fn(params_dict) -> float``; with ``loss_fn`` and without
            this, accuracy is NaN.
        grad_fn : callable, optional
            ``grad_fn(params_dict) -> dict`` of gradient arrays of
            ``loss_fn``: what curvature needs for your own model
            (``directions_kind="hessian"``, ``sharpness``).
        data : tuple (X, y), optional
            Evaluation data for the built-in MLP instead of the run's
            training data.
        layout : {"out_in", "in_out"}, optional
            For snapshots of your own MLP (``W1, b1, W2, b2, ...``)
            evaluated on ``data`` by the built-in fast path: W is (out, in)
            or (in, out). Needed when every layer is square (both fit);
            otherwise the shapes decide, and lossfilm never guesses.
        settings : LandscapeSettings, optional
            What decides the landscape (:mod:`lossfilm.training.landscape.settings`
            lists them with their defaults): the plane
            (``directions_kind`` "pca", "random", "anchors" or "hessian",
            ``anchors``, ``biases``, ``seed``, ``filter_normalise``), the
            grid (``resolution``, ``margin``, ``grid_range``), ``samples`` of
            the built-in MLP's data, ``max_path`` points kept, the 1-D view
            (``line`` points, ``line_range``) and the curvature
            (``sharpness`` snapshots, ``hessian_tol``). ``line=61`` costs about as much as 61 grid
            nodes (61 ``loss_fn`` calls); :func:`cached_or_compute`, behind
            the CLI, asks for 61.
        force : bool
            Evaluate even a grid the size check refuses (over an hour, or more memory than there is).
        **options
            Any of those settings by name, e.g. ``resolution=41``, on top of
            ``settings``.
        executor : concurrent.futures.Executor or dask.distributed.Client, optional
            Runs ``loss_fn`` calls (the built-in MLP uses its own threads).
            A Dask client runs the grid and the path's points on its
            cluster, for every evaluation: the built-in MLP's, ``loss_fn``
            and ``TorchLoss`` (:mod:`lossfilm.training.grid_cluster`); the 1-D
            line and curvature stay here.
        workers : int, optional
            Threads of the built-in MLP's fast path (default: all cores).
        progress : bool
            Show progress bars with ETA on stderr.
        checkpoint_path : str or Path, optional
            Partial landscape file: saved every ``checkpoint_every`` seconds
            and on Ctrl-C; a matching one is resumed (only its missing nodes
            are computed) and removed at the end unless ``remove_checkpoint``
            is False.

        Returns
        -------
        Landscape
            ``key`` hashes the trajectory key and every setting that
            changes the result; ``settings`` also records the time taken and
            the path statistics.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> from lossfilm.format.trajectory import Trajectory
        >>> traj = Trajectory.from_snapshots([{"w": rng.normal(size=4)} for _ in range(6)])
        >>> land = Landscape.from_trajectory(traj, loss_fn=lambda p: float(np.abs(p["w"]).sum()),
        ...                                  directions_kind="random", resolution=3)
        >>> bool(np.isfinite(land.loss).all()), land.directions_kind
        (True, 'random')
        """
        settings = LandscapeSettings.of(settings, **options)
        workers = GRID_WORKERS.check(workers)
        local_executor = None if is_client(executor) else executor
        evaluation = evaluation_for(trajectory, loss_fn=loss_fn, acc_fn=acc_fn, data=data, samples=settings.samples,
                                    seed=settings.seed, executor=local_executor, workers=workers, grad_fn=grad_fn,
                                    dtype=settings.dtype, layout=layout)
        evaluation = on_cluster(evaluation, executor)
        return build_landscape(Run(trajectory), settings, evaluation, progress=progress,
                               checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                               remove_checkpoint=remove_checkpoint, force=force)


    @classmethod
    def between(cls, a, b, loss_fn=None, **options):
        """Two models on one line: the loss along the segment from A's final parameters to B's, and both paths.

        The barrier (the highest loss on the segment minus the mean of the
        two end losses) is in ``settings["between"]``; the plane is the
        anchors plane through A, B and A's initial point. See
        :func:`lossfilm.training.landscape.between.between_landscape` for the
        options (``names``, ``a_step``, ``b_step``, ``points``, ``t_range``,
        and the ones of :meth:`from_trajectory`).

        Examples
        --------
        >>> land = Landscape.between(run_a, run_b, names=("seed 0", "seed 1"))  # doctest: +SKIP
        >>> land.settings["between"]["barrier"]  # doctest: +SKIP
        0.018
        """
        from lossfilm.training.landscape.between import between_landscape  # it builds on this module

        return between_landscape(a, b, loss_fn=loss_fn, **options)


def build_landscape(paths, settings, evaluation, *, progress=False, checkpoint_path=None, checkpoint_every=5.0,
                    remove_checkpoint=True, force=False):
    """One landscape for ``paths``: one plane, every path on it with its exact losses, one grid around them all.

    Parameters
    ----------
    paths : Run, Race or Iterates
        What to draw (:mod:`lossfilm.training.landscape.descent_paths`).
    settings : LandscapeSettings
    evaluation : Evaluation
        What loss (:mod:`lossfilm.training.landscape.evaluation`).
    progress : bool
        Progress bars with ETA on stderr.
    checkpoint_path, checkpoint_every, remove_checkpoint
        As in :meth:`Landscape.from_trajectory`.
    force : bool
        Skip the size check (:func:`check_grid_cost`) that refuses a grid this machine cannot hold or
        would take over an hour to evaluate.

    Returns
    -------
    Landscape
        With ``key`` = :func:`landscape_key`; ``path_owner`` and
        ``path_names`` tell the paths apart (``path_steps`` restarts at each).
    """
    started = time.perf_counter()
    if settings.sharpness and len(paths.trajectories) != 1:
        raise ConfigError("sharpness is measured along one run's path; make each racer's landscape on its own")
    check_grid_cost(settings, evaluation, force=force)
    key = landscape_key(paths, settings, evaluation.name, *evaluation.key_arrays)
    land = _resume(checkpoint_path, key)
    if land is not None:
        plane = land.plane  # the stored one: its path and finished nodes lie on it
        land.settings["resumed_nodes"] = int(land.computed.sum())
    else:
        # One BLAS thread for the plane and the path's projection and statistics (products streamed over the
        # snapshots, bound by memory): more threads only contend on busy cores. The PCA of the README's MNIST
        # run took 1.2 s of CPU (20 to 36 s wall) on one thread against 2.9 s (48 s) on two, at load 20.
        with threadpool_limits(1):
            plane = make_plane(paths, settings, evaluation, progress=progress)
    plane_loss = evaluation.on(plane)
    if land is None:
        with threadpool_limits(1):  # the plane loss's own threads run the path's losses
            land = _new_landscape(paths, settings, evaluation, plane, plane_loss, key, progress)
    spent = float(land.settings.get("time_s", 0.0))

    def checkpoint():
        land.settings["time_s"] = spent + time.perf_counter() - started
        land.save(checkpoint_path)

    if checkpoint_path is not None:
        checkpoint()  # the plane and path are kept even if the grid is interrupted at once
    evaluate_grid(plane_loss, land.alphas, land.betas, land.loss, land.accuracy, land.computed,
                  checkpoint=checkpoint if checkpoint_path is not None else None,
                  every=checkpoint_every, progress=progress)
    land.settings["time_s"] = spent + time.perf_counter() - started
    if "stats" in land.settings:
        land.settings["stats"]["nonfinite"] = int(land.nonfinite.sum())
    if checkpoint_path is not None and remove_checkpoint:
        _remove(checkpoint_path)
    for line in grid_problems(land, "the loss grid"):  # said now, not first by the render step
        warnings.warn(line, LossfilmWarning, stacklevel=2)
    return land


GRID_NODE_BYTES = 64  # loss, accuracy, computed, and the copies saving and checkpointing make


def check_grid_cost(settings, evaluation, *, force=False):
    """Refuse, in one line, a ``--resolution`` whose grid will not fit in memory or takes over an hour.

    The memory counts the grid's arrays and what the evaluation's plane loss
    holds whatever the grid (the built-in MLP's data and first-layer
    products, which grow with ``--samples`` and the first layer's width);
    the time is the evaluation's own estimate per node
    (:meth:`lossfilm.training.landscape.evaluation.Evaluation.cost`: only
    the built-in MLP's fast path knows one; a user's ``loss_fn`` costs what
    it costs, and only memory is checked for it).
    """
    node = evaluation.cost()

    def cost(resolution):
        nodes = resolution * resolution
        return Cost(memory=node.fixed_bytes + GRID_NODE_BYTES * nodes, seconds=nodes * node.seconds)
    check_cost("--resolution", settings.resolution, cost, force=force, lowest=3)


def landscape_key(paths, settings, evaluation, *arrays):
    """Content key of a landscape: what the paths were made from, the settings, the evaluation and extra data.

    Parameters
    ----------
    paths : Run, Race or Iterates
    settings : LandscapeSettings
    evaluation : str
        The evaluation's name (``"mlp"`` for the built-in MLP).
    *arrays : ndarray
        Data the key must cover besides (evaluation data not the run's own).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> run = Run(SimpleNamespace(key="0123"))
    >>> key = landscape_key(run, LandscapeSettings(), "mlp")
    >>> key == landscape_key(run, LandscapeSettings(resolution=41), "mlp"), len(key)
    (False, 16)

    The landscape stage's code version (:data:`lossfilm.format.version.CODE_VERSIONS`) is part of the key, so
    a landscape made by an older algorithm is recomputed, not reused.
    """
    return content_key({**paths.made_from(), **paths.record(settings.to_dict(evaluation)),
                        "code_version": CODE_VERSIONS["landscape"]}, *arrays)


def cached_landscape(out_path, key, build, *, force=False):
    """The landscape at ``out_path`` if it has ``key``, else ``build(checkpoint_path)``, saved there.

    An interrupted build leaves its finished nodes in the sidecar
    :func:`checkpoint_path_for` ``(out_path)``, which ``build`` should pass on
    as its ``checkpoint_path`` (with ``remove_checkpoint=False``: it goes
    once the landscape is saved); ``force`` discards both.

    Returns
    -------
    landscape : Landscape
    action : {"compute", "reuse", "update"}
    """
    check_file_target(out_path, example="landscape.npz")
    landscape, action = reuse(out_path, Landscape.load, kind=KIND, schema_version=SCHEMA_VERSION, key=key,
                              force=force)
    if landscape is not None:
        return landscape, action
    sidecar = checkpoint_path_for(out_path)
    if os.path.lexists(sidecar) and not is_artifact(sidecar, KIND):
        raise ConfigError(f"{sidecar}: exists and is not a lossfilm partial landscape; lossfilm keeps the "
                          f"unfinished nodes of {Path(out_path).name} under that name: move it away")
    if force:
        sidecar.unlink(missing_ok=True)
    landscape = build(sidecar)
    reproducible(landscape).save(out_path)  # byte-identical for the same inputs and settings
    sidecar.unlink(missing_ok=True)
    return landscape, action


def cached_or_compute(trajectory, out_path, *, loss_fn=None, force=False, progress=True, workers=None, line=POINTS,
                      executor=None, **options):
    """Reuse the landscape at ``out_path`` if it has this trajectory's and settings' key, else compute it.

    Parameters
    ----------
    trajectory : Trajectory
        A trajectory of the built-in MLP (``trajectory.model`` set), or any with ``loss_fn``.
    loss_fn : callable, optional
        Your model's loss (see :meth:`Landscape.from_trajectory`; ``lossfilm
        landscape --loss`` passes it); its evaluation's name and data go into the key.
    out_path : path-like
        The ``landscape.npz`` to write.
    line : int
        Points of the 1-D view along the line from the first to the last
        snapshot (0: none); see :meth:`Landscape.from_trajectory`.
    executor : dask.distributed.Client, optional
        Evaluate on this Dask cluster (``lossfilm landscape --scheduler``).
    **options
        The other :class:`LandscapeSettings` (directions_kind, resolution, ...).

    Returns
    -------
    landscape : Landscape
    action : {"compute", "reuse", "update"}

    Examples
    --------
    >>> land, action = cached_or_compute(traj, "media/cache/landscape.npz")  # doctest: +SKIP
    """
    settings = LandscapeSettings.of(line=line, **options)
    if loss_fn is not None:
        evaluation = on_cluster(evaluation_for(trajectory, loss_fn=loss_fn, samples=settings.samples,
                                               seed=settings.seed), executor)
        key = landscape_key(Run(trajectory), settings, evaluation.name, *evaluation.key_arrays)

        def build_yours(sidecar):
            return build_landscape(Run(trajectory), settings, evaluation, progress=progress,
                                   checkpoint_path=sidecar, remove_checkpoint=False)
        return cached_landscape(out_path, key, build_yours, force=force)
    key = landscape_key(Run(trajectory), settings, MLPEvaluation.name)  # no data loaded to decide

    def build(sidecar):
        return Landscape.from_trajectory(trajectory, settings=settings, progress=progress, workers=workers,
                                         executor=executor, checkpoint_path=sidecar, remove_checkpoint=False,
                                         force=force)
    return cached_landscape(out_path, key, build, force=force)


def checkpoint_path_for(path):
    """Where the partial landscape of output ``path`` lives: ``NAME.partial.npz`` beside it.

    Examples
    --------
    >>> checkpoint_path_for("media/cache/landscape.npz").as_posix()
    'media/cache/landscape.partial.npz'
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.partial.npz")


def _new_landscape(paths, settings, evaluation, plane, plane_loss, key, progress):
    """Project every path, evaluate its losses exactly at the kept points, lay out an empty grid."""
    projections, keeps, points = [], [], []
    for index, (name, trajectory) in enumerate(zip(paths.names, paths.trajectories)):
        alpha, beta, residual = plane.project(trajectory.params, progress=progress and len(trajectory) > 2000)
        keep = subsample_indices(len(trajectory), settings.max_path)
        bar = _progress(keep, "path losses" if len(paths.names) == 1 else f"{name} path", progress)
        of = "" if len(paths.names) == 1 else f" of {name}"
        labels = [f"at snapshot {t}{of} (step {int(trajectory.steps[t])})" for t in keep]
        true_loss, true_acc = plane_loss.at_params((trajectory.params[t] for t in bar), labels=labels)
        projections.append((alpha, beta, residual))
        keeps.append(keep)
        points.append({"path_alpha": alpha[keep], "path_beta": beta[keep], "residuals": residual[keep],
                       "path_steps": np.asarray(trajectory.steps)[keep].astype(np.int64),
                       "path_epochs": np.asarray(trajectory.epochs)[keep].astype(np.float64),
                       "path_loss_true": true_loss, "path_accuracy": true_acc,
                       "path_owner": np.full(len(keep), index, dtype=np.int64)})
    path = {name: np.concatenate([p[name] for p in points]) for name in points[0]}
    # Points of the plane, evaluated like its nodes (the fast path serves any (a, b)). A snapshot with no
    # residual (the origin, an anchor) is its own projection: its loss is known, and a loss_fn is not called.
    path["path_loss_plane"] = path["path_loss_true"].copy()
    off_plane = path["residuals"] != 0.0
    if off_plane.any():
        coords = np.column_stack([path["path_alpha"], path["path_beta"]])
        path["path_loss_plane"][off_plane], _ = plane_loss.at(coords[off_plane])
    alphas, betas = _grid_axes(plane, projections, settings)
    shape = (len(alphas), len(betas))
    record = dict(paths.record(settings.to_dict(evaluation.name)),
                  **paths.described(plane, projections, keeps, evaluation.samples), time_s=0.0)
    land = Landscape(alphas=alphas, betas=betas, loss=np.full(shape, np.nan), accuracy=np.full(shape, np.nan),
                     computed=np.zeros(shape, bool), origin=plane.origin, directions=plane.directions,
                     explained_variance=np.asarray(plane.explained_variance, dtype=np.float64),
                     directions_kind=plane.directions_kind, settings=record,
                     trajectory_key=paths.trajectory_key, key=key, path_names=paths.names, **path)
    if settings.line:
        land.line_t, land.line_loss, _ = evaluation.along(paths.trajectories[0], settings.line, settings.line_range)
    if settings.sharpness:
        land.sharpness_steps, land.sharpness, land.settings["curvature"] = sharpness_along(
            paths.trajectories[0], evaluation, settings.sharpness, tol=settings.hessian_tol, seed=settings.seed,
            progress=progress)
    return land


def _grid_axes(plane, projections, settings):
    """Grid axes around every path's projected snapshots, as far as the plane kind reaches.

    The kind's reach (:attr:`lossfilm.format.planes.PlaneKind.reach`) is in
    multiples of the farthest snapshot's distance from the origin.
    """
    alpha, beta, residual = (np.concatenate(part) for part in zip(*projections))
    # Coordinates are in multiples of the directions: unit vectors, or (random, --scaling li) whole
    # filter-normalised directions; the reach is measured in the same units.
    lengths = np.linalg.norm(plane.directions.astype(np.float64), axis=1)
    distance = float(np.sqrt(((alpha * lengths[0]) ** 2 + (beta * lengths[1]) ** 2 + residual ** 2).max()))
    distance /= float(lengths.mean()) or 1.0
    scale = float(np.linalg.norm(plane.origin)) or 1.0  # only for a path that is one point
    return grid_axes(alpha, beta, resolution=settings.resolution, margin=settings.margin,
                     grid_range=settings.grid_range, min_side=PLANE_KINDS[plane.directions_kind].reach * distance,
                     scale=scale)


def _resume(checkpoint_path, key):
    """The partial landscape at ``checkpoint_path`` if it belongs to ``key``, else None."""
    if checkpoint_path is None or not os.path.exists(checkpoint_path):
        return None
    try:
        land = Landscape.load(checkpoint_path)
    except ArtifactError:
        return None  # a stale or broken sidecar is simply recomputed (and overwritten)
    return land if land.key == key else None


def _progress(iterable, desc, show):
    return tqdm(iterable, total=len(iterable), disable=not show, file=sys.stderr, unit="pt", desc=desc,
                dynamic_ncols=True)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
