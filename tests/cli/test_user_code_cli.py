"""User code behind the command line: `--loss file.py:fn` and scene files that misbehave give exit 2 and one line.

``sys.exit()`` inside user code is reported, never a silent exit 0;
``--debug`` shows the user's own traceback. A landscape whose finite values
form no surface is said in words at the render step (it once ended in a
KeyError from PyVista).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lossfilm.cli import main
from lossfilm.format.trajectory import Trajectory
from tests.helpers import rippled_bowl_landscape as bowl_landscape


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("user_code")
    rng = np.random.default_rng(0)
    Trajectory.from_snapshots([{"w": rng.normal(size=3)} for _ in range(4)]).save(root / "trajectory.npz")
    return root


LOSSES = {  # body of loss_fn(params) -> expected fragment of the one line
    "return 'low'": "your loss_fn loss_fn returned the str 'low' at snapshot 0 (step 0)",
    "return None": "returned None at snapshot 0 (step 0)",
    "return params['w']": "returned an array of shape (3,) at snapshot 0",
    "return complex(1, 1)": "returned the complex number (1+1j)",
    "raise RuntimeError('no data on this host')": "raised RuntimeError: no data on this host at snapshot 0",
    "import sys; sys.exit(0)": "raised SystemExit(0) (sys.exit() inside it) at snapshot 0",
    "import sys; sys.exit()": "raised SystemExit(None)",
}


@pytest.mark.parametrize("body", LOSSES)
def test_a_hostile_loss_file_is_exit_2_and_one_line(folder, body, capsys):
    loss = folder / f"loss_{abs(hash(body))}.py"
    loss.write_text(f"def loss_fn(params):\n    {body}\n")
    out = folder / f"{loss.stem}.npz"
    code = main(["landscape", str(folder / "trajectory.npz"), "--loss", f"{loss}:loss_fn", "-o", str(out),
                 "--resolution", "3", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("lossfilm landscape: error: your loss_fn loss_fn ")
    assert LOSSES[body] in err[0]
    assert not out.exists()


def test_sys_exit_at_import_of_a_loss_module_is_exit_2(folder, capsys):
    loss = folder / "leaves.py"
    loss.write_text("import sys\nsys.exit(0)\n")
    assert main(["landscape", str(folder / "trajectory.npz"), "--loss", f"{loss}:loss_fn", "--quiet",
                 "-o", str(folder / "leaves.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--loss {loss}:loss_fn: {loss}, line 2: fails on import (SystemExit(0)" in err[0]


def test_debug_shows_the_users_traceback(folder):
    loss = folder / "deep.py"
    loss.write_text("def helper(p):\n    raise RuntimeError('deep inside')\n\ndef loss_fn(params):\n"
                    "    return helper(params)\n")
    argv = ["landscape", str(folder / "trajectory.npz"), "--loss", f"{loss}:loss_fn", "--quiet",
            "-o", str(folder / "deep.npz")]
    plain = subprocess.run([sys.executable, "-m", "lossfilm", *argv], capture_output=True, text=True)
    debug = subprocess.run([sys.executable, "-m", "lossfilm", "--debug", *argv], capture_output=True, text=True)
    assert plain.returncode == 2 and len(plain.stderr.strip().splitlines()) == 1
    assert "Traceback" not in plain.stderr
    assert debug.returncode != 0 and f'File "{loss}", line 2, in helper' in debug.stderr
    assert debug.stderr.strip().splitlines()[-1].startswith("lossfilm.format.errors.UserCodeError: your loss_fn")


SCENES = {
    "construct: sys.exit": ("import sys\nfrom lossfilm.render.framework.scene import Scene\n\n"
                            "class Leaves(Scene):\n    def construct(self):\n        sys.exit(0)\n",
                            "line 6: fails while rendering (SystemExit(0) (sys.exit() inside it))"),
    "import: sys.exit": ("import sys\nsys.exit(0)\n", "line 2: fails on import (SystemExit(0)"),
}


@pytest.mark.parametrize("name", SCENES)
def test_a_scene_file_that_exits_is_exit_2(folder, name, capsys):
    source, fragment = SCENES[name]
    scene = folder / f"scene_{name.split(':')[0]}.py"
    scene.write_text(source)
    land = bowl_landscape(folder / "bowl.npz", resolution=5, snapshots=4)
    code = main(["still", str(scene), "--landscape", str(land), "-o", str(folder / "s.png"), "--size", "64x48"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err
    assert not (folder / "s.png").exists()


@pytest.mark.parametrize("finite, fragment", [
    ([], "every grid node is NaN, inf or not computed"),
    ([(0, 0), (2, 2), (4, 1), (1, 3)], "only 4 of 25 grid nodes are finite and no four of them make a grid cell"),
])
def test_a_landscape_with_no_surface_is_refused_in_words(folder, finite, fragment, capsys):
    land = bowl_landscape(folder / "holes.npz", resolution=5, snapshots=4)
    from lossfilm.format.landscape import Landscape

    holes = Landscape.load(land)
    holes.loss = np.full_like(holes.loss, np.nan)
    for i, j in finite:
        holes.loss[i, j] = 1.0 + i + j
    holes.save(land)
    code = main(["still", "--landscape", str(land), "-o", str(folder / "h.png"), "--size", "64x48"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err
