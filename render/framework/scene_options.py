"""Scene options, declared once: what ``--option key=value`` a scene takes, its type, range and default.

A scene's ``options`` maps each name to an :class:`~lossfilm.format.declared.options.Option`
(the options several scenes share are declared here, and a scene gives its
own default with ``SWEEP.but(default=40.0)``) or, in a user's scene file, to
a plain default whose type is the option's type. :func:`parse_options` reads
the text of ``--option`` against those declarations: an impossible value
(NaN, inf, a negative duration, a pause of a year, an unknown choice) is one
ConfigError line before anything is drawn, never a failure in the animation.

Examples
--------
>>> parse_options({"orbit": True, "hold": 1.5}, {"orbit": "false"})
{'orbit': False, 'hold': 1.5}
>>> parse_options({"hold": HOLD}, {"hold": "nan"})
Traceback (most recent call last):
...
lossfilm.format.errors.ConfigError: option hold=nan: expected a number of seconds from 0 to 86400
"""

from __future__ import annotations

from lossfilm.format.errors import ConfigError
from lossfilm.format.declared.options import Option, from_default
from lossfilm.format.declared.values import Choice, Duration, Flag, Number, Text
from lossfilm.render.elements.camera import PRESETS
from lossfilm.render.framework.animation import CLOCKS
from lossfilm.render.framework.easing import EASING_NAMES

MAX_DEGREES = 3600.0  # ten turns of the camera: more is a blur, not a film
MAX_SMOOTH = 10000.0  # snapshots a path is smoothed over: more than any path keeps (--max-path)

# Every scene takes these (BASE_OPTIONS).
CAMERA = Option("camera", Choice(tuple(PRESETS)), "three-quarter", "the camera's starting view")
ORBIT = Option("orbit", Flag(), True, "turn the camera slowly during the film (false: it stays put)")
FLOOR = Option("floor", Flag(), True, "a contour floor under the surface")
TITLE = Option("title", Text(120), "", "the title ('': from the run's settings; 'none': no title)")
# Shared by several scenes, each with its own default.
INTRO = Option("intro", Duration(above=False), 0.5, "seconds before the ball moves")
HOLD = Option("hold", Duration(above=False), 1.6, "seconds of pause at the end")
RUN = Option("run", Duration(), 5.0, "seconds the path takes")
SWEEP = Option("sweep", Number(-MAX_DEGREES, MAX_DEGREES, unit="degrees"), 36.0,
               "degrees the camera turns over the whole film (with orbit)")
EASING = Option("easing", Choice(EASING_NAMES), "ease-in-out",
                "how the ball's speed changes ('steps': follow the optimizer's step count)")
FADE = Option("fade", Flag(), False, "fade the old part of the trail")
SMOOTH = Option("smooth", Number(0.0, MAX_SMOOTH, unit="snapshots"), 0.0,
                "smooth a noisy path over this many snapshots (0: exact)")
CLOCK = Option("clock", Choice(CLOCKS), "sqrt", "how the race's time runs through the optimizer steps")

BASE_OPTIONS = {option.name: option for option in (CAMERA, ORBIT, FLOOR, TITLE)}


def declarations(options):
    """``{name: Option}`` for a scene's ``options``, whether each is declared or a plain default."""
    return {name: from_default(name, value) for name, value in options.items()}


def parse_options(defaults, raw, owner="scene"):
    """Typed option values: ``raw`` text read by each option's declaration.

    Parameters
    ----------
    defaults : dict
        Every option the ``owner`` takes: its :class:`Option`, or (a user's
        scene file) its default, whose type (bool, int, float or str) is the
        option's type.
    raw : dict
        The options given, as text (or, from Python, as values).
    owner : str
        Who takes the options, for error messages.

    Raises
    ------
    ConfigError
        An unknown option (the message lists the known ones) or a value the
        option does not take (the message says what it takes).

    Examples
    --------
    >>> parse_options({"n": 3, "camera": "top"}, {"n": "7"})
    {'n': 7, 'camera': 'top'}
    """
    declared = declarations(defaults)
    values = {name: option.default for name, option in declared.items()}
    for key, text in raw.items():
        if key not in declared:
            raise ConfigError(f"option {key!r} is unknown to {owner}; it takes {', '.join(sorted(declared))}")
        option = declared[key]
        if isinstance(option.kind, Text):
            values[key] = option.check(str(text).strip(), f"option {key}=")
        else:
            values[key] = option.read(str(text).strip(), f"option {key}=")
    return values
