"""The recorder: streams parameter snapshots of any training loop to disk, however long it runs.

A run of thousands of steps of a 100k-parameter network makes a (T, P)
matrix of gigabytes, so it never lives in RAM. Each snapshot is flattened
into one float32 row and appended to a temporary file beside the output (a
plain write: the rows sit in the page cache, not in the process); the number
of snapshots need not be known up front. When the ``with`` block ends, the
rows are streamed into the trajectory archive and the temporary file is
deleted. It is deleted on any exit, Ctrl-C included; and if the block ends
with an exception, what was recorded until then is kept as a valid
trajectory marked incomplete (``complete=False``) in ``NAME.partial.npz``
beside the output, so that an earlier good ``NAME.npz`` is never replaced
by a broken-off run. SIGTERM (``kill``, a batch scheduler's time limit)
ends the block the same way, as ``SystemExit(143)``, where nothing else
handles it; only SIGKILL leaves the temporary file behind.

``params`` is a dict of arrays (NumPy or anything ``np.asarray`` takes), a
PyTorch ``nn.Module`` (its parameters) or a ``state_dict``; buffers such as
BatchNorm's running statistics are not recorded (they are not a direction
of the loss surface; :mod:`lossfilm.torch` holds them at their final values).

Examples
--------
>>> import numpy as np, tempfile, os
>>> out = os.path.join(tempfile.mkdtemp(), "trajectory.npz")
>>> params = {"W1": np.zeros((2, 3)), "b1": np.zeros((1, 2))}
>>> with Recorder(out) as recorder:
...     for step in range(5):
...         params["W1"] += 1.0
...         _ = recorder.record(params, loss=1.0 / (step + 1), step=step)
>>> traj = recorder.trajectory
>>> len(traj), float(traj.params[4, 0]), traj.complete, os.listdir(os.path.dirname(out))
(5, 5.0, True, ['trajectory.npz'])
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from lossfilm.format.artifact import content_key, is_artifact, read_header
from lossfilm.format.errors import DataError, LossfilmError, LossfilmWarning
from lossfilm.format.safe_write import check_file_target, private_folder, write_error
from lossfilm.format.layout import ParamLayout
from lossfilm.format.snapshot import check_name, nonfinite_reason, number_array, real_number, unstorable, whole_number
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.landscape.param_roles import param_role


class Recorder:
    """Snapshots of one training run, streamed to disk in order; a context manager.

    Parameters
    ----------
    path : path-like
        The ``trajectory.npz`` to write; its directory must exist. The
        temporary snapshot file goes beside it.
    every : int
        Keep every ``every``-th call of :meth:`record` (the first included).
        The last call is kept too when the block ends normally, so the
        trajectory ends at the final parameters (the plane's origin).
    settings : dict, optional
        JSON-able notes saved in the trajectory (e.g. your hyper-parameters).
    model : dict, optional
        The model spec, for the built-in MLP's trainer (None for your own model).

    Attributes
    ----------
    trajectory : Trajectory or None
        The saved trajectory, loaded (memory-mapped), once the block has ended.

    Examples
    --------
    >>> with lossfilm.Recorder("trajectory.npz", every=10) as rec:  # doctest: +SKIP
    ...     for step, (x, y) in enumerate(loader):
    ...         loss = train_step(model, x, y)
    ...         rec.record(model, loss=loss.item(), step=step)
    """

    def __init__(self, path, every=1, *, settings=None, model=None):
        self.out_path = Path(path)
        if int(every) < 1:
            raise LossfilmError(f"Recorder every={every}: must be at least 1")
        check_file_target(path, example="trajectory.npz")
        self.every, self.settings, self.model = int(every), dict(settings or {}), model
        self.partial_path = self.out_path.with_name(f"{self.out_path.stem}.partial.npz")
        self.layout, self.trajectory = None, None
        self.steps, self.epochs, self.losses, self.train_losses = [], [], [], []
        self._calls, self._skipped, self._row, self._source = 0, None, None, None
        self._writing_failed = False
        # The snapshots go to a private folder beside the output (never a shared or RAM-backed temp folder),
        # under a name nobody else can have planted a link at.
        self._folder = private_folder(self.out_path)
        self.tmp_path = self._folder.path / f"{self.out_path.stem}.recording"
        try:
            self._file = open(self.tmp_path, "xb")
        except OSError as exc:
            self._folder.remove()
            raise LossfilmError(f"{self.out_path}: cannot write beside it ({exc.strerror or exc})") from exc

    def __len__(self):
        return len(self.steps)

    def __enter__(self):
        self._sigterm = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._sigterm = signal.signal(signal.SIGTERM, _terminate)  # restored when the block ends
        return self

    def __exit__(self, exc_type, exc, traceback):
        if getattr(self, "_sigterm", None) is not None:
            signal.signal(signal.SIGTERM, self._sigterm)
            self._sigterm = None
        try:
            if exc_type is None:
                if self.trajectory is None:
                    self.finish()
            elif len(self) and self.trajectory is None and not self._writing_failed:
                self._keep_partial(exc_type)
        finally:
            self.close()

    def record(self, params, *, loss=float("nan"), step=None, epoch=float("nan"), train_loss=float("nan")):
        """Append one snapshot (every ``every``-th call); return False if it was not kept.

        Parameters
        ----------
        params : dict of arrays, nn.Module or state_dict
            Same names and shapes as the first snapshot; stored as float32.
        loss : float
            The minibatch loss that came with it (NaN if unknown).
        step : int, optional
            Optimizer steps taken so far (default: how many times ``record`` was called before).
        epoch : float
            Fractional epoch (NaN if unknown).
        train_loss : float
            The full-train loss, or NaN.

        Returns
        -------
        bool
            False if the call was skipped (``every``) or the snapshot is not
            finite (NaN or inf: nothing is written), or beyond float32's range
            (nothing is written, and a LossfilmWarning names the key).
        """
        if self._file.closed:
            raise LossfilmError(f"Recorder.record: the recording of {self.out_path} has ended (its with block "
                                "closed, or finish() was called); start a new Recorder to record again")
        loss, epoch, train_loss = (real_number(value, f"Recorder.record {name}")
                                   for name, value in (("loss", loss), ("epoch", epoch), ("train_loss", train_loss)))
        step = self._calls if step is None else whole_number(step, "Recorder.record step")
        if self._calls % self.every:
            self._calls += 1
            self._skipped = (params, dict(loss=loss, step=step, epoch=epoch, train_loss=train_loss))
            return False
        self._skipped = None
        kept = self._write(params, loss, step, epoch, train_loss)
        self._calls += 1  # after the checks: a refused call is not a step
        return kept

    def _write(self, params, loss, step, epoch, train_loss):
        where = f"Recorder.record at step {step}"
        arrays = _named_arrays(params, where)
        if self.layout is None:
            self.layout = ParamLayout(tuple(arrays), tuple(tuple(np.shape(v)) for v in arrays.values()))
            self._row = np.empty(self.layout.size, dtype=np.float32)  # (P,) reused for every snapshot
            self._source = _describe(params)
        else:
            self.layout.check(arrays, where=f"snapshot at step {step}")
        row, offsets = self._row, self.layout.offsets
        with np.errstate(over="ignore", invalid="ignore"):  # beyond float32's range becomes inf: refused below
            for i, name in enumerate(self.layout.names):
                row[offsets[i]:offsets[i + 1]] = np.ravel(arrays[name])
        if not np.isfinite(row).all():  # a diverged step: not recorded (the trainer stops on it)
            name = unstorable(arrays, self.layout.names)
            if np.isfinite(np.asarray(arrays[name], np.float64)).all():  # finite, but float32 cannot hold it
                warnings.warn(f"{nonfinite_reason(arrays[name], name, where)}; this snapshot is not kept",
                              LossfilmWarning, stacklevel=3)
            return False
        try:
            self._file.write(memoryview(row))
        except OSError as exc:
            self._writing_failed = True
            raise write_error(self.out_path, exc) from exc
        self.steps.append(step)
        self.epochs.append(float(epoch))
        self.losses.append(float(loss))
        self.train_losses.append(float(train_loss))
        return True

    def set_train_loss(self, index, value):
        """Fill in the full-train loss of an already recorded snapshot."""
        self.train_losses[index] = float(value)

    def finish(self, settings=None, key=None, model=None, diverged=False):
        """Save the recorded snapshots to ``path`` (atomically) and return them, loaded.

        Called by the ``with`` block's normal end; call it yourself to pass
        what only the end of the run knows.

        Parameters
        ----------
        settings : dict, optional
            The trajectory's settings, added to the recorder's (default:
            the recorder's, with what the snapshots came from and ``every``).
        key : str, optional
            The trajectory's content key (default: a hash of the settings, snapshots and steps).
        model : dict, optional
            The model spec (default: the recorder's).
        diverged : bool
            Whether the run blew up.
        """
        if self.trajectory is not None:
            return self.trajectory  # finished already (the with block's end after a finish() of your own)
        if self._file.closed:
            raise LossfilmError(f"Recorder.finish: the recording of {self.out_path} was closed before it finished; "
                                "nothing was saved")
        if self._skipped is not None:  # the last call was skipped by `every`: the final point still counts
            params, values = self._skipped
            self._skipped = None
            self._write(params, **values)
        if not len(self):
            raise LossfilmError(f"{self.out_path}: no finite snapshot was recorded")
        settings = self._described() if settings is None else dict(self.settings, **settings)
        trajectory = self._recorded(settings, key, model if model is not None else self.model, diverged,
                                    complete=True)
        trajectory.save(self.out_path)
        del trajectory
        self.close()
        _remove_partial(self.partial_path)  # an earlier interrupted recording's: this one is complete
        self.trajectory = Trajectory.load(self.out_path)
        return self.trajectory

    def close(self):
        """Close and delete the temporary snapshot file and its private folder (idempotent)."""
        with contextlib.suppress(OSError):
            self._file.close()
        self._folder.remove()

    def _recorded(self, settings, key, model, diverged, complete):
        """The snapshots so far as a Trajectory whose params memory-map the temporary file."""
        self._file.flush()
        T = len(self)
        params = np.memmap(self.tmp_path, dtype=np.float32, mode="r", shape=(T, self.layout.size))
        steps = np.array(self.steps, dtype=np.int64)
        return Trajectory(params=params, layout=self.layout, steps=steps,
                          epochs=np.array(self.epochs, dtype=np.float64),
                          losses=np.array(self.losses, dtype=np.float64),
                          train_losses=np.array(self.train_losses, dtype=np.float64),
                          settings=settings, model=model, diverged=diverged, complete=complete,
                          key=key or content_key(settings, params, steps))

    def _described(self):
        return dict(self.settings, source="recorder", recorded_from=self._source, every=self.every)

    def _keep_partial(self, exc_type):
        """Save what was recorded before the block broke off to ``NAME.partial.npz``, marked incomplete."""
        try:
            self._recorded(self._described(), None, self.model, False, complete=False).save(self.partial_path)
        except (OSError, LossfilmError):
            return  # the original exception says what went wrong; a second one would hide it
        print(f"lossfilm: recording stopped by {exc_type.__name__} after {len(self)} snapshots; they are kept "
              f"in {self.partial_path} (an incomplete trajectory)", file=sys.stderr)


def _remove_partial(path):
    """Delete ``path`` only if it is what lossfilm saves there: a trajectory marked incomplete.

    A user's own file that happens to have that name stays.
    """
    if is_artifact(path, "trajectory") and read_header(path).get("complete") is False:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _terminate(signum, frame):
    """SIGTERM as an exception, so that the recording block keeps what it has (exit status 143, as the signal's)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not interrupt the saving
    raise SystemExit(128 + signum)


def _named_arrays(params, where="Recorder.record"):
    """``{name: array}`` of a dict of arrays, a PyTorch module or a state_dict (buffers dropped), each checked."""
    if hasattr(params, "named_parameters") and callable(params.named_parameters):
        return {name: number_array(value, name, where) for name, value in params.named_parameters()}
    if not isinstance(params, Mapping):
        raise DataError(f"Recorder.record: expected a dict of named arrays, an nn.Module or a state_dict, "
                        f"got {type(params).__name__}")
    arrays = {}
    for name, value in params.items():
        check_name(name, where)
        if hasattr(value, "detach") or isinstance(value, np.ndarray):
            kind = _numpy(value).dtype.kind if hasattr(value, "detach") else value.dtype.kind
            if kind in "iub":
                continue  # counters (BatchNorm's num_batches_tracked): not a direction of the surface
        value = number_array(value, name, where)
        if param_role(name, value.shape) == "buffer":
            continue  # running statistics: held at their final values, never a direction
        arrays[name] = value
    if not arrays:
        raise DataError("Recorder.record: the snapshot has no floating-point parameters")
    return arrays


def _numpy(value):
    """A NumPy view or copy of an array or a PyTorch tensor (moved to the CPU, detached)."""
    if hasattr(value, "detach"):
        value = value.detach()
        if value.dtype.is_floating_point and value.dtype.itemsize < 4:  # bfloat16/float16: NumPy lacks one
            value = value.float()
        return value.cpu().numpy()
    return value


def _describe(params):
    """What the snapshots came from, in words, for the trajectory's settings."""
    kind = type(params)
    if hasattr(params, "named_parameters"):
        return f"torch module {kind.__module__}.{kind.__qualname__}"
    return "state_dict" if hasattr(params, "_metadata") else "dict of arrays"

