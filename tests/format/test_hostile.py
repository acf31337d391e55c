"""Hostile files and folders: what a stranger's .npz, a shared output folder or an odd path can do to a write.

Each case: the command works, or gives one line and exit status 2; no file
that was there before changes (hashed before and after).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from lossfilm.cli import main
from lossfilm.format.artifact import MAX_COMPRESSED_BYTES, save_npz
from lossfilm.format.errors import ArtifactError, ConfigError
from lossfilm.format.safe_write import (MARKER, atomic_path, check_distinct, private_folder,
                                        remove_stale_temporaries)
from lossfilm.format.trajectory import SCHEMA_VERSION, Trajectory
from lossfilm.render.filming.ffmpeg import read_comment
from lossfilm.render.filming.sinks import open_sink
from lossfilm.training.fit.recorder import Recorder
from tests.helpers import bowl_landscape, refused_in_one_line

REPO = Path(__file__).resolve().parents[2]


def hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file() and not p.is_symlink()}


def write_frames(path, n=3, size=(32, 24)):
    with open_sink(path, size, 10) as sink:
        for index in range(n):
            sink.write(np.full((size[1], size[0], 3), 40 * index, np.uint8))
    return sink


# --- .npz files as input are bounded ---------------------------------------------------------------------------

def bomb(path, gigabytes=1):
    """A ~1 MB trajectory whose 'params' member unpacks to ``gigabytes`` GiB of zeros.

    Deflating a gigabyte takes a minute; a block of zeros deflated once (and
    fully flushed, so that it stands alone) is repeated instead, which is the
    same stream a real compressor would write, made in a second.
    """
    header = {"kind": "trajectory", "schema_version": SCHEMA_VERSION, "key": "k"}
    rows = gigabytes << 18  # (rows, 1024) float32: 4 KiB a row
    block = bytes(1 << 22)
    once = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = once.compress(block) + once.flush(zlib.Z_FULL_FLUSH)

    class Repeating:
        """zipfile's compressor, except that a block of zeros costs nothing to compress."""

        def __init__(self):
            self.real = zlib.compressobj(9, zlib.DEFLATED, -15)

        def compress(self, data):
            if len(data) == len(block) and data == block:
                return self.real.flush(zlib.Z_FULL_FLUSH) + packed
            return self.real.compress(data)

        def flush(self):
            return self.real.flush()

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("header_json.npy", _npy(np.array(json.dumps(header))))
        real = zipfile._get_compressor
        zipfile._get_compressor = lambda *args, **kwargs: Repeating()
        try:
            with archive.open("params.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False,
                                                              "shape": (rows, 1024)})
                for _ in range((rows * 4096) >> 22):
                    member.write(block)
        finally:
            zipfile._get_compressor = real
    return path


def _npy(array):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


PEAK = textwrap.dedent("""
    import resource, sys
    from lossfilm.cli import main
    from lossfilm.format.trajectory import Trajectory
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = main(sys.argv[1:])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(code, (after - before) * 1024)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in kilobytes is Linux's")
def test_a_decompression_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = bomb(tmp_path / "trajectory.npz")
    assert path.stat().st_size < 2 << 20  # about 1 MB on disk, 1 GiB unpacked
    with zipfile.ZipFile(path) as archive, archive.open("params.npy") as member:  # a real, valid bomb
        member.seek(1 << 30)
        assert member.read(1 << 20) == b"\0" * 128
    with pytest.raises(ArtifactError, match="unpack"):
        Trajectory.load(path)
    result = subprocess.run([sys.executable, "-c", PEAK, "landscape", str(path), "-o", str(tmp_path / "l.npz")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    code, grown = result.stdout.split()
    assert int(code) == 2 and result.stderr.count("\n") == 1 and "unpack" in result.stderr, result.stderr
    assert int(grown) < 64 << 20, f"peak memory grew by {int(grown) / 2**20:.0f} MiB"
    assert not (tmp_path / "l.npz").exists()


def test_a_member_that_declares_more_bytes_than_the_file_holds_is_refused(tmp_path):
    traj = Trajectory.from_snapshots([{"w": np.zeros(3)}, {"w": np.ones(3)}])
    good = tmp_path / "t.npz"
    traj.save(good)
    data = bytearray(good.read_bytes())
    end = data.rfind(b"PK\x01\x02")  # the last member's central-directory entry: grow its declared sizes
    data[end + 20:end + 28] = (1 << 30).to_bytes(4, "little") * 2
    crafted = tmp_path / "crafted.npz"
    crafted.write_bytes(bytes(data))
    with pytest.raises(ArtifactError):
        Trajectory.load(crafted)


def test_an_archive_of_other_members_is_refused(tmp_path):
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../etc/passwd.npy", b"x")
    with pytest.raises(ArtifactError, match="not a lossfilm artifact"):
        Trajectory.load(path)


def test_small_compressed_arrays_are_still_read(tmp_path):
    path = tmp_path / "small.npz"
    save_npz(path, {"x": np.arange(5)}, {"key": "k"}, kind="demo", schema_version=1)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp_path / "z.npz", "w", zipfile.ZIP_DEFLATED) as out:
        for name in source.namelist():
            out.writestr(name, source.read(name))
    from lossfilm.format.artifact import load_npz

    arrays, _ = load_npz(tmp_path / "z.npz", kind="demo", schema_version=1)
    assert arrays["x"].tolist() == [0, 1, 2, 3, 4] and MAX_COMPRESSED_BYTES >= 1 << 20


# --- a shared output folder: planted links and look-alike temporaries -------------------------------------------

@pytest.fixture()
def sticky(tmp_path):
    """A shared folder as /tmp is (world-writable, sticky), and a victim file a planted link points at."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    return folder, victim


def test_a_link_planted_at_any_name_a_write_uses_never_redirects_it(sticky):
    folder, victim = sticky
    pid = os.getpid()
    # The names a temporary had before (pid-based, guessable), and the target itself.
    for name in (f".film.{pid}.tmp.mp4", f".film.{pid}.tmp", f".frames.{pid}.tmp", f".trajectory.{pid}.recording",
                 f".t.{pid}.tmp.npz", "film.gif.palette.png"):
        (folder / name).symlink_to(victim)
    (folder / "film.mp4").symlink_to(victim)
    write_frames(folder / "film.mp4")
    write_frames(folder / "film.gif")
    write_frames(f"{folder / 'frames'}/")
    with Recorder(folder / "trajectory.npz") as recorder:
        recorder.record({"w": np.zeros(3)}, loss=1.0)
    save_npz(folder / "t.npz", {"x": np.arange(3)}, {"key": "k"}, kind="demo", schema_version=1)
    assert victim.read_text() == "precious"
    assert not (folder / "film.mp4").is_symlink() and iio.imread(folder / "film.mp4", index=None).shape[0] == 3
    assert all((folder / n).is_symlink() for n in (f".film.{pid}.tmp.mp4", f".trajectory.{pid}.recording"))


def test_the_private_folder_is_this_user_s_alone_and_carries_lossfilm_s_marker(sticky):
    folder, _ = sticky
    with private_folder(folder / "film.mp4") as private:
        assert stat.S_IMODE(private.stat().st_mode) == 0o700 and private.parent == folder
        marker = json.loads((private / MARKER).read_text())
        assert marker["pid"] == os.getpid() and marker["lossfilm_temporary"] in private.name
    assert not private.exists()


def test_stale_clean_up_removes_only_what_lossfilm_can_prove_it_made(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    ours = tmp_path / ".lossfilm-abcd1234.tmp"
    ours.mkdir()
    (ours / "film.mp4").write_bytes(b"half a film")
    (ours / MARKER).write_text(json.dumps({"lossfilm_temporary": "abcd1234", "pid": int(dead),
                                           "host": socket.gethostname()}))
    # Look-alikes: the old naming scheme, a folder without a marker, a marker for another folder, a live process,
    # a link to a folder, and a plain file.
    looks = {".film.123.tmp.mp4": b"user's", ".frames.99999.tmp/frame_00000.png": b"user's",
             ".lossfilm-nomarker1.tmp/keep.txt": b"user's", ".lossfilm-wrongtok.tmp/keep.txt": b"user's",
             ".lossfilm-livepid1.tmp/keep.txt": b"user's", ".lossfilm-plainfil.tmp": b"user's"}
    for name, data in looks.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / ".lossfilm-wrongtok.tmp" / MARKER).write_text(json.dumps(
        {"lossfilm_temporary": "abcd1234", "pid": int(dead), "host": socket.gethostname()}))
    (tmp_path / ".lossfilm-livepid1.tmp" / MARKER).write_text(json.dumps(
        {"lossfilm_temporary": "livepid1", "pid": os.getpid(), "host": socket.gethostname()}))
    (tmp_path / ".lossfilm-linkedto.tmp").symlink_to(tmp_path / ".lossfilm-livepid1.tmp")
    before = hashes(tmp_path)
    del before[f"{ours.name}/film.mp4"], before[f"{ours.name}/{MARKER}"]
    write_frames(tmp_path / "film.mp4")  # any write into the folder cleans up first
    assert not ours.exists()
    after = hashes(tmp_path)
    del after["film.mp4"]
    assert after == before and (tmp_path / ".lossfilm-linkedto.tmp").is_symlink()
    assert remove_stale_temporaries(tmp_path) == 0


def test_sidecars_of_the_same_name_that_are_a_user_s_own_files_are_left_alone(tmp_path, capsys):
    (tmp_path / "trajectory.partial.npz").write_text("my notes")
    with Recorder(tmp_path / "trajectory.npz") as recorder:
        recorder.record({"w": np.zeros(3)}, loss=1.0)
    assert (tmp_path / "trajectory.partial.npz").read_text() == "my notes"
    from tests.cli.test_bad_input import mlp_trajectory

    mlp_trajectory(tmp_path).save(tmp_path / "run.npz")
    (tmp_path / "landscape.partial.npz").write_text("my other notes")
    before = hashes(tmp_path)
    refused_in_one_line(capsys, ["landscape", str(tmp_path / "run.npz"), "--quiet"], "landscape.partial.npz",
             "not a lossfilm partial landscape")
    assert hashes(tmp_path) == before


def test_replacing_a_file_keeps_its_permission_bits_and_a_new_one_follows_the_umask(tmp_path):
    target = tmp_path / "t.npz"
    save_npz(target, {"x": np.arange(3)}, {"key": "a"}, kind="demo", schema_version=1)
    target.chmod(0o640)
    save_npz(target, {"x": np.arange(4)}, {"key": "b"}, kind="demo", schema_version=1)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    umask = os.umask(0)
    os.umask(umask)
    save_npz(tmp_path / "new.npz", {"x": np.arange(1)}, {}, kind="demo", schema_version=1)
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o666 & ~umask


def test_a_write_that_fails_leaves_the_earlier_file_byte_identical(tmp_path):
    target = tmp_path / "t.npz"
    target.write_bytes(b"earlier")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"earlier" and os.listdir(tmp_path) == ["t.npz"]


# --- an output that is also an input, or named twice ------------------------------------------------------------

@pytest.fixture()
def work(tmp_path):
    land = bowl_landscape(resolution=9, snapshots=12)
    land.key = "0123456789abcdef"
    land.save(tmp_path / "landscape.npz")
    (tmp_path / "sub").mkdir()
    (tmp_path / "land").write_bytes((tmp_path / "landscape.npz").read_bytes())  # a landscape without a suffix
    (tmp_path / "land.png").write_bytes((tmp_path / "landscape.npz").read_bytes())
    from tests.cli.test_bad_input import mlp_trajectory

    mlp_trajectory(tmp_path).save(tmp_path / "trajectory.npz")
    (tmp_path / "trajectory-link.npz").hardlink_to(tmp_path / "trajectory.npz")
    mlp_trajectory(tmp_path).save(tmp_path / "sub_landscape.npz")
    return tmp_path


@pytest.mark.parametrize("argv, fragment", [
    (["render", "descent", "--landscape", "{w}/land", "-o", "{w}/./land"], "is also an input"),
    (["render", "descent", "--landscape", "{w}/landscape.npz", "-o", "{w}/a.mp4", "-o", "{w}/./a.mp4"],
     "named twice"),
    (["still", "--landscape", "{w}/land.png", "-o", "{w}/../{n}/land.png"], "is also an input"),
    (["landscape", "{w}/trajectory.npz", "-o", "{w}/./trajectory.npz"], "is also an input"),
    (["landscape", "{w}/trajectory.npz", "-o", "{w}/trajectory-link.npz"], "is also an input"),  # a hard link
    (["train", "--data", "{w}/trajectory.npz", "-o", "{w}/trajectory.npz"], "is also an input"),
    (["classic", "rosenbrock", "--out-dir", "{w}", "-o", "{w}/c.mp4", "-o", "{w}/./c.mp4"], "named twice"),
    (["classic", "rosenbrock", "--out-dir", "{w}", "-o", "{w}/c.gif", "-o", "{w}/sub/../c.gif"], "named twice"),
], ids=["render-input", "render-twice", "still-input", "landscape-input", "landscape-hard-link", "train-input",
        "classic-twice", "classic-twice-spelled-apart"])
def test_an_output_that_is_also_an_input_or_named_twice_is_refused_before_any_work(work, capsys, argv, fragment):
    argv = [arg.format(w=work, n=work.name) for arg in argv]
    before = hashes(work)
    refused_in_one_line(capsys, argv, fragment)
    assert hashes(work) == before


def test_the_default_landscape_name_that_is_its_own_input_is_refused(work, capsys):
    folder = work / "runs"
    folder.mkdir()
    (folder / "landscape.npz").write_bytes((work / "trajectory.npz").read_bytes())  # a trajectory, so named
    before = hashes(work)
    refused_in_one_line(capsys, ["landscape", str(folder / "landscape.npz")], "is also an input")
    assert hashes(work) == before


def test_reproduce_to_its_own_file_or_a_link_of_it_is_refused(work, capsys):
    still = work / "still.png"
    assert main(["still", "--landscape", str(work / "landscape.npz"), "-o", str(still), "--size", "48x32",
                 "--draft", "--quiet"]) == 0
    (work / "still-link.png").hardlink_to(still)
    before = hashes(work)
    for output in (f"{work}/./still.png", str(work / "still-link.png")):
        refused_in_one_line(capsys, ["reproduce", str(still), "-o", output], "is also an input")
    assert hashes(work) == before


def test_check_distinct_sees_spellings_and_links(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "b.mp4").symlink_to(tmp_path / "a.mp4")
    with pytest.raises(ConfigError, match="is also an input"):
        check_distinct([tmp_path / "b.mp4"], inputs=[tmp_path / "a.mp4"])
    check_distinct([tmp_path / "c.mp4", tmp_path / "d.mp4"], inputs=[tmp_path / "a.mp4", tmp_path / "a.mp4"])


# --- paths handed to ffmpeg ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["-rf/film.mp4", "100%d/film.gif", "file:x.mp4", "pipe:0.mp4", "http:x.gif",
                                  "-y/frames/", "%05d/frames/", "a%%b/film.mp4"])
def test_odd_paths_are_files_to_ffmpeg_never_options_protocols_or_patterns(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    folder = os.path.dirname(path.rstrip("/"))
    if folder:
        os.makedirs(folder)
    sink = write_frames(path, n=3)
    assert sink.frames == 3
    target = Path(path.rstrip("/"))
    if path.endswith("/"):
        assert sorted(p.name for p in target.iterdir()) == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]
    else:
        assert iio.imread(target, index=None).shape[0] >= 2
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert written == (sorted(target.resolve().iterdir()) if target.is_dir() else [target.resolve()])
    if path.endswith(".mp4"):
        assert read_comment(target) is None  # read back through the same spelling


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_a_killed_recording_s_rows_are_removed_by_the_next_write_that_proves_them_its_own(tmp_path):
    from tests.training.fit.test_recorder import LOOP

    script = tmp_path / "loop.py"
    script.write_text(LOOP.format(repo=str(REPO)))
    loop = subprocess.Popen([sys.executable, str(script), str(tmp_path / "trajectory.npz")], stdout=subprocess.PIPE,
                            text=True)
    for line in loop.stdout:
        if int(line) >= 50:
            break
    loop.kill()  # SIGKILL: no clean-up runs
    loop.wait(timeout=30)
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".lossfilm-")]
    assert len(left) == 1 and (left[0] / "trajectory.recording").stat().st_size > 0
    (tmp_path / ".trajectory.4242.recording").write_bytes(b"a user's file that looks like an old leftover")
    with Recorder(tmp_path / "trajectory.npz") as recorder:  # the next run in that folder
        recorder.record({"w": np.zeros(3)}, loss=1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".trajectory.4242.recording", "loop.py", "trajectory.npz"]
