"""examples/bring_your_own_model.py runs as a user would run it, and makes a film and a still."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bring_your_own_model.py"


def _example():
    spec = importlib.util.spec_from_file_location("bring_your_own_model", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_makes_a_film_and_a_still(tmp_path):
    pytest.importorskip("pyvista")
    import imageio.v3 as iio

    from lossfilm.training.landscape.pipeline import Landscape

    example = _example()
    outputs = example.main(["--epochs", "2", "--samples", "200", "--resolution", "7", "--size", "320x240",
                            "--fps", "5", "--seconds", "1", "--out", str(tmp_path / "byom")])
    assert iio.imread(outputs["film"], plugin="FFMPEG").shape == (5, 240, 320, 3)
    still = iio.imread(outputs["still"])
    assert still.shape == (240, 320, 3) and still.std() > 10  # a picture, not a blank frame
    land = Landscape.load(outputs["landscape"])
    assert land.path_loss_true[-1] < land.path_loss_true[0]
    assert len(land.line_t) == 61 and land.line_loss[list(land.line_t).index(0.0)] == pytest.approx(
        land.path_loss_true[0], rel=1e-9)  # the 1-D view starts where the path does


def test_the_users_gradients_are_right():
    """The example's own backward pass, against central differences (a user's code should be checked too)."""
    example = _example()
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    params = example.init_params(rng, 4, 5, 3)
    grads = example.gradients(params, X, y)
    for name, value in params.items():
        index = np.unravel_index(rng.integers(value.size), value.shape)
        h = 1e-6
        value[index] += h
        up = example.cross_entropy(params, X, y)
        value[index] -= 2 * h
        down = example.cross_entropy(params, X, y)
        value[index] += h
        assert grads[name][index] == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-8)
