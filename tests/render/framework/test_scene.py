"""Scenes and time: the timeline, options, the scene loader, the path, the HUD text, the camera."""

import pickle
import textwrap

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.render.framework.animation import Animation
from lossfilm.render.framework.scene_options import parse_options
from lossfilm.render.framework.scene import Scene
from tests.helpers import bowl_landscape


class Recorder(Animation):
    """Remembers every alpha it is set to."""

    def __init__(self, log, name):
        super().__init__()
        self.log, self.name = log, name

    def interpolate(self, alpha):
        self.log[self.name] = alpha


def plan(construct):
    scene = type("Planned", (Scene,), {"construct": construct})()
    scene.plan()
    return scene


# --- the clock and the timeline ----------------------------------------------------------------

@pytest.mark.parametrize("seconds, fps", [(8.0, 30), (6.0, 24), (1.3, 15), (0.05, 30), (2.5, 7)])
def test_frame_count_is_seconds_times_fps_rounded(seconds, fps):
    from lossfilm.render.filming.film import Film, FilmSpec

    scene = plan(lambda self: self.play(Recorder({}, "a"), run_time=seconds))
    film = Film(FilmSpec(scene=type(scene), landscape="x.npz", size=(320, 240), fps=fps), scene, plotter=None)
    times = np.array([film.time_of(index) for index in range(film.n_frames)])
    assert len(times) == round(seconds * fps)
    assert times[0] == 0.0 and np.allclose(np.diff(times), 1 / fps)


def test_play_and_wait_add_up_to_the_duration():
    scene = plan(lambda self: (self.play(Recorder({}, "a"), run_time=2.0), self.wait(1.5),
                               self.play(Recorder({}, "b"), run_time=0.5)))
    assert scene.duration == pytest.approx(4.0)
    assert [e.start for e in scene.timeline.entries] == pytest.approx([0.0, 3.5])


def test_seek_sets_each_animation_for_the_time_in_any_order():
    log = {}

    def construct(self):
        self.play(Recorder(log, "first"), run_time=2.0, rate_func=lambda t: t)
        self.wait(1.0)
        self.play(Recorder(log, "second"), run_time=1.0, rate_func=lambda t: t)

    scene = plan(construct)
    for t, first, second in [(3.5, 1.0, 0.5), (0.5, 0.25, 0.0), (2.5, 1.0, 0.0), (1.0, 0.5, 0.0), (4.0, 1.0, 1.0)]:
        scene.seek(t)
        assert (log["first"], log["second"]) == pytest.approx((first, second)), t


def test_the_play_rate_function_is_applied_unless_the_animation_has_its_own():
    log = {}
    own = Recorder(log, "own")
    own.rate_func = lambda t: t

    def construct(self):
        self.play(Recorder(log, "eased"), own, run_time=1.0)  # default: ease-in-out

    scene = plan(construct)
    scene.seek(0.25)
    assert log["own"] == pytest.approx(0.25)
    assert log["eased"] < 0.2  # eased starts slowly


def test_planning_leaves_each_animation_at_its_end_and_begin_sees_the_previous_end():
    class Counter(Animation):
        value = 0.0

        def __init__(self, to):
            super().__init__(rate_func=lambda t: t)
            self.to = to

        def begin(self):
            self.start = Counter.value

        def interpolate(self, alpha):
            Counter.value = self.start + alpha * (self.to - self.start)

    up, down = Counter(10.0), Counter(4.0)
    scene = plan(lambda self: (self.play(up, run_time=1.0), self.play(down, run_time=1.0)))
    assert (up.start, down.start) == (0.0, 10.0)
    scene.seek(1.5)
    assert Counter.value == pytest.approx(7.0)
    scene.seek(0.5)
    assert Counter.value == pytest.approx(5.0)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_impossible_durations_are_config_errors(bad):
    with pytest.raises(ConfigError, match="run_time"):
        plan(lambda self: self.play(Recorder({}, "a"), run_time=bad))
    with pytest.raises(ConfigError, match="wait"):
        plan(lambda self: self.wait(bad))


# --- options ------------------------------------------------------------------------------------

def test_options_are_typed_by_their_defaults():
    values = parse_options({"orbit": True, "roll": 5.0, "camera": "top", "n": 3},
                           {"orbit": "off", "roll": "2.5", "camera": "side", "n": "7"})
    assert values == {"orbit": False, "roll": 2.5, "camera": "side", "n": 7}


@pytest.mark.parametrize("raw, message", [({"orbit": "maybe"}, "expected true or false"),
                                          ({"roll": "fast"}, "expected a finite number"),
                                          ({"spin": "1"}, "option 'spin' is unknown")])
def test_bad_options_are_one_line_config_errors(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_options({"orbit": True, "roll": 5.0}, raw)


def test_film_spec_pickles():
    from lossfilm.render.filming.film import FilmSpec
    from lossfilm.scenes import scene_class

    spec = FilmSpec(scene=scene_class("descent"), landscape="x.npz", size=(320, 240), fps=30, options=(("orbit", "false"),))
    assert pickle.loads(pickle.dumps(spec)) == spec


# --- the scene loader ---------------------------------------------------------------------------

def test_scene_names_are_listed_without_importing_pyvista():
    import subprocess
    import sys

    code = "import sys; from lossfilm.scenes import SCENE_NAMES; print(SCENE_NAMES, 'pyvista' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'descent'" in out and "'orbit'" in out and out.strip().endswith("False")


def test_scenes_load_by_name():
    from lossfilm.render.framework.scene_loader import load_scene
    from lossfilm.scenes import scene_class

    assert issubclass(scene_class("descent"), Scene)
    assert issubclass(scene_class("orbit"), Scene)
    assert load_scene(scene_class("orbit")) is scene_class("orbit")


def test_render_takes_no_scene_names():
    from lossfilm.render.framework.scene_loader import load_scene

    with pytest.raises(ConfigError, match="expected a Scene subclass or the path of a .py scene file"):
        load_scene("descent")


def test_a_user_scene_loads_by_path(tmp_path):
    from lossfilm.render.framework.scene_loader import load_scene

    path = tmp_path / "my_scene.py"
    path.write_text(textwrap.dedent("""
        from lossfilm.render.framework.scene import Scene

        class Mine(Scene):
            def construct(self):
                self.wait(1.0)
    """))
    cls = load_scene(str(path))
    assert cls.__name__ == "Mine" and issubclass(cls, Scene)


@pytest.mark.parametrize("source, message", [
    ("raise RuntimeError('boom')", "fails on import (RuntimeError: boom)"),
    ("def broken(:\n    pass", "fails on import (SyntaxError"),
    ("x = 1", "defines no Scene subclass"),
])
def test_bad_scene_files_name_the_file(tmp_path, source, message):
    from lossfilm.render.framework.scene_loader import load_scene

    path = tmp_path / "bad_scene.py"
    path.write_text(source)
    with pytest.raises(ConfigError) as info:
        load_scene(str(path))
    text = str(info.value)
    assert str(path) in text and message in text and "\n" not in text


def test_unknown_scenes_list_the_choices(tmp_path):
    from lossfilm.scenes import scene_class

    with pytest.raises(ConfigError, match="scene 'nope' is unknown; choose one of .*descent.*orbit"):
        scene_class("nope")
    with pytest.raises(ConfigError, match="no such file"):
        scene_class(str(tmp_path / "missing.py"))


# --- the path on the surface --------------------------------------------------------------------

@pytest.fixture(scope="module")
def bowl_path():
    from lossfilm.render.elements.path_tube import BallPath
    from lossfilm.render.elements.surface import Relief, Surface

    land = bowl_landscape(resolution=31, snapshots=80)
    relief = Relief.of(land)
    surface = Surface(land, relief, mesh=None, actors={})
    return land, surface, BallPath(land, surface)


def test_the_path_is_smooth_no_jumps(bowl_path):
    _, _, path = bowl_path
    points = np.array([path.point_at(p) for p in np.linspace(0, 1, 600)])
    gaps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    # equal steps of progress are (nearly) equal distances: no stutter, no jump
    assert gaps.max() < 1.5 * np.median(gaps)
    assert np.allclose(points[0], path.point_at(0.0)) and np.isfinite(points).all()


def test_the_path_passes_through_the_snapshots_on_the_surface(bowl_path):
    land, surface, path = bowl_path
    for i in (0, 10, 40, len(land.path_alpha) - 1):
        point = path.point_at(path.progress_at_index(i))
        assert point[:2] == pytest.approx([land.path_alpha[i], land.path_beta[i]], abs=1e-3)
        # at a snapshot the height is the on-plane loss (never below the drawn surface)
        expected = max(surface.relief.z(land.path_loss_plane[i]),
                       surface.height_at(np.array([point[0]]), np.array([point[1]]))[0])
        assert point[2] == pytest.approx(expected, abs=2e-3 * surface.relief.top)


def test_between_snapshots_the_ball_never_sinks_below_the_drawn_surface(bowl_path):
    _, surface, path = bowl_path
    drawn = surface.height_at(path.points[:, 0], path.points[:, 1])
    assert np.all(path.points[:, 2] >= drawn - 1e-9)


def test_path_state_blends_the_snapshot_values(bowl_path):
    land, _, path = bowl_path
    start, end = path.state_at(0.0), path.state_at(1.0)
    assert start.step == land.path_steps[0] and end.step == land.path_steps[-1]
    assert end.loss_true == pytest.approx(land.path_loss_true[-1])
    middle = path.state_at(0.5)
    assert land.path_steps[0] < middle.step < land.path_steps[-1]


def test_steps_easing_moves_fast_where_the_optimizer_moved_far(bowl_path):
    _, _, path = bowl_path
    # the first 10% of the optimizer steps cover far more than 10% of the way
    assert path.progress_at_step_fraction(0.1) > 0.3
    values = [path.progress_at_step_fraction(u) for u in np.linspace(0, 1, 50)]
    assert values[0] == pytest.approx(0.0) and values[-1] == pytest.approx(1.0)
    assert np.all(np.diff(values) >= -1e-12)


def test_repeated_snapshots_do_not_break_the_path():
    from lossfilm.render.elements.path_tube import BallPath
    from lossfilm.render.elements.surface import Relief, Surface

    land = bowl_landscape(resolution=21, snapshots=30)
    for name in ("path_alpha", "path_beta", "path_loss_plane"):
        values = getattr(land, name)
        values[-10:] = values[-10]  # converged: the last snapshots do not move
        values[3:6] = values[3]
    relief = Relief.of(land)
    path = BallPath(land, Surface(land, relief, mesh=None, actors={}))
    assert np.isfinite(path.points).all()
    assert path.index_at(1.0) == pytest.approx(29)


def test_a_single_snapshot_path_is_a_point():
    from lossfilm.render.elements.path_tube import BallPath
    from lossfilm.render.elements.surface import Relief, Surface

    full = bowl_landscape(resolution=11, snapshots=5)
    for name in ("path_alpha", "path_beta", "path_loss_plane", "path_loss_true", "path_accuracy",
                 "residuals", "path_steps", "path_epochs"):
        setattr(full, name, getattr(full, name)[:1])
    path = BallPath(full, Surface(full, Relief.of(full), mesh=None, actors={}))
    assert np.allclose(path.point_at(0.0), path.point_at(1.0))


# --- heads-up text ------------------------------------------------------------------------------

def test_title_comes_from_the_settings_wherever_they_are_nested():
    from lossfilm.render.overlays.hud import film_title

    assert film_title({"optimizer": "adam", "lr": 0.001, "data": "mnist", "hidden": [128, 64]}) \
        == "ADAM (lr 0.001) on mnist, 784-128-64-10"
    assert film_title({"trajectory": {"optimizer": "sgd", "data": "/data/my_set"}}) == "SGD on my_set"
    assert film_title({"resolution": 51}) == "The training run on its loss landscape"


def test_counter_lines_label_the_on_plane_loss_only_when_it_differs():
    from lossfilm.render.overlays.hud import hud_lines
    from lossfilm.render.elements.path_tube import PathState

    same = PathState(index=0, step=5, epoch=float("nan"), loss_true=1.0, loss_plane=1.001, accuracy=float("nan"))
    assert hud_lines(same) == ["step 5", "loss 1"]
    differ = PathState(index=0, step=12345, epoch=2.5, loss_true=0.2, loss_plane=0.1, accuracy=0.5)
    assert hud_lines(differ) == ["step 12,345   epoch 2.50", "loss 0.2   (on plane 0.1)", "accuracy 50.0%"]


# --- camera -------------------------------------------------------------------------------------

@pytest.mark.parametrize("azimuth, elevation", [(0, 0), (-38, 32), (123, 60), (0, 90), (270, 89.5)])
def test_view_basis_is_orthonormal_and_right_handed(azimuth, elevation):
    from lossfilm.render.elements.camera import view_basis

    backward, up, right = view_basis(azimuth, elevation)
    basis = np.stack([right, up, backward])
    assert np.allclose(basis @ basis.T, np.eye(3), atol=1e-9)
    assert np.allclose(np.cross(right, up), backward, atol=1e-9)


def test_unknown_presets_and_themes_are_config_errors():
    from lossfilm.render.elements.camera import get_preset
    from lossfilm.render.elements.theme import get_theme

    with pytest.raises(ConfigError, match="camera 'fisheye' is unknown; choose one of three-quarter, top, side"):
        get_preset("fisheye")
    with pytest.raises(ConfigError, match="theme 'neon': expected one of dark, light"):
        get_theme("neon")


@pytest.mark.parametrize("evaluation, label", [("mlp", "train accuracy"), (None, "accuracy")])
def test_the_counters_say_train_accuracy_when_the_grid_was_evaluated_on_training_data(tmp_path, evaluation,
                                                                                       label):
    import dataclasses

    from lossfilm.render.filming.film import FilmSpec, open_film
    from lossfilm.scenes import scene_class

    land = bowl_landscape()
    settings = dict(land.settings, **({"evaluation": evaluation} if evaluation else {}))
    dataclasses.replace(land, settings=settings).save(tmp_path / "land.npz")
    with open_film(FilmSpec(scene_class("descent"), str(tmp_path / "land.npz"), size=(160, 120), fps=5, supersample=1.0)) as film:
        film.frame(film.n_frames - 1)
        text = film.scene.hud.counters.GetInput()
    assert text.splitlines()[-1].startswith(label + " ")


def test_a_frame_is_the_screenshot_of_its_render_and_the_camera_is_pointed_once_per_seek(tmp_path, monkeypatch):
    """The film reads its pixels straight from the window: the same as pyvista's screenshot, pixel for pixel."""
    from lossfilm.render.elements.camera import CameraRig
    from lossfilm.render.filming.film import FilmSpec, open_film
    from lossfilm.scenes import scene_class

    bowl_landscape(tmp_path / "land.npz")
    with open_film(FilmSpec(scene_class("descent"), str(tmp_path / "land.npz"), size=(160, 120), fps=10,
                            seconds=2.0, supersample=1.5)) as film:
        pointed = []
        point = CameraRig._point
        monkeypatch.setattr(CameraRig, "_point", lambda rig: pointed.append(1) or point(rig))
        for index in (0, film.n_frames // 2, film.n_frames - 1):
            pointed.clear()
            frame = film.frame(index)
            assert len(pointed) == 1  # however many camera animations the seek ran
            shot = film.plotter.screenshot(return_img=True)
            assert frame.shape == (180, 240, 3) and frame.dtype == np.uint8 and frame.flags.c_contiguous
            np.testing.assert_array_equal(frame, shot)
        film.scene.camera.set_view(azimuth=film.scene.camera.azimuth + 30.0)  # outside a seek: pointed at once
        assert len(pointed) == 2
