"""The picture: image regression at 320x240, the ball where the path says, frames over time, transparency.

Reference images live in tests/render/elements/images/; rewrite them after a deliberate
change of the look with ``pytest tests/render/elements/test_images.py --regen-images`` (and
look at them before committing).
"""

import textwrap

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.render.filming.film import FilmSpec, open_film
from lossfilm.scenes import scene_class
from tests.helpers import bowl_landscape, check_image, display_point

SIZE = (320, 240)
@pytest.fixture(scope="module")
def landscape_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("picture") / "landscape.npz"
    bowl_landscape(path, resolution=31, snapshots=80)
    return str(path)


@pytest.fixture(scope="module")
def surface_scene(tmp_path_factory):
    """A user scene file with the surface alone (also exercises loading scenes by path)."""
    path = tmp_path_factory.mktemp("scenes") / "surface_only.py"
    path.write_text(textwrap.dedent("""
        from lossfilm.render.framework.scene import Scene

        class SurfaceOnly(Scene):
            def construct(self):
                self.add_surface()
                self.add_hud(counters=False)
                self.add_camera()
                self.wait(1.0)
    """))
    return str(path)


def film(landscape_file, scene="descent", **kwargs):
    kwargs.setdefault("supersample", 1.0)
    return open_film(FilmSpec(scene=scene_class(scene), landscape=landscape_file, size=SIZE, fps=kwargs.pop("fps", 10),
                              **kwargs))


def still(landscape_file, scene="descent", fraction=0.5, **kwargs):
    with film(landscape_file, scene, **kwargs) as f:
        return f.frame(int(round(fraction * (f.n_frames - 1))))


# --- regression against cached images ------------------------------------------------------------

def test_surface_alone(request, landscape_file, surface_scene):
    check_image(request, "surface_dark", still(landscape_file, surface_scene, 0.0))


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_ball_on_the_path_mid_film(request, landscape_file, theme):
    image = still(landscape_file, "descent", 0.5, theme=theme)
    assert image.shape == (SIZE[1], SIZE[0], 3) and image.dtype == np.uint8
    check_image(request, f"descent_mid_{theme}", image)


def test_orbit_quarter_turn_light(request, landscape_file):
    check_image(request, "orbit_quarter_light", still(landscape_file, "orbit", 0.25, theme="light"))


# --- behaviour ------------------------------------------------------------------------------------

def test_frames_change_over_time_and_render_in_any_order(landscape_file):
    with film(landscape_file, "descent") as f:
        middle = f.frame(f.n_frames // 2)
        first = f.frame(0)
        again = f.frame(f.n_frames // 2)
    assert np.abs(first.astype(int) - middle.astype(int)).mean() > 1.0
    assert np.array_equal(middle, again)  # random access: the same frame, whatever came before


def test_the_ball_is_drawn_where_the_path_says(landscape_file):
    with film(landscape_file, "descent", options=(("orbit", "false"),)) as f:
        index = int(0.45 * f.n_frames)
        with_ball = f.frame(index)
        ball = f.scene.ball
        expected = display_point(f.plotter, ball.center)  # (column, row) in the image
        ball.set_opacity(0.0)
        f.plotter.render()
        without = f.plotter.screenshot(return_img=True)
    changed = np.abs(with_ball.astype(int) - without.astype(int)).max(axis=-1) > 30
    rows, cols = np.nonzero(changed)
    assert len(rows) > 10, "the ball is not visible"
    assert np.hypot(cols.mean() - expected[0], rows.mean() - expected[1]) < 2.5
    # and it is the ball's colour there
    center = with_ball[int(round(expected[1])), int(round(expected[0]))].astype(int)
    from lossfilm.render.elements.theme import get_theme
    import pyvista as pv

    ball_rgb = np.array(pv.Color(get_theme("dark").ball).int_rgb)
    assert np.abs(center - ball_rgb).max() < 90


def test_the_ball_starts_at_the_start_and_ends_at_the_end(landscape_file):
    land = bowl_landscape(resolution=31, snapshots=80)
    with film(landscape_file, "descent") as f:
        ball, path = f.scene.ball, f.scene.path
        for index, snapshot in ((0, 0), (f.n_frames - 1, -1)):
            f.frame(index)
            touching = ball.center - ball.radius * path.normal_at(ball.progress)  # where it meets the surface
            assert touching[:2] == pytest.approx([land.path_alpha[snapshot], land.path_beta[snapshot]], abs=1e-6)


def test_transparent_frames_have_an_alpha_channel(landscape_file):
    with film(landscape_file, "descent", transparent=True) as f:
        image = f.frame(f.n_frames // 2)
        column, row = (int(round(v)) for v in display_point(f.plotter, f.scene.ball.center))
    assert image.shape == (SIZE[1], SIZE[0], 4)
    assert image[0, 0, 3] == 0 and image[-1, -1, 3] == 0  # background: transparent
    assert image[row, column, 3] == 255  # the ball: opaque


def test_seconds_and_fps_set_the_frame_count_and_stretch_the_timeline(landscape_file):
    with film(landscape_file, "descent", seconds=2.0, fps=12) as f:
        assert f.n_frames == 24
        natural = f.scene.duration
        assert f.time_of(23) == pytest.approx(natural * 23 / 24)
        with pytest.raises(ConfigError, match="frame 24 is out of range"):
            f.frame(24)


@pytest.mark.parametrize("options", [(("easing", "steps"), ("camera", "top")),
                                     (("easing", "linear"), ("orbit", "false"), ("fade", "true"))])
def test_scene_options_render(landscape_file, options):
    image = still(landscape_file, "descent", 0.3, options=options)
    assert image.std() > 5  # something is drawn


def test_bad_options_fail_before_rendering(landscape_file):
    with pytest.raises(ConfigError, match="option 'spin' is unknown"):
        film(landscape_file, "descent", options=(("spin", "fast"),))
    with pytest.raises(ConfigError, match="option easing='bouncy': expected one of linear, ease-in-out"):
        film(landscape_file, "descent", options=(("easing", "bouncy"),))
    with pytest.raises(ConfigError, match="theme 'neon': expected one of dark, light"):
        film(landscape_file, "descent", theme="neon")


def test_blanked_nodes_and_log_height_render(tmp_path):
    path = tmp_path / "holes.npz"
    land = bowl_landscape(resolution=21, snapshots=30, nan_corner=True)
    land.loss[0, 0] = 0.0  # no logarithm: blanked like a NaN
    land.save(path)
    image = still(str(path), "orbit", 0.0, log_z=True)
    assert image.std() > 5


def test_a_landscape_without_finite_losses_is_an_artifact_error(tmp_path):
    from lossfilm.format.errors import ArtifactError

    path = tmp_path / "empty.npz"
    land = bowl_landscape(resolution=11, snapshots=5)
    land.loss[:] = np.nan
    land.save(path)
    with pytest.raises(ArtifactError, match="no finite loss value"):
        film(str(path))


def test_a_scene_that_plays_nothing_is_a_config_error(landscape_file, tmp_path):
    path = tmp_path / "still_life.py"
    path.write_text("from lossfilm.render.framework.scene import Scene\n\nclass StillLife(Scene):\n"
                    "    def construct(self):\n        self.add_surface()\n")
    with pytest.raises(ConfigError, match="timeline is empty"):
        film(landscape_file, str(path))
