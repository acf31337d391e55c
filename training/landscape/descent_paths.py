"""The paths a landscape draws: one training run, a race of runs from one start, or a 2-D function's iterates.

:func:`lossfilm.training.landscape.pipeline.build_landscape` treats them alike: every
path is projected on one plane, its losses are evaluated exactly at every
kept point, and one grid covers them all. What differs is said here, one
class each:

- which trajectories they are and what they are called (``names``);
- where the plane's origin goes: ``race`` paths share a start, which is the
  origin (every ball starts at (0, 0)); otherwise a run's final snapshot is
  (Li et al.), and a function's axes need none;
- what decides the landscape besides its settings (``made_from`` and
  ``record``: the content key's inputs, recorded in the file);
- what the landscape says about them (``described``: the plane's record,
  the path statistics, what trained them).

Examples
--------
>>> import numpy as np
>>> from lossfilm.format.trajectory import Trajectory
>>> runs = [Trajectory.from_snapshots([{"w": np.full(3, float(t * k))} for t in range(4)]) for k in (1, 2)]
>>> race = Race(("sgd", "adam"), runs)
>>> race.race, race.record({"resolution": 51})
(True, {'resolution': 51, 'names': ['sgd', 'adam'], 'race': True})
"""

from __future__ import annotations

import numpy as np

from lossfilm.format.artifact import content_key
from lossfilm.format.errors import ConfigError, DataError
from lossfilm.format.layout import ParamLayout
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.landscape.pca import row_blocks


class Run:
    """One training run: its path, on a plane whose origin is its final snapshot."""

    race = False
    names = ("path",)

    def __init__(self, trajectory):
        self.trajectories = (trajectory,)
        self.trajectory_key = trajectory.key

    def made_from(self):
        return {"trajectory_key": self.trajectory_key}

    def record(self, settings):
        return settings

    def described(self, plane, projections, keeps, samples):
        (trajectory,), ((alpha, beta, residual),), (keep,) = self.trajectories, projections, keeps
        stats = _path_stats(trajectory.params, alpha, beta, residual)
        stats.update(snapshots=len(trajectory), path_points=len(keep), samples=samples)
        return {"plane": plane.info, "stats": stats, "run": run_summary(trajectory)}


class Race:
    """Several runs from one start, one path each, named (e.g. by optimizer), on one plane through that start.

    Parameters
    ----------
    names : sequence of str
        One distinct name per path (the legend).
    trajectories : sequence of Trajectory
        The same parameter layout; normally the same initial point.
    """

    race = True

    def __init__(self, names, trajectories):
        self.names, self.trajectories = tuple(str(n) for n in names), tuple(trajectories)
        if not self.trajectories:
            raise DataError("race: no paths to draw")
        if len(self.names) != len(self.trajectories) or len(set(self.names)) != len(self.names):
            raise ConfigError(f"race: need one distinct name per path, got {list(self.names)} for "
                              f"{len(self.trajectories)} paths")
        first = self.trajectories[0].layout
        for i, t in enumerate(self.trajectories[1:], start=1):
            if t.layout != first:
                raise DataError(f"race: path {i} has parameters {list(t.layout.names)} {list(t.layout.shapes)}, "
                                f"path 0 has {list(first.names)} {list(first.shapes)}; they cannot share a plane")
        self.trajectory_key = ",".join(t.key for t in self.trajectories)

    def made_from(self):
        return {"trajectory_keys": [t.key for t in self.trajectories]}

    def record(self, settings):
        return dict(settings, names=list(self.names), race=True)

    def described(self, plane, projections, keeps, samples):
        runs = {name: run_summary(t) for name, t in zip(self.names, self.trajectories)}
        shared = {k: v for k, v in runs[self.names[0]].items()
                  if k not in ("optimizer", "lr", "test_accuracy") and all(r.get(k) == v for r in runs.values())}
        return {"plane": plane.info, "stats": self._stats(projections, keeps, samples), "run": shared, "runs": runs,
                "trajectory_keys": [t.key for t in self.trajectories]}

    def _stats(self, projections, keeps, samples):
        """How well the plane holds each path, and all of them: residuals, lengths, over the kept points."""
        per_path, kept = {}, []
        for name, trajectory, (alpha, beta, residual), keep in zip(self.names, self.trajectories, projections, keeps):
            offsets = np.diff(np.asarray(trajectory.params[keep], dtype=np.float64), axis=0)
            per_path[name] = {"snapshots": len(trajectory), "path_points": len(keep),
                              "residual_max": float(residual.max()), "residual_final": float(residual[-1]),
                              "path_length_kept": float(np.linalg.norm(offsets, axis=1).sum()) if len(keep) > 1
                              else 0.0, "diverged": bool(trajectory.diverged)}
            kept.append((alpha[keep], beta[keep], residual[keep]))
        alpha, beta, residual = (np.concatenate(part) for part in zip(*kept))
        distance2 = alpha ** 2 + beta ** 2 + residual ** 2
        return {"paths": per_path, "snapshots": int(sum(len(t) for t in self.trajectories)),
                "path_points": int(len(alpha)), "samples": None if samples is None else int(samples),
                "residual_max": float(residual.max()), "residual_median": float(np.median(residual)),
                "path_length": float(sum(s["path_length_kept"] for s in per_path.values())),
                "plane_path_length": float(sum(np.hypot(np.diff(a), np.diff(b)).sum() for a, b, _ in projections)),
                "captured": float(1.0 - (residual ** 2).sum() / distance2.sum()) if distance2.sum() > 0 else 1.0}


class Iterates:
    """A 2-D function's exact iterates, one path per optimizer, drawn on the function's own axes.

    Parameters
    ----------
    names : sequence of str
    points : sequence of ndarray, shape (n, 2) float64
        Each path's ``(x, y)`` iterates, kept in float64 (they are exact,
        not a recorded float32 run).
    record : dict
        What decides the landscape, in the function's terms (its name,
        formula, domain, the optimizers, start and steps, ...): recorded as
        the landscape's settings instead of the network settings.
    """

    race = False

    def __init__(self, names, points, record):
        self.names, self.points, self._record = tuple(names), [np.asarray(p, np.float64) for p in points], record
        xy = ParamLayout(("xy",), ((2,),))
        self.trajectories = tuple(
            Trajectory(params=p, layout=xy, steps=np.arange(len(p), dtype=np.int64), epochs=np.full(len(p), np.nan),
                       losses=np.full(len(p), np.nan), train_losses=np.full(len(p), np.nan)) for p in self.points)
        self.trajectory_key = ""

    def made_from(self):
        return {"iterates": content_key({}, *self.points)}

    def record(self, settings):
        return dict(self._record)

    def described(self, plane, projections, keeps, samples):
        return {}


def run_summary(trajectory):
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


def _path_stats(params, alpha, beta, residual):
    """How well the plane holds one path: residuals against the path's own size, over every snapshot."""
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
