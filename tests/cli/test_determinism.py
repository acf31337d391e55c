"""The same command with the same seed gives byte-identical artifacts and pixel-identical stills.

The pipeline is run twice through the command line into two folders (one
of the training runs in a separate process with another hash seed, so that
nothing depends on the process), and the files are compared byte for byte.
The artifacts hold no time of writing (fixed zip timestamps, no compute
time in a finished landscape), so this holds on any day, not only within
the zip format's two-second clock tick.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lossfilm.cli import main
from lossfilm.format.trajectory import Trajectory

REPO = Path(__file__).resolve().parents[2]
TRAIN = ["train", "--epochs", "2", "--record-every", "5", "--quiet"]
LANDSCAPE = ["landscape", "--resolution", "21", "--samples", "500", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same train + landscape commands run into folders a and b; c is train with another seed."""
    root = tmp_path_factory.mktemp("determinism")
    for name in "abc":
        (root / name).mkdir()
    assert main(TRAIN + ["-o", str(root / "a" / "trajectory.npz")]) == 0
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-m", "lossfilm", *TRAIN, "-o", str(root / "b" / "trajectory.npz")],
                   env=env, check=True, capture_output=True)
    assert main(TRAIN + ["--seed", "1", "-o", str(root / "c" / "trajectory.npz")]) == 0
    for name in "ab":
        folder = root / name
        assert main(LANDSCAPE + [str(folder / "trajectory.npz"), "-o", str(folder / "landscape.npz")]) == 0
    return root


def test_same_seed_same_trajectory_bytes(runs):
    a, b = (runs / name / "trajectory.npz" for name in "ab")
    assert a.read_bytes() == b.read_bytes()


def test_another_seed_changes_the_trajectory(runs):
    a, c = (Trajectory.load(runs / name / "trajectory.npz") for name in "ac")
    assert a.key != c.key
    assert a.params.shape == c.params.shape and not np.array_equal(a.params, c.params)
    assert (runs / "a" / "trajectory.npz").read_bytes() != (runs / "c" / "trajectory.npz").read_bytes()


def test_same_trajectory_and_settings_same_landscape_bytes(runs):
    a, b = (runs / name / "landscape.npz" for name in "ab")
    assert a.read_bytes() == b.read_bytes()


def test_the_archives_hold_no_time_of_writing(runs):
    """Each member carries the zip format's first date, so a save tomorrow makes the same bytes."""
    import zipfile

    for name in ("trajectory.npz", "landscape.npz"):
        with zipfile.ZipFile(runs / "a" / name) as archive:
            assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.slow
def test_same_landscape_same_still_pixels(runs, tmp_path):
    import imageio.v3 as iio

    from lossfilm.render.filming import backend

    try:
        backend.ensure_offscreen()
    except Exception as error:
        pytest.skip(f"no off-screen OpenGL here: {error}")
    stills = []
    for name in "ab":
        out = tmp_path / f"{name}.png"
        assert main(["still", "descent", "--landscape", str(runs / name / "landscape.npz"), "-o", str(out),
                     "--size", "320x240", "--quiet"]) == 0
        stills.append(iio.imread(out))
    assert stills[0].shape == (240, 320, 3) and stills[0].std() > 0  # a picture, not a blank
    np.testing.assert_array_equal(stills[0], stills[1])
