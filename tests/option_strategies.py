"""Hypothesis strategies made from the option declarations (lossfilm.format.declared.options): valid and invalid values.

Every option of every command, API function and scene is found through its
table (:func:`declared_tables`), so a new option is fuzzed without a new line here.
"""

from __future__ import annotations

import math
import os
import re

from hypothesis import strategies as st

from lossfilm.render.filming.options import SceneOptions
from lossfilm.format.declared.values import (MAX_FPS, MAX_SIDE, MIN_SIDE, Choice, Count, Flag, Formula, Many, Number,
                                             Numbers, Pairs, Path, Rate, Size, Text)

# Formulas: what the grammar takes (numbers, x, y, arithmetic, comparisons, NumPy calls) ...
_ATOMS = st.sampled_from(["x", "y", "1", "2.5", "1e308", "0", "pi", "e", "np.pi", "numpy.e"])
FORMULAS = st.recursive(_ATOMS, lambda inner: (
    st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", ">=", "=="]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})")
    | st.sampled_from([("sin", 1), ("exp", 1), ("sqrt", 1), ("np.log", 1), ("numpy.abs", 1), ("arctan2", 2),
                       ("hypot", 2), ("where", 3), ("clip", 3)]).flatmap(
        lambda call: st.lists(inner, min_size=call[1], max_size=call[1]).map(
            lambda args: f"{call[0]}({', '.join(args)})"))
    | inner.map(lambda a: f"-{a}")), max_leaves=8)
# ... and what it must refuse before anything runs: names, attributes, calls, subscripts and syntax outside it.
HOSTILE_PARTS = st.sampled_from([
    "__import__('os')", "().__class__", "x.__class__", "np.__dict__", "np.sin.__globals__", "open('f')",
    "eval('1')", "exec", "globals()", "lambda: 1", "[x][0]", "'a'", "b'a'", "x if y else 1", "sin(x, out=y)",
    "(y := 1)", "{x: 1}", "{x}", "f'{x}'", "x.real", "print(x)", "getattr(np, 'sin')", "np.os", "z", "True",
    "None", "...", "(x for x in y)", "sin(*x)", "numpy.linalg", "__builtins__"])
HOSTILE_FORMULAS = st.tuples(FORMULAS, st.sampled_from(["+", "*", "-"]), HOSTILE_PARTS).map(
    lambda t: f"{t[0]} {t[1]} {t[2]}") | HOSTILE_PARTS | st.tuples(HOSTILE_PARTS, FORMULAS).map(
    lambda t: f"sin({t[0]}) + {t[1]}")
_PATH_CHARS = st.characters(blacklist_characters="\0\n", blacklist_categories=("Cs",))

# Values of the wrong type for nearly every kind: what a notebook passes by mistake.
ODD_VALUES = st.sampled_from([None, "2", "", "last", "camera=top", 2.5, 30.0, True, False, float("nan"),
                              float("inf"), -float("inf"), 10 ** 30, -1, [], {}, (1,), b"1", object()])


def declared_tables():
    """``{table name: options}``: every declared option of every command, API function and scene."""
    from lossfilm.cli import film_outputs
    from lossfilm.cli.landscape import WORKERS as LANDSCAPE_WORKERS
    from lossfilm.render.filming.options import FILM_OPTIONS, STILL_OPTIONS
    from lossfilm.scenes import scene_options_table
    from lossfilm.training.fit.config import TRAIN_OPTIONS
    from lossfilm.cli import build_parser
    from lossfilm.render.filming.options import FILM_OUTPUTS, LANDSCAPE_PATH, PATH_OPTION, STILL_PATH
    from lossfilm.training.fit.config import RACER_LRS, RACERS
    from lossfilm.training.landscape.classic import CONDITION, DOMAIN, START, STEPS
    from lossfilm.training.landscape.settings import LANDSCAPE_OPTIONS

    tables = {"film": FILM_OPTIONS, "still": STILL_OPTIONS, "train": TRAIN_OPTIONS, "landscape": LANDSCAPE_OPTIONS,
              "landscape-cli": (LANDSCAPE_WORKERS,), "demo/race/classic": film_outputs.DECLARED,
              "classic": (STEPS, CONDITION, DOMAIN, START), "racers": (RACERS, RACER_LRS),
              "files": (LANDSCAPE_PATH, FILM_OUTPUTS, PATH_OPTION, STILL_PATH)}
    # and every option each command reads through its declarations: a new one is fuzzed without a line here
    commands = build_parser()._subparsers._group_actions[0].choices
    for name, parser in commands.items():
        if parser.get_default("declared"):
            tables[f"lossfilm {name}"] = tuple(parser.get_default("declared"))
    for scene, options in scene_options_table().items():
        tables[f"scene {scene}"] = tuple(options.values())
    return tables


def all_options():
    """``[(table, option)]`` over every table, for ``sampled_from``."""
    return [(table, option) for table, options in declared_tables().items() for option in options]


def valid(kind):
    """Values ``kind`` takes."""
    if isinstance(kind, Rate):
        return st.integers(1, kind.maximum)
    if isinstance(kind, Count):
        return (st.integers(kind.low, kind.high) | st.sampled_from([kind.low, kind.high])).filter(
            lambda v: v not in kind.skip)
    if isinstance(kind, Number):
        return st.floats(kind.low, kind.high, exclude_min=kind.above, exclude_max=kind.below, allow_nan=False,
                         allow_infinity=False)
    if isinstance(kind, Choice):
        return st.sampled_from(kind.choices)
    if isinstance(kind, Flag):
        return st.booleans()
    if isinstance(kind, Text):
        alphabet = st.characters(blacklist_characters="\n\0", blacklist_categories=("Cs",))
        text = st.text(alphabet, max_size=min(kind.longest, 40))
        return text.filter(lambda t: re.fullmatch(kind.pattern, t)) if kind.pattern else text
    if isinstance(kind, Size):
        side = st.integers(MIN_SIDE, MAX_SIDE)
        return st.tuples(side, side)
    if isinstance(kind, Path):
        names = st.text(_PATH_CHARS, min_size=1, max_size=30).filter(str.strip)
        if kind.suffixes:
            names = st.tuples(names, st.sampled_from(kind.suffixes)).map("".join)
        return names.filter(lambda path: _fits_role(kind, path))
    if isinstance(kind, Formula):
        return FORMULAS
    if isinstance(kind, Pairs):
        return st.dictionaries(valid(kind.names), valid(kind.values), max_size=3)
    if isinstance(kind, Numbers):
        each = st.lists(valid(kind.each), min_size=kind.count, max_size=kind.count)
        if kind.rising:
            each = each.map(sorted).filter(lambda v: all(v[i] < v[i + 1] for i in range(0, len(v) - 1, 2)))
        return each.map(tuple)
    if isinstance(kind, Many):
        return st.lists(valid(kind.each), min_size=kind.least, max_size=min(kind.most, 5), unique=kind.unique).map(
            tuple)
    if isinstance(kind, SceneOptions):
        plain = st.text(max_size=8) | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
        return st.dictionaries(st.text(min_size=1, max_size=8).filter(str.strip), plain, max_size=3)
    raise NotImplementedError(f"no strategy for {type(kind).__name__}: add one (every kind must be fuzzed)")


def invalid(kind):
    """Values ``kind`` must refuse: the wrong type, or the right type out of range."""
    if isinstance(kind, (Count, Rate)):
        low, high = (1, kind.maximum) if isinstance(kind, Rate) else (kind.low, kind.high)
        wrong_type = st.floats(allow_nan=True) | st.booleans() | st.text(max_size=5) | st.none()
        skipped = st.sampled_from(kind.skip) if isinstance(kind, Count) and kind.skip else st.nothing()
        return st.integers(max_value=low - 1) | st.integers(min_value=high + 1) | wrong_type | skipped
    if isinstance(kind, Number):
        outside = st.floats(allow_nan=True, allow_infinity=True).filter(
            lambda v: not (math.isfinite(v) and (kind.low < v if kind.above else kind.low <= v)
                           and (v < kind.high if kind.below else v <= kind.high)))
        return outside | st.booleans() | st.text(max_size=5) | st.none()
    if isinstance(kind, Choice):
        return st.text(max_size=12).filter(lambda v: v not in kind.choices) | st.integers() | st.none()
    if isinstance(kind, Flag):
        return st.integers() | st.text(max_size=5) | st.none() | st.floats()
    if isinstance(kind, Text):
        return st.integers() | st.none() | st.text(min_size=kind.longest + 1, max_size=kind.longest + 3) | \
            st.just("two\nlines")
    if isinstance(kind, Size):
        bad_side = st.integers(max_value=MIN_SIDE - 1) | st.integers(min_value=MAX_SIDE + 1)
        return (st.tuples(bad_side, st.integers(MIN_SIDE, MAX_SIDE)) | st.tuples(st.integers(MIN_SIDE, MAX_SIDE), bad_side)
                | st.tuples(st.floats(), st.floats()) | st.text(max_size=8).filter(lambda t: "x" not in t)
                | st.none() | st.integers())
    if isinstance(kind, Path):
        wrong = st.integers() | st.none() | st.sampled_from(["", "  ", "a\0b", "two\nlines"])
        if kind.role in ("read", "write"):
            wrong |= st.sampled_from([os.getcwd(), os.path.dirname(__file__)])  # existing folders
        if kind.role == "write":
            wrong |= st.just("out/")
        if kind.role == "folder":
            wrong |= st.just(__file__)  # an existing file
        if kind.suffixes:
            wrong |= st.sampled_from(["a.txt", "a", "a.npz.bak"]).filter(lambda t: not t.endswith(kind.suffixes))
        return wrong
    if isinstance(kind, Formula):
        return HOSTILE_FORMULAS | st.sampled_from(["", "   ", "x" * (kind.longest + 1), "x\0"]) | st.none() \
            | st.integers()
    if isinstance(kind, Pairs):
        return (st.text(max_size=8) | st.none() | st.lists(st.text(max_size=4), max_size=2)
                | st.dictionaries(valid(kind.names), invalid(kind.values), min_size=1,
                                  max_size=2)
                | st.dictionaries(invalid(kind.names).filter(_hashable), valid(kind.values), min_size=1, max_size=2))
    if isinstance(kind, Numbers):
        wrong_length = st.lists(valid(kind.each), max_size=kind.count + 2).filter(lambda v: len(v) != kind.count)
        one_bad = st.lists(invalid(kind.each), min_size=kind.count, max_size=kind.count)
        return st.text(max_size=5) | st.none() | wrong_length | one_bad
    if isinstance(kind, Many):
        wrong = st.text(max_size=5) | st.none() | st.lists(invalid(kind.each), min_size=1, max_size=3)
        if kind.unique and kind.least <= 2 <= kind.most:
            wrong |= valid(kind.each).map(lambda v: [v, v])
        return wrong
    if isinstance(kind, SceneOptions):
        return (st.text(max_size=12) | st.integers() | st.lists(st.text(max_size=4), min_size=1, max_size=2)
                | st.dictionaries(st.text(max_size=4), st.sampled_from([float("nan"), None, [1], float("inf")]),
                                  min_size=1, max_size=2))
    raise NotImplementedError(f"no strategy for {type(kind).__name__}: add one (every kind must be fuzzed)")


def text_for(kind):
    """Command-line text for ``kind``: mostly near what it takes, sometimes garbage."""
    if isinstance(kind, SceneOptions):
        return st.text(max_size=12)
    if isinstance(kind, Pairs):  # one NAME=VALUE, near valid or not
        names = valid(kind.names).map(_as_text) | st.text(max_size=6)
        values = valid(kind.values).map(_as_text) | st.sampled_from(["", "-1", "nan", "inf", "0", "x", "1e400"])
        return st.tuples(names, st.sampled_from(["=", "", "==", ":"]), values).map("".join) | st.text(max_size=12)
    if isinstance(kind, Formula):
        return FORMULAS | HOSTILE_FORMULAS | st.text(max_size=12)
    near = valid(kind).map(_as_text) if not isinstance(kind, (Path, Text)) else valid(kind)
    garbage = st.text(max_size=12) | st.sampled_from(["nan", "inf", "-inf", "1e400", "-1", "0", "1.5", "2.0",
                                                       "true", "auto", "10x", "x10", "99999999999999999999", "1,2"])
    return near | garbage


def _fits_role(kind, path):
    """A drawn path that the file system makes no exception of: no existing folder to read or write as a file."""
    if kind.role in ("read", "write") and os.path.isdir(path):
        return False
    if kind.role == "write" and path.endswith(("/", os.sep)):
        return False
    return not (kind.role == "folder" and os.path.exists(path) and not os.path.isdir(path))


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return f"{value[0]}x{value[1]}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)
