"""Frame sinks: where rendered frames go (MP4, GIF, MOV, WebM or a folder of PNGs), and the table of output formats.

Each sink declares its format: its name, the suffix that asks for it, whether
it needs even width and height, whether it keeps a transparent background.
:data:`FORMATS` lists the sinks; choosing a sink by suffix, the size and
transparency checks and the messages all read that table, so a new format is
a new sink class and one more entry there.

Every sink is a context manager with one method, ``write(frame)``. Frames
are streamed to the bundled ffmpeg through a pipe as they arrive, so memory
does not grow with the film's length, and ffmpeg encodes in its own process
while the next frame renders. Output goes to a temporary in a private folder
beside the target (:mod:`lossfilm.format.safe_write`) and is renamed into
place only when the ``with`` block ends without an error: an interrupted
render never leaves a truncated file at the target, and never destroys an
earlier good one. ffmpeg gets every path as ``file:/absolute/path``
(:func:`lossfilm.render.filming.ffmpeg.ffmpeg_path`). A :class:`SinkGroup`
feeds several sinks of the same frames through one ffmpeg process.

Examples
--------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "film.mp4")
>>> with open_sink(path, size=(64, 48), fps=10) as sink:
...     for step in range(5):
...         sink.write(np.full((48, 64, 3), 50 * step, np.uint8))
>>> sink.frames, os.path.exists(path)
(5, True)
"""

from __future__ import annotations

import contextlib
import os
import re
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from lossfilm.format.safe_write import atomic_folder, atomic_path
from lossfilm.format.errors import ConfigError
from lossfilm.format.provenance import KEYWORD, PREFIX, gif_with_comment, png_with_text
from lossfilm.render.filming.ffmpeg import FfmpegOutput, FfmpegPipe, ffmpeg_path, run_ffmpeg
from lossfilm.render.filming.quality import DOWNSCALE, GIF_FPS, GIF_MAX_FPS, GIF_WIDTH, check_size

FRAME_NAME = "frame_{:05d}.png"
_FRAME_FILE = re.compile(r"frame_\d{5,}\.png")
# The GIF's intermediate film: x264 in RGB (no chroma subsampling), lossless, so that palette generation sees
# exactly the colours the renderer drew. Its fastest preset costs a third less CPU than the near-lossless
# (crf 8, veryfast) film it replaces, and the two passes over it a third less (measured on 640x360 frames).
_INTERMEDIATE = ["-c:v", "libx264rgb", "-pix_fmt", "rgb24", "-qp", "0", "-preset", "ultrafast"]
_PALETTE_GEN = "palettegen=stats_mode=diff"
# Ordered dithering is stable from frame to frame (error diffusion crawls) and compresses better.
_PALETTE_USE = "paletteuse=dither=bayer:bayer_scale=4:diff_mode=rectangle"


def output_format(path):
    """The name of the format (a key of :data:`FORMATS`) that an output path asks for by its suffix.

    A path ending in ``/``, without a suffix, or naming an existing folder
    asks for the folder format (PNG frames).

    Raises
    ------
    ConfigError
        For any other suffix; the message lists the formats.

    Examples
    --------
    >>> output_format("media/descent.mp4"), output_format("media/frames/")
    ('mp4', 'png')
    """
    text = os.fspath(path)
    folder = next(sink.name for sink in FORMATS.values() if sink.suffix == "/")
    if text.endswith(("/", os.sep)) or os.path.isdir(text):
        return folder
    suffix = Path(text).suffix.lower()
    if not suffix:
        return folder
    for sink in FORMATS.values():
        if sink.suffix == suffix:
            return sink.name
    hint = "; for one PNG use `lossfilm still`" if suffix == ".png" else ""
    raise ConfigError(f"{path}: unknown output format {suffix!r}: use {outputs_in_words()}{hint}")


def outputs_in_words():
    """The output formats as a help text says them.

    Examples
    --------
    >>> outputs_in_words()
    '.mp4, .gif, .mov, .webm, or a folder (ending in /) for PNG frames'
    """
    files = [sink.suffix for sink in FORMATS.values() if sink.suffix != "/"]
    folders = [f"a folder (ending in /) for {sink.label}" for sink in FORMATS.values() if sink.suffix == "/"]
    return ", ".join(files) + ", or " + " or ".join(folders)


def open_sink(path, size, fps, *, alpha=False, source_size=None, provenance=None, **settings):
    """Open the sink that the suffix of ``path`` asks for (see :func:`output_format`).

    Parameters
    ----------
    path : str or Path
        The target file or folder.
    size : tuple of int
        ``(width, height)`` of the frames; even where the format says so (MP4, GIF).
    fps : int
        Frames per second of the film.
    alpha : bool
        Frames are RGBA (transparent background); only a format that keeps alpha takes them (MOV, WebM, PNG).
    source_size : tuple of int, optional
        ``(width, height)`` of the frames written, when they are larger than ``size`` (supersampled):
        ffmpeg downscales them to ``size`` in its own process. Default: ``size``.
    provenance : str, optional
        How the film was made (:mod:`lossfilm.format.provenance`), written into the output's own
        metadata: the MP4's, MOV's and WebM's ``comment`` tag, the GIF's comment, each PNG frame's ``tEXt`` chunk.
    **settings
        Encoder settings, each taken by the sinks that declare it and ignored by the others:
        ``crf`` and ``preset`` (x264 quality, lower is better, and speed, for MP4; see
        :mod:`lossfilm.render.filming.quality`), ``gif_width`` and ``gif_fps`` (the GIF's width and
        frame rate, never above the film's; None keeps the film's).

    Raises
    ------
    ConfigError
        An unknown suffix, a size the format cannot take, or alpha where it is not kept.

    Examples
    --------
    >>> open_sink("media/frames/", (320, 240), 30)  # doctest: +ELLIPSIS
    <lossfilm.render.filming.sinks.PngSequenceSink object at ...>
    """
    known = {given for sink in FORMATS.values() for given in sink.settings}
    if set(settings) - known:
        raise TypeError(f"open_sink() got unknown settings {sorted(set(settings) - known)}; it takes {sorted(known)}")
    sink = FORMATS[output_format(path)]
    chosen = {keyword: settings[given] for given, keyword in sink.settings.items() if given in settings}
    return sink(path, size, fps, alpha=alpha, source_size=source_size, provenance=provenance, **chosen)


class FrameSink(ABC):
    """Base of the sinks: checks the size and the frames, counts them, and makes the output appear atomically.

    The role a sink plays: a context manager with ``write(frame)``, whose output
    appears at ``path`` only when the ``with`` block ends without an error.
    A subclass declares its format in its class attributes (below) and
    implements ``_output(tmp)`` (abstract): what ffmpeg writes for it (a
    :class:`SinkGroup` feeds the frames of all its sinks to one ffmpeg); it may
    add ``_finish()`` (on success, after ffmpeg) and ``_abort()`` (on any error or interrupt).

    Parameters
    ----------
    path : str or Path
    size : tuple of int
        ``(width, height)`` of the frames.
    fps : int
    alpha : bool
        RGBA frames (a transparent background); ConfigError unless the format keeps alpha.
    source_size : tuple of int, optional
        ``(width, height)`` of the frames written, if not ``size``: ffmpeg scales them to ``size``.
    provenance : str, optional
        The provenance text the output carries in its metadata.
    """

    name = ""  # the format's name: RenderSummary.format, messages
    label = ""  # what it is, in a few words
    suffix = ""  # what an output path ends with to ask for it; "/": a folder
    even = False  # needs even width and height
    keeps_alpha = False  # keeps a transparent background (RGBA frames)
    settings: dict[str, str] = {}  # open_sink's keyword -> this sink's, for the encoder settings it takes

    def __init__(self, path, size, fps, *, alpha=False, source_size=None, provenance=None):
        self.path = Path(path)
        self.provenance = provenance
        self.size = (int(size[0]), int(size[1]))
        self.source_size = self.size if source_size is None else (int(source_size[0]), int(source_size[1]))
        self.fps = fps
        check_size(self.size, even=self.even, option=str(path))
        if alpha and not self.keeps_alpha:
            raise ConfigError(f"{path}: {self.name.upper()} has no alpha channel; a transparent film needs "
                              f"{alpha_formats_in_words()}")
        self.channels = 4 if alpha else 3
        self.frames = 0
        self._target = None  # the atomic temporary, while open
        self._group = None  # the SinkGroup feeding it, when used on its own

    def __enter__(self):
        self._group = SinkGroup([self]).__enter__()
        return self

    def __exit__(self, exc_type, exc, traceback):
        return self._group.__exit__(exc_type, exc, traceback)

    def delivered(self):
        """``(frames, (width, height), fps)`` of the output as written (a GIF keeps fewer, smaller frames)."""
        return self.frames, self.size, self.fps

    def write(self, frame):
        """Append one frame: ``(height, width, 3)`` uint8 (``4`` channels for a transparent PNG sequence)."""
        self._group.write(frame)

    def checked(self, frame):
        """``frame`` as a contiguous array, or ValueError unless it is a frame this sink takes."""
        frame = np.ascontiguousarray(frame)
        width, height = self.source_size
        if frame.dtype != np.uint8 or frame.shape != (height, width, self.channels):
            raise ValueError(f"{self.path}: expected a ({height}, {width}, {self.channels}) uint8 frame, "
                             f"got {frame.shape} {frame.dtype}")
        return frame

    @property
    def pix_fmt(self):
        """The raw frames' pixel format as ffmpeg reads them."""
        return "rgba" if self.channels == 4 else "rgb24"

    @abstractmethod
    def _output(self, tmp):
        """What ffmpeg writes for this sink to the temporary path ``tmp``: an :class:`FfmpegOutput`."""

    def _finish(self):
        """After ffmpeg has written the output: a second pass (the GIF's palette), metadata. Nothing by default."""

    def _abort(self):
        """On any error or interrupt: remove what the sink made beside its temporary. Nothing by default."""

    def _atomic(self):
        return atomic_path(self.path)

    def _downscale(self):
        """ffmpeg's filter from the frames' size to the output's (empty when they are the same size)."""
        if self.source_size == self.size:
            return ()
        return (f"scale={self.size[0]}:{self.size[1]}:flags={DOWNSCALE}",)

    def _metadata(self):
        """ffmpeg's arguments that tag the film with its provenance (the formats with a ``comment`` tag)."""
        if not self.provenance:
            return ()
        return ("-metadata", f"comment={PREFIX}{self.provenance}",
                "-metadata", "description=made by lossfilm; `lossfilm inspect FILE` shows how")


class SinkGroup:
    """Sinks of the same frames, fed through one ffmpeg process: each frame crosses one pipe, whatever the outputs.

    A context manager with ``write(frame)``, like a sink. Each output appears
    at its path only when the ``with`` block ends without an error; on any
    error none does (an earlier file at a path stays as it was). Measured on
    1080p frames going to an MP4 and a GIF: about 2.5 ms of ffmpeg's CPU time
    per frame less than two processes, and half the pipe writing here; the
    files are byte for byte the same.

    Examples
    --------
    >>> with SinkGroup([open_sink("a.mp4", (64, 48), 10), open_sink("a.gif", (64, 48), 10)]) as both:  # doctest: +SKIP
    ...     both.write(frame)
    """

    def __init__(self, sinks):
        self.sinks = list(sinks)
        if not self.sinks:
            raise ValueError("a SinkGroup needs at least one sink")
        first = self.sinks[0]
        for sink in self.sinks[1:]:
            if (sink.source_size, sink.fps, sink.channels) != (first.source_size, first.fps, first.channels):
                raise ValueError(f"{sink.path} and {first.path} take different frames; give them separate groups")
        self._pipe = None

    def __enter__(self):
        opened = []
        try:
            outputs = []
            for sink in self.sinks:
                sink._target = sink._atomic()
                tmp = sink._target.__enter__()
                opened.append(sink)
                outputs.append(sink._output(tmp))
            first = self.sinks[0]
            label = ", ".join(str(sink.path) for sink in self.sinks)
            self._pipe = FfmpegPipe(label, first.source_size, first.fps, outputs, pix_fmt=first.pix_fmt)
        except BaseException as exc:
            for sink in reversed(opened):
                sink._abort()
                sink._target.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def write(self, frame):
        """Append one frame to every sink."""
        self._pipe.write(self.sinks[0].checked(frame))
        for sink in self.sinks:
            sink.frames += 1

    def __exit__(self, exc_type, exc, traceback):
        error = exc
        if exc_type is None:
            try:
                self._pipe.close()
                for sink in self.sinks:
                    sink._finish()
            except BaseException as failure:
                error = failure
                self._pipe.abort()
        else:
            self._pipe.abort()
        # Each temporary is renamed into place only while no error is passed on; every one is closed.
        for sink in self.sinks:
            if error is not None:
                sink._abort()
            try:
                sink._target.__exit__(None if error is None else type(error), error,
                                      None if error is None else error.__traceback__)
            except BaseException as failure:  # its rename failed: the sinks after it are not renamed
                error = error or failure
        if error is not None and error is not exc:
            raise error
        return False


class Mp4Sink(FrameSink):
    """H.264 in yuv420p, ``+faststart``, at the exact (even) size: no padding of 1080 to 1088.

    Examples
    --------
    >>> with Mp4Sink("film.mp4", (320, 240), fps=30, crf=20) as sink:  # doctest: +SKIP
    ...     sink.write(frame)
    """

    name, label, suffix = "mp4", "H.264 video", ".mp4"
    even, keeps_alpha = True, False  # yuv420p stores colour at half the resolution: odd sides do not encode
    settings = {"crf": "crf", "preset": "preset"}

    def __init__(self, path, size, fps, *, crf=20, preset="medium", alpha=False, source_size=None, provenance=None):
        super().__init__(path, size, fps, alpha=alpha, source_size=source_size, provenance=provenance)
        self.crf = crf
        self.preset = preset

    def _output(self, tmp):
        args = ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(self.crf), "-preset", self.preset,
                "-movflags", "+faststart", *self._metadata())
        return FfmpegOutput(tmp, args, self._downscale())


class GifSink(FrameSink):
    """A looping GIF: frames go to a lossless temporary film and its palette, then through ffmpeg's paletteuse.

    The palette is generated while the frames stream; a second pass over the
    small film maps it to the palette. That keeps memory bounded, where a
    one-pass filter graph would buffer every frame until the palette is known.

    Examples
    --------
    >>> with GifSink("film.gif", (640, 360), fps=30, width=480, fps_out=15) as sink:  # doctest: +SKIP
    ...     sink.write(frame)
    """

    name, label, suffix = "gif", "looping GIF", ".gif"
    # A GIF's transparency is one palette colour, on or off: the anti-aliased edge of the surface would show a
    # fringe of the background it was drawn on. A transparent film goes to MOV or WebM instead.
    even, keeps_alpha = True, False
    settings = {"gif_width": "width", "gif_fps": "fps_out"}

    def __init__(self, path, size, fps, *, width=GIF_WIDTH, fps_out=GIF_FPS, alpha=False, source_size=None,
                 provenance=None):
        super().__init__(path, size, fps, alpha=alpha, source_size=source_size, provenance=provenance)
        for name, value in (("--gif-width", width), ("--gif-fps", fps_out)):
            if value is not None and value <= 0:
                raise ConfigError(f"{name} {value}: must be positive")
        if fps_out is not None and fps_out > GIF_MAX_FPS:
            raise ConfigError(f"--gif-fps {fps_out}: a GIF's frame delays are whole hundredths of a second and "
                              f"browsers slow delays under 2/100 s to 1/10 s; use at most {GIF_MAX_FPS} "
                              "(50, 25 or 20 play at exactly that rate)")
        # Never scale up: a bigger or faster GIF than the film only costs bytes.
        self.width = min(width or self.size[0], self.size[0])
        self.fps_out = min(fps_out or fps, fps, GIF_MAX_FPS)

    def delivered(self):
        height = self._height()
        frames = -(-self.frames * self.fps_out // self.fps)  # ffmpeg's fps filter with eof_action=pass: rounded up
        return frames, (self.width, height), self.fps_out

    def _height(self):
        return round(self.size[1] * self.width / self.size[0])  # the film's aspect, not the supersampled frame's

    def _output(self, tmp):
        self._tmp = tmp
        self._film = tmp.with_name(tmp.name + ".mp4")
        self._palette = tmp.with_name(tmp.name + ".palette.png")
        # eof_action=pass: the last frame is kept, so a film shorter than one GIF frame still has one
        resize = (f"fps={self.fps_out}:eof_action=pass", f"scale={self.width}:{self._height()}:flags={DOWNSCALE}")
        # The palette is made from the same frames while they stream (-update 1: one image at exactly this name,
        # never read as a frame-number pattern); the intermediate is lossless, so it is the palette a pass over it
        # would make, without that pass.
        palette = (_PALETTE_GEN, ("-update", "1"), self._palette)
        return FfmpegOutput(self._film, tuple(_INTERMEDIATE), resize, taps=(palette,))

    def _finish(self):
        try:
            run_ffmpeg(self.path, ["-i", ffmpeg_path(self._film), "-i", ffmpeg_path(self._palette),
                                   "-lavfi", _PALETTE_USE, "-loop", "0", "-f", "gif", ffmpeg_path(self._tmp)])
            if self.provenance:
                self._tmp.write_bytes(gif_with_comment(self._tmp.read_bytes(), PREFIX + self.provenance))
        finally:
            self._remove_intermediates()

    def _abort(self):
        self._remove_intermediates()

    def _remove_intermediates(self):
        for path in (self._film, self._palette):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


class MovSink(FrameSink):
    """ProRes 4444 in a QuickTime ``.mov``: 10-bit 4:4:4 colour and, for a transparent film, an alpha channel.

    What Keynote, PowerPoint, Final Cut and DaVinci Resolve composite over a
    slide or a timeline. Large (intra-frame only, about 1 MB a frame at
    1080p), as an editor's master is.

    Examples
    --------
    >>> with MovSink("film.mov", (1280, 720), fps=30, alpha=True) as sink:  # doctest: +SKIP
    ...     sink.write(rgba_frame)
    """

    name, label, suffix = "mov", "ProRes 4444 video (alpha for Keynote, PowerPoint, Final Cut, DaVinci)", ".mov"
    even, keeps_alpha = True, True  # ProRes codes 4:4:4, but the editors expect even sides

    def _output(self, tmp):
        args = ("-c:v", "prores_ks", "-profile:v", "4444",
                "-pix_fmt", "yuva444p10le" if self.channels == 4 else "yuv444p10le",
                "-vendor", "apl0", "-f", "mov", *self._metadata())
        return FfmpegOutput(tmp, args, self._downscale())


class WebmSink(FrameSink):
    """VP9 in a WebM: small, plays in browsers, and keeps alpha (``yuva420p``) for a transparent film.

    Chrome, Firefox and OBS's media source show the alpha; Safari plays
    the film but draws the background black (it takes HEVC with alpha
    instead, which the bundled ffmpeg cannot write).

    Examples
    --------
    >>> with WebmSink("film.webm", (1280, 720), fps=30, alpha=True) as sink:  # doctest: +SKIP
    ...     sink.write(rgba_frame)
    """

    name, label, suffix = "webm", "VP9 video (alpha for browsers and OBS)", ".webm"
    even, keeps_alpha = True, True  # 4:2:0 colour, like the MP4's
    settings = {"crf": "crf"}

    def __init__(self, path, size, fps, *, crf=20, alpha=False, source_size=None, provenance=None):
        super().__init__(path, size, fps, alpha=alpha, source_size=source_size, provenance=provenance)
        # x264's crf and libvpx's differ in scale: VP9 at crf 31 looks like x264 at about 20
        self.crf = int(round(11 + crf))

    def _output(self, tmp):
        args = ("-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p" if self.channels == 4 else "yuv420p",
                "-crf", str(self.crf), "-b:v", "0", "-row-mt", "1", "-deadline", "good", "-cpu-used", "4",
                "-auto-alt-ref", "0", "-f", "webm", *self._metadata())
        return FfmpegOutput(tmp, args, self._downscale())


class PngSequenceSink(FrameSink):
    """Frames as ``frame_00000.png``, ``frame_00001.png``, ... in a folder that appears whole.

    The frames are written into a temporary folder beside the target, which
    replaces the target at the end. An existing target folder is replaced
    only if it holds nothing but frames (an earlier sequence).

    Examples
    --------
    >>> with PngSequenceSink("media/frames", (320, 240), fps=30) as sink:  # doctest: +SKIP
    ...     sink.write(frame)
    """

    name, label, suffix = "png", "PNG frames", "/"
    even, keeps_alpha = False, True

    def __init__(self, path, size, fps, *, alpha=False, source_size=None, provenance=None):
        super().__init__(os.fspath(path).rstrip("/" + os.sep) or os.fspath(path), size, fps, alpha=alpha,
                         source_size=source_size, provenance=provenance)

    def _atomic(self):
        return atomic_folder(self.path, replaceable=_FRAME_FILE.fullmatch)

    def _output(self, tmp):
        self._folder = tmp
        args = ("-c:v", "png", "-pix_fmt", self.pix_fmt, "-f", "image2", "-start_number", "0")
        frames = ffmpeg_path(tmp / FRAME_NAME.replace("{:05d}", "%05d"), numbered=True)
        return FfmpegOutput(frames, args, self._downscale())

    def _finish(self):
        if self.provenance:
            for frame in sorted(self._folder.iterdir()):
                frame.write_bytes(png_with_text(frame.read_bytes(), KEYWORD, self.provenance))


# The output formats, by name: every decision about a format reads this table (through the sinks' declarations).
FORMATS = {sink.name: sink for sink in (Mp4Sink, GifSink, MovSink, WebmSink, PngSequenceSink)}


def alpha_formats_in_words():
    """The outputs that keep a transparent background, as an error message says them.

    Examples
    --------
    >>> alpha_formats_in_words()
    '.mov (ProRes 4444), .webm (VP9) or a folder (ending in /) of PNG frames'
    """
    words = {"mov": ".mov (ProRes 4444)", "webm": ".webm (VP9)"}
    kept = [words.get(sink.name, sink.suffix) if sink.suffix != "/" else "a folder (ending in /) of PNG frames"
            for sink in FORMATS.values() if sink.keeps_alpha]
    return ", ".join(kept[:-1]) + " or " + kept[-1]
