"""``film(still=PATH)``: the film's final state as the PNG ``still()`` makes, from the same render where it can."""

import imageio.v3 as iio
import numpy as np
import pytest

import lossfilm
from lossfilm.format.provenance import KEYWORD, from_text, read_png_text
from tests.helpers import bowl_landscape

pytestmark = pytest.mark.slow


def _provenance(path):
    made = from_text(read_png_text(path.read_bytes())[KEYWORD], path)
    made.pop("renderer", None)
    return made


@pytest.mark.parametrize("quality, rendered_again", [("low", False), ("high", True)])
def test_the_poster_is_the_still_of_the_same_settings(tmp_path, monkeypatch, quality, rendered_again):
    """Pixel for pixel and setting for setting what still() writes; rendered again only where the film's
    supersampling is not a still's (quality high draws its frames 1.25x, a still 1.5x)."""
    import lossfilm.api

    bowl_landscape(tmp_path / "land.npz")
    land = str(tmp_path / "land.npz")
    settings = dict(size=(160, 120), fps=8, seconds=1.0, theme="light")
    lossfilm.still(land, tmp_path / "alone.png", **settings)
    calls = []
    render_still = lossfilm.api.render_still
    monkeypatch.setattr(lossfilm.api, "render_still", lambda *a, **k: calls.append(1) or render_still(*a, **k))
    lossfilm.film("descent", land, tmp_path / "film.mp4", quality=quality, progress=False,
                  still=tmp_path / "poster.png", **settings)
    assert len(calls) == (1 if rendered_again else 0)
    np.testing.assert_array_equal(iio.imread(tmp_path / "poster.png"), iio.imread(tmp_path / "alone.png"))
    poster, alone = _provenance(tmp_path / "poster.png"), _provenance(tmp_path / "alone.png")
    assert poster["call"] == "still" and poster == alone


def test_a_poster_that_is_not_a_png_or_is_an_output_fails_before_rendering(tmp_path):
    bowl_landscape(tmp_path / "land.npz")
    land = str(tmp_path / "land.npz")
    with pytest.raises(lossfilm.LossfilmError, match="PNG"):
        lossfilm.film("descent", land, tmp_path / "film.mp4", progress=False, still=tmp_path / "poster.jpg")
    for still in (tmp_path / "film.mp4", land, 123, b"poster.png", ["poster.png"], ""):
        with pytest.raises(lossfilm.LossfilmError):
            lossfilm.film("descent", land, tmp_path / "film.mp4", progress=False, still=still)
    assert not (tmp_path / "film.mp4").exists()
