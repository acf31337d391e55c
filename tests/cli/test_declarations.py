"""The declarations are the single source: argparse, the Python API, provenance, reproduce and the README agree.

Each test compares one consumer with the option declarations
(lossfilm.format.declared.options) and fails on any difference in names, defaults,
choices or limits.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from pathlib import Path

import pytest

import lossfilm
from lossfilm.cli import build_parser
from lossfilm.format.errors import ConfigError
from lossfilm.format.declared.options import read_args
from lossfilm.format.declared.values import Choice, Flag
from lossfilm.render.filming.options import FILM_OPTIONS, STILL_OPTIONS, check_settings
from lossfilm.training.fit.config import TRAIN_OPTIONS, TrainConfig
from lossfilm.training.landscape.settings import LANDSCAPE_OPTIONS, LandscapeSettings
from lossfilm.viewer.page import VIEW_OPTIONS

REPO = Path(__file__).resolve().parents[2]


def subparser(name):
    return build_parser()._subparsers._group_actions[0].choices[name]


def actions(parser):
    return {action.dest: action for action in parser._actions}


COMMANDS = ["train", "landscape", "render", "still", "demo", "race", "classic", "view", "inspect", "reproduce",
            "line"]


@pytest.mark.parametrize("command", COMMANDS)
def test_argparse_is_built_from_the_declarations(command):
    parser = subparser(command)
    declared = parser.get_default("declared")
    assert declared, f"lossfilm {command} reads no option through its declarations"
    by_dest = actions(parser)
    help_text = " ".join(parser.format_help().split())
    for option in declared:
        action = by_dest[option.name]
        if option.positional:
            assert action.option_strings == [] and action.metavar == option.metavar, option.name
            assert (action.nargs == "?") == option.optional, option.name
        else:
            assert option.flag in action.option_strings
        if isinstance(option.kind, Flag):
            assert action.default is False and action.nargs == 0
            continue
        # the parser's default, read as the command line's text would be, is the declaration's default
        if not (option.positional and not option.optional):  # a required positional has none
            parsed = read_args(argparse.Namespace(**{option.name: action.default}), [option])
            assert getattr(parsed, option.name) == option.check(option.default), option.name
        # a repeated option collects one text per use, which the declaration reads (NAME=VALUE, a path)
        assert (action.__class__.__name__ == "_AppendAction") == option.repeated, option.name
        # read after parsing, by the declaration (argparse splits a fixed count of numbers, nargs, first)
        assert (action.type is None or action.nargs not in (None, "?")) and action.choices is None
        if isinstance(option.kind, Choice):
            assert action.metavar == (option.metavar or "{" + ",".join(option.kind.choices) + "}")
        assert " ".join(option.takes().split()) in help_text, option.name  # the limits, as declared


# What these commands still take as plain argparse text: the scene (its name or file, which scene_class checks) and
# --option KEY=VALUE (each scene declares and reads its own options). The README's Reliability list says the same.
PLAIN = {"scene", "option"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_value_a_command_takes_is_read_by_a_declaration(command):
    parser = subparser(command)
    declared = {option.name for option in parser.get_default("declared")}
    takes_text = [action for action in parser._actions if action.nargs != 0 and action.dest != "help"]
    plain = sorted(action.dest for action in takes_text if action.dest not in declared)
    assert set(plain) <= PLAIN, f"lossfilm {command} reads {plain} as plain argparse: declare them (an Option)"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_declared_option_reads_its_default_from_an_empty_command_line(command):
    argv = {"landscape": ["landscape", "t.npz"], "render": ["render", "descent"], "inspect": ["inspect", "f.png"],
            "reproduce": ["reproduce", "f.png"], "line": ["line", "a.npz", "b.npz"]}.get(command, [command])
    args = build_parser().parse_args(argv)
    read_args(args, args.declared)
    for option in args.declared:
        if option.positional and not option.optional:
            assert getattr(args, option.name) in argv[1:]  # the one given, read as it was
            continue
        assert getattr(args, option.name) == option.check(option.default)


@pytest.mark.parametrize("function, declared", [(lossfilm.film, FILM_OPTIONS), (lossfilm.still, STILL_OPTIONS),
                                                (lossfilm.view, VIEW_OPTIONS)])
def test_the_api_takes_each_declared_option_with_its_default(function, declared):
    parameters = inspect.signature(function).parameters
    for option in declared:
        assert option.name in parameters, f"{function.__name__}() lacks {option.name}"
        assert parameters[option.name].default == option.default, option.name


@pytest.mark.parametrize("cls, declared", [(TrainConfig, TRAIN_OPTIONS), (LandscapeSettings, LANDSCAPE_OPTIONS)])
def test_settings_classes_have_the_declared_fields_and_defaults(cls, declared):
    fields = {field.name: field.default for field in dataclasses.fields(cls)}
    assert list(fields) == [option.name for option in declared] or set(fields) == {o.name for o in declared}
    for option in declared:
        assert fields[option.name] == option.default, option.name


def test_the_landscape_command_passes_every_setting_it_declares():
    from lossfilm.cli.landscape import SETTINGS

    assert {option.name for option in SETTINGS} <= {o.name for o in LANDSCAPE_OPTIONS}
    LandscapeSettings.of(**{option.name: option.default for option in SETTINGS})  # each a LandscapeSettings field


@pytest.mark.parametrize("call", ["film", "still"])
def test_provenance_records_exactly_the_declared_settings_and_reproduce_accepts_them(call, tmp_path, monkeypatch):
    from lossfilm import api
    from tests.helpers import rippled_bowl_landscape as bowl_landscape

    land = bowl_landscape(tmp_path / "landscape.npz", resolution=9, snapshots=6)
    recorded = {}

    def capture(spec, outputs, *, provenance, **keywords):
        recorded.update(provenance)
        return 0

    monkeypatch.setattr(api, "render_film", lambda *args, **keywords: capture(*args, **keywords) or [])
    monkeypatch.setattr(api, "render_still", lambda spec, path, *, frame, provenance: capture(
        spec, path, provenance=provenance))
    if call == "film":
        lossfilm.film("descent", land, tmp_path / "f.mp4", size=(64, 48), options={"hold": 0.5})
        declared = FILM_OPTIONS
    else:
        lossfilm.still(land, tmp_path / "s.png", size=(64, 48), frame=-1, options={"camera": "top"})
        declared = STILL_OPTIONS
    settings = recorded["settings"]
    assert list(settings) == [option.name for option in declared]
    checked = check_settings(call, settings)  # what reproduce reads back passes its allow-list
    assert set(checked) == set(settings)


@pytest.mark.parametrize("settings, message", [
    ({"quality": "low", "exec": "rm -rf /"}, "has no option 'exec'"),
    ({"fps": 30.0}, "fps 30.0: expected a whole number of frames per second"),
    ({"size": [64, 48], "workers": True}, "workers True: expected a whole number"),
    ({"seconds": "2"}, "seconds '2': expected a number of seconds"),
    ({"options": "camera=top"}, "options 'camera=top': expected a dict of scene options"),
])
def test_reproduce_s_allow_list_refuses_what_no_option_declares(settings, message):
    with pytest.raises(ConfigError, match=message):
        check_settings("film", settings)


def test_the_readme_s_scene_table_is_the_declarations():
    from lossfilm.cli.scenes import markdown

    assert markdown() in (REPO / "README.md").read_text(), "README's scene options table is stale: paste the " \
                                                           "output of `lossfilm scenes --markdown`"


def test_render_help_and_the_scenes_command_say_which_scene_takes_which_option(capsys):
    from lossfilm.cli import main
    from lossfilm.scenes import scene_options_table

    help_text = subparser("render").format_help()
    for scene, options in scene_options_table().items():
        line = next(line for line in help_text.splitlines() if line.strip().startswith(scene + " "))
        assert line.split(None, 1)[1] == ", ".join(options)
    assert main(["scenes", "orbit"]) == 0
    listing = capsys.readouterr().out
    assert "degrees=360  (a number of degrees from -3600 to 3600)" in listing and "sweep" not in listing


def _api_calls(tmp_path):
    """(what the Python API is given, the call, the declaration that must refuse it, the label it names)."""
    from lossfilm.render.elements.theme import get_theme
    from lossfilm.render.filming import options as film
    from lossfilm.training.adapters.user_loss import LOSS, load_loss
    from lossfilm.training.fit.config import RACER_LRS, RACERS
    from lossfilm.training.grid_cluster import SCHEDULER, scheduler_address
    from lossfilm.training.landscape.classic import EXPR, classic_landscape, from_expression
    from lossfilm.training.landscape.race import train_racers

    domain = (-1, 1, -1, 1)
    return [
        (["sgd", "sgd"], lambda v: classic_landscape("bowl", optimizers=v), RACERS, "optimizers"),
        ({"adam": -1.0}, lambda v: classic_landscape("bowl", optimizers=["adam"], lrs=v), RACER_LRS, "lrs"),
        (["sgd", "lbfgs"], lambda v: train_racers(v, tmp_path / "cache"), RACERS, "optimizers"),
        ({"adam": float("nan")}, lambda v: train_racers(["adam"], tmp_path / "cache", lrs=v), RACER_LRS, "lrs"),
        ("__import__('os')", lambda v: from_expression(v, domain=domain), EXPR, "--expr"),
        ("sin(x, y)", lambda v: from_expression(v, domain=domain), EXPR, "--expr"),
        ("notamodule", load_loss, LOSS, "--loss"),
        ("nonsense", scheduler_address, SCHEDULER, "--scheduler"),
        ("neon", get_theme, film.THEME, "theme"),
        (str(tmp_path), lambda v: lossfilm.film("descent", v, tmp_path / "f.mp4"), film.LANDSCAPE_PATH, "landscape"),
        (str(tmp_path / "s.jpg"), lambda v: lossfilm.still(tmp_path / "l.npz", v), film.STILL_PATH, "path"),
    ]


@pytest.mark.parametrize("case", range(11))
def test_the_python_api_refuses_with_its_option_s_declaration(case, tmp_path):
    value, call, option, label = _api_calls(tmp_path)[case]
    with pytest.raises(ConfigError) as declared:
        option.check(value, label)
    with pytest.raises(ConfigError) as api:
        call(value)
    assert str(api.value) == str(declared.value)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "f.mp4").exists()  # refused before any work
