"""`lossfilm render` and `lossfilm still`: sizes, one-line errors, a light --help, and a real tiny render."""

import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from lossfilm.cli import main
from lossfilm.format.errors import ConfigError
from lossfilm.render.filming import backend
from lossfilm.render.filming.quality import DEFAULT_QUALITY, MAX_SIDE, QUALITIES, parse_size
from tests.helpers import rippled_bowl_landscape


@pytest.fixture(scope="module")
def landscape(tmp_path_factory):
    return rippled_bowl_landscape(tmp_path_factory.mktemp("landscape") / "landscape.npz", resolution=21, snapshots=12)


def fails(capsys, argv):
    """Run the CLI, expecting a user error; return its one line."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("text, size", [("1920x1080", (1920, 1080)), (" 320 X 240 ", (320, 240)),
                                        ("8192x16", (8192, 16))])
def test_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text, message", [
    ("1921x1080", "need even width and height; use 1922x1080"),
    ("8191x1081", "use 8192x1082"),
    ("0x480", f"each side from 16 to {MAX_SIDE}"),
    ("-640x480", f"each side from 16 to {MAX_SIDE}"),
    ("8194x480", f"each side from 16 to {MAX_SIDE}"),
    ("640", "expected WIDTHxHEIGHT"),
    ("640x480x3", "expected WIDTHxHEIGHT"),
])
def test_bad_sizes_are_config_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_size(text)


def test_odd_sizes_are_fine_for_stills():
    assert parse_size("321x241", even=False) == (321, 241)


def test_the_presets_are_one_table():
    assert {name: (q.size, q.fps) for name, q in QUALITIES.items()} == {
        "low": ((854, 480), 15), "medium": ((1280, 720), 30), "high": ((1920, 1080), 30),
        "4k": ((3840, 2160), 30)}
    assert DEFAULT_QUALITY in QUALITIES
    assert all(w % 2 == 0 and h % 2 == 0 for w, h in (q.size for q in QUALITIES.values()))


def test_help_does_not_import_the_renderer():
    code = ("import sys; import lossfilm.cli.render, lossfilm.cli.still; "
            "print(sorted(m for m in ('pyvista', 'vtkmodules', 'imageio', 'numpy', 'tqdm') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_unknown_scene(capsys, landscape, tmp_path):
    line = fails(capsys, ["render", "no_such_scene", "--landscape", str(landscape), "-o", str(tmp_path / "a.mp4")])
    assert "scene 'no_such_scene' is unknown" in line and "descent" in line


def test_missing_landscape(capsys, tmp_path):
    line = fails(capsys, ["render", "descent", "--landscape", str(tmp_path / "none.npz"),
                          "-o", str(tmp_path / "a.mp4")])
    assert "none.npz: no such landscape file" in line


def test_missing_output_directory(capsys, landscape, tmp_path):
    line = fails(capsys, ["render", "descent", "--landscape", str(landscape), "-o", str(tmp_path / "no" / "a.mp4")])
    assert "does not exist" in line
    line = fails(capsys, ["still", "--landscape", str(landscape), "-o", str(tmp_path / "no" / "a.png")])
    assert "does not exist" in line


@pytest.mark.parametrize("args, message", [
    (["--size", "853x480"], "use 854x480"),
    (["--workers", "0"], "--workers 0: expected a whole number from 1 to 256"),
    (["--fps", "0"], "--fps 0: expected a whole number of frames per second from 1 to 240"),
    (["--option", "novalue"], "expected KEY=VALUE"),
])
def test_bad_render_options(capsys, landscape, tmp_path, args, message):
    line = fails(capsys, ["render", "descent", "--landscape", str(landscape), "-o", str(tmp_path / "a.mp4"), *args])
    assert message in line


def test_unknown_output_format(capsys, landscape, tmp_path):
    line = fails(capsys, ["render", "descent", "--landscape", str(landscape), "-o", str(tmp_path / "a.avi")])
    assert "unknown output format '.avi'" in line


def test_a_still_must_be_a_png(capsys, landscape, tmp_path):
    line = fails(capsys, ["still", "--landscape", str(landscape), "-o", str(tmp_path / "a.jpg")])
    assert "written as PNG" in line


def test_no_backend_is_one_clear_line(capsys, monkeypatch, landscape, tmp_path):
    for name in (backend.WINDOW_ENV, backend.VERIFIED_ENV):
        monkeypatch.setenv(name, "")  # records the original value (delenv of an absent one would not)
        monkeypatch.delenv(name)
    monkeypatch.setenv(backend.PROBE_ENV, f"{sys.executable} -c 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)'")
    line = fails(capsys, ["render", "descent", "--landscape", str(landscape), "-o", str(tmp_path / "a.mp4")])
    assert "no off-screen OpenGL" in line and "libegl1" in line and "libosmesa6" in line
    assert not (tmp_path / "a.mp4").exists()


def test_a_tiny_real_render_and_still(capsys, landscape, tmp_path):
    try:
        backend.ensure_offscreen()
    except Exception as error:
        pytest.skip(f"no off-screen OpenGL here: {error}")
    film, gif = tmp_path / "descent.mp4", tmp_path / "descent.gif"
    # 320x240, not smaller: in a tinier frame the on-screen labels' placement searches several times longer
    assert main(["render", "descent", "--landscape", str(landscape), "-o", str(film), "-o", str(gif),
                 "--size", "320x240", "--fps", "6", "--seconds", "1", "--draft", "--quiet"]) == 0
    meta = iio.immeta(film, plugin="FFMPEG")
    assert meta["size"] == (320, 240) and meta["codec"] == "h264"
    assert iio.imread(film, plugin="FFMPEG").shape[0] == 6
    with Image.open(gif) as image:
        assert image.n_frames == 6 and image.info["loop"] == 0
    # Without --draft the frames are rendered 1.5x larger and ffmpeg downscales them: same size, smoother edges.
    smooth = tmp_path / "smooth.mp4"
    assert main(["render", "descent", "--landscape", str(landscape), "-o", str(smooth), "--size", "320x240",
                 "--fps", "6", "--seconds", "1", "--quiet"]) == 0
    assert iio.immeta(smooth, plugin="FFMPEG")["size"] == (320, 240)
    draft_frame, smooth_frame = (iio.imread(path, plugin="FFMPEG")[3].astype(int) for path in (film, smooth))
    assert 0 < np.abs(draft_frame - smooth_frame).mean() < 20  # the same picture, drawn differently

    still = tmp_path / "descent.png"
    assert main(["still", "--landscape", str(landscape), "-o", str(still), "--size", "161x121", "--fps", "6",
                 "--seconds", "1", "--frame", "2", "--transparent"]) == 0
    assert "frame 2, 161x121 RGBA" in capsys.readouterr().out
    image = iio.imread(still)
    assert image.shape == (121, 161, 4)
    assert image[0, 0, 3] == 0 and image[..., 3].max() == 255  # transparent background, opaque surface

    line = fails(capsys, ["still", "--landscape", str(landscape), "-o", str(still), "--size", "64x48",
                          "--fps", "6", "--seconds", "1", "--frame", "6"])
    assert "--frame 6: the film has 6 frames (0 to 5)" in line
    line = fails(capsys, ["still", "--landscape", str(landscape), "-o", str(still), "--size", "64x48",
                          "--option", "no_such_option=1"])
    assert "option 'no_such_option' is unknown" in line
