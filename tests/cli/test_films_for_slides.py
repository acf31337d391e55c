"""Films for slides: `lossfilm render --transparent` to .mov and .webm, and --fps 60, end to end."""

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image, ImageSequence

from lossfilm.api import film
from lossfilm.cli import main
from lossfilm.cli.provenance import read_provenance
from lossfilm.render.filming import backend
from tests.helpers import rippled_bowl_landscape as bowl_landscape
from tests.render.filming.test_sinks import decode_rgba


@pytest.fixture(scope="module")
def landscape(tmp_path_factory):
    try:
        backend.ensure_offscreen()
    except Exception as error:
        pytest.skip(f"no off-screen OpenGL here: {error}")
    return bowl_landscape(tmp_path_factory.mktemp("landscape") / "landscape.npz", resolution=21, snapshots=12)


def test_a_transparent_film_decodes_to_a_transparent_background_and_an_opaque_surface(capsys, landscape, tmp_path):
    mov, webm = tmp_path / "descent.mov", tmp_path / "descent.webm"
    assert main(["render", "descent", "--landscape", str(landscape), "-o", str(mov), "-o", str(webm),
                 "--transparent", "--size", "160x120", "--fps", "6", "--seconds", "1", "--draft", "--quiet"]) == 0
    for path in (mov, webm):
        frames = decode_rgba(path, tmp_path / f"{path.suffix[1:]}-frames")
        assert frames.shape == (6, 120, 160, 4)
        alpha = frames[..., 3]
        assert alpha[:, 0, 0].max() <= 8 and alpha[:, -1, -1].max() <= 8, path  # corners: background
        middle = alpha[:, 30:90, 40:120]
        assert (middle >= 247).mean() > 0.3, path  # the surface in the middle of the frame is opaque
        assert (alpha <= 8).mean() > 0.2, path  # and much of the frame around it is not
        assert read_provenance(path)["settings"]["transparent"] is True


@pytest.mark.parametrize("output", ["film.mp4", "film.gif"])
def test_a_transparent_mp4_or_gif_is_refused_in_one_line_naming_the_formats_that_carry_alpha(
        capsys, landscape, tmp_path, output):
    assert main(["render", "descent", "--landscape", str(landscape), "-o", str(tmp_path / output),
                 "--transparent", "--size", "160x120", "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert f"{output.split('.')[1].upper()} has no alpha channel" in lines[0]
    assert ".mov (ProRes 4444), .webm (VP9) or a folder" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_60_fps_end_to_end_film_and_gif(landscape, tmp_path):
    mp4, gif = tmp_path / "descent.mp4", tmp_path / "descent.gif"
    # 0.2 s: the frame rates are what is checked, not the length (each frame costs a render); 320x240, as a
    # tiny frame makes the on-screen labels' placement search far longer (about 5x at 160x120)
    film("descent", landscape, [mp4, gif], size=(320, 240), fps=60, seconds=0.2, draft=True, gif_fps=None,
         gif_width=None, progress=False)
    meta = iio.immeta(mp4, plugin="FFMPEG")
    assert meta["fps"] == 60 and iio.imread(mp4, plugin="FFMPEG").shape[0] == 12
    with Image.open(gif) as image:  # a GIF's delays are whole 1/100 s: a 60 fps film becomes a 50 fps GIF
        delays = [frame.info["duration"] for frame in ImageSequence.Iterator(image)]
    assert len(delays) == 10 and set(delays) == {20}
    frames = iio.imread(mp4, plugin="FFMPEG").astype(int)
    assert np.abs(frames[-1] - frames[0]).mean() > 0.5  # the ball moved
