"""The loss grid on a Dask cluster: ``from_trajectory(..., executor=client)``, ``lossfilm landscape --scheduler``.

Any plane loss of :mod:`lossfilm.training.landscape.grid` (the built-in MLP's fast
path, a user's ``loss_fn``, the PyTorch adapter's
:class:`lossfilm.torch.TorchLoss`) runs on a ``dask.distributed`` cluster
unchanged:

- the plane loss (plane, parameters, data subset, the MLP's precomputed
  first-layer basis, a user's pickled ``loss_fn``) is scattered to every
  worker **once**; each task then carries only its node coordinates
  (16 bytes a node) and returns two floats a node;
- the grid's node batches are the plane loss's own (``batch_size``), so
  every node is computed by the same arithmetic as in one process and the
  grid is byte-identical; a task holds several batches, so that there are
  about ``TASKS_PER_THREAD`` tasks per worker thread (progress and a lost
  worker's redo stay small);
- results arrive in completion order to :func:`lossfilm.training.landscape.grid.evaluate_grid`,
  which counts progress and ETA from them and checkpoints the partial grid:
  a client killed midway resumes against the same cluster or a fresh one;
- a worker that dies mid-grid has its tasks rerun by Dask on the others.

Dask is imported inside the functions that need it, so lossfilm runs
without it.

Examples
--------
>>> from dask.distributed import Client, LocalCluster                          # doctest: +SKIP
>>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))           # doctest: +SKIP
>>> land = lossfilm.Landscape.from_trajectory(traj, executor=client)          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import math
import os
import pickle
import sys
import threading

import numpy as np

from lossfilm.boundary.dask_scatter import scatter_to_every_worker
from lossfilm.format.declared.options import Option
from lossfilm.format.declared.values import Text
from lossfilm.format.errors import ConfigError, LossfilmError
from lossfilm.training.adapters.user_loss import LOSS_MODULES
from lossfilm.training.landscape.evaluation import Evaluation
from lossfilm.training.landscape.grid import PlaneLoss
from lossfilm.training.landscape.segment import line_positions

TASKS_PER_THREAD = 8  # tasks per worker thread: even progress, and little to redo when a worker dies
RESCATTERS = 3  # times the plane loss is scattered again after the worker holding it died
CONNECT_TIMEOUT = 10.0  # seconds to reach a scheduler before saying it cannot be reached
ENV = "LOSSFILM_SCHEDULER"  # the scheduler's address where --scheduler is not given
ENV_TIMEOUT = "LOSSFILM_SCHEDULER_TIMEOUT"  # seconds, instead of CONNECT_TIMEOUT

# --scheduler, declared once (lossfilm.format.declared.options): the form of an address is checked here; whether a
# scheduler answers there, by connect(). Each command says what its cluster does (.but(help=...)).
SCHEDULER = Option("scheduler", Text(500, pattern=r"[a-z][a-z0-9+]*://\S+", what="a Dask scheduler's address, "
                                    "tcp://HOST:PORT,"), None,
                   f"run on this Dask cluster's workers (pip install 'lossfilm[distributed]'; default: ${ENV}, else "
                   "this machine)", optional=True, metavar="tcp://HOST:PORT")


class ClusterError(LossfilmError):
    """The Dask scheduler cannot be reached, or the cluster lost the work."""


def is_client(executor):
    """True for a ``dask.distributed.Client`` (checked by its module, without importing Dask).

    >>> is_client(None), is_client(object())
    (False, False)
    """
    return executor is not None and type(executor).__module__.split(".")[0] == "distributed"


def connect(address, timeout=None):
    """A ``dask.distributed.Client`` of the scheduler at ``address``; ClusterError in one line if none answers.

    For the command line: it also quiets the client's own error log.

    Parameters
    ----------
    address : str
        ``tcp://HOST:PORT`` (what ``dask scheduler`` prints).
    timeout : float, optional
        Seconds to wait for the scheduler (default ``$LOSSFILM_SCHEDULER_TIMEOUT``,
        else ``CONNECT_TIMEOUT``).
    """
    if timeout is None:
        try:
            timeout = float(os.environ.get(ENV_TIMEOUT) or CONNECT_TIMEOUT)
        except ValueError:
            raise ConfigError(f"${ENV_TIMEOUT} {os.environ[ENV_TIMEOUT]!r}: expected seconds") from None
    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError(f"--scheduler {address}: Dask is not installed; "
                          "pip install 'lossfilm[distributed]'") from None
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:  # before Client: a half-made one waits twice the timeout to close
        scheme, location = parse_address(address)
        if scheme == "tcp":
            parse_host_port(location)
    except ValueError as exc:
        raise ConfigError(f"--scheduler {address}: {exc} (expected tcp://HOST:PORT)") from None
    # The command line says what went wrong in one line; Dask's client would also log each failed reconnection
    # with its traceback.
    logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
    try:
        return Client(address, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:  # distributed raises OSError("Timed out trying to connect ...")
        reason = _first_line(exc) or type(exc).__name__
        raise ClusterError(f"--scheduler {address}: no Dask scheduler answered within {timeout:g} s "
                           f"({reason})") from None
    except Exception as exc:  # something answered, but not as a Dask scheduler does
        raise ClusterError(f"--scheduler {address}: not a Dask scheduler there ({type(exc).__name__})") from None


def scheduler_address(option):
    """The scheduler to use: ``--scheduler`` if given, else ``$LOSSFILM_SCHEDULER``, else None (one process).

    Either is checked by the declaration :data:`SCHEDULER`, naming where it came from.
    """
    if option:
        return SCHEDULER.check(option, SCHEDULER.flag)
    return SCHEDULER.check(os.environ.get(ENV) or None, f"${ENV}")


def on_cluster(evaluation, executor):
    """``evaluation`` whose grids run on ``executor`` if that is a Dask client; else ``evaluation`` itself."""
    return ClusterEvaluation(evaluation, executor) if is_client(executor) else evaluation


class ClusterEvaluation(Evaluation):
    """An evaluation (:mod:`lossfilm.training.landscape.evaluation`) whose ``on(plane)`` evaluates on a Dask cluster.

    Everything else (name, key, curvature) is the wrapped evaluation's,
    computed here; so is the 1-D line, unless the evaluation draws it as
    points of a plane (``line_plane``, the PyTorch adapter's). Its cost is
    unknown here (the cluster's workers do the work): only the grid's own
    memory is checked.
    """

    def __init__(self, evaluation, client):
        self.evaluation, self.client = evaluation, client
        self.name, self.key_arrays, self.samples = evaluation.name, evaluation.key_arrays, evaluation.samples

    def on(self, plane):
        return ClusterPlaneLoss(self.evaluation.on(plane), self.client)

    def hessian_at(self, theta):
        return self.evaluation.hessian_at(theta)

    def line_plane(self, trajectory):
        return self.evaluation.line_plane(trajectory)

    def along(self, trajectory, points, t_range):
        """The 1-D view: on the cluster where the evaluation draws it as points of a plane, else here."""
        line_plane = self.evaluation.line_plane(trajectory)
        if line_plane is None:
            return self.evaluation.along(trajectory, points, t_range)
        t = line_positions(points, t_range)
        loss, accuracy = self.on(line_plane).at(np.column_stack([t, np.zeros_like(t)]))
        return t, loss, accuracy


class ClusterPlaneLoss(PlaneLoss):
    """A plane loss (``at``, ``at_params``, ``evaluate``, ``batch_size``) evaluated on a Dask cluster.

    Parameters
    ----------
    plane_loss : MLPPlaneLoss, FunctionPlaneLoss or TorchPlaneLoss
        What each worker runs; scattered to every worker on first use.
    client : dask.distributed.Client
    """

    def __init__(self, plane_loss, client):
        self.local, self.client = plane_loss, client
        self.batch_size = plane_loss.batch_size
        self._scattered = None

    def at(self, coords):
        """Loss and accuracy at points ``coords`` (m, 2), in order, on the cluster."""
        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        return self._in_order(_at, coords)

    def at_params(self, vectors, labels=None):
        """Loss and accuracy at each parameter vector (P,) of an iterable, in order, on the cluster.

        ``labels`` (where each vector is) travel with them, so that a user's function that fails on a worker
        names the snapshot, as in one process.
        """
        vectors = [_compact(np.asarray(v, dtype=np.float64)) for v in vectors]
        labels = list(labels) if labels is not None else [f"at parameter vector {k}" for k in range(len(vectors))]
        return self._in_order(_at_params, list(zip(vectors, labels)))

    def evaluate(self, batches):
        """Yield ``(index, loss (m,), accuracy (m,))`` for each batch of coordinates, as tasks finish."""
        batches = list(batches)
        per_task = max(1, math.ceil(len(batches) / (TASKS_PER_THREAD * self._threads())))
        groups = [list(range(s, min(s + per_task, len(batches)))) for s in range(0, len(batches), per_task)]
        tasks = [[batches[i] for i in group] for group in groups]
        for group, results in self._run(_evaluate, tasks):
            for i, loss, accuracy in results:
                yield groups[group][i], loss, accuracy

    def _in_order(self, fn, items):
        """``fn(plane_loss, part)`` over parts of ``items`` (whole batches each), results joined in order."""
        if not len(items):
            return np.empty(0), np.empty(0)
        per_task = self.batch_size * max(1, math.ceil(len(items) / (self.batch_size * TASKS_PER_THREAD
                                                                      * self._threads())))
        parts = [items[s:s + per_task] for s in range(0, len(items), per_task)]
        done = dict(self._run(fn, parts))
        loss, accuracy = zip(*(done[i] for i in range(len(parts))))
        return np.concatenate(loss), np.concatenate(accuracy)

    def _run(self, fn, parts):
        """Yield ``(index, fn(plane_loss, part))`` as the cluster finishes them; cancel the rest on any exit.

        Dask reruns the tasks of a worker that dies. It keeps one copy of
        scattered data (its memory manager drops the others), so the
        plane loss can die with that worker: it is then scattered again and
        the parts that needed it are resubmitted, ``RESCATTERS`` times at most.
        """
        from dask.distributed import as_completed
        from distributed.scheduler import KilledWorker

        pending = {}  # future -> (part index, the scattered plane loss it uses)

        def submit(i):
            plane_loss = self._shipped_plane_loss()
            future = self.client.submit(fn, plane_loss, parts[i], pure=False)
            pending[future] = (i, plane_loss)
            return future

        queue = as_completed([submit(i) for i in range(len(parts))], loop=self.client.loop)  # not the default client
        rescatters = 0
        try:
            for future in queue:
                i, plane_loss = pending.pop(future)
                try:
                    result = future.result()
                except cf.CancelledError:
                    if self.client.status != "running":
                        raise _lost(self.client, "the scheduler stopped answering") from None
                    if rescatters >= RESCATTERS:
                        raise _lost(self.client, f"the plane loss, {RESCATTERS + 1} times") from None
                    if plane_loss is self._scattered:  # the first of its tasks to fail: scatter it again
                        self._scattered = None
                        rescatters += 1
                    queue.add(submit(i))
                    continue
                except (OSError, TimeoutError, asyncio.CancelledError) as exc:
                    if future.status == "error":  # the task itself raised it (a loss_fn reading a file)
                        raise
                    raise _lost(self.client, f"the scheduler stopped answering: {type(exc).__name__}") from None
                except KilledWorker as exc:
                    raise _lost(self.client, f"KilledWorker: {_first_line(exc)}") from None
                yield i, result
        finally:
            self.client.cancel([f for f in pending if not f.done()])

    def _shipped_plane_loss(self):
        """The plane loss, scattered to every worker once (later tasks name it, they do not carry it)."""
        if self._scattered is None:
            self._scattered = scatter_to_every_worker(
                self.client, Shipped(self.local.for_worker()),
                lambda reason: _lost(self.client, f"scattering the plane loss: {reason}"))
        return self._scattered

    def _threads(self):
        return max(1, sum(self.client.nthreads().values()))


def _lost(client, what):
    address = getattr(client.scheduler, "address", "?")
    return ClusterError(f"the Dask cluster at {address} lost the grid's work ({what}); the finished nodes are "
                        "kept, and the same command resumes from them")


def _first_line(exc):
    return str(exc).splitlines()[0] if str(exc) else ""


class Shipped:
    """A plane loss as cloudpickle bytes, unpickled once per worker process, on its first task.

    Dask would pickle the plane loss by reference to the modules of what it
    holds; cloudpickle, told to, takes a user's module loaded from a file
    (``--loss path/to/file.py:fn``) by value, as workers cannot import it.
    """

    def __init__(self, plane_loss):
        import cloudpickle

        for name, module in list(sys.modules.items()):
            if name.startswith(LOSS_MODULES) and module is not None:
                cloudpickle.register_pickle_by_value(module)
        self.blob = cloudpickle.dumps(plane_loss)
        self._plane_loss, self._lock = None, threading.Lock()

    def __getstate__(self):
        return {"blob": self.blob}

    def __setstate__(self, state):
        self.blob, self._plane_loss, self._lock = state["blob"], None, threading.Lock()

    def plane_loss(self):
        with self._lock:  # a worker's threads share it: one unpickling, one plane loss
            if self._plane_loss is None:
                self._plane_loss = pickle.loads(self.blob)
            return self._plane_loss


def _evaluate(shipped, batches):
    """On a worker: ``[(index within batches, loss, accuracy), ...]``."""
    return list(shipped.plane_loss().evaluate(batches))


def _at(shipped, coords):
    return shipped.plane_loss().at(coords)


def _at_params(shipped, items):
    """On a worker: loss and accuracy at ``[(vector, label), ...]``."""
    return shipped.plane_loss().at_params((np.asarray(v, dtype=np.float64) for v, _ in items),
                                          labels=[label for _, label in items])


def _compact(vector):
    """``vector`` as float32 where that is exact (snapshots are recorded in float32): half the bytes to send.

    >>> _compact(np.array([0.5, 0.25])).dtype, _compact(np.array([0.1])).dtype
    (dtype('float32'), dtype('float64'))
    """
    single = vector.astype(np.float32)
    return single if np.array_equal(single, vector) else vector
