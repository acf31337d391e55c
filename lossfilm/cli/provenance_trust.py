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

:data:`SETTINGS` is built from the calls' declared options: a new option is
allowed, and checked by its declaration, without a change here. A file is
held to more only where :data:`_FOR_A_FILE` says (the work it may ask for).
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
from lossfilm.render.filming.options import CALLS, WORKERS, check_settings
from lossfilm.scenes import SCENE_NAMES, scene_class
from lossfilm.viewer.page import VIEW_OPTIONS

MAX_FPS = 240  # frames per second a file may ask for
MAX_SECONDS = 3600.0  # film length a file may ask for (the render's own cost check still applies)
MAX_OPTIONS = 64  # scene options a file may set
MAX_WORKERS = os.cpu_count() or 1  # a file's `workers` is capped to this machine's cores
# Settings that decide how lossfilm runs on this machine, not what it draws: the user says them, a file never.
NEVER_FROM_A_FILE = ("force", "executor", "command", "progress")
# What a provenance holds at its top level; only `call`, `scene`, `settings` and `landscape` are acted on.
RECORD_KEYS = ("lossfilm", "call", "command", "scene", "settings", "landscape", "trajectory", "renderer")
_KEY = re.compile(r"[A-Za-z0-9_.:-]{0,64}")  # a content key: a short hex digest (or a name given in Python)


class Refused(ConfigError):
    """A provenance asks for something a file may not choose (the message names the key)."""


def _declared(option):
    """A file's value of ``option``: checked by the option's own declaration (its kind's type, range and wording)."""
    def check(key, value, scene):
        try:
            return option.check(value, f"settings.{key}")
        except ConfigError as exc:
            raise Refused(printable(str(exc))) from None
    return check


def _within(option, most):
    """As :func:`_declared`, with a file's lower limit ``most`` on top of the option's own."""
    check_declared = _declared(option)

    def check(key, value, scene):
        value = check_declared(key, value, scene)
        if value is not None and value > most:
            raise Refused(f"settings.{key} {_shown(value)}: a file may ask for at most {most:g}")
        return value
    return check


def _workers(key, value, scene):
    return min(_declared(WORKERS)(key, value, scene), MAX_WORKERS)  # capped: a file never asks for more than the cores


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


# Where a file is held to more than the option's declaration: the amount of work it may ask for, and the scene
# options, which the scene named in the same file declares.
_FOR_A_FILE = {"seconds": lambda option: _within(option, MAX_SECONDS), "fps": lambda option: _within(option, MAX_FPS),
               "workers": lambda option: _workers, "options": lambda option: _options}


def _allowed(options):
    """For each declared option a file may set, the check its value passes."""
    return {option.name: _FOR_A_FILE.get(option.name, _declared)(option) for option in options
            if option.name not in NEVER_FROM_A_FILE}


# The allow-list: for each call, the settings a file may set (its declared options) and the check each value passes.
SETTINGS = {call: _allowed(options) for call, options in (*CALLS.items(), ("view", VIEW_OPTIONS))}


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
