"""A full disk (or a quota, or a file size limit) is one clear line, and the earlier file survives.

Two ways to fill the disk without a small file system: an OSError(ENOSPC)
injected into the writer, in this process, and a real file size limit
(RLIMIT_FSIZE) on a child process, where the kernel refuses the writes
(EFBIG) of lossfilm and of the ffmpeg it starts.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lossfilm.cli import main
from lossfilm.format.errors import LossfilmError, RenderError
from lossfilm.format.trajectory import Trajectory

REPO = Path(__file__).resolve().parents[3]
NO_SPACE = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def snapshots(T=4):
    rng = np.random.default_rng(0)
    return [{"W1": rng.normal(size=(30, 20)), "b1": rng.normal(size=(1, 30))} for _ in range(T)]


def temporaries(folder):
    return sorted(entry.name for entry in Path(folder).iterdir() if entry.name.startswith("."))


@pytest.fixture
def full_disk(monkeypatch):
    """Every .npy written into an artifact fails half-way with ENOSPC, as a full disk does."""
    real = np.lib.format.write_array_header_1_0

    def write_header_then_fail(handle, data):
        real(handle, data)
        raise NO_SPACE

    monkeypatch.setattr(np.lib.format, "write_array_header_1_0", write_header_then_fail)


def test_saving_on_a_full_disk_says_so_and_keeps_the_earlier_file(tmp_path, full_disk):
    target = tmp_path / "trajectory.npz"
    target.write_bytes(b"earlier good trajectory")
    with pytest.raises(LossfilmError) as info:
        Trajectory.from_snapshots(snapshots()).save(target)
    assert str(info.value) == f"no space left on device while writing {target}; the earlier file there is unchanged"
    assert target.read_bytes() == b"earlier good trajectory"
    assert temporaries(tmp_path) == []


def test_the_cli_says_disk_full_in_one_line(tmp_path, full_disk, capsys):
    out = tmp_path / "trajectory.npz"
    assert main(["train", "--epochs", "1", "--record-every", "10", "--quiet", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"lossfilm train: error: no space left on device while writing {out}\n"
    assert not out.exists() and temporaries(tmp_path) == []  # the streamed snapshot file too


def test_a_full_disk_while_recording_is_one_line(tmp_path, monkeypatch, capsys):
    """Snapshots are appended with plain writes (no memory map, which would die of SIGBUS): ENOSPC is an error."""
    import lossfilm.training.fit.recorder as recorder

    class FullFile:
        def __init__(self, *args):
            self.real = open(*args)

        def write(self, data):
            raise NO_SPACE

        def __getattr__(self, name):
            return getattr(self.real, name)

    monkeypatch.setattr(recorder, "open", FullFile, raising=False)
    out = tmp_path / "trajectory.npz"
    assert main(["train", "--epochs", "1", "--quiet", "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"lossfilm train: error: no space left on device while writing {out}\n"
    assert list(tmp_path.iterdir()) == []  # neither a temporary file nor a partial trajectory


def test_a_full_disk_anywhere_else_is_one_line_too(tmp_path, monkeypatch, capsys):
    import lossfilm.training.landscape.pipeline

    target = tmp_path / "landscape.npz"

    def fails(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    trajectory = Trajectory.from_snapshots(snapshots())
    trajectory.model = {"sizes": [20, 30], "activation": "relu"}
    trajectory.save(tmp_path / "t.npz")
    monkeypatch.setattr(lossfilm.training.landscape.pipeline, "cached_or_compute", fails)
    assert main(["landscape", str(tmp_path / "t.npz"), "-o", str(target), "--quiet"]) == 2
    assert capsys.readouterr().err == f"lossfilm landscape: error: no space left on device while writing {target}\n"


@pytest.mark.parametrize("log, code, message", [
    (b"[out#0/mp4 @ 0x55d0] Error writing trailer: No space left on device", 1, "no space left on device"),
    (b"av_interleaved_write_frame(): Disk quota exceeded", 1, "disk quota exceeded"),
    (b"", -25, "file size limit exceeded"),  # SIGXFSZ
    (b"", -9, "film.mp4: ffmpeg failed: killed by SIGKILL"),
    (b"[libx264 @ 0x1] broken\nsecond line", 1, "film.mp4: ffmpeg failed: broken"),
])
def test_ffmpeg_failures_are_said_in_words(log, code, message):
    from lossfilm.render.filming.ffmpeg import ffmpeg_error

    error = ffmpeg_error("film.mp4", code, log)
    assert isinstance(error, RenderError) and message in str(error) and "\n" not in str(error)


# The real thing: a child process limited to 200 kB per file.
LIMITED = textwrap.dedent("""
    import resource, sys
    sys.path.insert(0, {repo!r})
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    what, target = sys.argv[1], sys.argv[2]
    if what == "train":
        from lossfilm.cli import main
        sys.exit(main(["train", "--epochs", "2", "--quiet", "-o", target]))
    import numpy as np
    from lossfilm.format.errors import LossfilmError
    from lossfilm.render.filming.sinks import open_sink
    rng = np.random.default_rng(0)
    try:
        with open_sink(target, (64, 48), 15) as sink:
            for _ in range(300):  # noise does not compress: ~2 MB of film
                sink.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    except LossfilmError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE semantics")
@pytest.mark.parametrize("what, name", [("train", "trajectory.npz"), ("encode", "film.mp4"), ("encode", "film.gif")])
def test_a_real_file_size_limit(tmp_path, what, name):
    script = tmp_path / "limited.py"
    script.write_text(LIMITED.format(repo=str(REPO)))
    media = tmp_path / "media"
    media.mkdir()
    target = media / name
    target.write_bytes(b"earlier good file")
    result = subprocess.run([sys.executable, str(script), what, str(target)], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert f"file size limit exceeded while writing {target}" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert target.read_bytes() == b"earlier good file"
    assert temporaries(media) == []
