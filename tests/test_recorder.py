"""The recorder: snapshots go to disk, never all into RAM, and leave no temporary file behind."""

import tracemalloc

import numpy as np
import pytest

from lossfilm.format.errors import LossfilmError
from lossfilm.training.config import TrainConfig
from lossfilm.training.data import Dataset
from lossfilm.training.recorder import Recorder, snapshot_capacity
from lossfilm.training.train import train


def leftovers(directory, keep="trajectory.npz"):
    return sorted(p.name for p in directory.iterdir() if p.name != keep)


@pytest.mark.slow
def test_a_long_run_streams_to_disk_with_bounded_memory(tmp_path):
    # 100-190-5: 20,145 parameters; 96 images in batches of 8 for 250 epochs: 3,001 snapshots,
    # a (3001, 20145) float32 matrix of 242 MB that must never be in RAM at once
    rng = np.random.default_rng(0)
    X, y = rng.random((128, 100)), np.arange(128) % 5
    data = Dataset("synthetic", X[:96], y[:96], X[96:], y[96:], 5, {"spec": "synthetic"})
    config = TrainConfig(hidden=(190,), epochs=250, batch_size=8, lr=0.01)
    matrix_bytes = 3001 * 20145 * 4

    tracemalloc.start()
    try:
        traj = train(config, data, tmp_path / "trajectory.npz", progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert traj.params.shape == (3001, 20145)
    assert peak < 0.1 * matrix_bytes, f"peak {peak / 1e6:.1f} MB for a {matrix_bytes / 1e6:.0f} MB trajectory"
    assert (tmp_path / "trajectory.npz").stat().st_size > matrix_bytes
    assert leftovers(tmp_path) == []
    assert np.isfinite(traj.params[-1]).all() and traj.params[-1].any()


def test_records_in_order_and_cleans_up(tmp_path):
    params = {"W": np.zeros((2, 2)), "b": np.zeros((1, 2))}
    out = tmp_path / "trajectory.npz"
    with Recorder(out, params, capacity=3) as recorder:
        assert recorder.tmp_path.exists() and recorder.tmp_path.parent == tmp_path
        for step in range(3):
            params["W"][:] = step
            assert recorder.record(params, step, step / 2, loss=1.0 / (step + 1))
        with pytest.raises(IndexError, match="full"):
            recorder.record(params, 3, 1.5, loss=0.0)
        traj = recorder.finish({"note": 1}, key="abc", model={"sizes": [2, 2]})
    assert traj.params[:, 0].tolist() == [0, 1, 2] and traj.steps.tolist() == [0, 1, 2]
    assert traj.epochs.tolist() == [0, 0.5, 1.0] and traj.losses[2] == pytest.approx(1 / 3)
    assert traj.key == "abc" and traj.model == {"sizes": [2, 2]} and traj.settings == {"note": 1}
    assert leftovers(tmp_path) == []


def test_a_non_finite_snapshot_is_refused_and_not_kept(tmp_path):
    params = {"W": np.ones(3)}
    with Recorder(tmp_path / "trajectory.npz", params, capacity=3) as recorder:
        assert recorder.record(params, 0, 0.0, 1.0)
        assert not recorder.record({"W": np.array([1.0, np.nan, 1.0])}, 1, 0.5, 1.0)
        assert not recorder.record({"W": np.array([1e39, 0.0, 0.0])}, 1, 0.5, 1.0)  # inf in float32
        assert recorder.record({"W": np.full(3, 2.0)}, 2, 1.0, 0.5)
        traj = recorder.finish({}, key="k", diverged=True)
    assert traj.steps.tolist() == [0, 2] and traj.params[1].tolist() == [2, 2, 2] and traj.diverged


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_the_temporary_file_goes_on_interruption(tmp_path, error):
    params = {"W": np.ones(3)}
    with pytest.raises(error):
        with Recorder(tmp_path / "trajectory.npz", params, capacity=5) as recorder:
            recorder.record(params, 0, 0.0, 1.0)
            raise error()
    assert list(tmp_path.iterdir()) == []


def test_an_old_trajectory_survives_an_interrupted_run(tmp_path):
    out = tmp_path / "trajectory.npz"
    out.write_bytes(b"the good old run")
    with pytest.raises(KeyboardInterrupt):
        with Recorder(out, {"W": np.ones(3)}, capacity=5) as recorder:
            recorder.record({"W": np.ones(3)}, 0, 0.0, 1.0)
            raise KeyboardInterrupt
    assert out.read_bytes() == b"the good old run" and leftovers(tmp_path) == []


def test_missing_output_directory_is_a_user_error(tmp_path):
    with pytest.raises(LossfilmError, match="output directory .*nope does not exist"):
        Recorder(tmp_path / "nope" / "trajectory.npz", {"W": np.ones(3)}, capacity=2)


def test_nothing_recorded_is_an_error_and_cleans_up(tmp_path):
    with pytest.raises(LossfilmError, match="no finite snapshot"):
        with Recorder(tmp_path / "trajectory.npz", {"W": np.ones(3)}, capacity=2) as recorder:
            recorder.finish({}, key="k")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("total, every, expected", [(10, 1, 11), (10, 3, 5), (9, 3, 4), (1, 5, 2), (7, 7, 2)])
def test_capacity_counts_initial_periodic_and_final(total, every, expected):
    assert snapshot_capacity(total, every) == expected
    recorded = {0, total} | set(range(0, total + 1, every))
    assert len(recorded) == expected
