"""Every output says how it was made; inspect prints it; reproduce re-renders it pixel for pixel."""

import json
import os

import imageio.v3 as iio
import numpy as np
import pytest

from lossfilm.cli import main
from lossfilm.cli.provenance import read_provenance
from lossfilm.format.errors import ArtifactError
from lossfilm.format.provenance import gif_with_comment, png_with_text, read_gif_comments, read_png_text
from lossfilm.format.version import CODE_VERSIONS, __version__
from tests.helpers import bowl_landscape


@pytest.fixture(scope="module")
def landscape_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("prov") / "landscape.npz"
    land = bowl_landscape(resolution=11, snapshots=20)
    land.key, land.trajectory_key = "0123456789abcdef", "fedcba9876543210"
    land.save(path)
    return path


def test_png_and_gif_metadata_round_trip_through_their_block_structure():
    image = np.zeros((4, 6, 3), np.uint8)
    png = iio.imwrite("<bytes>", image, extension=".png")
    tagged = png_with_text(png, "lossfilm", '{"a": 1}')
    assert read_png_text(tagged) == {"lossfilm": '{"a": 1}'}
    np.testing.assert_array_equal(iio.imread(tagged, extension=".png"), image)  # still a valid PNG
    frames = np.stack([np.zeros((4, 6, 3), np.uint8), np.full((4, 6, 3), 200, np.uint8)])
    gif = iio.imwrite("<bytes>", frames, extension=".gif")
    long_text = "lossfilm:" + "x" * 700  # more than two 255-byte sub-blocks
    tagged = gif_with_comment(gif, long_text)
    assert read_gif_comments(tagged)[-1] == long_text
    assert iio.imread(tagged, extension=".gif", index=None).shape[0] == 2


def test_every_output_format_carries_the_call_keys_and_renderer(landscape_file, tmp_path, capsys):
    outputs = [tmp_path / "film.mp4", tmp_path / "film.gif", f"{tmp_path / 'frames'}/"]
    # 320x240, not smaller: in a tiny frame the on-screen labels' placement searches several times longer
    argv = ["render", "descent", "--landscape", str(landscape_file), "--size", "320x240", "--seconds", "0.5",
            "--quiet", "--option", "title=none"] + [a for out in outputs for a in ("-o", str(out))]
    assert main(argv) == 0
    for out in outputs:
        made = read_provenance(out)
        assert made["lossfilm"] == __version__ and made["call"] == "film" and made["scene"] == "descent"
        assert made["command"] == "lossfilm " + " ".join(argv)
        assert made["settings"]["size"] == [320, 240] and made["settings"]["seconds"] == 0.5
        assert made["settings"]["options"] == {"title": "none"}
        assert made["landscape"]["key"] == "0123456789abcdef"
        folder = os.path.dirname(os.path.abspath(str(out).rstrip("/")))
        assert made["landscape"]["path"] == os.path.relpath(landscape_file.resolve(), folder)
        assert made["trajectory"]["key"] == "fedcba9876543210"
        assert made["renderer"]["vtk"].count(".") >= 1 and made["renderer"]["opengl_version"] != "?"
    capsys.readouterr()
    assert main(["inspect", str(outputs[0])]) == 0
    printed = capsys.readouterr().out
    assert "landscape  key 0123456789abcdef" in printed and "trajectory key fedcba9876543210" in printed
    assert "lossfilm render descent" in printed and "opengl_version" in printed
    assert main(["inspect", "--json", str(outputs[1])]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["fps"] == 15


def test_reproduce_of_a_still_is_pixel_identical(landscape_file, tmp_path, capsys):
    still = tmp_path / "still.png"
    assert main(["still", "--landscape", str(landscape_file), "-o", str(still), "--size", "120x90",
                 "--theme", "light", "--frame", "7", "--quiet"]) == 0
    again = tmp_path / "again.png"
    argv = ["reproduce", str(still), "-o", str(again), "--quiet", "--landscape", str(landscape_file)]
    assert main(argv) == 0
    np.testing.assert_array_equal(iio.imread(again), iio.imread(still))
    assert read_provenance(again)["settings"] == read_provenance(still)["settings"]
    assert read_provenance(again)["command"] == "lossfilm " + " ".join(argv)


def test_reproduce_names_a_missing_or_changed_landscape(landscape_file, tmp_path, capsys):
    moved = tmp_path / "landscape.npz"
    moved.write_bytes(landscape_file.read_bytes())
    still = tmp_path / "still.png"
    assert main(["still", "--landscape", str(moved), "-o", str(still), "--size", "64x48", "--quiet"]) == 0
    changed = bowl_landscape(resolution=9, snapshots=20)
    changed.key = "another"
    changed.save(moved)
    capsys.readouterr()
    assert main(["reproduce", str(still)]) == 2
    err = capsys.readouterr().err
    assert "missing artifact: landscape" in err and "now has key another" in err and "--landscape" in err
    assert "lossfilm still" not in err  # the hint is lossfilm's own, never text copied from the file
    moved.unlink()
    assert main(["reproduce", str(still)]) == 2
    assert "missing artifact: landscape" in capsys.readouterr().err


def test_a_file_without_provenance_is_one_line(tmp_path, capsys):
    plain = tmp_path / "plain.png"
    iio.imwrite(plain, np.zeros((4, 4, 3), np.uint8))
    assert main(["inspect", str(plain)]) == 2
    assert "carries no lossfilm provenance" in capsys.readouterr().err
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ArtifactError, match="not an MP4, MOV, WebM, GIF or PNG"):
        read_provenance(tmp_path / "x.txt")


def test_cache_keys_change_with_a_stages_code_version(monkeypatch):
    from types import SimpleNamespace

    from lossfilm.training.landscape.pipeline import landscape_key
    from lossfilm.training.landscape.descent_paths import Run
    from lossfilm.training.landscape.settings import LandscapeSettings

    run = Run(SimpleNamespace(key="0123"))
    before = landscape_key(run, LandscapeSettings(), "mlp")
    monkeypatch.setitem(CODE_VERSIONS, "landscape", CODE_VERSIONS["landscape"] + 1)
    assert landscape_key(run, LandscapeSettings(), "mlp") != before


def test_reproduce_of_a_film_renders_the_same_frames(landscape_file, tmp_path):
    film = tmp_path / "film.mp4"
    assert main(["render", "orbit", "--landscape", str(landscape_file), "-o", str(film), "--size", "96x64",
                 "--seconds", "0.4", "--fps", "10", "--quiet"]) == 0
    again = tmp_path / "again.mp4"
    assert main(["reproduce", str(film), "-o", str(again), "--quiet", "--trust"]) == 0  # follows ../ to the landscape
    first, second = iio.imread(film, index=None), iio.imread(again, index=None)
    assert first.shape == second.shape == (4, 64, 96, 3)
    np.testing.assert_array_equal(first, second)
