"""The recorder: snapshots of any loop go to disk, never all into RAM; no temporary file is left behind,
and what a broken-off loop recorded is kept as an incomplete trajectory."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from lossfilm.format.errors import LossfilmError
from lossfilm.training.fit.config import TrainConfig
from lossfilm.training.data.datasets import Dataset
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.fit.recorder import Recorder
from lossfilm.training.fit.train import train


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


REPO = Path(__file__).resolve().parents[3]


def test_records_in_order_and_cleans_up(tmp_path):
    params = {"W": np.zeros((2, 2)), "b": np.zeros((1, 2))}
    out = tmp_path / "trajectory.npz"
    with Recorder(out, settings={"note": 1}) as recorder:
        assert recorder.tmp_path.exists() and recorder.tmp_path.parent.parent == tmp_path
        for step in range(3):
            params["W"][:] = step
            assert recorder.record(params, step=step, epoch=step / 2, loss=1.0 / (step + 1))
    traj = recorder.trajectory
    assert traj.params[:, 0].tolist() == [0, 1, 2] and traj.steps.tolist() == [0, 1, 2]
    assert traj.epochs.tolist() == [0, 0.5, 1.0] and traj.losses[2] == pytest.approx(1 / 3)
    assert traj.settings["note"] == 1 and traj.settings["source"] == "recorder" and traj.complete
    assert traj.model is None and len(traj.key) == 16
    assert leftovers(tmp_path) == []


def test_finish_takes_what_only_the_end_of_the_run_knows(tmp_path):
    params = {"W": np.ones(3)}
    with Recorder(tmp_path / "trajectory.npz") as recorder:
        recorder.record(params, step=0, epoch=0.0, loss=1.0)
        traj = recorder.finish({"note": 1}, key="abc", model={"sizes": [2, 2]})
    assert traj.key == "abc" and traj.model == {"sizes": [2, 2]} and traj.settings == {"note": 1}
    assert recorder.trajectory is traj and leftovers(tmp_path) == []


def test_every_keeps_every_nth_call_and_the_last(tmp_path):
    with Recorder(tmp_path / "trajectory.npz", every=4) as recorder:
        for step in range(10):
            kept = recorder.record({"w": np.full(2, float(step))}, loss=float(step))
            assert kept == (step % 4 == 0)
    traj = recorder.trajectory
    assert traj.steps.tolist() == [0, 4, 8, 9] and traj.params[:, 0].tolist() == [0, 4, 8, 9]
    assert traj.losses.tolist() == [0, 4, 8, 9] and traj.settings["every"] == 4


def test_the_length_need_not_be_known_and_grows_past_any_chunk(tmp_path):
    rows = (np.arange(3000, dtype=np.float32)[:, None] * np.ones(700, np.float32))  # (3000,700), 8.4 MB
    with Recorder(tmp_path / "trajectory.npz") as recorder:
        for row in rows:
            recorder.record({"w": row})
    np.testing.assert_array_equal(recorder.trajectory.params, rows)


def test_a_non_finite_snapshot_is_refused_and_not_kept(tmp_path):
    params = {"W": np.ones(3)}
    with Recorder(tmp_path / "trajectory.npz") as recorder:
        assert recorder.record(params, step=0)
        assert not recorder.record({"W": np.array([1.0, np.nan, 1.0])}, step=1)
        assert not recorder.record({"W": np.array([1e39, 0.0, 0.0])}, step=1)  # inf in float32
        assert recorder.record({"W": np.full(3, 2.0)}, step=2)
    traj = recorder.trajectory
    assert traj.steps.tolist() == [0, 2] and traj.params[1].tolist() == [2, 2, 2]


def test_a_snapshot_of_another_shape_is_one_line(tmp_path):
    with pytest.raises(LossfilmError, match=r"snapshot at step 1: W has shape \(4,\), expected \(3,\)"):
        with Recorder(tmp_path / "trajectory.npz") as recorder:
            recorder.record({"W": np.ones(3)})
            recorder.record({"W": np.ones(4)})


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_a_broken_off_loop_keeps_what_it_recorded_as_an_incomplete_trajectory(tmp_path, error, capsys):
    with pytest.raises(error):
        with Recorder(tmp_path / "trajectory.npz") as recorder:
            for step in range(3):
                recorder.record({"W": np.full(3, float(step))}, loss=1.0)
            raise error()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trajectory.partial.npz"]  # no temporary file
    kept = Trajectory.load(tmp_path / "trajectory.partial.npz")
    assert not kept.complete and kept.params[:, 0].tolist() == [0, 1, 2]
    assert f"stopped by {error.__name__} after 3 snapshots" in capsys.readouterr().err


def test_an_old_trajectory_survives_an_interrupted_run(tmp_path):
    out = tmp_path / "trajectory.npz"
    out.write_bytes(b"the good old run")
    with pytest.raises(KeyboardInterrupt):
        with Recorder(out) as recorder:
            recorder.record({"W": np.ones(3)})
            raise KeyboardInterrupt
    assert out.read_bytes() == b"the good old run" and leftovers(tmp_path) == ["trajectory.partial.npz"]
    with Recorder(out) as recorder:  # a complete recording replaces both
        recorder.record({"W": np.ones(3)})
    assert recorder.trajectory.complete and leftovers(tmp_path) == []


def test_missing_output_directory_is_a_user_error(tmp_path):
    with pytest.raises(LossfilmError, match="output directory .*nope does not exist"):
        Recorder(tmp_path / "nope" / "trajectory.npz")


def test_nothing_recorded_is_an_error_and_cleans_up(tmp_path):
    with pytest.raises(LossfilmError, match="no finite snapshot"):
        with Recorder(tmp_path / "trajectory.npz"):
            pass
    assert list(tmp_path.iterdir()) == []


# A training loop of the user's own (NumPy, gradient descent on a quadratic), recording every step
# and printing its step as it goes, until it is killed.
LOOP = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    import numpy as np
    import lossfilm

    rng = np.random.default_rng(0)
    params = {{"W": rng.normal(size=(50, 40)), "b": np.zeros(50)}}
    with lossfilm.Recorder(sys.argv[1]) as rec:
        for step in range(10 ** 9):
            params = {{k: 0.999 * v for k, v in params.items()}}
            rec.record(params, loss=float((params["W"] ** 2).sum()), step=step)
            print(step, flush=True)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
@pytest.mark.parametrize("signum, said", [(signal.SIGINT, "KeyboardInterrupt"), (signal.SIGTERM, "SystemExit")],
                         ids=["Ctrl-C", "kill"])
def test_a_killed_recording_loop_leaves_a_trajectory_that_loads(tmp_path, signum, said):
    script = tmp_path / "loop.py"
    script.write_text(LOOP.format(repo=str(REPO)))
    out = tmp_path / "trajectory.npz"
    loop = subprocess.Popen([sys.executable, str(script), str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in loop.stdout:  # midway: a few hundred steps recorded
        if int(line) >= 300:
            break
    loop.send_signal(signum)
    _, stderr = loop.communicate(timeout=60)
    assert loop.returncode == (143 if signum == signal.SIGTERM else -signal.SIGINT), stderr  # as Python exits on each
    assert f"recording stopped by {said} after" in stderr
    assert not out.exists() and leftovers(tmp_path, keep="loop.py") == ["trajectory.partial.npz"]
    kept = Trajectory.load(tmp_path / "trajectory.partial.npz")
    assert not kept.complete and len(kept) >= 300 and kept.steps.tolist() == list(range(len(kept)))
    expected = np.random.default_rng(0).normal(size=(50, 40)) * 0.999 ** len(kept)
    np.testing.assert_allclose(kept.snapshot(len(kept) - 1)["W"], expected, rtol=1e-5)
