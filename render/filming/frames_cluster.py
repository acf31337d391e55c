"""Film frames on a Dask cluster: ``lossfilm render ... --scheduler tcp://HOST:PORT``.

Each worker gets the film spec and the landscape file's **bytes** (and a
scene file's source), scattered once, so no shared filesystem is needed; it
writes them to a temporary folder, opens the film once per process and
renders the disjoint blocks of consecutive frames it is handed. A block
comes back as lossless PNG frames, decoded here and given, in order, to the
local encoder: the same film as one process makes. A worker that dies has
its blocks rerun by Dask elsewhere; a worker without an off-screen back-end
says so, naming itself (the back-end is probed in a subprocess, so a
missing one never crashes the worker).

Dask and imageio are imported inside the functions that need them.

Examples
--------
>>> with cluster_frames(spec, client) as frames:  # doctest: +SKIP
...     for frame in frames:
...         sink.write(frame)
"""

from __future__ import annotations

import collections
import dataclasses
import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

from lossfilm.boundary.dask_scatter import scatter_to_every_worker
from lossfilm.format.errors import LossfilmError, RenderError
from lossfilm.render.filming.film import open_film
from lossfilm.render.filming.workers import FrameStream, block_size

BLOCK = 8  # consecutive frames per task, as the local workers use
RESCATTERS = 3  # times the shipment is scattered again after the worker holding it died
BLOCKS_PER_THREAD = 2  # blocks in flight per worker thread: the cluster stays busy, memory stays at a few blocks


def cluster_frames(spec, client, *, block=BLOCK):
    """Every frame of the film ``spec``, rendered on the Dask cluster of ``client``, in order.

    Parameters
    ----------
    spec : FilmSpec
    client : dask.distributed.Client
    block : int
        Consecutive frames per task.

    Returns
    -------
    iterator
        ``(H, W, 3|4)`` uint8 frames with ``len()``; a context manager that
        cancels the cluster's remaining work.
    """
    return _ClusterStream(spec, client, block)


class FilmShipment:
    """What a worker needs to render a film: the spec and the bytes of the files it names; the film, once opened."""

    def __init__(self, spec):
        self.spec = spec
        self.landscape = Path(spec.landscape).read_bytes()
        is_file = isinstance(spec.scene, (str, os.PathLike))
        self.scene_source = Path(spec.scene).read_bytes() if is_file else None
        self._film, self._lock = None, threading.Lock()

    def __getstate__(self):
        return {"spec": self.spec, "landscape": self.landscape, "scene_source": self.scene_source}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._film, self._lock = None, threading.Lock()

    def render(self, start, stop):
        """PNG bytes of frames ``start`` to ``stop - 1`` (one film per process; its plotter draws one at a time)."""
        with self._lock:
            film = self._open()
            frames = [film.frame(index) for index in range(start, stop)]
        return [_png(frame) for frame in frames]

    def n_frames(self):
        with self._lock:
            return int(self._open().n_frames)

    def _open(self):
        if self._film is None:
            folder = Path(tempfile.mkdtemp(prefix="lossfilm-film-"))
            weakref.finalize(self, shutil.rmtree, folder, True)
            landscape = folder / "landscape.npz"
            landscape.write_bytes(self.landscape)
            scene = self.spec.scene
            if self.scene_source is not None:
                scene = folder / Path(self.spec.scene).name
                scene.write_bytes(self.scene_source)
                scene = str(scene)
            try:
                self._film = open_film(dataclasses.replace(self.spec, landscape=str(landscape), scene=scene))
            except LossfilmError as exc:  # e.g. no off-screen back-end on this worker: say which worker
                raise type(exc)(f"Dask worker {_worker_address()}: {exc}") from None
        return self._film


class _ClusterStream(FrameStream):
    """Frames in order, with ``len()``; as a context manager it cancels what is left on the cluster."""

    def __init__(self, spec, client, block):
        self.client = client
        self._pending = collections.deque()  # (future, start, stop, the scattered shipment it uses)
        self._spec, self._shipment, self._rescatters = spec, None, 0
        self._threads = max(1, sum(client.nthreads().values()))
        try:
            self.n_frames = self._wait(lambda: client.submit(_n_frames, self._shipped(), pure=False))
        except BaseException:
            self.close()
            raise
        self._block = block_size(self.n_frames, self._threads, block)

    def __iter__(self):
        starts = iter(range(0, self.n_frames, self._block))
        try:
            while True:
                while len(self._pending) < BLOCKS_PER_THREAD * self._threads:
                    start = next(starts, None)
                    if start is None:
                        break
                    self._pending.append(self._submit(start, min(start + self._block, self.n_frames)))
                if not self._pending:
                    return
                future, start, stop, shipment = self._pending.popleft()
                for png in self._wait(lambda: self._submit(start, stop)[0], future, shipment):
                    yield _unpng(png)
        finally:
            self.close()

    def close(self):
        """Cancel the blocks not yet rendered and release the shipment on the workers."""
        futures = [entry[0] for entry in self._pending]
        self._pending.clear()
        self.client.cancel([f for f in futures if not f.done()])
        self._shipment = None

    def _submit(self, start, stop):
        shipment = self._shipped()
        return self.client.submit(_render, shipment, start, stop, pure=False), start, stop, shipment

    def _shipped(self):
        """The shipment, scattered to every worker once (tasks name it, they do not carry it)."""
        if self._shipment is None:
            self._shipment = scatter_to_every_worker(self.client, FilmShipment(self._spec),
                                                     lambda reason: _lost(f"scattering the film: {reason}"))
        return self._shipment

    def _wait(self, resubmit, future=None, shipment=None):
        """``future``'s result (``resubmit()``'s if None); rerun where the shipment died with its worker.

        Dask reruns a dead worker's tasks, but keeps one copy of scattered
        data: the shipment can die too. It is then scattered again,
        ``RESCATTERS`` times at most.
        """
        import asyncio
        import concurrent.futures as cf

        from distributed.scheduler import KilledWorker

        while True:
            if future is None:
                future, shipment = resubmit(), self._shipment
            try:
                return future.result()
            except cf.CancelledError:
                if self.client.status != "running" or self._rescatters >= RESCATTERS:
                    raise _lost("the film's shipment") from None
                if shipment is self._shipment:
                    self._shipment = None
                    self._rescatters += 1
                future = None
            except (OSError, TimeoutError, asyncio.CancelledError) as exc:
                if future.status == "error":  # the task itself raised it
                    raise
                raise _lost(f"the scheduler stopped answering: {type(exc).__name__}") from None
            except KilledWorker as exc:
                raise _lost(f"KilledWorker: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def _lost(what):
    return RenderError(f"the Dask cluster lost the film's frames ({what}); nothing was written")


def _n_frames(shipment):
    return shipment.n_frames()


def _render(shipment, start, stop):
    return shipment.render(start, stop)


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "?"


def _png(frame):
    import imageio.v3 as iio

    return iio.imwrite("<bytes>", frame, extension=".png")


def _unpng(data):
    import imageio.v3 as iio

    return iio.imread(data, extension=".png")
