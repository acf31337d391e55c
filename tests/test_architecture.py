"""The installed shape of lossfilm: one top-level name, and layers that point one way.

The import contracts live in pyproject.toml (``[tool.importlinter]``) and run
here, on a copy of the package laid out as it installs (``training/`` as
``lossfilm/training/`` and so on, by the ``package-dir`` mapping), so that a
back-arrow anywhere fails the suite, between the layers or inside them (render's
filming -> framework -> elements, training's data at the bottom). The planted
tests put a back-arrow in such a copy and watch the contracts fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def _package_dirs():
    return tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-dir"]


def _stage(folder):
    """Copy the package into ``folder`` as it installs: one ``lossfilm/`` with the mapped folders inside."""
    for package, source in sorted(_package_dirs().items()):
        target = folder.joinpath(*package.split("."))
        shutil.copytree(ROOT / source, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(PYPROJECT, folder / "pyproject.toml")
    return folder


def _lint(folder):
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    env = dict(os.environ, PYTHONPATH=str(folder))
    return subprocess.run(command + ["--no-cache"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_installed_distribution_has_one_top_level_name():
    dirs = _package_dirs()
    packages = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["packages"]
    assert {name.split(".")[0] for name in packages} == {"lossfilm"}
    assert dirs == {"lossfilm": "lossfilm", "lossfilm.training": "training", "lossfilm.render": "render",
                    "lossfilm.scenes": "scenes"}
    for folder in ("training", "render", "scenes"):
        assert (ROOT / folder / "__init__.py").is_file()


def test_the_import_contracts_hold(tmp_path):
    result = _lint(_stage(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, back_arrow, contract", [
    # training reaching up into render: the old landscape -> render.mesh arrow
    ("training/landscape/pipeline.py", "from lossfilm.render.elements import mesh", "Layers, top to bottom"),
    # render reading the landscape computation instead of the format layer
    ("render/filming/film.py", "from lossfilm.training.landscape import pipeline as landscape", "Render and scenes read the format layer"),
    # the format layer importing the CLI (it used to share a package with it)
    ("lossfilm/format/artifact.py", "import lossfilm.cli", "Layers, top to bottom"),
    # an internal import by the folder's bare name, which a user's training.py would shadow
    ("render/overlays/hud.py", "import training.grid", "bare names"),
    # inside render: a drawn element reaching up into the film (the inner layers)
    ("render/elements/ball.py", "from lossfilm.render.filming import film", "Inside render: filming -> framework -> overlays"),
    # a scene running the encoders itself
    ("scenes/orbit.py", "from lossfilm.render.filming import sinks", "A scene choreographs"),
    # inside training: data loading reaching up into the landscape
    ("training/data/idx.py", "from lossfilm.training.landscape import grid", "Inside training: data is the bottom"),
])
def test_a_back_arrow_fails_the_contracts(tmp_path, module, back_arrow, contract):
    staged = _stage(tmp_path)
    source, _, rest = module.partition("/")
    package = {v: k for k, v in _package_dirs().items()}[source]
    path = staged.joinpath(*package.split("."), rest)
    path.write_text(path.read_text() + f"\n{back_arrow}  # planted by the test\n")
    result = _lint(staged)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and contract in " ".join(result.stdout.split())


def test_the_api_runs_where_the_users_own_modules_shadow_the_folder_names(tmp_path):
    """A project with its own training.py, render.py and scenes.py: lossfilm must not import any of them."""
    for name in ("training", "render", "scenes"):
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('the user\\'s own {name}.py was imported')\n")
    script = tmp_path / "make_film.py"
    script.write_text(textwrap.dedent("""
        import sys

        import numpy as np

        import lossfilm

        SCALE = np.array([[1.0, 4.0], [0.5, 2.0], [3.0, 1.0]])


        def loss_fn(params):
            return float((SCALE * params["W"] ** 2).sum() + (params["b"] ** 2).sum())


        if __name__ == "__main__":  # render workers are spawned processes: they import this file
            assert "pyvista" not in sys.modules and "vtkmodules" not in sys.modules, "import lossfilm loaded VTK"
            rng = np.random.default_rng(0)
            w, b = rng.normal(size=(3, 2)), rng.normal(size=3)
            history = []
            for step in range(12):  # noisy gradient descent on a stretched bowl
                history.append({"W": w.copy(), "b": b.copy()})
                w = w - 0.1 * SCALE * w + 0.02 * rng.normal(size=w.shape)
                b = b - 0.1 * b
            trajectory = lossfilm.Trajectory.from_snapshots(history, losses=[loss_fn(p) for p in history])
            landscape = lossfilm.Landscape.from_trajectory(trajectory, loss_fn=loss_fn, resolution=9)
            assert "pyvista" not in sys.modules, "computing a landscape loaded VTK"
            landscape.save("landscape.npz")
            index = lossfilm.still(landscape, "still.png", size=(160, 120), theme="light")
            summary = lossfilm.film("descent", "landscape.npz", "film.mp4", size=(320, 240), fps=8, seconds=0.5,
                                    draft=True, workers=2, progress=False)
            shadowed = [name for name in ("training", "render", "scenes") if name in sys.modules]
            print("frames", summary.frames, "still", index, "shadowed", shadowed)
    """))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "frames 4 still" in result.stdout and "shadowed []" in result.stdout
    assert (tmp_path / "still.png").stat().st_size > 0 and (tmp_path / "film.mp4").stat().st_size > 0


def test_the_checkout_is_laid_out_as_the_package_installs():
    """``lossfilm/training`` (and render, scenes) link to the mapped folders, so static tools resolve every import."""
    for package, source in _package_dirs().items():
        inside = ROOT.joinpath(*package.split("."))
        assert inside.resolve() == (ROOT / source).resolve(), f"{inside} should lead to {source}/"


def test_every_format_module_imports_on_its_own():
    """The bottom layer has no import cycle: each module loads first in a fresh interpreter (as a user's import may)."""
    modules = sorted(f"lossfilm.format.{p.stem}" for p in (ROOT / "lossfilm" / "format").glob("*.py")
                     if p.stem != "__init__")
    script = ("import subprocess, sys\n"
              "bad = [m for m in sys.argv[1:] if subprocess.run([sys.executable, '-c', f'import {m}'],"
              " capture_output=True).returncode]\n"
              "print(' '.join(bad))")
    done = subprocess.run([sys.executable, "-c", script, *modules], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "", f"these fail to import first: {done.stdout.strip()}"
