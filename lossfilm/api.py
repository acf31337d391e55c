"""The Python API: a film or a still of a landscape, with the CLI's options and defaults as Python values.

``lossfilm.film`` and ``lossfilm.still`` are these two functions; ``lossfilm
render`` and ``lossfilm still`` call them too, so a notebook and the command
line make the same pictures from the same settings.

Examples
--------
>>> import lossfilm  # doctest: +SKIP
>>> land = lossfilm.Landscape.load("media/cache/landscape.npz")  # doctest: +SKIP
>>> lossfilm.film("descent", land, "descent.mp4", quality="high", theme="light")  # doctest: +SKIP
>>> lossfilm.still(land, "descent.png", size=(1920, 1080))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import warnings
from pathlib import Path

from lossfilm.format.safe_write import check_distinct, check_writable, scratch_folder
from lossfilm.format.drawable import drawing_problems
from lossfilm.format.errors import ArtifactError, ConfigError, LossfilmWarning
from lossfilm.format.landscape import Landscape, reproducible
from lossfilm.format.provenance import made_from
from lossfilm.format.declared.values import Flag, Size
from lossfilm.format.version import __version__
from lossfilm.render.filming.film import FilmSpec
from lossfilm.render.filming.deliver import render_film, render_still
from lossfilm.render.filming import options as declared
from lossfilm.render.filming.options import check_settings  # noqa: F401 (reproduce's allow-list, public here)
from lossfilm.render.filming.quality import QUALITIES, SUPERSAMPLE
from lossfilm.render.filming.sinks import FORMATS, output_format, outputs_in_words
from lossfilm.render.framework.scene_loader import USER_SCENE_PREFIX
from lossfilm.scenes import scene_class
from lossfilm.viewer.notebook import ShownStill, shown

DEFAULT_THEME = declared.THEME.default
STILL_FPS = declared.STILL_FPS.default  # the film that a still's frame number counts in


def film(scene, landscape, outputs, *, quality=declared.QUALITY.default, size=None, fps=None, seconds=None,
         theme=DEFAULT_THEME, transparent=False, log_z=False, draft=False, workers=declared.WORKERS.default,
         gif_width=declared.GIF_WIDTH_OPTION.default, gif_fps=declared.GIF_FPS_OPTION.default,
         options=None, progress=True, command=None, force=False, executor=None, still=None):
    """Render ``scene`` on ``landscape`` to one or more films from one render.

    Parameters
    ----------
    scene : str or Scene subclass
        A bundled scene's name (``"descent"``, ``"orbit"``, ``"race"``,
        ``"classic"``, ``"line"``), the path of a ``.py`` scene file, or a
        Scene subclass.
    landscape : Landscape or path-like
        A landscape, or the path of its ``.npz`` file.
    outputs : path-like or list of them
        ``.mp4``, ``.gif``, ``.mov`` (ProRes 4444), ``.webm`` (VP9), or a
        folder (a path ending in ``/``) for PNG frames. Each is written atomically.
    quality : {"low", "medium", "high", "4k"}
        Size, frame rate and encoder preset; ``size`` and ``fps`` override it.
    size : (int, int) or str, optional
        ``(width, height)`` or ``"WxH"`` in pixels.
    fps : int, optional
        Frames per second, e.g. 60 for slides (a GIF plays at most 50: its delays are whole 1/100 s).
    seconds : float, optional
        Film length (default: the scene's own).
    theme : {"dark", "light"}
    transparent : bool
        A transparent background, for a film composited over slides: only ``.mov`` (ProRes 4444 with
        alpha), ``.webm`` (VP9 with alpha) and PNG frames keep it; an MP4 or GIF output is refused.
    log_z : bool
        Log-scaled height, for needle-like minima.
    draft : bool
        A preview: no anti-aliasing (frames rendered at their size, not
        supersampled) and x264's fastest preset; 2x to 3x faster, jaggier edges.
    workers : int
        Processes to render in.
    gif_width, gif_fps : int
        A GIF output's width and frame rate (never above the film's).
    options : dict, optional
        Scene options, e.g. ``{"orbit": False, "sweep": 90}``.
    progress : bool
        A progress bar with ETA on stderr.
    command : str, optional
        The command line that asked for the film (the CLI passes it), recorded with this call's settings in
        every output's provenance (:func:`provenance`).
    force : bool
        Render even a film the size check refuses (over an hour of rendering).
    executor : dask.distributed.Client, optional
        Render the frames on this Dask cluster (``workers`` is then unused);
        each worker gets the landscape file's bytes, no shared filesystem.
    still : path-like, optional
        Also write the final state as this ``.png``, at the film's size: the picture (and provenance)
        :func:`still` makes with the same scene and settings. Where the quality's supersampling is a still's
        (``low``, ``medium``, or ``draft``), it is the film's last frame, not rendered again.

    Returns
    -------
    RenderSummary, or a list of them when ``outputs`` is a list
        Each displays its film in a notebook (a video, the GIF, the last PNG frame).
    """
    paths = _outputs(outputs)
    checked = declared.check_values(declared.FILM_OPTIONS, dict(
        quality=quality, size=size, fps=fps, seconds=seconds, theme=theme, transparent=transparent, log_z=log_z,
        draft=draft, workers=workers, gif_width=gif_width, gif_fps=gif_fps, options=options), owner="film()")
    quality, fps, seconds, workers = checked["quality"], checked["fps"], checked["seconds"], checked["workers"]
    gif_width, gif_fps = checked["gif_width"], checked["gif_fps"]
    _flags(progress=progress, force=force)
    _check_landscape(landscape)
    even = any(FORMATS[output_format(path)].even for path in paths)
    preset = QUALITIES[quality]
    size = _even(checked["size"], even) if size is not None else preset.size
    if still is not None:
        declared.STILL_PATH.but(name="still").check(still)
    stills = [] if still is None else [still]
    for path in [*paths, *stills]:
        check_writable(path)
    check_distinct([*paths, *stills], inputs=_inputs(scene, landscape))
    with _landscape_file(landscape, paths[0]) as landscape_path:
        spec = film_spec(scene, landscape_path, size=size, fps=preset.fps if fps is None else fps, seconds=seconds,
                         theme=theme, log_z=log_z, transparent=checked["transparent"],
                         supersample=1.0 if draft else preset.supersample, options=options)
        made = provenance("film", scene, landscape, landscape_path, command, recorded(
            declared.FILM_OPTIONS, checked, size=list(size), fps=spec.fps, options=dict(spec.options)))
        poster = _poster(still, spec, scene, landscape, landscape_path, command, checked)
        same = poster is not None and poster[0].render_size == spec.render_size
        summaries = shown(render_film(spec, outputs, workers=workers, progress=progress, quality=quality,
                                      draft=draft, gif_width=gif_width, gif_fps=gif_fps, provenance=made,
                                      force=force, executor=executor, still=still if same else None,
                                      still_provenance=poster[1] if same else None))
        if poster is not None and not same:
            render_still(poster[0], still, provenance=poster[1])
        return summaries


def _poster(path, spec, scene, landscape, landscape_path, command, checked):
    """For ``film(still=path)``: the still's spec and provenance, as :func:`still` makes them for the film's
    scene, size, fps, length, theme and options (None without a ``path``)."""
    if path is None:
        return None
    settings = dict(frame=None, size=spec.size, fps=spec.fps, seconds=checked["seconds"], theme=checked["theme"],
                    transparent=checked["transparent"], log_z=checked["log_z"], draft=checked["draft"],
                    options=checked["options"])
    still_checked = declared.check_values(declared.STILL_OPTIONS, settings, owner="film()")
    still_spec = dataclasses.replace(spec, supersample=1.0 if checked["draft"] else SUPERSAMPLE)
    made = provenance("still", scene, landscape, landscape_path, command, recorded(
        declared.STILL_OPTIONS, still_checked, size=list(spec.size), options=dict(spec.options)))
    return still_spec, made


def still(landscape, path, *, scene="descent", frame=None, size=declared.STILL_SIZE_OPTION.default, fps=STILL_FPS,
          seconds=None, theme=DEFAULT_THEME, transparent=False, log_z=False, draft=False, options=None,
          command=None):
    """Render one frame of ``scene`` on ``landscape`` to the PNG ``path``: the final state by default.

    Parameters
    ----------
    landscape : Landscape or path-like
    path : path-like
        A ``.png``, written atomically.
    scene : str or Scene subclass
        As in :func:`film`.
    frame : int, optional
        The frame of the film at ``fps`` and ``seconds`` (negative counts
        from the end); None is the final state.
    size : (int, int) or str
        Any size, odd sides allowed.
    transparent : bool
        An RGBA PNG with a transparent background.
    draft : bool
        No anti-aliasing (rendered at ``size``, not supersampled): faster, jaggier edges.
    theme, log_z, options, fps, seconds, command
        As in :func:`film`.

    Returns
    -------
    int
        The index of the frame written; it has the PNG's ``path`` and displays the picture in a notebook.
    """
    checked = declared.check_values(declared.STILL_OPTIONS, dict(
        frame=frame, size=size, fps=fps, seconds=seconds, theme=theme, transparent=transparent, log_z=log_z,
        draft=draft, options=options), owner="still()")
    frame, size, fps, seconds = checked["frame"], checked["size"], checked["fps"], checked["seconds"]
    declared.STILL_PATH.check(path)
    _check_landscape(landscape)
    check_writable(path)
    check_distinct([path], inputs=_inputs(scene, landscape))
    with _landscape_file(landscape, path) as landscape_path:
        spec = film_spec(scene, landscape_path, size=size, fps=fps, seconds=seconds, theme=theme, log_z=log_z,
                         transparent=transparent, supersample=1.0 if draft else SUPERSAMPLE, options=options)
        made = provenance("still", scene, landscape, landscape_path, command, recorded(
            declared.STILL_OPTIONS, checked, size=list(size), options=dict(spec.options)))
        return ShownStill(render_still(spec, path, frame=frame, provenance=made), path)


def recorded(declared_options, checked, **resolved):
    """The settings a provenance records: every declared option of the call, in order, as checked (``resolved``:
    the values the call settled, e.g. the preset's size where none was given)."""
    return {option.name: resolved.get(option.name, checked[option.name]) for option in declared_options}


def provenance(call, scene, landscape, landscape_path, command, settings):
    """How an output is made, as its file will carry it (see :mod:`lossfilm.format.provenance`).

    The render adds the renderer's versions once the off-screen back-end is
    chosen, and writes the landscape's path relative to each output's folder
    (:func:`lossfilm.format.provenance.for_output`). ``lossfilm reproduce``
    reads this back: the scene, the landscape's file and content key, and
    ``call`` (``"film"`` or ``"still"``) with every setting of it, taking
    only what :mod:`lossfilm.cli.provenance_trust` allows from a file.
    """
    land = Landscape.load(landscape_path)
    given_as_path = isinstance(landscape, (str, os.PathLike))
    return {
        "lossfilm": __version__,
        "call": call,
        "command": command,
        "scene": _scene_name(scene),
        "settings": settings,
        **made_from(land, landscape_path if given_as_path else None),
    }


def _scene_name(scene):
    """What ``reproduce`` can load the scene from again: a bundled scene's name, a scene file's absolute path."""
    if isinstance(scene, (str, os.PathLike)):
        text = os.fspath(scene)
        return os.path.abspath(text) if text.endswith(".py") else text
    module = getattr(scene, "__module__", "")
    if module.startswith("lossfilm.scenes."):
        return module.rsplit(".", 1)[1]
    if module.startswith(USER_SCENE_PREFIX):
        return os.path.abspath(inspect.getfile(scene))
    return f"{module}.{getattr(scene, '__qualname__', '?')} (a class; reproduce needs it importable)"


def film_spec(scene, landscape_path, *, size, fps, seconds=None, theme=DEFAULT_THEME, log_z=False, supersample=1.0,
              transparent=False, options=None):
    """The checked :class:`FilmSpec`: the scene resolved to its class, its options typed, the landscape read once.

    Everything a user can get wrong fails here, before the back-end probe
    and the render.
    """
    scene = scene_class(scene)
    if not Path(landscape_path).is_file():
        raise ArtifactError(f"{landscape_path}: no such landscape file; make one with `lossfilm landscape` "
                            "or run `lossfilm demo`")
    fps, seconds, theme = declared.FPS.check(fps), declared.SECONDS.check(seconds), declared.THEME.check(theme)
    options = tuple((str(key), str(value)) for key, value in (declared.SCENE_OPTIONS.check(options) or {}).items())
    scene.read_options(options)
    land = Landscape.load(landscape_path)  # a damaged or mismatched file fails now, not in a worker
    for line in drawing_problems(land, landscape_path, log_z=log_z):
        warnings.warn(line, LossfilmWarning, stacklevel=3)
    return FilmSpec(scene=_portable(scene),
                    landscape=os.fspath(landscape_path), size=tuple(size), fps=fps, seconds=seconds, theme=theme,
                    log_z=log_z, transparent=transparent, supersample=supersample, options=options)


def _portable(scene):
    """What a render worker can rebuild ``scene`` from: the class, or for a scene file's class the file's path.

    A class pickles by its module's name; a scene file's module has a made-up
    name that a fresh worker process cannot import, so its path travels instead.
    """
    if scene.__module__.startswith(USER_SCENE_PREFIX):
        return inspect.getfile(scene)
    return scene


def _inputs(scene, landscape):
    """The files a render reads: the landscape's and a scene file's (an output must be none of them)."""
    return [item for item in (scene, landscape) if isinstance(item, (str, os.PathLike))
            and (item is landscape or os.fspath(item).endswith(".py"))]


def _even(size, even):
    return Size.check_even(size, "size") if even else size


def _outputs(outputs):
    """The output paths of :func:`film`: one path, or a list of them (at least one)."""
    paths = [outputs] if isinstance(outputs, (str, os.PathLike)) else outputs
    if not isinstance(paths, (list, tuple)) or not paths:
        raise ConfigError(f"outputs {outputs!r}: expected a path or a list of paths to write: {outputs_in_words()}")
    for path in paths:
        declared.PATH_OPTION.check(path, "outputs")
    return list(paths)


def _check_landscape(landscape):
    """A landscape given as a path is checked by its declaration (a folder is refused); a Landscape, when read."""
    if isinstance(landscape, (str, os.PathLike)):
        declared.LANDSCAPE_PATH.check(landscape)


def _flags(**flags):
    for name, value in flags.items():
        Flag().check(value, name)


@contextlib.contextmanager
def _landscape_file(landscape, near):
    """The path of ``landscape``'s file: itself when given as a path, else a temporary copy beside ``near``."""
    if isinstance(landscape, (str, os.PathLike)):
        yield landscape
        return
    if not isinstance(landscape, Landscape):
        raise ConfigError(f"landscape: expected a Landscape or the path of its .npz file, "
                          f"got {type(landscape).__name__}")
    # Beside the output (or in $LOSSFILM_TMPDIR), in a private folder: never a RAM-backed system temp folder.
    with scratch_folder(near) as folder:
        path = folder / "landscape.npz"
        reproducible(landscape).save(path)
        yield path
