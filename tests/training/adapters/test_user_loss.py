"""``lossfilm landscape traj.npz --loss module:attr``: your loss function from the command line, or one line of why not."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from lossfilm.cli import main
from lossfilm.format.errors import ConfigError
from lossfilm.training.landscape.pipeline import Landscape
from lossfilm.training.fit.recorder import Recorder
from lossfilm.training.adapters.user_loss import load_loss

LOSS = textwrap.dedent("""
    import numpy as np

    TARGET = np.array([1.0, -2.0, 0.5])

    def loss_fn(params):
        return float(((params["w"] - TARGET) ** 2).sum())

    def two_arguments(params, data):
        return 0.0

    NOT_A_FUNCTION = 3
""")


@pytest.fixture
def recorded(tmp_path):
    """A user's gradient descent on a quadratic, recorded, and the loss it descended, in a file."""
    (tmp_path / "quadratic_loss.py").write_text(LOSS)
    w, target = np.zeros(3), np.array([1.0, -2.0, 0.5])
    with Recorder(tmp_path / "trajectory.npz") as rec:
        for step in range(30):
            w = w - 0.1 * 2 * (w - target) + 0.01 * np.sin(step) * np.array([1.0, 0.0, -1.0])
            rec.record({"w": w}, loss=float(((w - target) ** 2).sum()))
    return tmp_path


def test_a_loss_from_a_file_makes_the_landscape_and_is_reused(recorded, capsys):
    trajectory, out = recorded / "trajectory.npz", recorded / "landscape.npz"
    args = ["landscape", str(trajectory), "--loss", f"{recorded / 'quadratic_loss.py'}:loss_fn",
            "--resolution", "7", "--quiet", "-o", str(out)]
    assert main(args) == 0
    land = Landscape.load(out)
    assert land.settings["evaluation"].endswith("quadratic_loss.loss_fn") and np.isfinite(land.loss).all()
    np.testing.assert_allclose(land.path_loss_true[0], ((recorded_start() - [1.0, -2.0, 0.5]) ** 2).sum(), rtol=1e-6)
    before = out.stat().st_mtime_ns
    assert main(args) == 0 and out.stat().st_mtime_ns == before  # same key: reused


def recorded_start():
    return np.array([0.2, -0.4, 0.1])  # the first step from 0 towards the target (the sine term is 0 at step 0)


def test_a_module_on_the_path_works_too(recorded, monkeypatch):
    monkeypatch.chdir(recorded)
    monkeypatch.syspath_prepend(str(recorded))
    assert main(["landscape", "trajectory.npz", "--loss", "quadratic_loss:loss_fn", "--resolution", "5",
                 "--quiet"]) == 0
    assert (recorded / "landscape.npz").exists()


@pytest.mark.parametrize("spec, said", [
    ("no_such_module_xyz:loss_fn", "no module named no_such_module_xyz"),
    ("{dir}/quadratic_loss.py:missing", "has no attribute missing"),
    ("{dir}/quadratic_loss.py:NOT_A_FUNCTION", "NOT_A_FUNCTION is a int, not a function"),
    ("{dir}/quadratic_loss.py:two_arguments", "two_arguments(params, data) must take one argument"),
    ("{dir}/broken.py:loss_fn", "{dir}/broken.py, line 1: fails on import (ZeroDivisionError: division by zero)"),
    ("{dir}/absent.py:loss_fn", "no such file {dir}/absent.py"),
    ("loss_fn", "expected MODULE:ATTR or path/to/file.py:ATTR"),
])
def test_a_bad_loss_is_one_line(recorded, capsys, spec, said):
    (recorded / "broken.py").write_text("x = 1 / 0\n")
    spec, said = spec.format(dir=recorded), said.format(dir=recorded)
    assert main(["landscape", str(recorded / "trajectory.npz"), "--loss", spec, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lossfilm landscape: error: --loss {spec}: ") and said in err, err
    assert err.count("\n") == 1 and not (recorded / "landscape.npz").exists()


def test_without_loss_a_recorded_trajectory_asks_for_one(recorded, capsys):
    assert main(["landscape", str(recorded / "trajectory.npz"), "--quiet"]) == 2
    assert "--loss my_module:loss_fn" in capsys.readouterr().err


def test_load_loss_returns_the_function():
    assert load_loss("math:sqrt")(4.0) == 2.0
    with pytest.raises(ConfigError, match="--loss os.path:nope: os.path has no attribute nope"):
        load_loss("os.path:nope")
