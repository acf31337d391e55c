"""The film's cost check counts the pixels the renderer draws: a --draft film (1x) is cheaper than a supersampled one."""

import dataclasses

import pytest

from lossfilm.format.budget import MAX_SECONDS, PIXEL_SECONDS
from lossfilm.format.errors import ConfigError
from lossfilm.render.filming.deliver import check_film_cost
from lossfilm.render.filming.film import FilmSpec
from lossfilm.render.filming.quality import SUPERSAMPLE


class VideoSink:
    suffix = ".mp4"  # not a folder: no disk check
    path = "film.mp4"


def test_a_draft_film_is_allowed_more_frames_than_a_supersampled_one():
    spec = FilmSpec(None, "landscape.npz", (1280, 720), fps=30, supersample=SUPERSAMPLE)
    draft = dataclasses.replace(spec, supersample=1.0)
    supersampled_limit = MAX_SECONDS / (1280 * 720 * PIXEL_SECONDS)  # frames in an hour at SUPERSAMPLE
    frames = int(1.5 * supersampled_limit)  # over the hour supersampled, under it drawn at 1x (0.44 the pixels)
    with pytest.raises(ConfigError, match="frames"):
        check_film_cost(spec, frames, [VideoSink()])
    check_film_cost(draft, frames, [VideoSink()])  # no error: a draft frame costs less
