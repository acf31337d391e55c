"""Nothing lost: the real command line, interrupted mid-stage by SIGINT (Ctrl-C) or SIGTERM (kill).

Each test starts ``python -m lossfilm ...`` with an earlier good output at
the target, waits (polling its progress bar on stderr, never a fixed sleep)
until the stage is under way, sends the signal and checks: exit status 130
(SIGINT) or 143 (SIGTERM), a one-line message as the last line of stderr
and no traceback, the earlier output byte-identical, no temporary file
left, no helper process left running; and for the loss grid, that its
finished nodes are kept and the next run resumes from them and ends with
the same landscape as an uninterrupted run.

The encoder's own interruption tests (SIGINT and SIGKILL, a synthetic film)
are in test_encode.py; the grid's in-process resume in test_landscape.py.
"""

from __future__ import annotations

import re
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lossfilm.format.artifact import read_header
from lossfilm.cli import main
from lossfilm.format.trajectory import Trajectory
from tests.helpers import Cli, alive, children, idx_bytes
from lossfilm.training.landscape.pipeline import Landscape, checkpoint_path_for

REPO = Path(__file__).resolve().parents[3]
STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
SAID = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)"}
GRID = 201  # nodes per side: a grid of about a second here, long enough to be interrupted
SIGNALS = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals and /proc")


def last_line(stderr):
    """The message after the progress bars (which end their lines with \\r)."""
    lines = [line for line in re.split(r"[\r\n]", stderr) if line.strip()]
    return lines[-1] if lines else ""


def temporaries(folder):
    return sorted(entry.name for entry in Path(folder).iterdir() if entry.name.startswith("."))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small MNIST-format folder (8x8 images): the CLI reads it without importing scikit-learn."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for part, n in (("train", 400), ("t10k", 100)):
        labels = rng.integers(0, 10, n)
        images = (rng.random((n, 8, 8)) * 60 + 19 * labels[:, None, None]).astype(np.uint8)  # (n,8,8)
        (root / f"{part}-images-idx3-ubyte").write_bytes(idx_bytes(images))
        (root / f"{part}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory, data):
    """A short trajectory, its small landscape (the "earlier good output") and its full-size landscape."""
    folder = tmp_path_factory.mktemp("run")
    trajectory, small, full = folder / "trajectory.npz", folder / "small.npz", folder / "full.npz"
    assert main(["train", "--data", str(data), "--hidden", "16", "--epochs", "3", "--record-every", "2",
                 "--quiet", "-o", str(trajectory)]) == 0
    assert main(["landscape", str(trajectory), "--resolution", "5", "--samples", "0", "--quiet",
                 "-o", str(small)]) == 0
    assert main(["landscape", str(trajectory), "--resolution", str(GRID), "--samples", "0", "--quiet",
                 "-o", str(full)]) == 0
    return {"trajectory": trajectory, "small": small, "full": full}


@SIGNALS
def test_interrupted_training_keeps_the_earlier_trajectory(tmp_path, data, run, signum):
    target = tmp_path / "trajectory.npz"
    shutil.copyfile(run["trajectory"], target)
    before = target.read_bytes()
    train = Cli("train", "--data", data, "--hidden", "8", "--epochs", "100000", "--record-every", "500",
                "-o", target)
    train.wait_for(lambda: train.progress("train")[0] > 0, "training steps")
    code, stderr = train.stop(signum)
    assert code == STATUS[signum], stderr
    assert last_line(stderr) == f"lossfilm train: {SAID[signum]}; finished outputs are kept"
    assert "Traceback" not in stderr and stderr.count("lossfilm train:") == 1
    assert target.read_bytes() == before
    assert temporaries(tmp_path) == []  # the streamed snapshot file is gone
    kept = Trajectory.load(tmp_path / "trajectory.partial.npz")  # what was recorded, marked incomplete
    assert not kept.complete and len(kept) >= 1 and kept.model["sizes"][1] == 8 and kept.settings["data"]


@pytest.mark.slow
@SIGNALS
def test_an_interrupted_grid_keeps_its_nodes_and_resumes_to_the_same_landscape(tmp_path, run, signum, capsys):
    target = tmp_path / "landscape.npz"
    shutil.copyfile(run["small"], target)
    before = target.read_bytes()
    args = ["landscape", run["trajectory"], "-o", target, "--resolution", GRID, "--samples", 0]
    grid = Cli(*args)
    grid.wait_for(lambda: grid.progress("loss grid")[0] > 0, "grid nodes")
    code, stderr = grid.stop(signum)
    assert code == STATUS[signum], stderr
    sidecar = checkpoint_path_for(target)
    said = re.fullmatch(rf"lossfilm landscape: {re.escape(SAID[signum])}; (\d+) of {GRID * GRID} grid nodes are "
                        rf"kept in {re.escape(str(sidecar))}; the same command resumes from there",
                        last_line(stderr))
    assert said, stderr
    assert "Traceback" not in stderr
    kept = int(said[1])
    assert 0 < kept < GRID * GRID
    assert Landscape.load(sidecar).computed.sum() == kept
    assert target.read_bytes() == before  # the earlier landscape is untouched
    assert temporaries(tmp_path) == []

    assert main([str(arg) for arg in args]) == 0  # the same command again: resumes
    assert f"(resumed an interrupted run with {kept} nodes done)" in capsys.readouterr().out
    assert not sidecar.exists() and temporaries(tmp_path) == []
    resumed, full = Landscape.load(target), Landscape.load(run["full"])
    assert resumed.computed.all()
    np.testing.assert_allclose(resumed.loss, full.loss, rtol=1e-12)
    np.testing.assert_allclose(resumed.accuracy, full.accuracy, rtol=1e-12)
    np.testing.assert_array_equal(resumed.path_loss_true, full.path_loss_true)
    assert read_header(target) == read_header(run["full"])  # same key, settings and no trace of the resume


@pytest.fixture(scope="module")
def landscape(tmp_path_factory):
    from lossfilm.render.filming import backend
    from tests.helpers import rippled_bowl_landscape

    try:
        backend.ensure_offscreen()
    except Exception as error:
        pytest.skip(f"no off-screen OpenGL here: {error}")
    return rippled_bowl_landscape(tmp_path_factory.mktemp("bowl") / "landscape.npz", resolution=21, snapshots=12)


@pytest.mark.slow
def test_an_interrupted_render_keeps_the_earlier_film_and_gif(tmp_path, landscape, signum=signal.SIGTERM):
    # SIGTERM only: Ctrl-C during a render (the same clean-up path) is tested in test_encode.py.
    film, gif = tmp_path / "descent.mp4", tmp_path / "descent.gif"
    film.write_bytes(b"earlier good film")
    gif.write_bytes(b"earlier good gif")
    render = Cli("render", "descent", "--landscape", landscape, "-o", film, "-o", gif, "--size", "96x64",
                 "--fps", "30", "--seconds", "600", "--draft", "--workers", "2")
    render.wait_for(lambda: render.progress("descent.mp4, descent.gif")[0] > 0, "rendered frames")
    helpers = children(render.process.pid)
    assert len(helpers) >= 4  # two render workers and two encoders
    code, stderr = render.stop(signum)
    assert code == STATUS[signum], stderr
    assert last_line(stderr) == f"lossfilm render: {SAID[signum]}; finished outputs are kept"
    assert "Traceback" not in stderr
    assert film.read_bytes() == b"earlier good film" and gif.read_bytes() == b"earlier good gif"
    assert temporaries(tmp_path) == []  # no half-written film, GIF, intermediate film or palette
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in helpers):
        assert time.monotonic() < deadline, f"left running: {[pid for pid in helpers if alive(pid)]}"
        time.sleep(0.05)
