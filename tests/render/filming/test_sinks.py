"""Frame sinks: MP4 properties read back, GIF loops, PNG folders, errors, and interrupted renders."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image, ImageSequence

from lossfilm.format.errors import ConfigError, LossfilmError, RenderError
from lossfilm.format.safe_write import remove_stale_temporaries
from lossfilm.render.filming.sinks import (FrameSink, GifSink, MovSink, Mp4Sink, PngSequenceSink, WebmSink, open_sink,
                                           output_format)
from tests.helpers import alive, children

REPO = Path(__file__).resolve().parents[3]


def frames(n, size, channels=3):
    """A red block sliding right over a green-blue gradient, so that frames differ and have structure."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    for index in range(n):
        frame = np.zeros((height, width, channels), np.uint8)
        frame[..., 1] = 255 * x // width
        frame[..., 2] = 255 * y // height
        left = (width - width // 4) * index // max(1, n - 1)
        frame[height // 4: 3 * height // 4, left: left + width // 4, :3] = (255, 0, 0)
        if channels == 4:
            frame[..., 3] = 128
        yield frame


def write(sink, n):
    with sink:
        for frame in frames(n, sink.source_size, sink.channels):
            sink.write(frame)
    return sink


def leftovers(folder):
    return sorted(entry.name for entry in Path(folder).iterdir() if entry.name.startswith("."))


@pytest.mark.parametrize("path, kind", [
    ("film.mp4", "mp4"), ("film.MP4", "mp4"), ("film.gif", "gif"), ("film.mov", "mov"), ("film.webm", "webm"),
    ("frames/", "png"), ("frames", "png"),
])
def test_the_format_follows_the_suffix(path, kind):
    assert output_format(path) == kind


def test_an_existing_folder_is_a_png_sequence_and_other_suffixes_are_refused(tmp_path):
    (tmp_path / "shots.v2").mkdir()
    assert output_format(tmp_path / "shots.v2") == "png"
    with pytest.raises(ConfigError, match=r"unknown output format '\.avi'"):
        output_format(tmp_path / "film.avi")
    with pytest.raises(ConfigError, match="lossfilm still"):
        output_format(tmp_path / "film.png")


@pytest.mark.parametrize("size", [(320, 240), (854, 480), (1920, 1080)])
def test_mp4_has_exact_size_frame_count_codec_and_pixel_format(tmp_path, size):
    path = tmp_path / "film.mp4"
    n = 12 if size[0] < 1000 else 3
    write(Mp4Sink(path, size, fps=30), n)
    meta = iio.immeta(path, plugin="FFMPEG")
    assert meta["codec"] == "h264"
    assert meta["pix_fmt"].startswith("yuv420p")
    assert meta["size"] == size  # not padded to a multiple of 16 (1080 -> 1088) or 8 (854 -> 856)
    assert meta["fps"] == 30
    decoded = iio.imread(path, plugin="FFMPEG")
    assert decoded.shape == (n, size[1], size[0], 3)
    # Channels and orientation survive: the red block is on the left in the first frame.
    first = decoded[0].astype(int)
    assert first[size[1] // 2, size[0] // 8, 0] > 200 and first[size[1] // 2, size[0] // 8, 1] < 60
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".mp4", ".gif", "/"])
def test_supersampled_frames_are_downscaled_by_ffmpeg_to_the_film_s_size(tmp_path, suffix):
    path = tmp_path / f"film{suffix}"
    sink = write(open_sink(path, (160, 120), 10, source_size=(240, 180), gif_width=None), 4)
    with pytest.raises(ValueError, match=r"expected a \(180, 240, 3\)"):
        sink.write(np.zeros((120, 160, 3), np.uint8))  # frames come at the rendered size
    if suffix == "/":
        decoded = np.stack([iio.imread(name) for name in sorted(path.iterdir())])
    else:
        decoded = iio.imread(path, plugin="pillow" if suffix == ".gif" else "FFMPEG")[..., :3]
    assert decoded.shape == (4, 120, 160, 3)
    first = decoded[0].astype(int)
    assert first[60, 20, 0] > 200 and first[60, 20, 1] < 80  # the red block, scaled, still on the left


def test_mp4_starts_with_its_index_for_streaming(tmp_path):
    path = tmp_path / "film.mp4"
    write(Mp4Sink(path, (64, 48), fps=10), 5)
    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_gif_loops_with_the_right_frames_size_and_colours(tmp_path):
    path = tmp_path / "film.gif"
    write(GifSink(path, (320, 240), fps=15, width=None, fps_out=15), 10)
    with Image.open(path) as gif:
        assert gif.info["loop"] == 0
        assert gif.n_frames == 10 and gif.size == (320, 240)
        red = np.asarray(gif.convert("RGB"))[120, 40].astype(int)
    assert red[0] > 200 and red[1] < 60 and red[2] < 60


def test_gif_can_be_smaller_and_slower_but_never_bigger_or_faster(tmp_path):
    path = tmp_path / "film.gif"
    for n, fps_out, kept in ((30, 15, 15), (7, 15, 4), (1, 10, 1), (5, 7, 2)):  # a film shorter than a GIF frame too
        sink = write(GifSink(path, (320, 240), fps=30, width=160, fps_out=fps_out), n)
        with Image.open(path) as gif:
            assert gif.size == (160, 120) and gif.n_frames == kept
            assert sink.delivered() == (kept, (160, 120), fps_out)  # what the film's summary reports
    sink = GifSink(path, (320, 240), fps=10, width=1000, fps_out=15)
    assert (sink.width, sink.fps_out) == (320, 10)


def decode_rgba(path, folder):
    """Every frame of the film at ``path`` as RGBA, decoded by the bundled ffmpeg to PNG frames in ``folder``.

    VP9 keeps its alpha in a side stream that only libvpx's own decoder reads (ffmpeg's native one drops it).
    """
    import imageio_ffmpeg

    folder.mkdir()
    decoder = ["-c:v", "libvpx-vp9"] if Path(path).suffix == ".webm" else []
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *decoder, "-i", str(path),
                    "-pix_fmt", "rgba", str(folder / "%03d.png")], check=True)
    return np.stack([iio.imread(frame) for frame in sorted(folder.iterdir())])


def cutout_frames(n, size):
    """An opaque red block sliding over a transparent background, with a half-transparent strip at the bottom."""
    width, height = size
    for index in range(n):
        frame = np.zeros((height, width, 4), np.uint8)
        left = (width - width // 4) * index // max(1, n - 1)
        frame[height // 4: height // 2, left: left + width // 4] = (255, 0, 0, 255)
        frame[-height // 8:, :, 3] = 128
        frame[-height // 8:, :, 1] = 255
        yield frame


@pytest.mark.parametrize("sink, codec", [(MovSink, "prores"), (WebmSink, "vp9")])
def test_transparent_films_keep_the_alpha_channel(tmp_path, sink, codec):
    path = tmp_path / f"film{sink.suffix}"
    with sink(path, (96, 64), fps=30, alpha=True) as film:
        for frame in cutout_frames(6, (96, 64)):
            film.write(frame)
    assert iio.immeta(path, plugin="FFMPEG")["codec"].startswith(codec)
    decoded = decode_rgba(path, tmp_path / "decoded")
    assert decoded.shape == (6, 64, 96, 4)
    first = decoded[0].astype(int)
    assert first[2, 90, 3] <= 8  # the background stays transparent
    assert first[24, 12, 3] >= 247 and first[24, 12, 0] > 200 and first[24, 12, 1] < 60  # the block, opaque red
    assert 100 <= first[60, 48, 3] <= 156  # half-transparent stays half
    assert decoded[-1, 24, 84, 3] >= 247 and decoded[-1, 24, 12, 3] <= 8  # the block moved right
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("sink", [MovSink, WebmSink])
def test_mov_and_webm_take_opaque_films_too(tmp_path, sink):
    path = tmp_path / f"film{sink.suffix}"
    write(sink(path, (64, 48), fps=60), 5)
    meta = iio.immeta(path, plugin="FFMPEG")
    assert meta["size"] == (64, 48) and meta["fps"] == 60
    decoded = decode_rgba(path, tmp_path / "decoded")
    assert decoded.shape == (5, 48, 64, 4) and decoded[..., 3].min() >= 247


def test_a_gif_plays_at_most_50_fps(tmp_path):
    with pytest.raises(ConfigError, match="--gif-fps 60: a GIF's frame delays are whole hundredths of a second"):
        GifSink(tmp_path / "film.gif", (64, 48), fps=60, fps_out=60)
    path = tmp_path / "film.gif"
    sink = write(GifSink(path, (64, 48), fps=60, width=None, fps_out=None), 12)  # None: the film's rate, capped
    assert sink.fps_out == 50
    with Image.open(path) as gif:
        delays = [frame.info["duration"] for frame in ImageSequence.Iterator(gif)]
    assert set(delays) == {20}  # ms: 2/100 s a frame, 50 fps, every frame


def test_png_sequence_is_numbered_frames_and_keeps_alpha(tmp_path):
    target = tmp_path / "frames"
    write(PngSequenceSink(f"{target}/", (64, 48), fps=30, alpha=True), 4)
    assert sorted(os.listdir(target)) == [f"frame_{i:05d}.png" for i in range(4)]
    image = iio.imread(target / "frame_00002.png")
    assert image.shape == (48, 64, 4) and image[0, 0, 3] == 128
    assert leftovers(tmp_path) == []


def test_png_sequence_replaces_an_earlier_one_but_not_a_folder_of_other_files(tmp_path):
    target = tmp_path / "frames"
    write(PngSequenceSink(target, (64, 48), fps=30), 5)
    write(PngSequenceSink(target, (64, 48), fps=30), 2)
    assert sorted(os.listdir(target)) == ["frame_00000.png", "frame_00001.png"]
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="already holds other files"):
        write(PngSequenceSink(target, (64, 48), fps=30), 2)
    assert (target / "notes.txt").read_text() == "mine"


def test_odd_sizes_and_transparent_films_are_refused_for_video(tmp_path):
    with pytest.raises(ConfigError, match="use 322x240"):
        Mp4Sink(tmp_path / "film.mp4", (321, 240), fps=30)
    with pytest.raises(ConfigError, match=r"GIF has no alpha channel; a transparent film needs \.mov \(ProRes 4444\), \.webm \(VP9\) or a folder"):
        open_sink(tmp_path / "film.gif", (320, 240), 30, alpha=True)


def test_an_error_mid_render_leaves_the_earlier_file_and_no_temporaries(tmp_path):
    path = tmp_path / "film.mp4"
    path.write_bytes(b"earlier good film")
    with pytest.raises(ZeroDivisionError):
        with Mp4Sink(path, (64, 48), fps=10) as sink:
            sink.write(next(frames(1, (64, 48))))
            1 / 0
    assert path.read_bytes() == b"earlier good film"
    assert leftovers(tmp_path) == []


def test_an_encoder_failure_is_one_line_with_ffmpeg_s_message(tmp_path):
    path = tmp_path / "film.mp4"
    with pytest.raises(RenderError) as error:
        write(Mp4Sink(path, (64, 48), fps=10, preset="no-such-preset"), 3)
    message = str(error.value)
    assert message.startswith(f"{path}: ffmpeg failed: ") and "\n" not in message
    assert "invalid preset" in message
    assert not path.exists() and leftovers(tmp_path) == []


def test_a_missing_output_directory_is_a_user_error(tmp_path):
    with pytest.raises(LossfilmError, match="does not exist"):
        write(Mp4Sink(tmp_path / "nowhere" / "film.mp4", (64, 48), fps=10), 1)


# A render that takes minutes, so that the test can interrupt it.
SLOW_RENDER = """
import sys, time
from dataclasses import dataclass
import numpy as np
sys.path.insert(0, {repo!r})

@dataclass(frozen=True)
class Spec:
    size: tuple
    fps: int
    transparent: bool = False
    render_size = property(lambda self: self.size)  # not supersampled

class SlowFilm:
    n_frames = 100_000
    def __init__(self, spec):
        self.spec = spec
    def frame(self, index):
        time.sleep(0.004)
        width, height = self.spec.size
        return np.full((height, width, 3), index % 256, np.uint8)
    def close(self):
        pass

if __name__ == "__main__":
    from lossfilm.render.filming.deliver import render_film
    render_film(Spec((64, 48), 30), sys.argv[1], workers=int(sys.argv[2]), progress=False, opener=SlowFilm)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the render's children")
@pytest.mark.parametrize("signum, name, workers", [
    (signal.SIGINT, "film.mp4", 2),
    (signal.SIGINT, "film.gif", 1),
    (signal.SIGKILL, "film.mp4", 2),
    (signal.SIGKILL, "frames", 1),
], ids=["sigint-mp4-2-workers", "sigint-gif", "sigkill-mp4-2-workers", "sigkill-png-folder"])
def test_an_interrupted_render_keeps_the_earlier_output(tmp_path, signum, name, workers):
    script = tmp_path / "slow_render.py"
    script.write_text(SLOW_RENDER.format(repo=str(REPO)))
    media = tmp_path / "media"
    media.mkdir()
    target = media / name
    if name == "frames":
        target.mkdir()
        (target / "frame_00000.png").write_bytes(b"earlier good frame")
    else:
        target.write_bytes(b"earlier good film")
    # A job started in the background by a non-interactive shell (as CI may be) inherits SIGINT ignored, and
    # Python then installs no Ctrl-C handler: give the render the default disposition, as a terminal would.
    render = subprocess.Popen([sys.executable, str(script), str(target), str(workers)],
                              stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 30
        while not any((media / entry).is_file() and (media / entry).stat().st_size
                      or (media / entry).is_dir() and any((media / entry).iterdir())
                      for entry in leftovers(media)):
            assert render.poll() is None, render.stderr.read()
            assert time.monotonic() < deadline, "the render never started writing"
            time.sleep(0.05)
        time.sleep(0.3)  # well into the film
        helpers = children(render.pid)
        assert len(helpers) >= workers  # the encoder, and the render workers if any
        render.send_signal(signum)
        render.wait(timeout=20)
    finally:
        render.kill()
        render.wait()
    if name == "frames":
        assert os.listdir(target) == ["frame_00000.png"]
        assert (target / "frame_00000.png").read_bytes() == b"earlier good frame"
    else:
        assert target.read_bytes() == b"earlier good film"
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in helpers):  # workers notice a dead parent; ffmpeg sees its pipe close
        assert time.monotonic() < deadline, f"left running: {[pid for pid in helpers if alive(pid)]}"
        time.sleep(0.1)
    if signum == signal.SIGINT:
        assert render.returncode != 0
        assert "KeyboardInterrupt" in render.stderr.read()
        assert leftovers(media) == []
    else:
        # A killed process cannot clean up; the next render of the same target does.
        assert leftovers(media)
        assert remove_stale_temporaries(media) == 1
        assert leftovers(media) == []


def test_a_sink_must_say_how_it_opens():
    class Unfinished(FrameSink):  # declares its format but not _output: the role is not filled
        name, suffix = "raw", ".raw"

    with pytest.raises(TypeError, match="_output"):
        Unfinished("film.raw", (64, 48), 10)


def test_sinks_in_one_group_write_the_files_each_writes_alone_and_fail_together(tmp_path):
    """One ffmpeg for an MP4, a GIF and PNG frames of the same supersampled frames: byte for byte the files each
    sink writes on its own. A failure in one leaves none of them (the earlier file stays)."""
    from lossfilm.render.filming.sinks import SinkGroup

    source = list(frames(12, (96, 72)))
    names = ("film.mp4", "film.gif", "frames/")
    alone = tmp_path / "alone"
    alone.mkdir()
    for name in names:
        with open_sink(alone / name, (64, 48), 10, source_size=(96, 72)) as sink:
            for frame in source:
                sink.write(frame)
    together = tmp_path / "together"
    together.mkdir()
    with SinkGroup([open_sink(together / name, (64, 48), 10, source_size=(96, 72)) for name in names]) as group:
        for frame in source:
            group.write(frame)
    for name in ("film.mp4", "film.gif", *(f"frames/frame_{k:05d}.png" for k in range(12))):
        assert (together / name).read_bytes() == (alone / name).read_bytes(), name

    (together / "film.gif").write_bytes(b"earlier")
    with pytest.raises(RuntimeError):
        with SinkGroup([open_sink(together / name, (64, 48), 10, source_size=(96, 72)) for name in names]) as group:
            group.write(source[0])
            raise RuntimeError("the render failed")
    assert (together / "film.gif").read_bytes() == b"earlier"
    assert leftovers(together) == []
    with pytest.raises(ValueError, match="different frames"):
        SinkGroup([open_sink(together / "a.mp4", (64, 48), 10), open_sink(together / "b.mp4", (64, 48), 12)])
