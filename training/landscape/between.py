"""Two models on one line: the loss along the straight segment between two trained networks (mode connectivity).

Two networks trained from two seeds, with two optimizers, or before and
after fine-tuning, are compared by the loss along
``theta(t) = theta_A + t * (theta_B - theta_A)`` (Frankle et al. 2020,
"linear mode connectivity"; Garipov et al. 2018): ``t = 0`` is model A,
``t = 1`` model B, and a little beyond each end shows the walls. The
*barrier* is the highest loss on the segment minus the mean of the two end
losses; a barrier near zero says the two lie in one basin, linearly
connected.

:func:`between_landscape` makes a landscape that carries both:

- the segment, exactly evaluated (not read off the grid), as the
  landscape's 1-D view (``line_t``, ``line_loss``), with the barrier, the end
  losses and accuracies in ``settings["between"]`` (the ``line`` scene draws it);
- both runs' paths on one surface: the ``anchors`` plane through A, B and a
  third point, the first run's initial parameters (the shared
  initialisation when both started there), as a race's.

A and B are each run's final snapshot, or any snapshot chosen by its
optimizer step. Any evaluation works: the built-in MLP, a user's
``loss_fn``, a :class:`lossfilm.torch.TorchLoss`. A trajectory records
parameters, not buffers: a TorchLoss holds a model's buffers (BatchNorm's
running statistics) at its own model's values along the whole segment, so
for such a model only that end is exactly its model's loss (a warning
says so); models without buffers are exact at both ends.

Examples
--------
>>> import numpy as np
>>> from lossfilm.format.trajectory import Trajectory
>>> a = Trajectory.from_snapshots([{"w": np.array([0.0, 2.0])}, {"w": np.array([-1.0, 0.0])}])
>>> b = Trajectory.from_snapshots([{"w": np.array([0.0, 2.0])}, {"w": np.array([1.0, 0.0])}])
>>> land = between_landscape(a, b, loss_fn=lambda p: float((p["w"][0] ** 2 - 1) ** 2 + p["w"][1] ** 2),
...                          resolution=5, points=5, t_range=(0.0, 1.0))
>>> land.line_loss.tolist(), land.settings["between"]["barrier"]
([0.0, 0.5625, 1.0, 0.5625, 0.0], 1.0)
"""

from __future__ import annotations

import warnings

import numpy as np

from lossfilm.format.artifact import content_key
from lossfilm.format.errors import ConfigError, DataError, LossfilmWarning
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.grid_cluster import is_client, on_cluster
from lossfilm.training.landscape.descent_paths import Race
from lossfilm.training.landscape.evaluation import evaluation_for
from lossfilm.training.landscape.pipeline import build_landscape, cached_landscape, landscape_key
from lossfilm.training.landscape.segment import POINTS, RANGE, line_positions
from lossfilm.training.landscape.settings import LandscapeSettings

NAMES = ("A", "B")
RESOLUTION = 31  # grid nodes per side: the surface is the picture's background, the segment its subject


class Between(Race):
    """Two runs, each up to a chosen snapshot, on the anchors plane through A, B and the first run's start.

    Parameters
    ----------
    names : (str, str)
    trajectories : (Trajectory, Trajectory)
        Each ending at its chosen snapshot (:func:`up_to_step`).
    points : int
        Positions along the segment.
    t_range : (float, float)
        Where the segment's positions run, 0 = A, 1 = B.
    """

    def __init__(self, names, trajectories, points=POINTS, t_range=RANGE):
        if len(trajectories) != 2:
            raise ConfigError(f"between: two models, got {len(trajectories)}")
        super().__init__(names, trajectories)
        self.points, self.t_range = int(points), (float(t_range[0]), float(t_range[1]))

    def record(self, settings):
        return dict(super().record(settings), between={"points": self.points, "range": list(self.t_range)})

    def segment(self):
        """A two-snapshot trajectory, A then B: its first-to-last line is the segment every evaluation draws."""
        a, b = (np.asarray(t.params[-1], dtype=np.float32) for t in self.trajectories)
        first = self.trajectories[0]
        return Trajectory(params=np.stack([a, b]), layout=first.layout, steps=np.arange(2, dtype=np.int64),
                          epochs=np.full(2, np.nan), losses=np.full(2, np.nan), train_losses=np.full(2, np.nan),
                          settings={}, model=first.model, key=content_key({"between": self.trajectory_key}))


def up_to_step(trajectory, step=None, *, name="A"):
    """``trajectory`` ending at the snapshot of optimizer step ``step`` (None: its last snapshot).

    Examples
    --------
    >>> run = Trajectory.from_snapshots([{"w": np.array([float(s)])} for s in range(4)], steps=[0, 10, 20, 30])
    >>> up_to_step(run, 20).params[:, 0].tolist(), up_to_step(run).params[-1].tolist()
    ([0.0, 1.0, 2.0], [3.0])
    """
    steps = np.asarray(trajectory.steps)
    if step is None:
        return trajectory
    matches = np.flatnonzero(steps == int(step))
    if not matches.size:
        raise DataError(f"--{name.lower()}-step {step}: model {name}'s trajectory has no snapshot at that step "
                        f"(its {len(steps)} snapshots run from step {int(steps[0])} to {int(steps[-1])})")
    end = int(matches[0]) + 1
    if end == len(trajectory):
        return trajectory
    return Trajectory(params=trajectory.params[:end], layout=trajectory.layout, steps=steps[:end],
                      epochs=np.asarray(trajectory.epochs)[:end], losses=np.asarray(trajectory.losses)[:end],
                      train_losses=np.asarray(trajectory.train_losses)[:end], settings=trajectory.settings,
                      model=trajectory.model, diverged=False,
                      key=content_key({"trajectory_key": trajectory.key, "up_to_step": int(step)}))


def barrier(t, loss):
    """The loss barrier on the segment, ``max over 0 <= t <= 1 of loss - (loss(0) + loss(1)) / 2``, and where.

    Returns ``(barrier, t at the peak, loss at the peak)``; NaN if the segment's losses are not finite.

    Examples
    --------
    >>> barrier(np.array([-0.5, 0.0, 0.5, 1.0]), np.array([9.0, 1.0, 4.0, 3.0]))
    (2.0, 0.5, 4.0)
    """
    t, loss = np.asarray(t, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    inside = (t >= 0) & (t <= 1)
    ends = np.interp([0.0, 1.0], t, loss)
    if not inside.any() or not np.isfinite(loss[inside]).all() or not np.isfinite(ends).all():
        return float("nan"), float("nan"), float("nan")
    peak = int(np.argmax(np.where(inside, loss, -np.inf)))
    return float(loss[peak] - ends.mean()), float(t[peak]), float(loss[peak])


def between_landscape(a, b, *, names=NAMES, a_step=None, b_step=None, loss_fn=None, acc_fn=None, data=None,
                      points=POINTS, t_range=RANGE, settings=None, executor=None, workers=None, progress=False,
                      checkpoint_path=None, remove_checkpoint=True, force=False, **options):
    """The landscape of two models A and B: the segment between them and both paths on one surface.

    Parameters
    ----------
    a, b : Trajectory
        The two runs (the same parameter layout).
    names : (str, str)
        What to call them (legend, plot labels).
    a_step, b_step : int, optional
        Use the snapshot of this optimizer step as the model, instead of the last.
    loss_fn, acc_fn, data, executor, workers, progress, force
        As in :meth:`lossfilm.Landscape.from_trajectory` (the built-in MLP
        is evaluated on A's training data).
    points : int
        Positions along the segment.
    t_range : (float, float)
        Where they run: 0 = A, 1 = B.
    settings, **options
        Landscape settings (:mod:`lossfilm.training.landscape.settings`); the
        plane is always ``anchors`` and the path's own line is not drawn.

    Returns
    -------
    Landscape
        ``line_t``, ``line_loss`` along the segment; ``settings["between"]``
        holds ``barrier``, ``peak_t``, the end losses and accuracies.
    """
    paths, settings = _paths_and_settings(a, b, names, a_step, b_step, points, t_range, settings, options)
    evaluation = _evaluation(paths, settings, loss_fn, acc_fn, data, executor, workers)
    return _build(paths, settings, evaluation, progress=progress, checkpoint_path=checkpoint_path,
                  remove_checkpoint=remove_checkpoint, force=force)


def cached_between(a, b, out_path, *, force=False, progress=True, names=NAMES, a_step=None, b_step=None,
                   loss_fn=None, points=POINTS, t_range=RANGE, executor=None, workers=None, **options):
    """Reuse the landscape at ``out_path`` if it has these runs' and settings' key, else compute and save it.

    Returns ``(landscape, action)`` as :func:`lossfilm.training.landscape.pipeline.cached_landscape`.
    """
    paths, settings = _paths_and_settings(a, b, names, a_step, b_step, points, t_range, None, options)
    evaluation = _evaluation(paths, settings, loss_fn, None, None, executor, workers)
    key = landscape_key(paths, settings, evaluation.name, *evaluation.key_arrays)

    def build(sidecar):
        return _build(paths, settings, evaluation, progress=progress, checkpoint_path=sidecar,
                      remove_checkpoint=False, force=force)
    return cached_landscape(out_path, key, build, force=force)


def _paths_and_settings(a, b, names, a_step, b_step, points, t_range, settings, options):
    if len(tuple(names)) != 2:
        raise ConfigError(f"between: two names, one per model, got {list(names)}")
    if options.get("directions_kind", "anchors") != "anchors" or options.get("anchors") is not None:
        raise ConfigError("between: the plane goes through A, B and A's initial point (the anchors plane); "
                          "choose no other")
    name_a, name_b = (str(n) for n in names)
    line_positions(points, t_range)  # a bad --points or --range is refused before any work
    paths = Between((name_a, name_b), (up_to_step(a, a_step, name="A"), up_to_step(b, b_step, name="B")),
                    points, t_range)
    options = {k: v for k, v in options.items() if k not in ("directions_kind", "anchors")}
    settings = LandscapeSettings.of(settings, directions_kind="anchors", line=0,
                                    **{"resolution": RESOLUTION, **options})
    if settings.sharpness:
        raise ConfigError("between: the sharpness is measured along one run; make each run's landscape on its own")
    return paths, settings


def _evaluation(paths, settings, loss_fn, acc_fn, data, executor, workers):
    local_executor = None if is_client(executor) else executor
    evaluation = evaluation_for(paths.trajectories[0], loss_fn=loss_fn, acc_fn=acc_fn, data=data,
                                samples=settings.samples, seed=settings.seed, executor=local_executor,
                                workers=workers, dtype=settings.dtype)
    return on_cluster(evaluation, executor)


def _build(paths, settings, evaluation, **kwargs):
    """The race-shaped landscape of both paths, then the segment from A to B and its barrier."""
    held = [name for name in getattr(evaluation, "fixed", {}) if not name.endswith("num_batches_tracked")]
    if held:
        # A trajectory holds parameters, not buffers: one model's running statistics serve the whole segment.
        warnings.warn(f"between: the model's buffers ({', '.join(held[:3])}{', ...' if len(held) > 3 else ''}) "
                      "are held at the TorchLoss model's values along the whole segment, so the other end is "
                      "not exactly that model's own loss", LossfilmWarning, stacklevel=3)
    try:
        land = build_landscape(paths, settings, evaluation, **kwargs)
    except DataError as exc:
        if "no anchors plane" not in str(exc):
            raise
        raise DataError("between: A, B and A's initial point lie on one line (or two of them are the same "
                        "point), so no plane goes through them; choose other snapshots with --a-step/--b-step") from None
    t, loss, accuracy = evaluation.along(paths.segment(), paths.points, paths.t_range)
    land.line_t, land.line_loss = t, loss
    height, peak_t, peak_loss = barrier(t, loss)
    ends = np.interp([0.0, 1.0], t, loss)
    known = np.isfinite(accuracy).any()
    at = {float(v): i for i, v in enumerate(t)}
    land.settings["between"] = {
        "names": list(paths.names), "points": paths.points, "range": list(paths.t_range),
        "steps": [int(trajectory.steps[-1]) for trajectory in paths.trajectories],
        "end_losses": [float(v) for v in ends], "barrier": height, "peak_t": peak_t, "peak_loss": peak_loss,
        "end_accuracies": [float(accuracy[at[v]]) for v in (0.0, 1.0)] if known and 0.0 in at and 1.0 in at
        else None,
        "peak_accuracy": float(accuracy[at[peak_t]]) if known and peak_t in at else None,
        "distance": float(np.linalg.norm(np.asarray(paths.trajectories[1].params[-1], dtype=np.float64)
                                         - np.asarray(paths.trajectories[0].params[-1], dtype=np.float64))),
    }
    return land
