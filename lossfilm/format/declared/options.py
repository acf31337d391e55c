"""Options declared once: name, kind of value (type, range or choices, unit), default and help.

An :class:`Option` is the one place an option's facts live. The command
line's argparse arguments (:func:`add_argument`), the Python API's checks
(:func:`check_values`), the provenance a film records and ``reproduce``
reads back (:func:`check_settings`), the README's tables and the fuzz
tests' strategies are all made from these declarations. Each table of
options sits beside the facts it draws on (the optimizers, the planes, the
quality presets, a scene's choreography), at the lowest layer that knows
them; this module is the mechanism they share.

Examples
--------
>>> from lossfilm.format.declared.values import Count
>>> WORKERS = Option("workers", Count(1, 64), 1, "render in N processes", metavar="N")
>>> WORKERS.check(2), WORKERS.flag
(2, '--workers')
>>> WORKERS.check(0)
Traceback (most recent call last):
...
lossfilm.format.errors.ConfigError: workers 0: expected a whole number from 1 to 64
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from lossfilm.format.errors import ConfigError
from lossfilm.format.declared.values import Choice, Count, Flag, Kind, Many, Number, Numbers, Pairs, Text


@dataclass(frozen=True)
class Option:
    """One option of a command, an API function or a scene.

    Parameters
    ----------
    name : str
        The Python keyword (``gif_width``); the command line's flag is
        :attr:`flag` (``--gif-width``), a scene's ``--option`` key is the name.
    kind : lossfilm.format.declared.values.Kind
        The type and the range or choices, with their unit.
    default : object
        The value when not given; ``None`` means "not given" where
        :attr:`optional` (the help says what then happens).
    help : str
        One line for ``--help``; what the option takes is added from ``kind``.
    optional : bool
        ``None`` is a valid value (e.g. ``seconds=None``: the scene's own length).
    metavar : str or tuple of str
        The command line's placeholder.
    """

    name: str
    kind: Kind
    default: object
    help: str
    optional: bool = False
    metavar: str | tuple[str, ...] | None = None  # a tuple: one name per value of an nargs option
    cli: str = ""  # the flag where it is not the name's (--directions for directions_kind); no "-": a positional

    @property
    def flag(self):
        """The command-line flag, ``--gif-width`` for ``gif_width`` (a positional's name, ``trajectory``)."""
        return self.cli or "--" + self.name.replace("_", "-")

    @property
    def positional(self):
        """Given by position on the command line, not after a flag (``lossfilm landscape TRAJECTORY``)."""
        return not self.flag.startswith("-")

    @property
    def repeated(self):
        """The command line repeats the flag for more values (``--lr a=1 --lr b=2``, ``-o a.mp4 -o a.gif``)."""
        return isinstance(self.kind, Pairs) or (isinstance(self.kind, Many) and self.kind.repeated)

    def check(self, value, label=None):
        """``value`` checked by type and range; ConfigError naming ``label`` (default: the name) if not."""
        if value is None and self.optional:
            return None
        return self.kind.check(value, label or self.name)

    def read(self, text, label=None):
        """The command line's (or a scene option's) text, read as this option's type and checked.

        Where None is a value (``optional``), ``auto`` is its text: ``--lr auto``.
        """
        if self.optional and (text is None or str(text).strip().lower() == "auto"):
            return None
        return self.kind.read(text, label or self.flag)

    def but(self, **changes):
        """The same declaration with some fields changed: a scene's own default of a shared option."""
        return replace(self, **changes)

    def takes(self):
        """What it takes, in the help's words: ``a whole number from 1 to 64``, ``one of dark, light``."""
        return self.kind.describe()


def add_argument(parser, option, *, flags=None, dest=None, **overrides):
    """``parser.add_argument`` for ``option``: its flag, default, choices, metavar and help, from the declaration.

    The value is read with :meth:`Option.read` after parsing (:func:`read_args`),
    not by argparse's ``type=``, so that a bad value is the one ConfigError line
    every user error is. A :class:`~lossfilm.format.declared.values.Flag` becomes a
    ``store_true`` switch.
    """
    help_text = option.help.replace("%", "%%")  # argparse formats help with %: "x % y" in a formula's grammar
    if isinstance(option.kind, Flag):
        kwargs = dict(action="store_true", help=help_text + "%(default).0s")
    else:
        takes = option.takes().replace("%", "%%")
        default = option.default
        separator = " " if isinstance(overrides.get("nargs"), int) else ","  # nargs=2: --names A B
        said = "" if default is None or default == {} else f"; default: {shown(default, separator)}"
        kwargs = dict(default=default, metavar=option.metavar or _metavar(option),
                      help=f"{help_text} ({takes}{said})%(default).0s")
        if isinstance(option.kind, Choice):
            kwargs.update(choices=None, metavar=option.metavar or "{" + ",".join(option.kind.choices) + "}")
        if option.repeated:  # each use adds one text; read_args reads the list (a dict's default: none given)
            kwargs.update(action="append", default=[] if isinstance(default, dict) else default)
        if option.positional and option.optional:
            kwargs.update(nargs="?")
    kwargs.update(overrides)
    if option.positional and not flags:
        return parser.add_argument(option.flag, **kwargs)  # argparse names a positional's dest by itself
    return parser.add_argument(*(flags or (option.flag,)), dest=dest or option.name, **kwargs)


def read_args(args, declared, *, labels=None):
    """Every declared option's value in the parsed ``args``, read from its text and checked, in place.

    Values that are not text (the declaration's default, a flag's bool) are
    checked as Python values. The first bad one raises ConfigError naming the flag.
    """
    for option in declared:
        if not hasattr(args, option.name):
            continue
        label = (labels or {}).get(option.name, option.flag)
        value = getattr(args, option.name)
        if isinstance(value, str) and isinstance(option.kind, Text):
            value = option.kind.read(value, label)  # text as it is: "auto" is a name, not "not given"
        elif isinstance(value, str):
            value = option.read(value, label)
        elif isinstance(value, list) and (option.repeated or isinstance(option.kind, Numbers)):
            value = option.read(value, label)  # argparse's texts, one per use of the flag or per nargs
        elif isinstance(value, list) and not isinstance(option.kind, Text):
            value = option.check(tuple(value), label)
        else:
            value = option.check(value, label)
        setattr(args, option.name, value)
    return args


def check_values(declared, values, *, owner):
    """``values`` (a dict from Python) checked against ``declared``: unknown names and bad values are ConfigError.

    Returns the checked values (whole numbers as int, reals as float).
    """
    by_name = {option.name: option for option in declared}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ConfigError(f"{owner} has no option {', '.join(map(repr, unknown))}; it takes "
                          f"{', '.join(by_name)}")
    return {name: by_name[name].check(value) for name, value in values.items()}


def defaults(declared):
    """``{name: default}`` of a table of options."""
    return {option.name: option.default for option in declared}


def from_default(name, default):
    """The declaration a plain default implies (a user's scene writes ``options = {"turn": 90.0}``).

    bool: true or false; int: a whole number; float: a finite number; str: a
    line of text. NaN, inf and numbers beyond 1e15 are refused either way.
    """
    if isinstance(default, Option):
        return default.but(name=name)
    if isinstance(default, bool):
        kind = Flag()
    elif isinstance(default, int):
        kind = Count(-2 ** 53, 2 ** 53)
    elif isinstance(default, float):
        kind = Number()
    else:
        kind = Text()
    return Option(name, kind, default, "")


def shown(value, separator=","):
    """A default as ``--help`` and ``lossfilm scenes`` show it: true/false, 1.5, 128,64, ''.

    ``separator`` joins the values of a tuple: a comma list (``--hidden 128,64``), or a space (``--names A B``).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return separator.join(map(str, value)) if value else "none"
    if isinstance(value, dict):
        return " ".join(f"{key}={item}" for key, item in value.items()) if value else "none"
    return str(value) if value != "" else "''"


def _metavar(option):
    return {"Count": "N", "Number": "X", "Rate": "FPS", "Size": "WxH", "Path": "PATH"}.get(
        type(option.kind).__name__, option.name.upper())

