"""From a film spec to a file: films (MP4, GIF, MOV, WebM, PNG sequence) and stills (PNG).

This is the one place that joins the renderer (:mod:`lossfilm.render.filming.workers`) to
the encoders (:mod:`lossfilm.render.filming.sinks`), behind the back-end check
(:mod:`lossfilm.render.filming.backend`) and a progress bar.

Examples
--------
>>> from lossfilm.render.filming.film import FilmSpec  # doctest: +SKIP
>>> from lossfilm.scenes import scene_class  # doctest: +SKIP
>>> spec = FilmSpec(scene_class("descent"), "media/cache/landscape.npz", (854, 480), fps=15)  # doctest: +SKIP
>>> print(render_film(spec, "media/descent.mp4", workers=2))  # doctest: +SKIP
media/descent.mp4: 120 frames, 854x480 @ 15 fps (8.0 s), 1.2 MB, rendered in 21.4 s (5.6 frames/s)
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lossfilm.format.safe_write import atomic_path
from lossfilm.format.errors import ConfigError, LossfilmError
from lossfilm.format.budget import PIXEL_SECONDS, Cost, check_cost, free_disk
from lossfilm.format.provenance import KEYWORD, for_output, png_with_text, to_text
from lossfilm.format.user_code import raised
from lossfilm.render.filming.backend import ensure_offscreen, renderer_versions
from lossfilm.render.filming.sinks import SinkGroup, open_sink
from lossfilm.render.filming.film import open_film
from lossfilm.render.filming.frames_cluster import cluster_frames
from lossfilm.render.filming.quality import (DEFAULT_QUALITY, DRAFT_PRESET, GIF_FPS, GIF_WIDTH, QUALITIES, SUPERSAMPLE,
                                            check_size)
from lossfilm.render.filming.workers import render_frames


@dataclass(frozen=True)
class RenderSummary:
    """What a render wrote."""

    path: str
    format: str  # its name in lossfilm.render.filming.sinks.FORMATS: "mp4", "gif" or "png" (a folder of frames)
    frames: int  # in the file (a GIF keeps one in gif_fps / fps)
    size: tuple  # (width, height) of the file's frames
    fps: int
    seconds: float  # wall-clock time to render and encode
    bytes: int  # size on disk (all frames, for a PNG folder)
    rendered: int | None = None  # frames drawn, when not ``frames`` (a GIF keeps fewer)

    def __str__(self):
        width, height = self.size
        drawn = self.frames if self.rendered is None else self.rendered
        rate = drawn / self.seconds if self.seconds > 0 else float("inf")
        of = "" if self.rendered is None else f"{drawn} frames "
        return (f"{self.path}: {self.frames} frames, {width}x{height} @ {self.fps} fps "
                f"({self.frames / self.fps:.1f} s), {_megabytes(self.bytes)}, "
                f"{of}rendered in {self.seconds:.1f} s ({rate:.1f} frames/s)")


def render_film(spec, out_path, *, workers=1, progress=True, quality=DEFAULT_QUALITY, draft=False,
                gif_width=GIF_WIDTH, gif_fps=GIF_FPS, opener=None, provenance=None, force=False, executor=None,
                still=None, still_provenance=None):
    """Render the film ``spec`` describes to ``out_path``; the format follows its suffix.

    Parameters
    ----------
    spec : FilmSpec
        Scene, landscape, size, fps, theme, ...
    out_path : str or Path, or a list of them
        ``.mp4``, ``.gif``, ``.mov``, ``.webm``, or a folder (ending in ``/``) for PNG frames;
        a transparent ``spec`` only to ``.mov``, ``.webm`` or PNG frames.
        Several paths get the same frames from one render (an MP4 and its
        GIF for the price of one). Each is written atomically: nothing
        appears there unless the render succeeds.
    workers : int
        Processes to render in (see :func:`lossfilm.render.filming.workers.render_frames`).
    progress : bool
        Show a progress bar with frames/s and ETA on stderr.
    quality : str
        A preset name in :data:`lossfilm.render.filming.quality.QUALITIES`; sets the MP4
        encoder's quality and speed (the size and fps come from ``spec``).
    draft : bool
        x264's fastest preset instead of the quality's (for previews).
    gif_width, gif_fps : int or None
        The GIF's width and frame rate (never above the film's).
    opener : callable, optional
        ``opener(spec) -> film``; defaults to :func:`lossfilm.render.filming.film.open_film`
        behind the off-screen back-end check.
    provenance : dict, optional
        How the film is made (:func:`lossfilm.api.provenance`); each output carries it in its metadata,
        with the renderer's versions added.
    force : bool
        Render even a film :func:`check_film_cost` refuses (over an hour of rendering, or PNG frames
        the disk cannot hold).
    executor : dask.distributed.Client, optional
        Render the frames on this Dask cluster instead of ``workers``
        processes here (:mod:`lossfilm.render.filming.frames_cluster`); the encoding stays here.
    still : str or Path, optional
        A ``.png`` that gets the film's last frame, at the film's size, once the films are written: the
        picture :func:`render_still` makes of the same ``spec``, without rendering it again.
    still_provenance : dict, optional
        The provenance the still carries (a still's, as :func:`render_still` takes it).

    Returns
    -------
    RenderSummary, or a list of them when ``out_path`` is a list

    Examples
    --------
    >>> render_film(spec, ["media/descent.mp4", "media/descent.gif"], workers=2)  # doctest: +SKIP
    """
    paths = [out_path] if isinstance(out_path, (str, os.PathLike)) else list(out_path)
    if still is not None:
        _check_still_path(still)
    if quality not in QUALITIES:
        raise ConfigError(f"quality {quality!r} is unknown; choose one of {', '.join(QUALITIES)}")
    encoder = QUALITIES[quality]
    # Each sink checks what its format takes (suffix, size, transparency) here, before the back-end probe.
    # Supersampled frames are downscaled by ffmpeg, in its own process, not here.
    sinks = [open_sink(path, spec.size, spec.fps, crf=encoder.crf, preset=DRAFT_PRESET if draft else encoder.preset,
                       gif_width=gif_width, gif_fps=gif_fps, alpha=spec.transparent, source_size=spec.render_size)
             for path in paths]
    if opener is None:
        ensure_offscreen()
    for path, sink in zip(paths, sinks):
        sink.provenance = _provenance_text(provenance, opener, path)
    still_text = _provenance_text(still_provenance, opener, still) if still is not None else None
    last = None
    started = time.perf_counter()
    with _user_scene_errors(spec), contextlib.ExitStack() as stack:
        # Sinks first: a missing output folder fails before the (slow) film is opened. One ffmpeg feeds them all.
        outputs = stack.enter_context(SinkGroup(sinks))
        frames = stack.enter_context(render_frames(spec, workers, opener=opener) if executor is None
                                     else cluster_frames(spec, executor))
        check_film_cost(spec, len(frames), sinks, force=force)
        label = ", ".join(Path(path).name or os.fspath(path) for path in paths)
        stack.enter_context(_gc_frozen())
        for frame in _progress(frames, len(frames), label, progress):
            outputs.write(frame)
            last = frame
    seconds = time.perf_counter() - started
    if still is not None and last is not None:
        _write_png(last, spec, still, still_text)
    summaries = []
    for path, sink in zip(paths, sinks):
        kept, size, fps = sink.delivered()
        summaries.append(RenderSummary(os.fspath(path), sink.name, kept, tuple(size), fps, seconds=seconds,
                                       bytes=_disk_size(sink.path), rendered=None if kept == sink.frames else sink.frames))
    return summaries[0] if isinstance(out_path, (str, os.PathLike)) else summaries


def check_film_cost(spec, n_frames, sinks, *, force=False):
    """Refuse, in one line, a film whose frame count (``--fps`` x ``--seconds``) takes over an hour to render.

    A folder of PNG frames must also fit on its disk (about 1.5 bytes per pixel per frame).
    """
    width, height = spec.size
    # A frame costs the pixels the renderer draws; PIXEL_SECONDS is per output pixel of a frame drawn at SUPERSAMPLE,
    # so a --draft frame (drawn at 1x) costs 0.44 of a supersampled one.
    drawn_width, drawn_height = spec.render_size
    frame_seconds = drawn_width * drawn_height * PIXEL_SECONDS / SUPERSAMPLE ** 2
    frame_bytes = 1.5 * width * height if any(sink.suffix == "/" for sink in sinks) else 0.0
    disk = min((free_disk(sink.path) for sink in sinks if sink.suffix == "/"), default=None)
    check_cost("frames", n_frames, lambda n: Cost(disk=n * frame_bytes, seconds=n * frame_seconds), force=force,
               disk=disk, hint=f" (frames = --fps {spec.fps} x --seconds, at {width}x{height})")


def render_still(spec, out_path, *, frame=None, opener=None, provenance=None):
    """Render one frame of the film ``spec`` describes to the PNG ``out_path``.

    Parameters
    ----------
    spec : FilmSpec
        The film; ``spec.transparent`` gives an RGBA PNG.
    out_path : str or Path
        A ``.png`` path, written atomically.
    frame : int or None
        The frame's index (negative counts from the end); None is the final
        state, the film's last frame.
    opener : callable, optional
        As in :func:`render_film`.
    provenance : dict, optional
        As in :func:`render_film`; the PNG carries it in a ``tEXt`` chunk.

    Returns
    -------
    int
        The index of the frame written.

    Examples
    --------
    >>> render_still(spec, "media/descent.png")  # doctest: +SKIP
    119
    """
    _check_still_path(out_path)
    check_size(spec.size, even=False, option="--size")
    if opener is None:
        ensure_offscreen()
    text = _provenance_text(provenance, opener, out_path)
    opener = opener or open_film
    with _user_scene_errors(spec):
        film = opener(spec)
        try:
            n_frames = int(film.n_frames)
            index = n_frames - 1 if frame is None else int(frame)
            if not -n_frames <= index < n_frames:
                raise ConfigError(f"--frame {frame}: the film has {n_frames} frames (0 to {n_frames - 1})")
            index %= n_frames
            image = film.frame(index)
        finally:
            film.close()
    _write_png(image, spec, out_path, text)
    return index


def _check_still_path(path):
    if Path(path).suffix.lower() != ".png":
        raise ConfigError(f"{path}: a still is written as PNG; give a path ending in .png")


def _write_png(image, spec, out_path, text):
    """A rendered frame of ``spec`` as the PNG ``out_path``, at the film's size, carrying ``text`` as provenance."""
    import imageio.v3 as iio

    if spec.render_size != tuple(spec.size):
        image = _downscale(image, spec.size)
    with atomic_path(out_path) as tmp:
        iio.imwrite(tmp, image, extension=".png")
        if text:
            tmp.write_bytes(png_with_text(tmp.read_bytes(), KEYWORD, text))


@contextlib.contextmanager
def _gc_frozen():
    """The frame loop with what exists now (PyVista, VTK, the scene) out of the garbage collector's passes.

    Each frame allocates; the collections that this triggers would otherwise walk every object of the loaded
    libraries again and again (about 2% of a film's CPU time, measured by perf).
    """
    import gc

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _provenance_text(provenance, opener, output):
    """The provenance as the file ``output`` carries it, with the versions of what renders (after the back-end
    is chosen) and the landscape's path relative to the file's folder."""
    if provenance is None:
        return None
    renderer = renderer_versions() if opener is None else {"opener": getattr(opener, "__qualname__", "?")}
    return to_text(for_output(dict(provenance, renderer=renderer), output))


@contextlib.contextmanager
def _user_scene_errors(spec):
    """A user's scene file that fails while planning or drawing: one line naming its file and line.

    Only errors raised in the user's own file are turned into a ConfigError
    (``--debug`` still shows the traceback); an error inside lossfilm, or in
    a bundled scene, is a bug and keeps its traceback.
    """
    try:
        yield
    except LossfilmError:
        raise
    except (Exception, SystemExit) as exc:  # a sys.exit() in the scene file must not end lossfilm silently
        line = _line_in_scene_file(getattr(spec, "scene", None), exc)
        if line is None:
            raise
        raise ConfigError(f"scene file {spec.scene}, line {line}: fails while rendering ({raised(exc)})") from exc


def _line_in_scene_file(scene, exc):
    """The last line of the user's scene file in ``exc``'s traceback (or its render worker's), else None."""
    if not isinstance(scene, str) or not scene.endswith(".py") or not os.path.isfile(scene):
        return None  # a bundled scene (a class): its failures are lossfilm's bugs
    path = Path(scene).resolve()
    lines = [entry.lineno for entry in traceback.extract_tb(exc.__traceback__)
             if Path(entry.filename).resolve() == path]
    remote = getattr(exc.__cause__, "text", None)  # a render worker's traceback, as text
    if isinstance(remote, str):
        lines += [int(n) for n in re.findall(rf'File "{re.escape(str(path))}", line (\d+)', remote)]
        lines += [int(n) for n in re.findall(rf'File "{re.escape(scene)}", line (\d+)', remote)]
    return lines[-1] if lines else None


def _progress(frames, total, label, enabled):
    if not enabled:
        return frames
    from tqdm import tqdm

    return tqdm(frames, total=total, desc=label, unit="frame", file=sys.stderr, dynamic_ncols=True)


def _downscale(image, size):
    """A supersampled frame at ``size``, by the Lanczos filter the films' ffmpeg uses."""
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize(tuple(size), Image.LANCZOS))


def _disk_size(path):
    path = Path(path)
    if path.is_dir():
        return sum(entry.stat().st_size for entry in path.iterdir() if entry.is_file())
    return path.stat().st_size if path.exists() else 0


def _megabytes(size):
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
