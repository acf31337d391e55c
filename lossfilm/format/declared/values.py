"""The kinds of value an option can take, each with one check, one limit and one wording.

Every option of every command, API function and scene (:mod:`lossfilm.format.declared.options`)
is one of these kinds. A kind checks a Python value by type as well as range
(:meth:`Kind.check`: ``fps=30.0`` is not a whole number, ``True`` is not a
number, ``"2"`` is not a duration) and reads the command line's text
(:meth:`Kind.read`). Whatever is wrong, the message is one sentence,
``NAME VALUE: expected WHAT``, where WHAT is :meth:`Kind.describe`, the same
words ``--help`` shows.

Examples
--------
>>> Count(1, 64).check(4, "workers")
4
>>> Count(1, 64).check(2.0, "workers")
Traceback (most recent call last):
...
lossfilm.format.errors.ConfigError: workers 2.0: expected a whole number from 1 to 64
>>> Duration().read("2.5", "--seconds")
2.5
"""

from __future__ import annotations

import ast
import math
import numbers
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from lossfilm.format.errors import ConfigError

MAX_SIDE = 8192  # pixels per side of a film or a still: beyond it VTK and the encoders fail or run out of memory
MIN_SIDE = 16  # pixels per side: below it the text and the encoder's macroblocks do not fit
MAX_FPS = 240  # frames per second: above it no player shows the frames
MAX_SECONDS = 86400.0  # one day: the longest film or pause anyone means; longer is a typo
MAX_WHOLE = 2 ** 53  # the largest whole number an option takes where it names no smaller limit (float's exact range)
MAX_NUMBER = 1e15  # the largest magnitude a real-valued option takes where it names no smaller limit

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def refuse(label, value, what, *, as_typed=False, because="", longest=60):
    """The one wording of every refused value: ``ConfigError("LABEL VALUE: expected WHAT")``.

    ``as_typed``: ``value`` is the command line's text, shown as typed after a
    flag (``--fps 29.97``); anything else is shown as Python shows it
    (``fps '30'``), so that a string is never mistaken for a number.
    ``because``: what is wrong, where "expected WHAT" alone would not show it
    (``; it is a folder``, ``; the name 'os' is not allowed``). ``longest``:
    the characters of the value shown (a path is shown whole, up to 400).
    """
    plain = isinstance(value, str) and value.isprintable() and value.strip() == value and value
    shown = value if as_typed and plain and label.startswith("-") else repr(value)
    if len(shown) > longest:
        shown = shown[:longest - 3] + "..."
    space = "" if label.endswith("=") else " "  # a scene's "option hold=" is followed by the value itself
    return ConfigError(f"{label}{space}{shown}: expected {what}" + (f"; {because}" if because else ""))


def _number_text(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


class Kind:
    """A kind of value: how to check it from Python, read it from text, and say what it takes."""

    def describe(self):
        """What it takes, in words (completes ``expected ...``)."""
        raise NotImplementedError

    def check(self, value, label):
        """``value`` (a Python value) as the option's type; ConfigError ``LABEL VALUE: expected ...`` if not."""
        raise NotImplementedError

    def read(self, text, label):
        """The command line's ``text`` as the option's type, then checked."""
        return self.check(text, label)


def _typed_whole(text, kind, label):
    """Command-line ``text`` as an int, or the kind's one-line refusal naming what was typed."""
    try:
        return int(str(text).strip())
    except ValueError:
        raise refuse(label, text, kind.describe(), as_typed=True) from None


@dataclass(frozen=True)
class Count(Kind):
    """A whole number from ``low`` to ``high`` (counts, indices, seeds); bool and 2.0 are not whole numbers."""

    low: int = 0
    high: int = MAX_WHOLE
    unit: str = ""
    skip: tuple = ()  # values inside the range it does not take (a line of 1 point), said in ``what``
    what: str = ""  # the description, where the range alone does not say it

    def describe(self):
        if self.what:
            return self.what
        unit = f" {self.unit}" if self.unit else ""
        if self.high >= MAX_WHOLE:
            return f"a whole number{unit} of at least {self.low}"
        return f"a whole number{unit} from {self.low} to {self.high}"

    def check(self, value, label):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise refuse(label, value, self.describe())
        if not self.low <= value <= self.high or value in self.skip:
            raise refuse(label, value, self.describe())
        return int(value)

    def read(self, text, label):
        return self.check(_typed_whole(text, self, label), label)


@dataclass(frozen=True)
class Number(Kind):
    """A finite real number in a range; ``above``/``below`` make an end open (``0 < lr``)."""

    low: float = -MAX_NUMBER
    high: float = MAX_NUMBER
    above: bool = False  # low itself is refused
    below: bool = False  # high itself is refused
    unit: str = ""

    def describe(self):
        unit = f" of {self.unit}" if self.unit else ""
        low, high = _number_text(self.low), _number_text(self.high)
        if self.low <= -MAX_NUMBER and self.high >= MAX_NUMBER:
            return f"a finite number{unit}"
        if self.high >= MAX_NUMBER:
            return f"a number{unit} {'above' if self.above else 'of at least'} {low}"
        start = f"above {low}" if self.above else f"from {low}"
        end = f"below {high}" if self.below else f"at most {high}" if self.above else f"to {high}"
        return f"a number{unit} {start} and {end}" if self.above or self.below else f"a number{unit} {start} {end}"

    def check(self, value, label):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise refuse(label, value, self.describe())
        value = float(value)
        inside = (math.isfinite(value) and (self.low < value if self.above else self.low <= value)
                  and (value < self.high if self.below else value <= self.high))
        if not inside:
            raise refuse(label, value, self.describe())
        return value

    def read(self, text, label):
        try:
            value = float(str(text).strip())
        except ValueError:
            raise refuse(label, text, self.describe(), as_typed=True) from None
        return self.check(value, label)


def Duration(low=0.0, *, above=True):
    """Seconds: a film's length (above 0) or a pause (from 0), never above one day."""
    return Number(low, MAX_SECONDS, above=above, unit="seconds")


@dataclass(frozen=True)
class Rate(Kind):
    """Frames per second: a whole number from 1 to ``maximum`` (:data:`MAX_FPS`; a GIF's is lower)."""

    maximum: int = MAX_FPS

    def describe(self):
        return f"a whole number of frames per second from 1 to {self.maximum}"

    def check(self, value, label):
        if not _whole(value) or not 1 <= value <= self.maximum:
            raise refuse(label, value, self.describe())
        return int(value)

    def read(self, text, label):
        return self.check(_typed_whole(text, self, label), label)


@dataclass(frozen=True)
class Choice(Kind):
    """One of a few names; the command line's text may differ in case."""

    choices: tuple

    def describe(self):
        return "one of " + ", ".join(map(str, self.choices))

    def check(self, value, label):
        if not isinstance(value, str) or value not in self.choices:
            raise refuse(label, value, self.describe())
        return value

    def read(self, text, label):
        lowered = str(text).strip().lower()
        by_case = {str(c).lower(): c for c in self.choices}
        if lowered not in by_case:
            raise refuse(label, text, self.describe(), as_typed=True)
        return by_case[lowered]


@dataclass(frozen=True)
class Flag(Kind):
    """True or False (not 1 or 0, from Python); on the command line true/false, yes/no, on/off or 1/0."""

    def describe(self):
        return "true or false"

    def check(self, value, label):
        if not isinstance(value, bool):
            raise refuse(label, value, self.describe())
        return value

    def read(self, text, label):
        lowered = str(text).strip().lower()
        if lowered not in _TRUE + _FALSE:
            raise refuse(label, text, self.describe(), as_typed=True)
        return lowered in _TRUE


@dataclass(frozen=True)
class Text(Kind):
    """A line of text, at most ``longest`` characters; ``pattern`` restricts it (e.g. a name that names files)."""

    longest: int = 200
    pattern: str = ""
    what: str = "a line of text"

    def describe(self):
        return f"{self.what} of at most {self.longest} characters"

    def check(self, value, label):
        if (not isinstance(value, str) or len(value) > self.longest or "\n" in value or "\0" in value
                or (self.pattern and not re.fullmatch(self.pattern, value))):
            raise refuse(label, value, self.describe())
        return value

    def read(self, text, label):
        try:
            return self.check(text, label)
        except ConfigError:
            raise refuse(label, text, self.describe(), as_typed=True) from None  # as typed: --loss notamodule


@dataclass(frozen=True)
class Size(Kind):
    """Width and height in pixels, each from :data:`MIN_SIDE` to :data:`MAX_SIDE`: ``(w, h)`` or ``"WxH"``.

    ``even`` (MP4 and GIF: H.264 in yuv420p) is the caller's to ask for in
    :meth:`check_even`, since a film's outputs decide it.
    """

    def describe(self):
        return f"WIDTHxHEIGHT in pixels, each side from {MIN_SIDE} to {MAX_SIDE}, e.g. 1280x720"

    def check(self, value, label):
        if isinstance(value, str):
            return self.read(value, label)
        try:
            width, height = value
        except (TypeError, ValueError):
            raise refuse(label, value, self.describe()) from None
        if not (_whole(width) and _whole(height) and MIN_SIDE <= width <= MAX_SIDE
                and MIN_SIDE <= height <= MAX_SIDE):
            whole = _whole(width) and _whole(height)
            typed = whole and label.startswith("-")  # the command line's WxH, or Python's (w, h) as given
            raise refuse(label, f"{width}x{height}" if typed else value, self.describe(), as_typed=typed)
        return int(width), int(height)

    def read(self, text, label):
        match = re.fullmatch(r"\s*(-?\d{1,9})\s*[x×X]\s*(-?\d{1,9})\s*", str(text))
        if not match:
            raise refuse(label, text, self.describe(), as_typed=True)
        return self.check((int(match[1]), int(match[2])), label)

    @staticmethod
    def check_even(size, label):
        """MP4 and GIF need even sides; the message suggests the nearest even size."""
        width, height = size
        if width % 2 or height % 2:
            nearest = f"{width + width % 2}x{height + height % 2}"  # MAX_SIDE is even, so this stays in range
            raise ConfigError(f"{label} {width}x{height}: MP4 and GIF need even width and height; use {nearest}")
        return size


@dataclass(frozen=True)
class Path(Kind):
    """A file or folder path: a str or os.PathLike, not empty, one line, without NUL.

    ``role`` says what the path is for, and what already there refuses it:
    ``"read"`` (a file to read: an existing folder is refused), ``"write"``
    (a file to write: an existing folder, or a name ending in ``/``, is
    refused), ``"folder"`` (a folder to write into: an existing file is
    refused) or ``"any"``. A missing input is not refused here: the step that
    reads it says so, with what makes one. ``suffixes``: the name must end
    in one of them (any case). ``example``: the file name a refused folder
    is told to hold (``trajectory.npz``).
    """

    what: str = "a file path"
    role: str = "any"
    suffixes: tuple = ()
    example: str = ""

    def describe(self):
        return self.what

    def check(self, value, label):
        if not isinstance(value, (str, os.PathLike)):
            raise refuse(label, value, self.describe())
        text = os.fspath(value)
        if not isinstance(text, str) or not text.strip() or "\0" in text or "\n" in text:
            raise refuse(label, value, self.describe())
        shown = text if label.startswith("-") or not isinstance(value, str) else value
        inside = f", e.g. {os.path.join(text, self.example)}" if self.example else ""
        if self.role in ("read", "write") and os.path.isdir(text):
            raise refuse(label, shown, self.describe(), as_typed=True, longest=400,
                         because=f"it is a folder{inside}")
        if self.role == "write" and text.endswith(("/", os.sep)):
            raise refuse(label, shown, self.describe(), as_typed=True, longest=400,
                         because=f"a name ending in / is a folder's{inside}")
        if self.role == "folder" and os.path.exists(text) and not os.path.isdir(text):
            raise refuse(label, shown, self.describe(), as_typed=True, longest=400, because="it is a file")
        if self.suffixes and not text.lower().endswith(tuple(s.lower() for s in self.suffixes)):
            raise refuse(label, shown, self.describe(), as_typed=True, longest=400)
        return value


@dataclass(frozen=True)
class Numbers(Kind):
    """A fixed count of values of one kind (``--anchors I J K``, ``--range A0 A1 B0 B1``); ``rising`` pairs."""

    each: Kind
    count: int
    rising: bool = False  # (a0, a1, b0, b1): a0 < a1 and b0 < b1

    def describe(self):
        order = ", each pair rising" if self.rising else ""
        return f"{self.count} values, each {self.each.describe()}{order}"

    def check(self, value, label):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != self.count:
            raise refuse(label, value, self.describe())
        try:
            values = tuple(self.each.check(v, label) for v in value)
        except ConfigError:
            raise refuse(label, value, self.describe()) from None
        if self.rising and any(values[i] >= values[i + 1] for i in range(0, self.count - 1, 2)):
            raise refuse(label, list(values), self.describe())
        return values

    def read(self, text, label):
        """A comma list, ``-2,2,-1,3``, or argparse's list of texts (``nargs``: ``--range 0 1``)."""
        parts = str(text).split(",") if isinstance(text, str) else list(text)
        typed = text if isinstance(text, str) else " ".join(map(str, parts))  # as the command line had it
        try:
            values = tuple(self.each.read(part, label) for part in parts)
        except ConfigError:
            raise refuse(label, typed, self.describe(), as_typed=True) from None
        if len(values) != self.count or (self.rising and any(values[i] >= values[i + 1]
                                                             for i in range(0, self.count - 1, 2))):
            raise refuse(label, typed, self.describe(), as_typed=True)
        return values


@dataclass(frozen=True)
class Many(Kind):
    """A list of values of one kind, at least ``least`` and at most ``most`` of them; text is a comma list.

    ``unique``: no value twice (``--optimizers sgd,sgd``). ``repeated``: the
    command line gives one value per use of the flag (``-o a.mp4 -o a.gif``),
    not a comma list.
    """

    each: Kind
    least: int = 1
    most: int = 64
    unique: bool = False
    repeated: bool = False

    def describe(self):
        once = ", none twice" if self.unique else ""
        if self.repeated:
            return f"{self.each.describe()} (the option repeated for more, up to {self.most}{once})"
        return f"{self.least} to {self.most} comma-separated values, each {self.each.describe()}{once}"

    def check(self, value, label):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not self.least <= len(value) <= self.most:
            raise refuse(label, value, self.describe())
        values = []
        for item in value:
            try:
                values.append(self.each.check(item, label))
            except ConfigError:
                if self.repeated:
                    raise  # one value per flag: the one that is wrong says so itself
                raise refuse(label, list(value), self.describe(), because=f"{item!r} is not") from None
        values = tuple(values)
        if self.unique and len(set(values)) != len(values):
            twice = next(v for v in values if values.count(v) > 1)
            raise refuse(label, list(value), self.describe(), because=f"{twice} is given twice")
        return values

    def read(self, text, label):
        if self.repeated:  # argparse's action="append": a list of texts, each one value
            texts = [text] if isinstance(text, str) else list(text)
            return self.check(tuple(self.each.read(part, label) for part in texts), label)
        parts = [part for part in str(text).split(",") if part.strip()]
        values = []
        for part in parts:
            try:
                values.append(self.each.read(part, label))
            except ConfigError:
                raise refuse(label, text, self.describe(), as_typed=True, because=f"{part.strip()!r} is not") \
                    from None
        values = tuple(values)
        if self.unique and len(set(values)) != len(values):
            twice = next(v for v in values if values.count(v) > 1)
            raise refuse(label, text, self.describe(), as_typed=True, because=f"{twice} is given twice")
        if not self.least <= len(values) <= self.most:
            raise refuse(label, text, self.describe(), as_typed=True)
        return self.check(values, label)


@dataclass(frozen=True)
class Pairs(Kind):
    """``NAME=VALUE`` settings (``--lr adam=0.002``): a dict from Python, the flag repeated on the command line.

    ``names`` and ``values`` are the kinds of each side; a name is given at most once.
    """

    names: Kind
    values: Kind
    name_word: str = "NAME"
    value_word: str = "VALUE"

    def describe(self):
        n, v = self.name_word, self.value_word
        return f"{n}={v} with {n} {self.names.describe()} and {v} {self.values.describe()}, each {n} once"

    def check(self, value, label):
        if not isinstance(value, Mapping):
            raise refuse(label, value, self.describe())
        try:
            return {self.names.check(name, label): self.values.check(item, label) for name, item in value.items()}
        except ConfigError:
            raise refuse(label, dict(value), self.describe()) from None

    def read(self, text, label):
        """One ``NAME=VALUE`` text, or argparse's list of them (``action="append"``)."""
        pairs = {}
        for item in [text] if isinstance(text, str) else list(text):
            name, sep, value = str(item).partition("=")
            try:
                key = self.names.read(name, label) if sep else None
                if key is not None:
                    value = self.values.read(value, label)
            except ConfigError:
                key = None
            if key is None:
                raise refuse(label, item, self.describe(), as_typed=True)
            if key in pairs:
                raise refuse(label, item, self.describe(), as_typed=True, because=f"{key} is given twice")
            pairs[key] = value
        return pairs


@dataclass(frozen=True)
class Formula(Kind):
    """A formula in ``variables`` (``x``, ``y``): numbers, arithmetic, comparisons and the named functions.

    Only that grammar passes: the syntax tree is checked node by node, so a
    name, attribute, call, string or subscript outside it is refused before
    anything evaluates it (``__import__('os')`` is a name not allowed).
    ``functions`` are called bare (``sin(x)``) or through one of ``modules``
    (``np.sin``); ``arity`` pairs each with the argument counts it takes
    (``("sin", (1,))``: NumPy's ``sin(x, y)`` would write into ``y``, and a
    constant such as ``pi`` takes none). The check returns the text;
    compiling it is the caller's.
    """

    variables: tuple = ("x", "y")
    functions: tuple = ()
    modules: tuple = ("np", "numpy")
    longest: int = 2000
    arity: tuple = ()  # (name, (count, ...)) pairs; a name not listed takes any count

    def describe(self):
        return (f"a formula in {' and '.join(self.variables)} of at most {self.longest} characters: numbers, "
                "+ - * / // % **, comparisons and NumPy functions such as sin, exp, sqrt")

    def check(self, value, label):
        if not isinstance(value, str) or not value.strip() or len(value) > self.longest or "\0" in value:
            raise refuse(label, value, self.describe())
        try:
            tree = ast.parse(value.strip(), mode="eval")
        except SyntaxError as exc:
            raise refuse(label, value, self.describe(), as_typed=True, because=f"not valid syntax ({exc.msg})") \
                from None
        for node in ast.walk(tree):
            problem = self._refused(node)
            if problem:
                raise refuse(label, value, self.describe(), as_typed=True, because=f"{problem} is not allowed")
        return value.strip()

    def _refused(self, node):
        """What is wrong with one node of the syntax tree, or "" if the grammar allows it."""
        if not isinstance(node, _FORMULA_NODES):
            return f"{type(node).__name__.lower()} syntax"
        if isinstance(node, ast.Name) and node.id not in (*self.variables, *self.modules, *self.functions):
            return f"the name {node.id!r}"
        if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id in self.modules
                                                    and node.attr in self.functions):
            return f"the attribute {node.attr!r}"
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or
                                               not isinstance(node.value, (int, float))):
            return f"the constant {node.value!r}"
        if isinstance(node, ast.Call) and (node.keywords or not isinstance(node.func, (ast.Name, ast.Attribute))):
            return "this call (keyword arguments or a computed function)"
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            counts = dict(self.arity).get(name)
            if counts is not None and len(node.args) not in counts:
                takes = " or ".join(map(str, counts)) if counts else "none"
                return f"{name} with {len(node.args)} argument{'s' * (len(node.args) != 1)} ({name} takes {takes})"
        return ""


_FORMULA_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Load, ast.Constant,
                  ast.Attribute, ast.Compare, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod,
                  ast.FloorDiv, ast.USub, ast.UAdd, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)


def _whole(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


