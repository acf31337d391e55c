"""Running a command or an example with its defaults in a checkout leaves git status clean.

Every default output lies under one folder, ``OUT_DIR``, which .gitignore lists; the committed
pictures in media/ are only ever written when asked for (``--out-dir media``). Nothing here
trains or renders: it reads the defaults the parsers and the examples declare.
"""

import argparse
import ast
import shutil
import subprocess
from pathlib import Path

import pytest

from lossfilm.cli import demo, film_outputs, race, render, still, train
from lossfilm.cli.render import DEFAULT_LANDSCAPE, OUT_DIR

REPO = Path(__file__).resolve().parents[2]


def parser_defaults(module):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return {action.dest: action.default for action in parser._actions}


def example_out_default(name):
    """The ``--out`` default that ``examples/NAME.py`` declares (read from its source, not run)."""
    tree = ast.parse((REPO / "examples" / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and getattr(node.args[0], "value", None) == "--out":
            return next(k.value.value for k in node.keywords if k.arg == "default")
    raise AssertionError(f"examples/{name}.py declares no --out")


def test_every_default_output_is_under_the_one_ignored_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    defaults = [DEFAULT_LANDSCAPE, parser_defaults(train)["output"], render.default_output("descent.mp4"),
                example_out_default("pytorch_cnn"), example_out_default("bring_your_own_model")]
    defaults += [parser_defaults(module)["out_dir"] for module in (demo, race)]
    assert film_outputs and still  # the other commands read the same constants
    for path in defaults:
        assert Path(path).parts[0] == OUT_DIR, path
    assert (tmp_path / OUT_DIR).is_dir()  # the default film's folder is made when it is used


def test_the_default_folder_is_ignored_and_the_committed_media_are_not():
    lines = (REPO / ".gitignore").read_text().splitlines()
    assert f"{OUT_DIR}/" in lines
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path):
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0
    assert ignored(f"{OUT_DIR}/descent.mp4") and ignored(f"{OUT_DIR}/pytorch_cnn/still.png")
    assert ignored("media/cache/landscape.npz") and not ignored("media/descent.png")
