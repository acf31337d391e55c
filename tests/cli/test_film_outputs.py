"""The film options demo, race and classic share: -o names the films, the defaults stay OUT/STEM.mp4 (and .gif)."""

import pytest

from lossfilm.cli import build_parser, main
from lossfilm.cli.film_outputs import FilmOutputs
from lossfilm.format.errors import LossfilmError
from lossfilm.training.landscape.pipeline import Landscape


def outputs(argv, stem):
    return FilmOutputs(build_parser().parse_args(argv), stem)


@pytest.mark.parametrize("command, stem, default", [
    (["demo"], "descent", ["descent.mp4", "descent.gif"]),
    (["race"], "race", ["race.mp4"]),
    (["classic", "bowl"], "classic-bowl", ["classic-bowl.mp4"]),
])
def test_every_film_command_takes_o_and_keeps_its_defaults_without_it(tmp_path, command, stem, default):
    out = tmp_path / "media"
    assert outputs(command + ["--out-dir", str(out)], stem).films == [out / name for name in default]
    gif = ["--no-gif"] if command == ["demo"] else ["--gif"]
    expected = [out / f"{stem}.mp4"] + ([] if command == ["demo"] else [out / f"{stem}.gif"])
    assert outputs(command + ["--out-dir", str(out)] + gif, stem).films == expected
    named = outputs(command + ["--out-dir", str(out), "-o", str(tmp_path / "a.gif"), "--output",
                               str(tmp_path / "frames") + "/"], stem)
    assert named.films == [tmp_path / "a.gif", tmp_path / "frames"] and named.cache == out / "cache"


@pytest.mark.parametrize("extra, message", [
    (["-o", "{tmp}/film.avi"], "{tmp}/film.avi: unknown output format '.avi'"),
    (["-o", "{tmp}/no/film.mp4"], "{tmp}/no/film.mp4: output directory {tmp}/no does not exist"),
    (["-o", "{tmp}/film.mp4", "--gif"], "--gif chooses among the default films; with -o, name each film"),
])
def test_a_bad_output_is_one_line_before_any_work(tmp_path, capsys, extra, message):
    argv = ["race", "--out-dir", str(tmp_path / "media")] + [arg.format(tmp=tmp_path) for arg in extra]
    with pytest.raises(LossfilmError):
        outputs(argv, "race")
    assert main(argv + ["--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.format(tmp=tmp_path) in err
    assert not (tmp_path / "media" / "cache" / "race").exists()  # nothing trained


@pytest.mark.slow  # renders a short film (~3 s)
def test_classic_writes_the_films_o_names_and_its_still_and_cache_in_out_dir(tmp_path, capsys):
    pytest.importorskip("pyvista")
    import imageio.v3 as iio

    out, gif, frames = tmp_path / "media", tmp_path / "bowl.gif", tmp_path / "frames"
    assert main(["classic", "bowl", "--optimizers", "sgd,adam", "--steps", "20", "--resolution", "11",
                 "--seconds", "0.4", "--still-size", "160x120", "--out-dir", str(out), "-o", str(gif),
                 "-o", f"{frames}/", "--quiet"]) == 0
    said = capsys.readouterr().out
    assert str(gif) in said and iio.imread(gif, index=None).shape[0] >= 2  # a GIF of several frames
    written = sorted(frames.iterdir())
    assert written and all(p.suffix == ".png" for p in written)
    assert sorted(p.name for p in out.iterdir()) == ["cache", "classic-bowl.png"]  # no OUT/classic-bowl.mp4
    assert Landscape.load(out / "cache" / "classic-bowl.npz").path_names == ("sgd", "adam")
