"""The sharpness along the path on film: the line scene's sharpness plot, the descent inset and the HUD value."""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.render.elements.path_tube import PathState
from lossfilm.render.overlays.sharpness_view import has_sharpness, hud_line, measured_at
from tests.helpers import film, line_landscape

THRESHOLD = {"value": 10.0, "rule": "2/eta", "optimizer": "sgd", "lr": 0.2}


def sharp_landscape(path=None, threshold=THRESHOLD):
    """The bowl with a 1-D view and a sharpness curve that rises to 9 and settles at 7."""
    land = line_landscape()
    steps = np.asarray(land.path_steps)
    land.sharpness_steps = np.linspace(steps[0], steps[-1], 12).round().astype(np.int64)
    land.sharpness = 7.0 + 2.0 * np.sin(np.linspace(0, 2.5, 12))
    land.settings["curvature"] = {"threshold": threshold, "points": 12}
    if path is not None:
        land.save(path)
    return land


@pytest.fixture(scope="module")
def sharp_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sharp") / "sharp.npz"
    sharp_landscape(path)
    return str(path)


def test_the_sharpness_plot_grows_with_its_stability_line_drawn_whole(sharp_file):
    land = sharp_landscape()
    with film(sharp_file, "line", options=(("plot", "sharpness"),)) as f:
        f.frame(f.n_frames // 2)
        view = f.scene.sharpness_view
        assert 2 <= view.curve.mapper.GetInput().GetNumberOfPoints() < len(land.sharpness)
        f.frame(f.n_frames - 1)
        assert view.curve.mapper.GetInput().GetNumberOfPoints() == len(land.sharpness)
        threshold_line = view.plot.curves[0]  # drawn first, across the whole axis
        heights = view.plot.box.to_pixels([0.0, 1.0], [10.0, 10.0])
        np.testing.assert_allclose(np.asarray(threshold_line.mapper.GetInput().points)[:, :2], heights)
        assert view.plot.box.y_range[1] > 10.0  # the line is below the top of the axes, not on it
        image = f.frame(f.n_frames - 1)
    assert image.std() > 5


def test_plot_both_stacks_the_loss_and_the_sharpness(sharp_file):
    with film(sharp_file, "line", options=(("plot", "both"),)) as f:
        f.frame(f.n_frames - 1)
        upper, lower = f.scene.line_view.plot.box, f.scene.sharpness_view.plot.box
        assert lower.bottom + lower.height < upper.bottom  # one above the other, not overlapping


def test_the_descent_draws_the_sharpness_inset_and_the_hud_value_when_asked(sharp_file):
    with film(sharp_file, "descent") as f:
        index = int(0.7 * (f.n_frames - 1))
        plain = f.frame(index)
        assert not hasattr(f.scene, "sharpness_view")
    with film(sharp_file, "descent", options=(("sharpness", "both"),)) as f:
        drawn = f.frame(index)
        counters = f.scene.hud.counters.GetInput()
        view = f.scene.sharpness_view
    assert counters.splitlines()[-1].startswith("lambda_max ") and counters.endswith("(2/eta = 10)")
    assert np.abs(drawn.astype(int) - plain.astype(int)).max(axis=-1).mean() > 1.0
    assert view.dot.actor.GetVisibility()


def test_the_hud_shows_the_last_measured_value_not_an_interpolated_one():
    land = sharp_landscape()
    line = hud_line(land)
    steps, values = land.sharpness_steps, land.sharpness
    between = 0.5 * (steps[3] + steps[4])
    state = PathState(index=0.0, step=between, epoch=np.nan, loss_true=1.0, loss_plane=1.0, accuracy=np.nan)
    assert measured_at(steps, values, between) == values[3]
    assert line(state) == f"lambda_max {values[3]:.3g}   (2/eta = 10)"


def test_a_stability_line_far_above_the_curve_is_named_not_drawn(tmp_path):
    path = tmp_path / "far.npz"
    sharp_landscape(path, threshold=dict(THRESHOLD, value=200.0))
    with film(str(path), "line", options=(("plot", "sharpness"),)) as f:
        f.frame(0)
        view = f.scene.sharpness_view
        assert view.plot.box.y_range[1] < 20 and len(view.plot.curves) == 1
        assert any("off the chart" in row.GetInput() for row in view.plot.legend_rows)


def test_sharpness_options_without_sharpness_are_one_line_errors(tmp_path):
    path = tmp_path / "plain.npz"
    land = line_landscape(path)
    assert not has_sharpness(land)
    for scene, option in (("descent", ("sharpness", "inset")), ("line", ("plot", "sharpness"))):
        with pytest.raises(ConfigError, match="no sharpness along the path; make it with lossfilm landscape "
                                              "--sharpness") as info:
            film(str(path), scene, options=(option,))
        assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="option sharpness='sideways': expected one of off, inset, hud, both"):
        film(str(path), "descent", options=(("sharpness", "sideways"),))
