"""The race: several paths on one surface, one ball, trail and colour each, on one clock of optimizer steps.

Reference images live in tests/render/elements/images/ (``pytest tests/scenes/test_race_scene.py --regen-images`` rewrites them;
look at them before committing).
"""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.render.filming.film import FilmSpec, open_film
from lossfilm.scenes import scene_class
from tests.helpers import check_image, display_point, race_landscape

SIZE = (320, 240)


def legend_lines(legend):
    """Every line of the legend as shown now: the header, then one row per path."""
    rows = [" ".join(a.GetInput().strip() for a in actors)
            for actors in zip(legend.name_actors, legend.loss_actors, legend.note_actors)]
    return [f"{legend.header.GetInput()}   {legend.column.GetInput()}"] + [row.strip() for row in rows]


@pytest.fixture(scope="module")
def race_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("race") / "race.npz"
    race_landscape(path)
    return str(path)


def film(landscape_file, scene="race", **kwargs):
    kwargs.setdefault("supersample", 1.0)
    return open_film(FilmSpec(scene=scene_class(scene), landscape=landscape_file, size=SIZE, fps=kwargs.pop("fps", 10),
                              **kwargs))


# --- the clock ------------------------------------------------------------------------------------

def test_a_path_with_several_paths_is_sliced_into_its_own():
    from lossfilm.render.elements.path_tube import one_path

    land = race_landscape()
    adam = one_path(land, "adam")
    assert adam.path_names == ("adam",) and len(adam.path_alpha) == 31
    assert adam.path_alpha[-1] == land.path_alpha[land.path_slices()["adam"][-1]]
    assert adam.loss is land.loss  # the grid is shared, not copied
    with pytest.raises(ConfigError, match="path 'lbfgs' is not in this landscape; it has sgd, momentum, adam"):
        one_path(land, "lbfgs")


def test_index_at_step_is_the_last_snapshot_not_after_it_blended_then_rests_at_the_end():
    from lossfilm.render.elements.path_tube import BallPath
    from lossfilm.render.elements.surface import Relief, Surface

    land = race_landscape()
    land.path_steps[land.path_owner == 2] *= 10  # adam's snapshots every 10 steps: 0, 10, ..., 300
    path = BallPath(land, Surface(land, Relief.of(land), mesh=None, actors={}), name="adam")
    assert path.index_at_step(-5) == 0.0
    assert path.index_at_step(10) == pytest.approx(1.0)
    assert path.index_at_step(15) == pytest.approx(1.5)
    assert path.index_at_step(300) == path.index_at_step(10 ** 6) == 30.0
    assert path.last_step == 300


@pytest.mark.parametrize("kind", ["linear", "sqrt", "log"])
def test_every_step_clock_runs_from_the_first_to_the_last_step_and_never_back(kind):
    from lossfilm.render.framework.animation import step_clock

    clock = step_clock(kind, 0, 400)
    values = [clock(u) for u in np.linspace(0, 1, 41)]
    assert values[0] == 0.0 and values[-1] == pytest.approx(400.0)
    assert np.all(np.diff(values) > 0)
    with pytest.raises(ConfigError, match="clock 'warp' is unknown"):
        step_clock("warp", 0, 1)


def test_path_colours_are_okabe_ito_and_distinct_in_both_themes():
    from lossfilm.render.elements.theme import get_theme, path_colors

    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    for theme in ("dark", "light"):
        colors = path_colors(get_theme(theme), 7)
        assert set(colors) == okabe_ito
    assert path_colors(get_theme("light"), 5)[-1] != "#F0E442"  # yellow on white comes last


# --- the picture ----------------------------------------------------------------------------------

def test_each_ball_is_drawn_at_its_own_paths_position_in_its_colour(race_file):
    import pyvista as pv

    with film(race_file, options=(("orbit", "false"),)) as f:
        index = int(0.3 * f.n_frames)  # all three under way, apart from each other
        image = f.frame(index)
        runners = f.scene.runners
        centers = [np.array(display_point(f.plotter, r.ball.center)) for r in runners]
        gaps = [np.linalg.norm(a - b) for i, a in enumerate(centers) for b in centers[i + 1:]]
        assert min(gaps) > 8, "the balls overlap in this frame; the test needs them apart"
        for runner, center, color in zip(runners, centers, f.scene.path_colors):
            # the ball's centre is on its own path at the clock's step
            step = f.scene.racing.step
            expected = runner.path.center_at(runner.path.progress_at_index(runner.path.index_at_step(step)),
                                             runner.ball.radius, rest=True)
            assert runner.ball.center == pytest.approx(expected)
            runner.ball.set_opacity(0.0)
            f.plotter.render()
            without = f.plotter.screenshot(return_img=True)
            runner.ball.set_opacity(1.0)
            changed = np.abs(image.astype(int) - without.astype(int)).max(axis=-1) > 30
            rows, cols = np.nonzero(changed)
            assert len(rows) > 10, f"the {runner.path.name} ball is not visible"
            assert np.hypot(cols.mean() - center[0], rows.mean() - center[1]) < 2.5
            pixel = image[int(round(center[1])), int(round(center[0]))].astype(int)
            assert np.abs(pixel - np.array(pv.Color(color).int_rgb)).max() < 90, runner.path.name


def test_a_short_path_rests_at_its_end_while_a_long_one_still_moves(race_file):
    with film(race_file, options=(("clock", "linear"), ("easing", "linear"), ("orbit", "false"))) as f:
        names = [r.path.name for r in f.scene.runners]
        adam, momentum = (f.scene.runners[names.index(n)] for n in ("adam", "momentum"))
        race = f.scene.racing
        # a frame after adam's last step (30 of momentum's 100) and well before the end
        index = int(0.6 * f.n_frames)
        f.frame(index)
        assert 30 < race.step < 100
        rest = adam.ball.center.copy()
        # at its end, or beside it where another racer shares the point (balls stand side by side, not merged)
        assert np.linalg.norm(rest - adam.path.center_at(1.0, adam.ball.radius, rest=True)) <= 2 * adam.ball.radius
        assert adam.finish.actor.visibility and not momentum.finish.actor.visibility
        moving = momentum.ball.center.copy()
        f.frame(index + 2)
        assert adam.ball.center == pytest.approx(rest)
        assert np.linalg.norm(momentum.ball.center - moving) > 1e-4
        texts = legend_lines(f.scene.legend)
        assert "done" in texts[1 + names.index("adam")] and "done" not in texts[1 + names.index("momentum")]
        f.frame(f.n_frames - 1)  # the film waits for the last one
        end = momentum.path.center_at(1.0, momentum.ball.radius, rest=True)
        assert np.linalg.norm(momentum.ball.center - end) <= 2 * momentum.ball.radius
        centers = [runner.ball.center for runner in f.scene.runners]
        for i, one in enumerate(centers):  # every racer shows: no two balls merge
            for other in centers[i + 1:]:
                assert np.linalg.norm((one - other)[:2]) >= 1.9 * adam.ball.radius


def test_the_legend_names_every_path_and_reads_its_loss(race_file):
    from lossfilm.render.overlays.hud import format_loss

    land = race_landscape()
    with film(race_file) as f:
        f.frame(f.n_frames - 1)
        texts = legend_lines(f.scene.legend)
    assert texts[0].startswith("step 100")
    for name, rows in land.path_slices().items():
        row = next(t for t in texts[1:] if t.split()[0] == name)
        assert format_loss(land.path_loss_true[rows[-1]]) in row


def test_race_frame_matches_the_reference(request, race_file):
    with film(race_file) as f:
        image = f.frame(int(0.3 * (f.n_frames - 1)))
    check_image(request, "race_mid_dark", image)


def test_a_single_path_landscape_races_alone(tmp_path):
    from tests.helpers import bowl_landscape

    path = tmp_path / "one.npz"
    bowl_landscape(path, resolution=21, snapshots=30)
    with film(str(path)) as f:
        image = f.frame(f.n_frames // 2)
        assert len(f.scene.runners) == 1 and legend_lines(f.scene.legend)[1].startswith("path")
    assert image.std() > 5


def test_descent_on_a_race_landscape_follows_the_first_path(race_file):
    land = race_landscape()
    with film(race_file, "descent") as f:
        f.frame(f.n_frames - 1)
        assert f.scene.path.name == "sgd"
        first = land.path_slices()["sgd"]
        assert f.scene.path.point_at(1.0)[:2] == pytest.approx([land.path_alpha[first[-1]],
                                                                land.path_beta[first[-1]]], abs=1e-6)


def test_classic_needs_a_functions_own_axes(race_file):
    with pytest.raises(ConfigError, match="classic needs a 2-D test function"):
        film(race_file, "classic")
