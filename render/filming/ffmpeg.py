"""The bundled ffmpeg as the sinks use it: a process fed raw frames through a pipe, and its failures in words.

Examples
--------
>>> str(ffmpeg_error("film.mp4", 1, b"[libx264 @ 0x1] broken"))
'film.mp4: ffmpeg failed: broken'
>>> str(ffmpeg_error("film.mp4", 1, b"av_interleaved_write_frame(): No space left on device"))
'no space left on device while writing film.mp4'
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass

from lossfilm.format.errors import RenderError


@dataclass(frozen=True)
class FfmpegOutput:
    """One file an ffmpeg process writes from the frames it reads: its filters, its output options and its path."""

    path: str | os.PathLike
    args: tuple = ()  # output options: codec, pixel format, muxer, metadata
    filters: tuple = ()  # filters from the raw frames to this output (scaling, frame rate), in order
    # more files from the same filtered frames, as (filter, output options, path): e.g. a GIF's palette
    taps: tuple = ()


class FfmpegPipe:
    """One ffmpeg process reading raw frames from a pipe and writing one or more files; its messages kept for errors.

    A writer thread feeds the pipe, so that the renderer never waits while
    ffmpeg digests a frame: :meth:`write` hands the frame over and returns,
    with at most ``AHEAD`` frames waiting (memory stays bounded). An error
    in the pipe (ffmpeg died, the disk is full) is raised by the next
    :meth:`write` or by :meth:`close`.

    Several outputs share the process: ffmpeg splits the frames it reads once
    among their filters, so an MP4 and its GIF cost one pipe, not two.
    """

    AHEAD = 4  # frames handed over but not yet in the pipe
    # A raw 1080p frame is 6 MB. Through Linux's default 64 kB pipe, read by ffmpeg 32 kB at a time, it cost about
    # 18 ms of CPU (writer and ffmpeg together) per frame and sink; with a 1 MiB pipe read 1 MiB at a time, about 6 ms.
    PIPE_BYTES = 1 << 20

    def __init__(self, label, size, fps, outputs, *, pix_fmt="rgb24"):
        import imageio_ffmpeg

        self.label = label
        width, height = size
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
                   "-y", "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}",
                   "-r", str(fps), "-blocksize", str(self.PIPE_BYTES), "-i", "pipe:0", *_output_args(outputs)]
        # A file, not a pipe, for stderr: nobody reads it while frames are written, and a full pipe would hang ffmpeg.
        self._log = tempfile.TemporaryFile()
        # Own session: Ctrl-C reaches Python, which decides to stop ffmpeg, rather than ffmpeg finishing a file.
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._log, start_new_session=True)
        widen_pipe(self._process.stdin, self.PIPE_BYTES)
        self._frames = queue.Queue(maxsize=self.AHEAD)
        self._broken = threading.Event()  # the pipe failed: ffmpeg stopped reading
        self._writer = threading.Thread(target=self._feed, name="ffmpeg-writer", daemon=True)
        self._writer.start()

    def write(self, frame):
        """Hand ``frame`` (a contiguous array the caller no longer changes) to the writer thread."""
        while not self._broken.is_set():
            try:
                self._frames.put(frame, timeout=0.5)
                return
            except queue.Full:
                continue
        self._process.wait()
        raise self._error()

    def close(self):
        self._stop_writer()
        with contextlib.suppress(BrokenPipeError, OSError):
            self._process.stdin.close()
        code = self._process.wait()
        if code != 0 or self._broken.is_set():
            raise self._error()
        self._log.close()

    def abort(self):
        # Never waits on the writer: a Ctrl-C can land inside write()'s queue operation, and an abort that
        # joined the writer through that queue could then hang. The writer drops what it still gets (broken),
        # its write to the killed ffmpeg fails at once, and the sentinel, when there is room, ends it.
        self._broken.set()
        self._process.kill()
        self._process.wait()
        with contextlib.suppress(OSError, ValueError):
            self._process.stdin.close()
        self._log.close()
        with contextlib.suppress(queue.Full):
            self._frames.put_nowait(None)

    def _feed(self):
        while (frame := self._frames.get()) is not None:
            if self._broken.is_set():
                continue  # drain, so that put() never blocks on a dead pipe
            try:
                self._process.stdin.write(memoryview(frame).cast("B"))
            except (BrokenPipeError, OSError, ValueError):
                self._broken.set()

    def _stop_writer(self):
        # The writer drains what is queued (dropping it once the pipe is broken), then stops: put() waits
        # at most for the frames ahead of it.
        if self._writer.is_alive():
            self._frames.put(None)
            self._writer.join()

    def _error(self):
        self._log.seek(0)
        return ffmpeg_error(self.label, self._process.returncode, self._log.read())


def _output_args(outputs):
    """ffmpeg's arguments after its input for ``outputs``: a lone output filters with ``-vf``; several outputs, or
    taps, split the frames in a filter graph.

    Examples
    --------
    >>> _output_args([FfmpegOutput("/a.mp4", ("-c:v", "libx264"), ("scale=64:48",))])
    ['-vf', 'scale=64:48', '-c:v', 'libx264', 'file:/a.mp4']
    >>> _output_args([FfmpegOutput("/a.mp4"), FfmpegOutput("/b.gif", (), ("fps=15",))])[:2]
    ['-filter_complex', '[0:v]split=2[in0][in1];[in0]null[out0];[in1]fps=15[out1]']
    >>> _output_args([FfmpegOutput("/b.mp4", (), ("fps=15",), (("palettegen", (), "/p.png"),))])[:2]
    ['-filter_complex', '[0:v]fps=15,split=2[out0][tap0_0];[tap0_0]palettegen[tapped0_0]']
    """
    paths = [_spelled(output.path) for output in outputs]
    if len(outputs) == 1 and not outputs[0].taps:
        (output,), (path,) = outputs, paths
        return [*(["-vf", ",".join(output.filters)] if output.filters else []), *output.args, path]
    n = len(outputs)
    graph = [f"[0:v]split={n}" + "".join(f"[in{k}]" for k in range(n))] if n > 1 else []
    maps = []
    for k, (output, path) in enumerate(zip(outputs, paths)):
        source = f"[in{k}]" if n > 1 else "[0:v]"
        chain = ",".join(output.filters) or "null"
        if output.taps:
            taps = "".join(f"[tap{k}_{j}]" for j in range(len(output.taps)))
            graph.append(f"{source}{chain},split={1 + len(output.taps)}[out{k}]{taps}")
            graph += [f"[tap{k}_{j}]{tap[0]}[tapped{k}_{j}]" for j, tap in enumerate(output.taps)]
        else:
            graph.append(f"{source}{chain}[out{k}]")
        maps += ["-map", f"[out{k}]", *output.args, path]
        for j, (_, args, tap_path) in enumerate(output.taps):
            maps += ["-map", f"[tapped{k}_{j}]", *args, _spelled(tap_path)]
    return ["-filter_complex", ";".join(graph), *maps]


def _spelled(path):
    return path if isinstance(path, FfmpegPath) else ffmpeg_path(path)


def widen_pipe(stream, size):
    """Let the pipe behind ``stream`` hold ``size`` bytes (Linux; elsewhere, or above the system's limit, unchanged).

    Fewer, larger writes and reads move a frame with fewer system calls and task switches.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        return
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(stream.fileno(), setting, size)


class FfmpegPath(str):
    """A path already spelled for ffmpeg's command line (see :func:`ffmpeg_path`)."""


def ffmpeg_path(path, *, numbered=False):
    """``path`` as ffmpeg must be given it: never read as an option, a protocol or a frame-number pattern.

    An absolute path behind ffmpeg's ``file:`` protocol: a name starting with
    ``-`` is not an option, and ``pipe:0.mp4`` or ``http:x.mp4`` is a file
    name, not another protocol. ffmpeg reads ``%`` in an image-sequence path
    as a frame-number pattern; for ``numbered`` outputs (a PNG sequence)
    each ``%`` in the folder's name is doubled (ffmpeg's escape), so only
    the file name's own ``%05d`` counts. (A single image is written with
    ``-update 1``, which reads no pattern.)

    Examples
    --------
    >>> ffmpeg_path("/media/-a/pipe:0.mp4")
    'file:/media/-a/pipe:0.mp4'
    >>> ffmpeg_path("/media/100%d/frame_%05d.png", numbered=True)
    'file:/media/100%%d/frame_%05d.png'
    """
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    if numbered:
        folder = folder.replace("%", "%%")
    return FfmpegPath("file:" + os.path.join(folder, name))


def ffmpeg_error(label, returncode, message):
    """The RenderError for an ffmpeg that failed: a full disk in those words, else ffmpeg's first complaint."""
    text = message.decode(errors="replace") if isinstance(message, bytes) else message
    if "No space left on device" in text:
        return RenderError(f"no space left on device while writing {label}")
    if "Disk quota exceeded" in text:
        return RenderError(f"disk quota exceeded while writing {label}")
    if returncode == -getattr(signal, "SIGXFSZ", 0) or "File too large" in text:
        return RenderError(f"file size limit exceeded while writing {label}")
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        fallback = f"killed by {name}"
    else:
        fallback = f"exit status {returncode}" if returncode else "no message"
    return RenderError(f"{label}: ffmpeg failed: {_first_line(text, fallback)}")


def _first_line(message, fallback="no message"):
    """ffmpeg's first complaint is the cause (later lines are consequences), without its ``[module @ 0x..]`` tags."""
    if isinstance(message, bytes):
        message = message.decode(errors="replace")
    for line in message.splitlines():
        line = re.sub(r"^(\[[^\]]*\]\s*)+", "", line.strip())
        if line:
            return line
    return fallback


def run_ffmpeg(label, args):
    """Run the bundled ffmpeg with ``args`` to the end; RenderError (in words) if it fails."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    if result.returncode != 0:
        raise ffmpeg_error(label, result.returncode, result.stderr)


def read_comment(path, limit=1 << 17):
    """The ``comment`` tag of a film (MP4, MOV, WebM) at ``path``, or None; read with the bundled ffmpeg's ffmetadata output.

    At most ``limit`` bytes of ffmpeg's output are read: a film whose
    metadata is longer is not one lossfilm wrote, and its comment is None.
    """
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i",
               ffmpeg_path(path), "-f", "ffmetadata", "-"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                   start_new_session=True)
        with process:
            output = process.stdout.read(limit + 1)
            if len(output) > limit:
                process.kill()
                return None
            process.wait()
        if process.returncode != 0:
            log.seek(0)
            raise ffmpeg_error(path, process.returncode, log.read(1 << 16))
    text = output.decode("utf-8", errors="replace")
    # ffmetadata escapes '=', ';', '#', '\\' and newlines with a backslash; a value may run over lines
    value, reading = [], False
    for line in re.split(r"(?<!\\)\n", text):
        if line.lower().startswith("comment="):  # Matroska (WebM) keeps its tags in capitals
            value, reading = [line[len("comment="):]], True
            break
    if not reading:
        return None
    return re.sub(r"\\(.)", r"\1", value[0], flags=re.DOTALL)
