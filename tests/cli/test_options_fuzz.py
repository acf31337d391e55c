"""Every declared option fuzzed: a value is taken, or refused in one line naming it; never a traceback.

The strategies come from the declarations (tests/option_strategies.py), so
every option of every command, API function and scene is covered by the same
properties:

- from Python, a value of the right type in range is accepted, and any
  other (wrong type, NaN, inf, out of range) is a ConfigError of one line
  naming the parameter and what it takes;
- from the command line, any text is read or refused the same way;
- a call of ``lossfilm.film``/``lossfilm.still`` with one bad keyword fails
  before anything is written, leaving an existing file as it was;
- the real command line (``lossfilm.cli.main``, in process, tiny sizes)
  exits 0 with a valid PNG or 2 with one line, and never changes an
  existing file when it fails.

Profiles (tests/conftest.py): "ci" by default, "deep" with LOSSFILM_FUZZ=deep.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import lossfilm
from lossfilm.cli import main
from lossfilm.format.errors import ConfigError, LossfilmError
from lossfilm.format.declared.values import Flag
from tests.option_strategies import (FORMULAS, HOSTILE_FORMULAS, ODD_VALUES, all_options, declared_tables,
                                    invalid, text_for, valid)

OPTIONS = all_options()
IDS = st.sampled_from(OPTIONS)
# The real command line renders: a few examples each in "ci", proportionally more in "deep".
FEW = max(6, settings.default.max_examples // 12)


def one_line_naming(error, label):
    message = str(error)
    assert "\n" not in message and message.startswith(label), message
    assert "expected" in message or "choose" in message or "needs" in message, message
    assert "must be positive" not in message


@given(data=st.data())
def test_values_an_option_takes_are_accepted(data):
    table, option = data.draw(IDS, label="option")
    value = data.draw(valid(option.kind), label=f"{table}: {option.name}")
    checked = option.check(value)
    assert option.check(checked) == checked  # the checked value is one the option takes, unchanged


@given(data=st.data())
def test_values_an_option_does_not_take_are_one_line_naming_it(data):
    table, option = data.draw(IDS, label="option")
    value = data.draw(invalid(option.kind) | ODD_VALUES, label=f"{table}: {option.name}")
    try:
        checked = option.check(value)
    except ConfigError as error:
        one_line_naming(error, option.name)
        return
    # ODD_VALUES may hold a value the option takes (None where it is optional, "2" for text): then it is one
    assert option.check(checked) == checked
    assert not isinstance(value, float) or np.isfinite(value)
    assert isinstance(option.kind, Flag) or not isinstance(value, bool) or isinstance(checked, bool)


@given(data=st.data())
def test_any_command_line_text_is_read_or_refused_in_one_line(data):
    table, option = data.draw(IDS, label="option")
    text = data.draw(text_for(option.kind), label=f"{table}: {option.flag}")
    try:
        value = option.read(text)
    except ConfigError as error:
        one_line_naming(error, option.flag if not table.startswith("scene") else option.flag)
        return
    assert option.check(value) == value


SCENES = sorted(name for name in declared_tables() if name.startswith("scene "))


@given(data=st.data())
def test_scene_options_from_text_are_typed_or_refused_in_one_line(data):
    from lossfilm.scenes import scene_class

    scene = scene_class(data.draw(st.sampled_from(SCENES), label="scene").split()[1])
    declared = scene.all_options()
    keys = st.sampled_from(sorted(declared)) | st.text(max_size=8)
    raw = data.draw(st.dictionaries(keys, st.text(max_size=12) | st.sampled_from(
        ["nan", "inf", "-1", "1e308", "0", "true", "top", "log", "1e-320"]), max_size=4), label="options")
    try:
        values = scene.read_options(raw)
    except ConfigError as error:
        assert "\n" not in str(error) and str(error).startswith("option ")
        return
    for name, value in values.items():
        assert declared[name].check(value) == value


# ---------------------------------------------------------------------------------------------------
# The Python API: one bad keyword, and nothing is written

@pytest.fixture(scope="module")
def land(tmp_path_factory):
    from tests.helpers import rippled_bowl_landscape as bowl_landscape

    return bowl_landscape(tmp_path_factory.mktemp("fuzz") / "landscape.npz", resolution=9, snapshots=6)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


API = {"film": [o for o in declared_tables()["film"]], "still": [o for o in declared_tables()["still"]]}


@given(data=st.data())
def test_a_bad_keyword_fails_before_anything_is_written(land, tmp_path_factory, data):
    call = data.draw(st.sampled_from(sorted(API)), label="call")
    option = data.draw(st.sampled_from(API[call]), label="keyword")
    value = data.draw(invalid(option.kind), label=option.name)
    if option.optional and value is None:
        return  # None is "not given"
    folder = tmp_path_factory.mktemp("api")
    earlier = folder / ("out.png" if call == "still" else "out.mp4")
    earlier.write_bytes(b"an earlier output, which a failed call must leave as it was")
    before = digest(earlier)
    keywords = {"size": (16, 16), option.name: value}
    with pytest.raises(LossfilmError) as info:
        if call == "still":
            lossfilm.still(land, earlier, **keywords)
        else:
            lossfilm.film("descent", land, earlier, **keywords)
    assert "\n" not in str(info.value)
    assert digest(earlier) == before and sorted(p.name for p in folder.iterdir()) == [earlier.name]


@given(data=st.data())
def test_train_and_landscape_settings_take_or_refuse_each_value(data):
    from lossfilm.training.fit.config import TrainConfig
    from lossfilm.training.landscape.settings import LandscapeSettings

    table = data.draw(st.sampled_from(["train", "landscape"]), label="table")
    option = data.draw(st.sampled_from(declared_tables()[table]), label="option")
    value = data.draw(valid(option.kind) | invalid(option.kind), label=option.name)
    make = TrainConfig if table == "train" else LandscapeSettings
    try:
        made = make(**{option.name: value})
    except ConfigError as error:
        assert "\n" not in str(error) and option.flag in str(error) or "needs" in str(error), str(error)
        return
    kept = getattr(made, option.name)
    assert option.check(kept) == kept  # what the settings keep (sorted bias names, say) is still a valid value


# ---------------------------------------------------------------------------------------------------
# The real command line, in process, on tiny inputs

def argv_for(data, command):
    """``--flag text`` for a few of ``command``'s declared options, each value near valid or garbage."""
    from lossfilm.render.filming.options import FILM_OPTIONS, STILL_OPTIONS

    table = {"still": STILL_OPTIONS, "render": FILM_OPTIONS}[command]
    chosen = data.draw(st.lists(st.sampled_from([o for o in table if o.name != "options"]), max_size=3,
                                unique_by=lambda o: o.name), label="options")
    argv = []
    for option in chosen:
        if isinstance(option.kind, Flag):
            argv += [option.flag] if data.draw(st.booleans(), label=option.flag) else []
            continue
        text = data.draw(text_for(option.kind), label=option.flag)
        if option.name == "size":  # tiny, or garbage: never a large render
            text = data.draw(st.sampled_from(["16x16", "17x16", "0x0", "16x9000", "big", "-16x16"]), label="--size")
        if option.name in ("seconds", "fps") and command == "render":
            text = data.draw(st.sampled_from(["1", "0", "-1", "nan", "inf", "1e9", "0.5", "2.0", "x"]),
                             label=option.flag)
        if option.name == "workers":
            text = data.draw(st.sampled_from(["1", "0", "2.0", "-3", "many", "100000"]), label="--workers")
        argv += [f"{option.flag}={text}"]
    if data.draw(st.booleans(), label="a scene option"):
        argv += ["--option", data.draw(st.sampled_from(["hold=0", "hold=nan", "hold=-1", "hold=1e9", "sweep=inf",
                                                        "smooth=1e300", "camera=top", "camera=up", "orbit=maybe",
                                                        "easing=steps", "roll=0", "nokey", "=1"]), label="--option")]
    return argv


def run_cli(capsys, argv):
    code = main(argv)
    event(f"exit status {code}")  # --hypothesis-show-statistics: how many examples rendered, how many were refused
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    if code != 0:
        lines = captured.err.splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith(f"lossfilm {argv[0]}: error: "), captured.err
    return code


@settings(max_examples=FEW)
@given(data=st.data())
def test_still_on_the_command_line_succeeds_or_says_one_line(land, tmp_path_factory, capsys, data):
    folder = tmp_path_factory.mktemp("still")
    out = folder / "still.png"
    out.write_bytes(b"an earlier still")
    before = digest(out)
    argv = ["still", "descent", "--landscape", str(land), "-o", str(out), "--size", "16x16", "--quiet",
            "--seconds", "0.5"] + argv_for(data, "still")
    if run_cli(capsys, argv) == 0:
        import imageio.v3 as iio

        assert iio.imread(out).ndim == 3
    else:
        assert digest(out) == before


@settings(max_examples=FEW)
@given(data=st.data())
def test_render_on_the_command_line_succeeds_or_says_one_line(land, tmp_path_factory, capsys, data):
    folder = tmp_path_factory.mktemp("render")
    out = folder / "film.mp4"
    out.write_bytes(b"an earlier film")
    before = digest(out)
    argv = ["render", "descent", "--landscape", str(land), "-o", str(out), "--size", "16x16", "--quiet",
            "--fps", "2", "--seconds", "1"] + argv_for(data, "render")
    if run_cli(capsys, argv) == 0:
        assert out.stat().st_size > 100 and digest(out) != before
    else:
        assert digest(out) == before


# ---------------------------------------------------------------------------------------------------
# The options that name files, code and racers: a hostile command line stops in one line before any work

class ReachedTheWork(Exception):
    """Raised by the stubbed first expensive step: every check before it passed."""


def stop_at_the_work(*args, **keywords):
    raise ReachedTheWork()


PIPELINE_VALUES = {
    "--optimizers": ["sgd,sgd", "sgd,,adam", "", ",", "SGD,Adam", "lbfgs", "sgd", "adam,momentum", "sgd;adam"],
    "--lr": ["adam=-1", "adam=nan", "=3", "adam", "adam=", "adam=0.1", "sgd=1e400", "sgd=0", "ADAM=0.01",
             "nesterov=1e-3", "adam=0.1=2"],
    "--expr": ["__import__('os')", "x**1e10", "(x*1e200)**2+y", "", "x+", "sin(x)*y", "np.__dict__", "1/0+x",
               "open('/etc/passwd')", "x" * 2001, "where(x > 0, x, -x) + y**2"],
    "--name": ["", "a/b", "..", "ok_name", "x" * 65, "tab\there", "-dash"],
    "--domain": ["-2,2,-1,3", "2,-2,-1,3", "nan,1,0,1", "1,2,3", "a,b,c,d", "-1e308,1e308,-1,1"],
    "--start": ["0,0", "nan,0", "1e400,0", "0", "x,y"],
    "-o": ["{tmp}", "{tmp}/x.txt", "", "{tmp}/nowhere/x.mp4", "{tmp}/film.gif", "{tmp}/frames/", "a\0b"],
    "--out-dir": ["{file}", "", "{tmp}/out", "{tmp}/missing/deeper"],
}


@settings(max_examples=max(20, settings.default.max_examples // 2))
@given(data=st.data())
def test_a_hostile_race_or_classic_command_line_stops_in_one_line_before_any_work(tmp_path_factory, capsys,
                                                                                  monkeypatch, data):
    import lossfilm.training.landscape.classic as classic

    import lossfilm.training.data.datasets as datasets

    monkeypatch.setattr(classic, "cached_classic_landscape", stop_at_the_work)
    monkeypatch.setattr(datasets, "load_data", stop_at_the_work)  # a race's first work: its data
    tmp = tmp_path_factory.mktemp("pipeline")
    (tmp / "a file").write_text("not a folder")
    command = data.draw(st.sampled_from(["race", "classic"]), label="command")
    argv = [command] + (["rosenbrock"] if command == "classic" and data.draw(st.booleans(), label="FUNCTION")
                        else [])
    flags = [flag for flag in PIPELINE_VALUES if command == "classic" or flag not in (
        "--expr", "--name", "--domain", "--start")]
    for flag in data.draw(st.lists(st.sampled_from(flags), max_size=4), label="flags"):
        value = data.draw(st.sampled_from(PIPELINE_VALUES[flag]) | text_for_flag(flag), label=flag)
        argv += [flag, value.replace("{tmp}", str(tmp)).replace("{file}", str(tmp / "a file"))]
    if "--out-dir" not in argv:
        argv += ["--out-dir", str(tmp / "out")]
    if "\0" in " ".join(argv):  # no shell passes NUL; Python's own argv cannot hold it either
        argv = [arg.replace("\0", "") for arg in argv]
    try:
        code = main(argv)
    except ReachedTheWork:
        event("reached the work")
        return
    except SystemExit as exit:  # argparse's own usage errors (a flag without its value): one line too
        code = exit.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"lossfilm {command}: error: "), captured.err
    event("refused in one line")


def text_for_flag(flag):
    """Text near what ``flag``'s declaration takes, from its declaration's own strategy."""
    from tests.option_strategies import declared_tables

    options = {o.flag: o for table in ("lossfilm race", "lossfilm classic") for o in declared_tables()[table]}
    option = options.get(flag) or options.get("--output")
    return text_for(option.kind).filter(lambda text: "\0" not in text)


@example(text="sin(0,-(x))")  # found by Hypothesis: passed the probe on arrays, raised on a float (NumPy's out)
@example(text="x**1e10")  # an OverflowError on Python floats, at the gradient
@given(text=st.text(max_size=40) | FORMULAS)
def test_any_expression_compiles_to_a_function_of_x_and_y_or_is_refused_in_one_line(text):
    from lossfilm.training.landscape.classic import parse_expression

    try:
        value = parse_expression(text)
    except ConfigError as error:
        assert "\n" not in str(error) and str(error).startswith("--expr ")
        return
    result = value(np.linspace(-1, 1, 4), np.zeros(4))  # NumPy floats: an overflow is inf, never an exception
    assert result.shape == (4,) and result.dtype == np.float64
    # Python floats (the gradient's central differences) are evaluated as NumPy's too: inf or NaN, no OverflowError
    assert np.asarray(value(2.0, 1e300)).dtype == np.float64


@given(text=HOSTILE_FORMULAS)
def test_an_expression_outside_the_grammar_is_refused_before_it_runs(text):
    from lossfilm.training.landscape.classic import parse_expression

    with pytest.raises(ConfigError) as info:
        parse_expression(text)
    message = str(info.value)
    assert "\n" not in message and message.startswith("--expr ")
    assert "is not allowed" in message or "not valid syntax" in message, message
