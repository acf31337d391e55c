"""examples/pytorch_cnn.py runs as a user would run it: a PyTorch CNN recorded, its landscape, a film and a still."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch example needs torch (pip install 'lossfilm[torch]')")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pytorch_cnn.py"


def _example():
    spec = importlib.util.spec_from_file_location("pytorch_cnn", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cnn_example_records_trains_and_films(tmp_path):
    pytest.importorskip("pyvista")
    import imageio.v3 as iio

    from lossfilm.format.trajectory import Trajectory
    from lossfilm.training.landscape.pipeline import Landscape

    threads = torch.get_num_threads()
    try:
        outputs = _example().main(["--epochs", "2", "--resolution", "7", "--samples", "200", "--size", "320x240",
                                   "--fps", "5", "--seconds", "1", "--out", str(tmp_path / "cnn")])
    finally:
        torch.set_num_threads(threads)  # the example sets its own
    trajectory = Trajectory.load(outputs["trajectory"])
    assert len(trajectory) == 1 + 2 * 43 and trajectory.complete
    assert "conv1.weight" in trajectory.layout.names and "bn1.running_mean" not in trajectory.layout.names
    assert outputs["accuracy"] > 0.8  # it learned: two epochs on the digits
    land = Landscape.load(outputs["landscape"])
    assert land.path_loss_true[-1] < 0.5 * land.path_loss_true[0] and np.isfinite(land.loss).all()
    assert land.settings["evaluation"].startswith("torch:") and land.settings["stats"]["samples"] == 200
    assert iio.imread(outputs["film"], plugin="FFMPEG").shape == (5, 240, 320, 3)
    still = iio.imread(outputs["still"])
    assert still.shape == (240, 320, 3) and still.std() > 10  # a picture, not a blank frame
    # the sharpness along the run, by the model's exact Hessian-vector products, and its still
    assert len(land.sharpness) == 8 and np.isfinite(land.sharpness).all() and land.sharpness.max() > 0
    assert land.settings["curvature"]["threshold"]["rule"] == "(2+2 beta)/eta"
    assert iio.imread(outputs["sharpness"]).std() > 10


def test_the_mode_connectivity_example_puts_two_runs_on_one_line(tmp_path):
    pytest.importorskip("pyvista")
    import imageio.v3 as iio

    from lossfilm.training.landscape.pipeline import Landscape

    spec = importlib.util.spec_from_file_location("pytorch_mode_connectivity",
                                                  EXAMPLE.with_name("pytorch_mode_connectivity.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    try:
        outputs = module.main(["--epochs", "1", "--resolution", "5", "--samples", "150", "--size", "160x120",
                               "--out", str(tmp_path / "two")])
    finally:
        torch.set_num_threads(threads)
    land = Landscape.load(outputs["landscape"])
    at = {float(v): i for i, v in enumerate(land.line_t)}
    ends = [land.path_loss_true[land.path_owner == k][-1] for k in (0, 1)]  # each model's own loss
    np.testing.assert_allclose(land.line_loss[[at[0.0], at[1.0]]], ends, rtol=1e-5)
    assert np.isfinite(outputs["barrier"]) and land.settings["between"]["end_accuracies"][0] > 0.5
    for still in ("line", "surface"):
        assert iio.imread(outputs[still]).std() > 10
