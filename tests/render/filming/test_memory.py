"""Memory stays flat as runs and films get longer: snapshots stream to disk, frames stream to ffmpeg.

Each run is a child process that reports its peak RSS (``ru_maxrss``); the
short and the long run of a comparison run at the same time.
Recording: 1,000 and 8,000 snapshots of a 2,125-parameter network, 8.5 MB
and 68 MB of parameters, also measured with tracemalloc (numpy's buffers;
the memory-mapped snapshot file is on disk, not traced). Rendering: its
own and its ffmpeg's peak RSS, for a short and an eight times
longer film: through the encoders with a synthetic film (no OpenGL
needed), and with the real renderer where an off-screen back-end exists.
A film or a trajectory held in memory would add tens of MB to the longer
run; the bounds allow a few. A user's own loop through ``lossfilm.Recorder``:
2,000 snapshots of a 101,770-parameter network (814 MB) must raise the peak
RSS by less than a tenth of that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MB = 1e6


# A child process that trains a 100-20-5 MLP (2,125 parameters) for SNAPSHOTS steps, recording every one,
# and reports the traced peak (numpy's buffers; the snapshot file is on disk) and its peak RSS.
RECORD = textwrap.dedent("""
    import json, resource, sys, tracemalloc
    sys.path.insert(0, {repo!r})
    import numpy as np
    from lossfilm.training.fit.config import TrainConfig
    from lossfilm.training.data.datasets import Dataset
    from lossfilm.training.fit.train import train

    snapshots, out = int(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(0)
    X, y = rng.random((128, 100)), np.arange(128) % 5
    data = Dataset("synthetic", X[:96], y[:96], X[96:], y[96:], 5, {{"spec": "synthetic"}})
    config = TrainConfig(hidden=(20,), epochs=snapshots // 12, batch_size=8, lr=0.01)  # 12 steps per epoch
    tracemalloc.start()
    trajectory = train(config, data, out, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    print(json.dumps({{"traced": peak, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "bytes": trajectory.params.nbytes}}))
""")


def reports(*argvs, **options):
    """The last line of each child's output, as JSON; the children run at the same time.

    Each peak is its own process's (and its own children's), so the short and the long run need not take turns.
    """
    children = [subprocess.Popen([str(arg) for arg in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, **options) for argv in argvs]
    said = [child.communicate() for child in children]
    for child, (_, stderr) in zip(children, said):
        assert child.returncode == 0, stderr
    return [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in said]


def recording_peaks(tmp_path, *snapshots):
    script = tmp_path / "record_peak.py"
    script.write_text(RECORD.format(repo=str(REPO)))
    return reports(*([sys.executable, script, n, tmp_path / f"t{n}.npz"] for n in snapshots))


@pytest.mark.slow
def test_recording_memory_does_not_grow_with_the_number_of_snapshots(tmp_path):
    short, long = recording_peaks(tmp_path, 1000, 8000)
    print(f"recording {short['bytes'] / MB:.1f} MB vs {long['bytes'] / MB:.1f} MB of snapshots: traced peak "
          f"{short['traced'] / MB:.1f} -> {long['traced'] / MB:.1f} MB, peak RSS {short['rss'] / MB:.0f} -> "
          f"{long['rss'] / MB:.0f} MB")
    assert long["bytes"] > 7 * short["bytes"]
    assert long["traced"] < 1.3 * short["traced"] + 2 * MB, (short, long)
    # RSS would also count the memory-mapped snapshot file's pages, if the recorder did not unmap them
    assert long["rss"] < 1.3 * short["rss"] + 10 * MB, (short, long)


# A user's own loop over a 784-128-10 MLP (101,770 parameters, as for MNIST), recording every one of SNAPSHOTS
# steps through lossfilm.Recorder; it reports its peak RSS before the loop and at the end.
USER_LOOP = textwrap.dedent("""
    import json, resource, sys
    sys.path.insert(0, {repo!r})
    import numpy as np
    import lossfilm
    from lossfilm.training.fit.recorder import Recorder

    snapshots, out = int(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(0)
    params = {{"W1": rng.normal(size=(128, 784)), "b1": np.zeros(128), "W2": rng.normal(size=(10, 128)),
               "b2": np.zeros(10)}}
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with Recorder(out + ".warm.npz") as rec:  # every code path once, so that the loop's peak is the recording's
        rec.record(params, loss=1.0)
    before = peak()
    with Recorder(out) as rec:
        for step in range(snapshots):
            for value in params.values():
                value *= 0.9999  # a training step, in place
            rec.record(params, loss=1.0 / (step + 1), step=step)
    print(json.dumps({{"before": before, "after": peak(), "bytes": rec.trajectory.params.nbytes,
                      "shape": list(rec.trajectory.params.shape)}}))
""")


@pytest.mark.slow
def test_recording_2000_snapshots_of_a_101770_parameter_network_adds_under_a_tenth_of_it(tmp_path):
    script = tmp_path / "user_loop.py"
    script.write_text(USER_LOOP.format(repo=str(REPO)))
    result = subprocess.run([sys.executable, str(script), "2000", str(tmp_path / "trajectory.npz")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout.strip().splitlines()[-1])
    growth = run["after"] - run["before"]
    print(f"recorded {run['shape']} float32 ({run['bytes'] / MB:.0f} MB): peak RSS {run['before'] / MB:.0f} -> "
          f"{run['after'] / MB:.0f} MB (+{growth / MB:.1f} MB, {growth / run['bytes']:.1%} of the trajectory)")
    assert run["shape"] == [2000, 101770]
    assert growth < 0.1 * run["bytes"], run


# A child process that renders and reports its peak RSS and its children's (ffmpeg, the back-end probe).
RENDER = textwrap.dedent("""
    import json, resource, sys
    sys.path.insert(0, {repo!r})
    import numpy as np
    from dataclasses import dataclass

    mode, frames, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "synthetic":
        from lossfilm.render.filming.deliver import render_film

        @dataclass(frozen=True)
        class Spec:
            size: tuple
            fps: int
            transparent: bool = False
            render_size = property(lambda self: self.size)  # not supersampled

        class Film:  # a block moving over a changing background: cheap to draw, real work to encode
            def __init__(self, spec):
                self.spec, self.n_frames = spec, frames
            def frame(self, index):
                width, height = self.spec.size
                frame = np.zeros((height, width, 3), np.uint8)
                frame[..., 1] = index % 256
                left = 3 * index % (width - 20)
                frame[height // 4:height // 2, left:left + 20] = 255
                return frame
            def close(self):
                pass

        render_film(Spec((320, 240), 15), [out + ".mp4", out + ".gif"], progress=False, opener=Film)
    else:
        from lossfilm.cli import main
        assert main(["render", "descent", "--landscape", sys.argv[4], "-o", out + ".mp4", "--size", "320x240",
                     "--fps", "15", "--seconds", str(frames / 15), "--draft", "--quiet"]) == 0
    usage = resource.getrusage
    print(json.dumps({{"self": usage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "children": usage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}}))
""")


def render_peaks(tmp_path, mode, frames, *extra):
    """The peaks of one child per number of ``frames``, run at the same time."""
    script = tmp_path / "render_peak.py"
    script.write_text(RENDER.format(repo=str(REPO)))
    return reports(*([sys.executable, script, mode, n, tmp_path / f"film{n}", *extra] for n in frames),
                   env=dict(os.environ))


def assert_flat(short, long, what):
    print(f"{what}: peak RSS {short['self'] / MB:.0f} MB -> {long['self'] / MB:.0f} MB, "
          f"children {short['children'] / MB:.0f} MB -> {long['children'] / MB:.0f} MB")
    for side in ("self", "children"):
        assert long[side] < 1.1 * short[side] + 10 * MB, (side, short, long)


def test_encoding_memory_does_not_grow_with_the_number_of_frames(tmp_path):
    # 300 frames of 320x240 are 69 MB of pixels: an MP4 + GIF pipeline that buffered them would show it
    assert_flat(*render_peaks(tmp_path, "synthetic", (30, 300)), "encoding 30 vs 300 frames, MP4 + GIF")


@pytest.mark.slow
def test_rendering_memory_does_not_grow_with_the_number_of_frames(tmp_path):
    from lossfilm.render.filming import backend
    from tests.helpers import rippled_bowl_landscape

    try:
        backend.ensure_offscreen()  # the children inherit the verified back-end and do not probe again
    except Exception as error:
        pytest.skip(f"no off-screen OpenGL here: {error}")
    landscape = rippled_bowl_landscape(tmp_path / "landscape.npz", resolution=41, snapshots=40)
    assert_flat(*render_peaks(tmp_path, "real", (15, 120), landscape), "rendering descent 15 vs 120 frames at 320x240")
