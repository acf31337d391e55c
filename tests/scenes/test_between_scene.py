"""Two models on one line, drawn: the line scene shows the segment with its ends named and its barrier marked;
the race scene shows both runs' paths on the one surface through A, B and the start."""

import numpy as np
import pytest

from lossfilm.format.trajectory import Trajectory
from lossfilm.render.filming.film import FilmSpec, open_film
from lossfilm.scenes import scene_class
from lossfilm.training.landscape.between import between_landscape

SIZE = (320, 240)


@pytest.fixture(scope="module")
def between_file(tmp_path_factory):
    """Two runs from one start into the two wells of a double well: a barrier of 1 between them."""
    steps = np.linspace(0.0, 1.0, 12)[:, None]  # (12,1)
    start = np.array([0.1, 2.0, 0.5])
    runs = [Trajectory.from_snapshots([{"w": start + s * (end - start)} for s in steps[:, 0]])
            for end in (np.array([-1.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0]))]
    land = between_landscape(*runs, names=("seed 0", "seed 1"),
                             loss_fn=lambda p: float((p["w"][0] ** 2 - 1) ** 2 + p["w"][1] ** 2 + p["w"][2] ** 2),
                             resolution=15, points=31)
    path = tmp_path_factory.mktemp("between") / "between.npz"
    land.save(path)
    return str(path)


def film(landscape_file, scene, **kwargs):
    return open_film(FilmSpec(scene=scene_class(scene), landscape=landscape_file, size=SIZE, fps=10,
                              supersample=1.0, **kwargs))


def test_the_line_scene_draws_the_segment_its_named_ends_and_its_barrier(between_file):
    with film(between_file, "line") as f:
        image = f.frame(f.n_frames - 1)
        view = f.scene.line_view
        assert view.curves == [] and view.dots == []  # no training path on this plot: the segment alone
        assert view.line.mapper.GetInput().GetNumberOfPoints() == 31
        texts = [a.GetInput() for a in view.plot.actors if hasattr(a, "GetInput") and isinstance(a.GetInput(), str)]
        assert "barrier 1" in texts and "seed 0" in texts and "seed 1" in texts
        assert f.scene.title_text() == "Two models on one line: seed 0 to seed 1, barrier 1"
    assert image.shape == (SIZE[1], SIZE[0], 3) and image.std() > 5


def test_the_race_scene_draws_both_runs_on_one_surface(between_file):
    with film(between_file, "race") as f:
        image = f.frame(f.n_frames - 1)
    assert image.std() > 5
