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

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from lossfilm.format.artifact import content_key, load_npz, save_npz
from lossfilm.format.errors import ArtifactError, DataError, LossfilmWarning
from lossfilm.format.layout import ParamLayout
from lossfilm.format.snapshot import (check_name, nonfinite_reason, number_array, partly_shared, real_number,
                                      shared_between, unstorable, whole_number)

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

    def summary(self):
        """A few lines for people: snapshots, parameters, steps, losses, and how the run ended.

        Examples
        --------
        >>> traj = Trajectory.from_snapshots([{"w": np.full(3, float(t))} for t in range(4)], losses=[4, 3, 2, 1])
        >>> print(traj.summary())
        trajectory  4 snapshots x 3 parameters (w (3,)), float32, 48 bytes
        steps       0 to 3
        loss        4 -> 1 (minibatch loss at the first and last snapshot)
        made from   snapshots
        """
        T, P = self.params.shape
        names = ", ".join(f"{name} {shape}" for name, shape in zip(self.layout.names[:6], self.layout.shapes[:6]))
        more = f", ... {len(self.layout.names) - 6} more" if len(self.layout.names) > 6 else ""
        lines = [f"trajectory  {T:,} snapshots x {P:,} parameters ({names}{more}), float32, {4 * T * P:,} bytes"]
        steps = np.asarray(self.steps)
        if len(steps):
            lines.append(f"steps       {int(steps[0]):,} to {int(steps[-1]):,}")
        known = np.flatnonzero(np.isfinite(np.asarray(self.losses, dtype=np.float64)))
        if known.size:
            first, last = self.losses[known[0]], self.losses[known[-1]]
            lines.append(f"loss        {first:.4g} -> {last:.4g} (minibatch loss at the first and last snapshot"
                         f"{'' if known.size == T else ' that has one'})")
        source = (self.settings or {}).get("source") or ("lossfilm train" if self.model else "?")
        lines.append(f"made from   {source}" + (f", model {self.model.get('sizes')}" if self.model else ""))
        if self.diverged:
            lines.append("ended       diverged (the loss became NaN or inf, or grew tenfold); the finite part is kept")
        if not self.complete:
            lines.append("ended       broken off (a crash or Ctrl-C): an incomplete recording")
        return "\n".join(lines)

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
            The optimizer step of each snapshot (default ``0..T-1``); whole numbers.

        Raises
        ------
        DataError
            One line naming the snapshot and the key: a value that is None, a string, a ragged list, empty,
            booleans or complex numbers, NaN or inf, or beyond float32's range; keys or shapes that differ
            from the first snapshot's; ``steps`` that are not whole numbers, ``losses`` that are not numbers;
            and a list whose snapshots are all one dict (or share their arrays), the mistake of a loop that
            appends ``params`` and then changes it in place (:func:`lossfilm.format.snapshot.shared_between`).
        """
        if isinstance(snapshots, (list, tuple)):
            mistake = shared_between(snapshots)
            if mistake:
                raise DataError(f"snapshots: {mistake}")
            doubt = partly_shared(snapshots)
            if doubt:
                warnings.warn(f"snapshots: {doubt}", LossfilmWarning, stacklevel=2)
        elif isinstance(snapshots, (str, bytes, Mapping)) or not hasattr(snapshots, "__iter__"):
            raise DataError(f"snapshots: expected a list (or any iterable) of dicts of named arrays, "
                            f"got a {type(snapshots).__name__}")
        layout, blocks, T = None, [], 0
        for i, snap in enumerate(snapshots):
            where = f"snapshot {i}"
            if not isinstance(snap, Mapping):
                raise DataError(f"{where}: expected a dict of named arrays, got {type(snap).__name__}")
            for name in snap:
                check_name(name, where)
            arrays = {name: number_array(value, name, where) for name, value in snap.items()}
            if layout is None:
                layout = ParamLayout.of(arrays)
                rows = max(1, _BLOCK_BYTES // (4 * layout.size))
            layout.check(arrays, where=where)
            if T % rows == 0:
                blocks.append(np.empty((rows, layout.size), dtype=np.float32))  # grows by blocks, no doubling
            row = blocks[-1][T % rows]
            with np.errstate(over="ignore", invalid="ignore"):  # beyond float32 becomes inf: said below
                row[:] = layout.flatten(arrays)
            if not np.isfinite(row).all():
                name = unstorable(arrays, layout.names)
                raise DataError(nonfinite_reason(arrays[name], name, where))
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
    """``steps`` (whole numbers) or ``losses`` (real numbers, NaN for unknown), one per snapshot, checked."""
    if values is None:
        return default.astype(dtype)
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise DataError(f"{name}: expected one value per snapshot (a list or an array), got a "
                        f"{type(values).__name__}")
    if len(values) != length:
        raise DataError(f"{name}: has {len(values)} entries for {length} snapshots")
    check = whole_number if np.dtype(dtype).kind == "i" else real_number
    return np.array([check(value, f"{name}[{i}]") for i, value in enumerate(values)], dtype=dtype)
