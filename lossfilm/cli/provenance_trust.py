"""What `lossfilm reproduce` takes from a file someone else made: the allow-list of recorded settings.

A film or still travels (talks, papers, chat), and its provenance is text
that anyone can write. It is data, never code: by default ``reproduce``
runs only a bundled scene, with the settings in :data:`SETTINGS`, each
checked by the same validators the Python API and the CLI use (and the
limits below), on a landscape inside the media file's own folder.
Anything else (a scene ``.py`` file, a setting that changes how lossfilm
runs rather than what it draws, an unknown key, a value out of range, a
landscape path that is absolute or climbs out with ``..``) is refused in one
line naming the key, before anything runs.

``--trust`` opts in to what the file names: its scene file runs (after its
resolved path and sha256 are printed) and its landscape path is followed
wherever it points. Limits on the amount of work still hold.

:data:`SETTINGS` is the one table to change when an option is added; each
entry checks a value with the validator its option already has.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lossfilm.format.declared.options import check_values
from lossfilm.format.errors import ConfigError
from lossfilm.format.provenance import printable
from lossfilm.render.elements.theme import THEMES
from lossfilm.render.filming.options import CALLS, check_settings
from lossfilm.render.filming.quality import MAX_SIDE, QUALITIES, parse_size
from lossfilm.scenes import SCENE_NAMES, scene_class
from lossfilm.viewer.page import VIEW_OPTIONS

MAX_FPS = 240  # frames per second a file may ask for
MAX_SECONDS = 3600.0  # film length a file may ask for (the render's own cost check still applies)
MAX_OPTIONS = 64  # scene options a file may set
MAX_TITLE = 200  # characters of a viewer page's title
MAX_WORKERS = os.cpu_count() or 1  # a file's `workers` is capped to this machine's cores
# Settings that decide how lossfilm runs on this machine, not what it draws: the user says them, a file never.
NEVER_FROM_A_FILE = ("force", "executor", "command", "progress")
# What a provenance holds at its top level; only `call`, `scene`, `settings` and `landscape` are acted on.
RECORD_KEYS = ("lossfilm", "call", "command", "scene", "settings", "landscape", "trajectory", "renderer")
_KEY = re.compile(r"[A-Za-z0-9_.:-]{0,64}")  # a content key: a short hex digest (or a name given in Python)


class Refused(ConfigError):
    """A provenance asks for something a file may not choose (the message names the key)."""


def _bool(key, value, scene):
    if not isinstance(value, bool):
        raise Refused(f"settings.{key} {_shown(value)}: expected true or false")
    return value


def _int(key, value, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Refused(f"settings.{key} {_shown(value)}: expected a whole number from {low} to {high}")
    return value


def _quality(key, value, scene):
    if value not in QUALITIES:
        raise Refused(f"settings.{key} {_shown(value)}: choose one of {', '.join(QUALITIES)}")
    return value


def _theme(key, value, scene):
    if value not in THEMES:
        raise Refused(f"settings.{key} {_shown(value)}: choose one of {', '.join(THEMES)}")
    return value


def _size(even):
    def check(key, value, scene):
        if not (isinstance(value, list) and len(value) == 2):
            raise Refused(f"settings.{key} {_shown(value)}: expected [width, height]")
        width, height = (_int(key, side, 1, MAX_SIDE) for side in value)
        try:
            return parse_size(f"{width}x{height}", even=even, option=f"settings.{key}")
        except ConfigError as exc:
            raise Refused(str(exc)) from None
    return check


def _fps(key, value, scene):
    return _int(key, value, 1, MAX_FPS)


def _seconds(key, value, scene):
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= MAX_SECONDS:
        raise Refused(f"settings.{key} {_shown(value)}: expected seconds above 0, at most {MAX_SECONDS:g}")
    return float(value)


def _workers(key, value, scene):
    return min(_int(key, value, 1, 1 << 16), MAX_WORKERS)  # capped: a file never asks for more than the cores


def _gif_side(key, value, scene):
    return None if value is None else _int(key, value, 1, MAX_SIDE)


def _gif_fps(key, value, scene):
    return None if value is None else _int(key, value, 1, MAX_FPS)


def _frame(key, value, scene):
    return None if value is None else _int(key, value, -(1 << 31), (1 << 31) - 1)


def _title(key, value, scene):
    if value is not None and not (isinstance(value, str) and len(value) <= MAX_TITLE):
        raise Refused(f"settings.{key} {_shown(value)}: expected a title of at most {MAX_TITLE} characters")
    return value


def _options(key, value, scene):
    if not isinstance(value, dict) or len(value) > MAX_OPTIONS:
        raise Refused(f"settings.{key}: expected at most {MAX_OPTIONS} scene options as {{name: value}}")
    if not all(isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in value.items()):
        raise Refused(f"settings.{key}: each scene option is a name and a plain value")
    if scene.endswith(".py"):
        return dict(value)  # a trusted scene file: its own checks run when it is loaded, after its hash is shown
    try:
        scene_class(scene).read_options(tuple((k, str(v)) for k, v in value.items()))  # the scene's own checks
    except ConfigError as exc:
        raise Refused(f"settings.{key}: {exc}") from None
    return dict(value)


# The allow-list: for each call, the settings a file may set and the check each value passes.
SETTINGS = {
    "film": {"quality": _quality, "size": _size(even=True), "fps": _fps, "seconds": _seconds, "theme": _theme,
             "transparent": _bool, "log_z": _bool, "draft": _bool, "workers": _workers, "gif_width": _gif_side, "gif_fps": _gif_fps,
             "options": _options},
    "still": {"frame": _frame, "size": _size(even=False), "fps": _fps, "seconds": _seconds, "theme": _theme,
              "transparent": _bool, "log_z": _bool, "draft": _bool, "options": _options},
    "view": {"theme": _theme, "log_z": _bool, "title": _title},  # a viewer page draws no scene
}


@dataclass
class Reproduction:
    """What ``reproduce`` will run: all checked, all chosen by lossfilm or the user, none by the file."""

    call: str  # "film", "still" or "view"
    scene: str | None  # a bundled scene's name, or (trusted) a scene file's resolved path; None for "view"
    settings: dict
    landscape: Path
    key: str  # the landscape's content key the output was drawn from
    code: list = field(default_factory=list)  # (path, sha256) of every file of code it runs


def plan(made, media, *, landscape=None, trust=False):
    """Check the provenance ``made`` of the file ``media``; the :class:`Reproduction` it allows.

    Parameters
    ----------
    made : dict
        The provenance, as read from the file.
    media : path-like
        The file it was read from; a recorded landscape path is looked up
        relative to its folder.
    landscape : path-like, optional
        The landscape to use, given by the user (``--landscape``); the
        recorded path is then not used.
    trust : bool
        Run a scene file the provenance names, and follow an absolute or
        ``..`` landscape path.

    Raises
    ------
    Refused
        One line naming the key, before anything runs.
    """
    for key in made:
        if key not in RECORD_KEYS:
            raise Refused(f"provenance key {_shown(key)} is unknown; reproduce knows {', '.join(RECORD_KEYS)}")
    call = made.get("call")
    if call not in SETTINGS:
        raise Refused(f"provenance call {_shown(call)}: reproduce knows " + ", ".join(map(repr, SETTINGS)))
    if call == "view":
        if made.get("scene") is not None:
            raise Refused(f"provenance scene {_shown(made.get('scene'))}: a viewer page has none")
        scene, code = None, []
    else:
        scene, code = _scene(made.get("scene"), trust)
    settings = made.get("settings", {})
    if not isinstance(settings, dict):
        raise Refused("provenance settings: expected {name: value}")
    for key in NEVER_FROM_A_FILE:
        if key in settings:
            raise Refused(f"settings.{key}: a file cannot set {key}; it is the user's to give")
    allowed, checked = SETTINGS[call], {}
    for key, value in settings.items():
        if key not in allowed:
            raise Refused(f"settings.{_shown(key)} is not a setting of lossfilm.{call} that a file may give")
        checked[key] = allowed[key](key, value, scene)
    try:  # and then as the call itself checks them: the options' declarations
        if call in CALLS:
            checked = check_settings(call, checked)
        else:
            checked = check_values(VIEW_OPTIONS, checked, owner="lossfilm.view()")
    except ConfigError as exc:
        raise Refused(f"settings: {printable(str(exc))}") from None
    land = made.get("landscape")
    if not isinstance(land, dict):
        raise Refused("provenance landscape: expected {path, key, ...}")
    key = land.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise Refused(f"landscape.key {_shown(key)}: expected a content key (up to 64 letters and digits)")
    path = Path(landscape) if landscape is not None else _landscape_path(land.get("path"), Path(media), trust)
    return Reproduction(call=call, scene=scene, settings=checked, landscape=path, key=key, code=code)


def _scene(scene, trust):
    if not isinstance(scene, str):
        raise Refused(f"provenance scene {_shown(scene)}: expected a scene's name")
    if scene in SCENE_NAMES:
        return scene, []
    if not scene.endswith(".py"):
        raise Refused(f"scene {_shown(scene)} is not a bundled scene ({', '.join(SCENE_NAMES)})")
    if not trust:
        raise Refused(f"scene {_shown(scene)} is a file of code; reproduce runs it only with --trust "
                      "(read it first)")
    path = Path(scene).resolve()
    if not path.is_file():
        raise Refused(f"scene {_shown(scene)}: no such file")
    return str(path), [(path, hashlib.sha256(path.read_bytes()).hexdigest())]


def _landscape_path(recorded, media, trust):
    if not isinstance(recorded, str) or not recorded:
        raise Refused("landscape.path: none recorded (the landscape was given in memory); give --landscape")
    relative = PurePosixPath(recorded)
    outside = relative.is_absolute() or ".." in relative.parts or Path(recorded).is_absolute()
    if outside and not trust:
        where = "an absolute path" if relative.is_absolute() else "outside the file's folder"
        raise Refused(f"landscape.path {_shown(recorded)} is {where}; give --landscape PATH, or --trust "
                      "to follow it")
    return media.resolve().parent / recorded


def _shown(value):
    """A value from the file as a message may show it: escaped, and short."""
    text = printable(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."
