"""Parallel rendering: N processes render disjoint frame ranges; frames come out in order.

Each worker opens its own film from the (picklable) spec and renders
blocks of consecutive frames dealt round-robin: with 2 workers and blocks
of 8, worker 0 renders frames 0-7, 16-23, ... and worker 1 frames 8-15,
24-31, .... Each worker sends its frames back through its own bounded
queue, and the parent reads the queues in turn, so frames reach the
encoder strictly in order while memory stays at a few blocks whatever the
film's length.

Workers are started with ``spawn``: VTK and OpenGL state do not survive a
``fork``.

Examples
--------
>>> from lossfilm.render.filming.film import FilmSpec  # doctest: +SKIP
>>> from lossfilm.scenes import scene_class  # doctest: +SKIP
>>> spec = FilmSpec(scene_class("descent"), "media/cache/landscape.npz", (854, 480), fps=15)  # doctest: +SKIP
>>> with render_frames(spec, n_workers=2) as frames:  # doctest: +SKIP
...     for frame in frames:
...         sink.write(frame)
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import queue
import signal
import traceback

from lossfilm.format.errors import ConfigError
from lossfilm.render.filming.film import open_film

BLOCK = 8  # consecutive frames per task: long enough to amortise hand-over, short enough to keep workers even
_POLL_S = 0.5  # how often a waiting side checks that the other is still alive


def render_frames(spec, n_workers=1, *, opener=None, block=BLOCK):
    """Render every frame of the film described by ``spec``, yielding them in order.

    Parameters
    ----------
    spec : FilmSpec
        The film; picklable, so that each worker can rebuild it.
    n_workers : int
        Processes to render in. 1 renders in this process.
    opener : callable, optional
        ``opener(spec) -> film`` with ``n_frames``, ``frame(index)`` and
        ``close()``; defaults to :func:`lossfilm.render.filming.film.open_film`. With
        ``n_workers > 1`` it must be picklable (a module-level function).
    block : int
        Consecutive frames per task handed to a worker.

    Returns
    -------
    FrameStream
        An iterator over ``(H, W, 3|4)`` uint8 frames with ``len()``; use it
        as a context manager (or call ``close()``) to stop the workers early.

    Raises
    ------
    LossfilmError or RuntimeError
        Whatever a worker raised, re-raised in this process with the worker's
        traceback as its cause.

    Examples
    --------
    >>> frames = render_frames(spec, n_workers=2)  # doctest: +SKIP
    >>> len(frames), next(iter(frames)).shape  # doctest: +SKIP
    (120, (480, 854, 3))
    """
    if n_workers < 1:
        raise ConfigError(f"--workers {n_workers}: must be at least 1")
    opener = opener or open_film
    if n_workers == 1:
        return _InProcessStream(spec, opener)
    return _WorkerStream(spec, opener, n_workers, block)


def block_size(n_frames, n_workers, block):
    # Short films: smaller blocks, so that every worker gets a share.
    return max(1, min(block, math.ceil(n_frames / n_workers)))


class FrameStream:
    """Frames in order, with ``len()``; a context manager that releases the film or workers."""

    def __len__(self):
        return self.n_frames

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


class _InProcessStream(FrameStream):
    def __init__(self, spec, opener):
        self._film = opener(spec)
        self.n_frames = int(self._film.n_frames)

    def __iter__(self):
        try:
            for index in range(self.n_frames):
                yield self._film.frame(index)
        finally:
            self.close()

    def close(self):
        if self._film is not None:
            film, self._film = self._film, None
            film.close()


class _WorkerStream(FrameStream):
    def __init__(self, spec, opener, n_workers, block):
        context = multiprocessing.get_context("spawn")
        # One queue per worker, one block deep: a worker may finish its next block while the parent drains
        # another worker's, and never runs further ahead than that.
        self._queues = [context.Queue(maxsize=block) for _ in range(n_workers)]
        self._processes = [
            context.Process(target=_work, args=(spec, opener, rank, n_workers, block, self._queues[rank]),
                            name=f"lossfilm-render-{rank}", daemon=True)
            for rank in range(n_workers)
        ]
        self._block = block
        try:
            for process in self._processes:
                process.start()
            counts = {self._receive(rank)[1] for rank in range(n_workers)}
        except BaseException:
            self.close()
            raise
        if len(counts) != 1:
            self.close()
            raise RuntimeError(f"render workers disagree on the number of frames: {sorted(counts)}")
        self.n_frames = counts.pop()

    def __iter__(self):
        try:
            block = block_size(self.n_frames, len(self._processes), self._block)
            for index in range(self.n_frames):
                rank = (index // block) % len(self._processes)
                _, got, frame = self._receive(rank)
                if got != index:
                    raise RuntimeError(f"render worker {rank} sent frame {got}, expected {index}")
                yield frame
        finally:
            self.close()

    def _receive(self, rank):
        """The next message from worker ``rank``; its error raised here if it sent one."""
        process, channel = self._processes[rank], self._queues[rank]
        while True:
            try:
                message = channel.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(f"render worker {rank} died ({_exit_reason(process.exitcode)})") from None
        if message[0] == "error":
            _, error, remote_traceback = message
            raise error from _RemoteTraceback(remote_traceback)
        return message

    def close(self):
        """Stop the workers (at once, whether or not they have finished) and free their queues."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            if process.pid is not None:
                process.join(timeout=5)
                if process.is_alive():
                    process.kill()
                    process.join()
        for channel in self._queues:
            channel.cancel_join_thread()
            channel.close()
        self._processes, self._queues = [], []


class _RemoteTraceback(Exception):
    """The traceback of an error in a worker, attached as the cause of the re-raised error."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text

    def __str__(self):
        return f"\n(in the render worker)\n{self.text}"


def _exit_reason(code):
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _work(spec, opener, rank, n_workers, block, channel):
    """A worker: open the film, render this rank's blocks, put ``("frame", index, array)`` messages."""
    # Ctrl-C in a terminal reaches the whole process group; the parent alone decides to stop the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Mesa's software rasteriser (llvmpipe) starts a thread per core in every process; N workers each doing
    # that fight over the cores and render slower than one. Give each worker its share (unless the user chose).
    os.environ.setdefault("LP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n_workers)))
    parent = multiprocessing.parent_process()

    def send(message):
        while True:
            try:
                channel.put(message, timeout=_POLL_S)
                return
            except queue.Full:
                if parent is not None and not parent.is_alive():
                    os._exit(1)  # the parent was killed: nobody will read the rest

    film = None
    try:
        film = opener(spec)
        n_frames = int(film.n_frames)
        send(("meta", n_frames, None))
        size = block_size(n_frames, n_workers, block)
        for start in range(rank * size, n_frames, n_workers * size):
            for index in range(start, min(start + size, n_frames)):
                send(("frame", index, film.frame(index)))
    except Exception as exc:
        text = traceback.format_exc()
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        send(("error", exc, text))
    finally:
        if film is not None:
            film.close()
    # Let the queue's feeder thread flush the last frames before the process exits.
    channel.close()
    channel.join_thread()
