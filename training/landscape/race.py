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
(uncentred, as :func:`lossfilm.training.landscape.plane.pca_plane`): the plane that keeps the
whole field, all paths together, as close as possible to itself. Signs are
chosen so that the first optimizer's final point has non-negative
coordinates. ``directions_kind="anchors"`` is the alternative: the plane
through ``theta_0`` and the first two optimizers' final points, which holds
those three exactly and the others only approximately
(:mod:`lossfilm.training.landscape.plane` makes both).

Every ball rides the surface: its on-plane loss is the loss at its projected
parameters, evaluated exactly (not read off the grid); the true loss at each
snapshot is kept beside it. The landscape is made by the same pipeline as a
single run's (:func:`lossfilm.training.landscape.pipeline.build_landscape`), so an
interrupted race grid resumes too.

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
from pathlib import Path

from lossfilm.training.fit.config import RACER_LRS, RACERS, TrainConfig, check_racers
from lossfilm.training.data.datasets import load_data
from lossfilm.training.landscape.evaluation import MLPEvaluation, evaluation_for
from lossfilm.training.landscape.pipeline import build_landscape, cached_landscape, landscape_key
from lossfilm.training.landscape.descent_paths import Race
from lossfilm.training.landscape.plane import check_directions
from lossfilm.training.landscape.settings import LandscapeSettings
from lossfilm.training.fit.train import TrainingDiverged, cached_or_train

# The optimizers' own default learning rates (lossfilm.training.fit.optimizers.DEFAULT_LRS) all converge on the
# default digits run (20 epochs, batch 64, 64-128-10): measured test accuracy, seeds 0 and 1:
# sgd 0.2 -> 96.9/96.7%, momentum 0.05 -> 97.5/96.9%, nesterov 0.05 -> 97.5/96.9%,
# rmsprop 0.001 -> 96.9/96.9%, adam 0.001 -> 96.7/96.9%. So the race needs no tuning of its own.
RACE_OPTIMIZERS = ("sgd", "momentum", "adam")
# lossfilm race's racers and learning rates, declared once (lossfilm.training.fit.config), with the race's defaults.
OPTIMIZERS_OPTION = RACERS.but(default=RACE_OPTIMIZERS)
LRS = RACER_LRS.but(help="one racer's learning rate, e.g. --lr adam=0.002 (repeat it for more; default: each "
                         "optimizer's own, see training/fit/optimizers.py)")
MAX_SNAPSHOTS = 500  # per optimizer when recording is automatic: a smooth path, files of ~200 MB on MNIST


def parse_optimizers(text):
    """``"sgd,momentum,adam"`` -> ``("sgd", "momentum", "adam")``, read by the declaration :data:`OPTIMIZERS_OPTION`.

    Examples
    --------
    >>> parse_optimizers("sgd, adam")
    ('sgd', 'adam')
    """
    return OPTIMIZERS_OPTION.read(text)


def parse_lrs(items, optimizers):
    """``["adam=0.002", ...]`` -> ``{"adam": 0.002}``, read by the declaration :data:`LRS`, racers only.

    Examples
    --------
    >>> parse_lrs(["adam=2e-3"], ("sgd", "adam"))
    {'adam': 0.002}
    """
    return check_racers(optimizers, LRS.read(list(items or ())), cli=True)[1]


def racer_config(optimizer, *, data="digits", epochs=20, seed=0, lr=None, record_every=1, **settings):
    """The TrainConfig of one racer: the shared settings, this optimizer and its learning rate.

    Examples
    --------
    >>> racer_config("adam").lr, racer_config("adam", lr=0.01).lr
    (None, 0.01)
    """
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
        ``{optimizer: lr}``; others use their own default.
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
        :func:`lossfilm.training.fit.train.cache_action`). A racer that diverged keeps its
        finite part (``trajectory.diverged``) and is retrained next time.
    """
    optimizers, lrs = check_racers(optimizers, lrs)
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


# A race's default plane: uncentred PCA of every racer's offsets from the shared start. Li et al.'s centred
# convention is for one run; for several runs from one start the uncentred plane is the one that holds the
# most of their squared distance from that start (on the digits race of four optimizers: 96.9% against 91.2%
# centred), which is what the race's summary reports and the film shows.
RACE_DIRECTIONS = "pca-uncentred"


def race_landscape(trajectories, names, *, loss_fn=None, acc_fn=None, data=None, settings=None, workers=None,
                   progress=False, checkpoint_path=None, remove_checkpoint=True, force=False, **options):
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
    settings : LandscapeSettings, optional
        As in :meth:`Landscape.from_trajectory`; ``directions_kind`` is
        ``"pca"`` or ``"anchors"`` (see the module's notes), ``max_path``
        applies per path (the plane uses every snapshot) and the grid spans
        all paths.
    **options
        Any of those settings by name, on top of ``settings``.
    workers, progress, checkpoint_path, remove_checkpoint, force
        As in :meth:`Landscape.from_trajectory`.

    Returns
    -------
    Landscape
        ``path_owner``/``path_names`` tell the paths apart; ``path_steps``
        restarts at 0 for each. ``settings["runs"]`` describes each racer,
        ``settings["stats"]["paths"]`` how well the plane holds each.
    """
    racers = Race(names, trajectories)
    if settings is None:
        options.setdefault("directions_kind", RACE_DIRECTIONS)
    settings = LandscapeSettings.of(settings, **options)
    check_directions(racers, settings)  # before the data loads
    evaluation = evaluation_for(racers.trajectories[0], loss_fn=loss_fn, acc_fn=acc_fn, data=data,
                                samples=settings.samples, seed=settings.seed, workers=workers, dtype=settings.dtype)
    return build_landscape(racers, settings, evaluation, progress=progress, checkpoint_path=checkpoint_path,
                           remove_checkpoint=remove_checkpoint, force=force)


def cached_race_landscape(racers, out_path, *, force=False, progress=True, workers=None, **options):
    """Reuse the race landscape at ``out_path`` if its key matches, else compute and save it.

    Parameters
    ----------
    racers : sequence of (name, Trajectory)
        Or the ``(name, Trajectory, action)`` triples of :func:`train_racers`;
        built-in MLP runs.
    out_path : path-like
    **options
        The :class:`LandscapeSettings` of :func:`race_landscape` (directions_kind, resolution, ...).

    Returns
    -------
    landscape : Landscape
    action : {"compute", "reuse", "update"}
    """
    names, trajectories = tuple(r[0] for r in racers), [r[1] for r in racers]
    settings = LandscapeSettings.of(**{"directions_kind": RACE_DIRECTIONS, **options})
    key = landscape_key(Race(names, trajectories), settings, MLPEvaluation.name)  # no data loaded to decide

    def build(sidecar):
        return race_landscape(trajectories, names, settings=settings, workers=workers, progress=progress,
                              checkpoint_path=sidecar, remove_checkpoint=False, force=force)
    return cached_landscape(out_path, key, build, force=force)
