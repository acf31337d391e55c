"""The 1-D view: the loss along the straight line from the initial to the final parameters, and along the path,
as its own scene and as an inset in the descent scene.

Reference images live in tests/render/elements/images/ (``pytest tests/scenes/test_line_scene.py --regen-images`` rewrites them).
"""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from tests.helpers import SIZE, check_image, film, line_landscape

@pytest.fixture(scope="module")
def line_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("line") / "line.npz"
    line_landscape(path)
    return str(path)


def test_line_scene_matches_the_reference(request, line_file):
    with film(line_file, "line", theme="light") as f:
        image = f.frame(int(0.6 * (f.n_frames - 1)))
    assert image.shape == (SIZE[1], SIZE[0], 3) and image.std() > 5
    check_image(request, "line_light", image)


def test_the_path_curve_grows_and_its_dot_leads_it(line_file):
    land = line_landscape()
    with film(line_file, "line") as f:
        f.frame(0)
        view = f.scene.line_view
        path_curve, dot = view.curves[0], view.dots[0]
        zero = view.plot.box.to_pixels([0.0], [1.0])[0, 0]
        if path_curve.actor.GetVisibility():  # before the path starts: at most its snapshots of step 0
            assert np.asarray(path_curve.mapper.GetInput().points)[:, 0] == pytest.approx(zero)
        middle = f.n_frames // 2
        f.frame(middle)
        drawn = path_curve.mapper.GetInput().GetNumberOfPoints()
        assert 2 <= drawn < len(land.path_alpha)
        head = np.array(dot.actor.GetPosition())
        assert head == pytest.approx(path_curve.mapper.GetInput().points[-1][:2], abs=1.0)
        f.frame(f.n_frames - 1)
        assert path_curve.mapper.GetInput().GetNumberOfPoints() == len(land.path_alpha)
        # the straight line is drawn whole from the start, through both ends of the run
        assert view.line.mapper.GetInput().GetNumberOfPoints() == len(land.line_t)


def test_a_landscape_without_the_line_is_a_one_line_config_error(tmp_path):
    path = tmp_path / "no_line.npz"
    line_landscape(path, with_line=False)
    with pytest.raises(ConfigError, match="the landscape has no line view") as info:
        film(str(path), "line")
    assert "\n" not in str(info.value)


def test_the_descent_inset_is_drawn_where_there_is_a_line_and_left_out_where_there_is_none(line_file, tmp_path):
    with film(line_file, "descent", options=(("inset", "true"),)) as f:
        index = f.n_frames // 2
        with_inset = f.frame(index)
        view = f.scene.line_view
        state = f.scene.path.state_at(f.scene.ball.progress)
        column, row = view.dots[0].actor.GetPosition()
        x = (state.step - f.scene.landscape.path_steps[0]) / np.ptp(f.scene.landscape.path_steps)
        expected = view.plot.box.to_pixels([x], [state.loss_true])[0]
        assert (column, row) == pytest.approx(tuple(expected), abs=1.0)  # the dot follows the ball
    with film(line_file, "descent") as f:
        without = f.frame(index)
        assert not hasattr(f.scene, "line_view")
    assert np.abs(with_inset.astype(int) - without.astype(int)).max(axis=-1).mean() > 1.0
    path = tmp_path / "no_line.npz"
    line_landscape(path, with_line=False)
    with film(str(path), "descent", options=(("inset", "true"),)) as f:
        assert f.frame(0).std() > 5 and not hasattr(f.scene, "line_view")
