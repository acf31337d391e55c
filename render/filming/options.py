"""The options of a film and a still, declared once (:mod:`lossfilm.format.declared.options`).

``lossfilm render`` and ``lossfilm still`` build their arguments from these,
:func:`lossfilm.film` and :func:`lossfilm.still` check their keywords with
them, and the settings an output's provenance records are exactly
:data:`FILM_OPTIONS` (or :data:`STILL_OPTIONS`), which ``lossfilm reproduce``
checks a file's settings against (:func:`check_settings`).

Examples
--------
>>> [option.name for option in FILM_OPTIONS][:4]
['quality', 'size', 'fps', 'seconds']
>>> check_settings("still", {"size": [64, 48], "fps": 30.0})
Traceback (most recent call last):
...
lossfilm.format.errors.ConfigError: fps 30.0: expected a whole number of frames per second from 1 to 240
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from lossfilm.format.errors import ConfigError
from lossfilm.format.declared.options import Option, check_values
from lossfilm.format.declared.values import MAX_FPS, MAX_SECONDS, MAX_SIDE, MIN_SIDE, Choice, Count, Duration, Flag, Kind, \
    Many, Path, Rate, Size, refuse
from lossfilm.render.elements.theme import THEMES
from lossfilm.render.filming.quality import DEFAULT_QUALITY, GIF_FPS, GIF_MAX_FPS, GIF_WIDTH, QUALITIES, STILL_SIZE

MAX_WORKERS = 256  # render processes: more than any machine's cores
MAX_FRAME = int(MAX_FPS * MAX_SECONDS)  # the last frame of the longest film


class SceneOptions(Kind):
    """Scene options from Python: a dict of names to text, bool or finite numbers (each scene types its own)."""

    def describe(self):
        return "a dict of scene options, e.g. {'camera': 'top', 'orbit': False}"

    def check(self, value, label):
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise refuse(label, value, self.describe())
        for key, item in value.items():
            plain = isinstance(item, (str, bool)) or (isinstance(item, numbers.Real) and math.isfinite(item))
            if not isinstance(key, str) or not key.strip() or not plain:
                raise refuse(label, dict(value), self.describe())
        return dict(value)


PRESETS = ", ".join(f"{q.name} {q.width}x{q.height}@{q.fps}" for q in QUALITIES.values())

QUALITY = Option("quality", Choice(tuple(QUALITIES)), DEFAULT_QUALITY,
                 f"size, frame rate and encoder quality preset ({PRESETS})")
SIZE = Option("size", Size(), None, "frame size in pixels (default: from --quality)", optional=True, metavar="WxH")
FPS = Option("fps", Rate(), None, "frames per second (default: from --quality)", optional=True)
SECONDS = Option("seconds", Duration(), None, "film length (default: the scene's own)", optional=True)
THEME = Option("theme", Choice(tuple(THEMES)), "dark", "colours and lights")
LOG_Z = Option("log_z", Flag(), False, "log-scaled height, for needle-like minima")
DRAFT = Option("draft", Flag(), False, "a quick preview: no anti-aliasing and the fastest encoder setting "
                                       "(2x to 3x faster, jaggier edges)")
WORKERS = Option("workers", Count(1, MAX_WORKERS), 1, "render in N processes; helps only with idle cores "
                                                      "(the software renderer already uses two)", metavar="N")
GIF_WIDTH_OPTION = Option("gif_width", Count(MIN_SIDE, MAX_SIDE, "of pixels"), GIF_WIDTH,
                          "width of a GIF output (never above the film's; None in Python: the film's)", metavar="PX",
                          optional=True)
GIF_FPS_OPTION = Option("gif_fps", Rate(GIF_MAX_FPS), GIF_FPS,
                        "frame rate of a GIF output (never above the film's; a GIF's delays are whole 1/100 s, so at "
                        "most 50; None in Python: the film's rate, up to 50)", optional=True)
SCENE_OPTIONS = Option("options", SceneOptions(), None, "scene options (lossfilm scenes lists each scene's)",
                       optional=True)
FRAME = Option("frame", Count(-MAX_FRAME, MAX_FRAME), None,
               "the frame of the film at --fps and --seconds (negative counts from the end; default: the final "
               "state)", optional=True, metavar="N")
STILL_SIZE_OPTION = SIZE.but(default=STILL_SIZE, optional=False, help="image size in pixels; odd sides allowed")
STILL_FPS = FPS.but(default=QUALITIES["high"].fps, optional=False, help="frame rate of the film that --frame counts in")
STILL_SECONDS = SECONDS.but(help="film length for --frame (default: the scene's own)")
PATH_OPTION = Option("output", Path("a film to write (its suffix says the format) or a folder for PNG frames"), None,
                     "the file or folder to write", metavar="PATH")
# The files a film or a still reads and writes (the command line's --landscape and -o; the calls' landscape, outputs
# and path). A missing landscape is said where it is read, with what makes one.
LANDSCAPE_PATH = Option("landscape", Path("a landscape .npz file to read", role="read"), None,
                        "landscape file made by `lossfilm landscape` or `lossfilm demo`", metavar="NPZ")
FILM_OUTPUTS = Option("output", Many(PATH_OPTION.kind, 1, 64, repeated=True), None,
                      "the film to write; repeat it to write several from one render", optional=True, cli="-o",
                      metavar="PATH")
STILL_PATH = Option("path", Path("a .png file to write (a still is written as PNG)", role="write", suffixes=(".png",),
                                    example="still.png"), None,
                    "the PNG to write", metavar="PNG")
TRANSPARENT = Option("transparent", Flag(), False, "transparent background (RGBA PNG)")
FILM_TRANSPARENT = TRANSPARENT.but(help="transparent background, for slides: .mov (ProRes 4444), .webm (VP9) and "
                                        "PNG frames keep it; an MP4 or GIF output is refused")

# What a film and a still are made with: their keywords, and the settings their provenance records.
FILM_OPTIONS = (QUALITY, SIZE, FPS, SECONDS, THEME, FILM_TRANSPARENT, LOG_Z, DRAFT, WORKERS, GIF_WIDTH_OPTION,
                GIF_FPS_OPTION, SCENE_OPTIONS)
STILL_OPTIONS = (FRAME, STILL_SIZE_OPTION, STILL_FPS, STILL_SECONDS, THEME, TRANSPARENT, LOG_Z, DRAFT, SCENE_OPTIONS)
CALLS = {"film": FILM_OPTIONS, "still": STILL_OPTIONS}


def check_settings(call, settings):
    """A file's recorded settings of ``call`` (``"film"`` or ``"still"``), each key checked against its declaration.

    This is ``reproduce``'s allow-list: a key no option declares, or a value
    the option does not take, is a ConfigError naming it, before anything is
    rendered. Sizes come back as tuples; everything else as checked.

    Parameters
    ----------
    call : str
        ``"film"`` or ``"still"``, as the provenance's ``call`` says.
    settings : dict
        The provenance's ``settings``, as read from the file (JSON: lists, not tuples).

    Returns
    -------
    dict
        The checked settings, ready to pass to :func:`lossfilm.film` or :func:`lossfilm.still`.
    """
    if call not in CALLS:
        raise ConfigError(f"provenance call {call!r}: reproduce knows {' and '.join(map(repr, CALLS))}")
    if not isinstance(settings, Mapping):
        raise ConfigError(f"provenance settings {type(settings).__name__}: expected a dict of {call} settings")
    return check_values(CALLS[call], dict(settings), owner=f"lossfilm.{call}()")
