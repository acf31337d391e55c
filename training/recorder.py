"""The recorder: streams parameter snapshots to disk while a run trains.

A run of thousands of steps of a 100k-parameter network makes a (T, P)
matrix of gigabytes, so it never lives in RAM: each snapshot is written into
a memory-mapped ``.npy`` beside the output, and :meth:`Recorder.finish`
streams its first T rows into the trajectory archive, then deletes it. The
temporary file is deleted on any exit, Ctrl-C included.

Examples
--------
>>> import numpy as np, tempfile, os
>>> out = os.path.join(tempfile.mkdtemp(), "trajectory.npz")
>>> params = {"W1": np.zeros((2, 3)), "b1": np.zeros((1, 2))}
>>> with Recorder(out, params, capacity=3) as recorder:
...     _ = recorder.record(params, step=0, epoch=0.0, loss=1.0)
...     params["W1"] += 1.0
...     _ = recorder.record(params, step=1, epoch=0.5, loss=0.5)
...     traj = recorder.finish(settings={}, key="k")
>>> len(traj), float(traj.params[1, 0]), os.listdir(os.path.dirname(out))
(2, 1.0, ['trajectory.npz'])
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import numpy as np

from lossfilm.format.artifact import check_writable, release_pages, write_error
from lossfilm.format.errors import LossfilmError
from lossfilm.format.layout import ParamLayout
from lossfilm.format.trajectory import Trajectory


_RELEASE_BYTES = 8 << 20  # unmap written snapshots every 8 MiB


def snapshot_capacity(total_steps, record_every):
    """How many snapshots a run of ``total_steps`` can record: initial, every Nth step, final.

    >>> snapshot_capacity(10, 1), snapshot_capacity(10, 3), snapshot_capacity(9, 3)
    (11, 5, 4)
    """
    return 1 + total_steps // record_every + (1 if total_steps % record_every else 0)


class Recorder:
    """Snapshots of one run, on disk, in order.

    Parameters
    ----------
    out_path : path-like
        Where :meth:`finish` saves the trajectory; its directory must exist.
        The temporary snapshot file goes beside it.
    params : dict of arrays
        The parameters as they start: fixes the layout (names, shapes).
    capacity : int
        The most snapshots the run can record (see :func:`snapshot_capacity`).
    """

    def __init__(self, out_path, params, capacity):
        self.out_path = Path(out_path)
        self.layout = ParamLayout.of(params)
        directory = self.out_path.parent if str(self.out_path.parent) else Path(".")
        check_writable(self.out_path)
        self.tmp_path = directory / f".{self.out_path.stem}.{os.getpid()}.snapshots.npy"
        self._params = None
        try:
            self._params = np.lib.format.open_memmap(
                self.tmp_path, mode="w+", dtype=np.float32, shape=(capacity, self.layout.size))
            _reserve(self.tmp_path)
        except OSError as exc:
            self.close()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise write_error(self.out_path, exc) from exc
            raise LossfilmError(f"{self.out_path}: cannot write beside it ({exc.strerror or exc})") from exc
        except BaseException:
            self.close()
            raise
        self.capacity = capacity
        self._offsets = self.layout.offsets
        self._released = 0  # snapshots before this one are unmapped (see release_pages)
        self.steps, self.epochs, self.losses, self.train_losses = [], [], [], []

    def __len__(self):
        return len(self.steps)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def record(self, params, step, epoch, loss, train_loss=float("nan")):
        """Append one snapshot; return False (and record nothing) if it is not finite.

        Parameters
        ----------
        params : dict of arrays
            Same names and shapes as the first snapshot; stored as float32.
        step : int
            Optimizer steps taken so far.
        epoch : float
            Fractional epoch, ``step / steps_per_epoch``.
        loss, train_loss : float
            The minibatch loss that came with it; the full-train loss or NaN.
        """
        if len(self) >= self.capacity:
            raise IndexError(f"recorder is full ({self.capacity} snapshots)")
        row = self._params[len(self)]  # (P,) a view into the file
        offsets = self._offsets
        with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf: refused below
            for i, name in enumerate(self.layout.names):
                row[offsets[i]:offsets[i + 1]] = np.ravel(params[name])
        if not np.isfinite(row).all():
            return False  # the slot is overwritten by the next record, if any
        if (len(self) + 1 - self._released) * row.nbytes >= _RELEASE_BYTES:
            release_pages(self._params[self._released:len(self) + 1])  # written: RSS stays flat
            self._released = len(self) + 1
        self.steps.append(int(step))
        self.epochs.append(float(epoch))
        self.losses.append(float(loss))
        self.train_losses.append(float(train_loss))
        return True

    def set_train_loss(self, index, value):
        """Fill in the full-train loss of an already recorded snapshot."""
        self.train_losses[index] = float(value)

    def finish(self, settings, key, model=None, diverged=False):
        """Save the recorded snapshots to ``out_path`` (atomically) and return them, loaded.

        The returned trajectory memory-maps the saved archive; the temporary
        snapshot file is gone afterwards.
        """
        if not len(self):
            raise LossfilmError(f"{self.out_path}: no finite snapshot was recorded")
        self._params.flush()
        trajectory = Trajectory(
            params=self._params[:len(self)], layout=self.layout,
            steps=np.array(self.steps, dtype=np.int64), epochs=np.array(self.epochs, dtype=np.float64),
            losses=np.array(self.losses, dtype=np.float64),
            train_losses=np.array(self.train_losses, dtype=np.float64),
            settings=settings, model=model, diverged=diverged, key=key)
        trajectory.save(self.out_path)
        del trajectory
        self.close()
        return Trajectory.load(self.out_path)

    def close(self):
        """Drop the memory map and delete the temporary file (idempotent)."""
        self._params = None
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.tmp_path)


def _reserve(path):
    """Allocate the snapshot file's disk blocks now, so that a full disk fails here, in words.

    The file is sparse until written, and a write through the memory map to
    a full disk is not an OSError but SIGBUS, which kills the process with
    no message and no clean-up. Where the file system cannot preallocate,
    the file stays sparse.
    """
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
        except AttributeError:  # no posix_fallocate on this platform (macOS)
            pass
