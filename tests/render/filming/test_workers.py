"""Parallel rendering: frames in order and equal to a one-process render; errors and deaths propagate."""

import os
import signal
import time
from dataclasses import dataclass

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.render.filming.workers import render_frames


@dataclass(frozen=True)
class FakeSpec:
    """Stands in for FilmSpec: picklable, all a worker needs to rebuild the film."""

    n_frames: int
    size: tuple = (32, 24)
    fail_at: int = -1  # raise at this frame
    crash_at: int = -1  # die without a word at this frame
    error: type = ValueError


class FakeFilm:
    """Frames that depend on the index and on the process-independent spec only."""

    def __init__(self, spec):
        self.spec = spec
        self.n_frames = spec.n_frames

    def frame(self, index):
        if index == self.spec.fail_at:
            raise self.spec.error(f"frame {index} is cursed")
        if index == self.spec.crash_at:
            os.kill(os.getpid(), signal.SIGKILL)
        width, height = self.spec.size
        rng = np.random.default_rng(index)
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)

    def close(self):
        pass


def test_two_workers_give_the_same_frames_in_the_same_order_as_one():
    spec = FakeSpec(n_frames=21)  # not a multiple of the block: the last block is short
    with render_frames(spec, 1, opener=FakeFilm) as frames:
        assert len(frames) == 21
        alone = list(frames)
    with render_frames(spec, 2, opener=FakeFilm, block=4) as frames:
        assert len(frames) == 21
        together = list(frames)
    assert len(together) == 21
    for index, (a, b) in enumerate(zip(alone, together)):
        np.testing.assert_array_equal(a, b, err_msg=f"frame {index}")
    assert not np.array_equal(alone[0], alone[1])


def test_more_workers_than_frames_still_works():
    with render_frames(FakeSpec(n_frames=2), 3, opener=FakeFilm) as frames:
        assert len(list(frames)) == 2


@pytest.mark.parametrize("error", [ValueError, ConfigError])
def test_a_worker_error_is_raised_in_the_parent_with_its_type(error):
    spec = FakeSpec(n_frames=12, fail_at=9, error=error)
    seen = []
    with pytest.raises(error, match="frame 9 is cursed") as raised:
        with render_frames(spec, 2, opener=FakeFilm, block=2) as frames:
            seen.extend(frames)
    assert len(seen) == 9  # every frame before the failing one arrived, in order
    assert "in frame\n" in str(raised.value.__cause__)  # the worker's traceback


def test_a_worker_that_dies_is_reported():
    with pytest.raises(RuntimeError, match=r"render worker 1 died \(killed by SIGKILL\)"):
        with render_frames(FakeSpec(n_frames=8, crash_at=3), 2, opener=FakeFilm, block=2) as frames:
            list(frames)


def test_stopping_early_ends_the_workers():
    stream = render_frames(FakeSpec(n_frames=10_000), 2, opener=FakeFilm)
    processes = list(stream._processes)
    for index, _ in enumerate(stream):
        if index == 3:
            break
    stream.close()
    deadline = time.monotonic() + 5
    while any(process.is_alive() for process in processes):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_zero_workers_is_a_user_error():
    with pytest.raises(ConfigError, match="--workers 0"):
        render_frames(FakeSpec(n_frames=1), 0, opener=FakeFilm)
