"""The trajectory: a training run's parameters, one flat float32 vector per snapshot.

This is the contract between training and the landscape stage. A
``trajectory.npz`` holds ``params`` (T, P) float32, ``steps``, ``epochs``,
``losses`` (minibatch loss at each snapshot, NaN where unknown) and
``train_losses`` (full-train loss, NaN where not evaluated), plus a JSON
header with the parameter layout, the model spec (where known), the
settings and seed that made it, whether the run diverged, whether it is
complete (a recording broken off by a crash or Ctrl-C is not), and a
content key.

Examples
--------
>>> import numpy as np
>>> history = [{"W1": np.full((2, 3), float(t)), "b1": np.zeros((1, 2))} for t in range(4)]
>>> traj = Trajectory.from_snapshots(history, losses=[3.0, 2.0, 1.5, 1.2])
>>> len(traj), traj.layout.size
(4, 8)
>>> float(traj.snapshot(2)["W1"][0, 0])
2.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from lossfilm.format.artifact import content_key, load_npz, save_npz
from lossfilm.format.errors import ArtifactError, DataError
from lossfilm.format.layout import ParamLayout

KIND = "trajectory"
_BLOCK_BYTES = 1 << 24  # from_snapshots collects its rows in blocks of 16 MiB
SCHEMA_VERSION = 1


@dataclass
class Trajectory:
    """Snapshots of a parameter vector along a training run."""

    params: np.ndarray  # (T, P) float32; a read-only memmap once loaded
    layout: ParamLayout
    steps: np.ndarray  # (T,) int64 optimizer step of each snapshot
    epochs: np.ndarray  # (T,) float64 fractional epoch
    losses: np.ndarray  # (T,) float64 minibatch loss, NaN where unknown
    train_losses: np.ndarray  # (T,) float64 full-train loss, NaN where not evaluated
    settings: dict = field(default_factory=dict)
    model: dict | None = None  # e.g. {"sizes": [64, 128, 10], "activation": "relu"}
    diverged: bool = False
    key: str = ""
    complete: bool = True  # False: a recording broken off by an exception (lossfilm.Recorder keeps it)

    def __len__(self):
        return len(self.params)

    def snapshot(self, index):
        """The parameters of snapshot ``index`` as a dict of float64 arrays."""
        return {k: v.astype(np.float64) for k, v in self.layout.unflatten(self.params[index]).items()}

    @classmethod
    def from_snapshots(cls, snapshots, losses=None, steps=None, settings=None):
        """Build a trajectory from the user's own parameter dicts, a list or any iterable (a generator).

        The snapshots are read one at a time into float32 rows: a generator
        is never copied into a list. The rows are held in memory (4 bytes
        per parameter per snapshot); for a run too long for that, record it
        with :class:`lossfilm.Recorder`, which streams to disk.

        Parameters
        ----------
        snapshots : iterable of mapping
            Each maps names (``"W1"``, ``"b1"``, any names) to arrays; keys and
            shapes must match the first snapshot.
        losses : sequence of float, optional
            The loss recorded with each snapshot.
        steps : sequence of int, optional
            The optimizer step of each snapshot (default ``0..T-1``).
        """
        layout, blocks, T = None, [], 0
        for i, snap in enumerate(snapshots):
            if not isinstance(snap, Mapping):
                raise DataError(f"snapshot {i}: expected a dict of named arrays, got {type(snap).__name__}")
            if layout is None:
                layout = ParamLayout.of(snap)
                rows = max(1, _BLOCK_BYTES // (4 * layout.size))
            layout.check(snap, where=f"snapshot {i}")
            if T % rows == 0:
                blocks.append(np.empty((rows, layout.size), dtype=np.float32))  # grows by blocks, no doubling
            row = blocks[-1][T % rows]
            row[:] = layout.flatten(snap)
            if not np.isfinite(row).all():
                name = next(n for n in layout.names if not np.isfinite(np.asarray(snap[n], float)).all())
                raise DataError(f"snapshot {i}: {name} contains NaN or inf")
            T += 1
        if layout is None:
            raise DataError("snapshots: the list is empty; a trajectory needs at least one snapshot")
        params = np.empty((T, layout.size), dtype=np.float32)
        for b in range(len(blocks)):
            part, blocks[b] = blocks[b], None  # each block is freed as soon as it is copied
            params[b * rows:(b + 1) * rows] = part[:T - b * rows]
        steps = _column(steps, T, "steps", np.arange(T), np.int64)
        losses = _column(losses, T, "losses", np.full(T, np.nan), np.float64)
        settings = dict(settings or {}, source="snapshots")
        return cls(params=params, layout=layout, steps=steps, epochs=np.full(T, np.nan),
                   losses=losses, train_losses=np.full(T, np.nan), settings=settings,
                   key=content_key(settings, params, steps))

    def save(self, path):
        """Write to one ``.npz`` atomically (streamed; params may be a memmap)."""
        header = {"layout": self.layout.to_json(), "settings": self.settings, "model": self.model,
                  "diverged": bool(self.diverged), "key": self.key}
        if not self.complete:
            header["complete"] = False  # only then: complete trajectories keep their bytes
        arrays = {"params": self.params, "steps": self.steps, "epochs": self.epochs,
                  "losses": self.losses, "train_losses": self.train_losses}
        save_npz(path, arrays, header, kind=KIND, schema_version=SCHEMA_VERSION)

    @classmethod
    def load(cls, path):
        """Read a trajectory; ``params`` is memory-mapped, not read into RAM."""
        arrays, header = load_npz(path, kind=KIND, schema_version=SCHEMA_VERSION, mmap=("params",))
        try:
            traj = cls(params=arrays["params"], layout=ParamLayout.from_json(header["layout"]),
                       steps=arrays["steps"], epochs=arrays["epochs"], losses=arrays["losses"],
                       train_losses=arrays["train_losses"], settings=header["settings"],
                       model=header["model"], diverged=header["diverged"], key=header["key"],
                       complete=header.get("complete", True))
        except KeyError as exc:
            raise ArtifactError(f"{path}: trajectory is missing {exc}") from None
        if traj.params.ndim != 2 or traj.params.shape[1] != traj.layout.size:
            raise ArtifactError(f"{path}: params shape {traj.params.shape} does not match its layout "
                            f"({traj.layout.size} parameters)")
        if not all(len(a) == len(traj) for a in (traj.steps, traj.epochs, traj.losses, traj.train_losses)):
            raise ArtifactError(f"{path}: per-snapshot arrays do not all have {len(traj)} entries")
        return traj


def _column(values, length, name, default, dtype):
    if values is None:
        return default.astype(dtype)
    values = np.asarray(values, dtype=dtype)
    if values.shape != (length,):
        raise DataError(f"{name}: has {values.size} entries for {length} snapshots")
    return values
