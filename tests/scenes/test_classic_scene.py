"""The classic scene: optimizers racing on a 2-D test function, its minima marked, log heights where asked.

Reference images live in tests/render/elements/images/ (``pytest tests/scenes/test_classic_scene.py --regen-images`` rewrites them).
"""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.render.filming.film import FilmSpec, open_film
from lossfilm.scenes import scene_class
from tests.helpers import HIMMELBLAU, check_image, descend, display_point, himmelblau_landscape, himmelblau_minima, paths_landscape

SIZE = (320, 240)
def rosenbrock_landscape(path, *, resolution=41):
    """Rosenbrock on a grid with a node exactly on its minimum (f = 0 there: no logarithm)."""
    def f(x, y):
        return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2

    def gradient(x, y):
        return np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])

    start = (-1.5, 2.0)
    runs = {"momentum": descend(gradient, start, "momentum", 150, lr=2e-4, momentum=0.9),
            "adam": descend(gradient, start, "adam", 150, lr=0.05)}
    land = paths_landscape(f, np.linspace(-2.0, 2.0, resolution), np.linspace(-1.0, 3.0, resolution), runs,
                           kind="axes", settings={"function": {"name": "rosenbrock", "formula": "f = (1-x)^2 + ..."},
                                                  "minima": [[1.0, 1.0, 0.0]], "log_z": True})
    land.save(path)
    return land


@pytest.fixture(scope="module")
def himmelblau_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("classic") / "himmelblau.npz"
    himmelblau_landscape(path)
    return str(path)


def film(landscape_file, scene="classic", **kwargs):
    kwargs.setdefault("supersample", 1.0)
    return open_film(FilmSpec(scene=scene_class(scene), landscape=landscape_file, size=SIZE, fps=kwargs.pop("fps", 10),
                              **kwargs))


def test_the_four_minima_come_out_of_the_formula_where_the_literature_puts_them():
    minima = sorted(himmelblau_minima())
    expected = sorted([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]])
    assert len(minima) == 4
    for (x, y, f), (ex, ey) in zip(minima, expected):
        assert (x, y) == pytest.approx((ex, ey), abs=1e-5) and f == pytest.approx(0.0, abs=1e-9)


def test_classic_frame_matches_the_reference(request, himmelblau_file):
    with film(himmelblau_file, theme="light") as f:
        image = f.frame(int(0.4 * (f.n_frames - 1)))
    check_image(request, "classic_himmelblau_light", image)


def test_every_minimum_is_starred_where_it_is_and_the_legend_says_so(himmelblau_file):
    land = himmelblau_landscape()
    with film(himmelblau_file, options=(("orbit", "false"),)) as f:
        f.frame(0)
        stars = f.scene.minima_stars
        assert len(stars) == 4
        for star, (x, y, _) in zip(stars, land.settings["minima"]):
            assert star.point[:2] == pytest.approx([x, y])
            anchor = np.array(star.anchor.GetComputedDisplayValue(f.plotter.renderer), dtype=float)
            column, row = display_point(f.plotter, star.point)
            assert anchor == pytest.approx([column, SIZE[1] - 1 - row], abs=1.0)
        assert any(not s.behind for s in stars)
        assert [a.GetInput() for a in f.scene.legend.key_actors] == ["known minima"]
        assert f.scene.hud.title.GetInput() == "Himmelblau"
        assert f.scene.hud.subtitle.GetInput() == HIMMELBLAU


def test_log_heights_follow_the_recommendation_and_keep_a_zero_minimum(tmp_path):
    path = tmp_path / "rosenbrock.npz"
    land = rosenbrock_landscape(path)
    assert np.nanmin(land.loss) == 0.0  # the node at (1, 1)
    with film(str(path)) as f:
        relief = f.scene.stage.relief
        assert relief.log_z and relief.log_floor > 0
        assert np.isfinite(relief.z(np.array([0.0]))[0])  # drawn at the floor, not blanked
        assert f.scene.surface.mesh.n_cells == 2 * 40 * 40  # no hole at the minimum
        assert f.scene.hud.title.GetInput() == "Rosenbrock"
        image = f.frame(f.n_frames - 1)
        assert image.std() > 5
    with film(str(path), options=(("height", "linear"),)) as f:
        assert not f.scene.stage.relief.log_z
    with pytest.raises(ConfigError, match="option height='cubic'"):
        film(str(path), options=(("height", "cubic"),))
