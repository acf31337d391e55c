"""The optimizer race: one start, cached racers, one common plane, every ball on the surface."""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.training.landscape.evaluation import evaluation_data
from lossfilm.training.landscape.grid import loss_and_accuracy
from lossfilm.training.landscape.pipeline import Landscape
from lossfilm.training.landscape.descent_paths import Race
from lossfilm.training.landscape.plane import Plane, make_plane
from lossfilm.training.landscape.race import cached_race_landscape, parse_lrs, parse_optimizers, race_landscape, train_racers
from lossfilm.training.landscape.settings import LandscapeSettings

TINY = dict(epochs=2, hidden=(8,))  # 46 steps of a 64-8-10 network: a race in a fraction of a second
SMALL = dict(resolution=7, samples=300)


@pytest.fixture(scope="module")
def race(tmp_path_factory):
    """Two racers trained, then a third added: (cache dir, racers, actions when adding, mtimes before)."""
    cache = tmp_path_factory.mktemp("race")
    first = train_racers(("sgd", "adam"), cache, progress=False, **TINY)
    mtimes = {name: (cache / f"{name}.npz").stat().st_mtime_ns for name, _, _ in first}
    racers = train_racers(("sgd", "adam", "momentum"), cache, progress=False, **TINY)
    return cache, racers, [action for _, _, action in first], [action for _, _, action in racers], mtimes


@pytest.fixture(scope="module")
def land(race):
    _, racers, *_ = race
    return race_landscape([t for _, t, _ in racers], [n for n, _, _ in racers], **SMALL)


def test_adding_an_optimizer_trains_only_that_one(race):
    cache, racers, first, again, mtimes = race
    assert first == ["compute", "compute"] and again == ["reuse", "reuse", "compute"]
    for name in mtimes:
        assert (cache / f"{name}.npz").stat().st_mtime_ns == mtimes[name]  # untouched
    assert sorted(p.name for p in cache.iterdir()) == ["adam.npz", "momentum.npz", "sgd.npz"]


def test_every_racer_starts_from_the_same_point_with_its_own_optimizer(race):
    _, racers, *_ = race
    start = racers[0][1].params[0]
    for name, trajectory, _ in racers:
        np.testing.assert_array_equal(trajectory.params[0], start)
        assert trajectory.settings["optimizer"]["name"] == name and len(trajectory) == 47
    finals = [t.params[-1] for _, t, _ in racers]
    assert not np.array_equal(finals[0], finals[1])  # they did race differently


def test_all_paths_share_one_plane_through_the_start(race, land):
    _, racers, *_ = race
    assert land.path_names == ("sgd", "adam", "momentum") and land.directions_kind == "pca-uncentred"  # RACE_DIRECTIONS
    np.testing.assert_array_equal(land.origin, racers[0][1].params[0])  # origin = the shared start
    plane = land.plane
    for (name, trajectory, _), (owner_name, index) in zip(racers, land.path_slices().items()):
        assert owner_name == name and len(index) == len(trajectory)
        assert land.path_alpha[index[0]] == 0 and land.path_beta[index[0]] == 0  # every ball starts at (0, 0)
        alpha, beta, residual = plane.project(trajectory.params)  # the same plane holds every path
        np.testing.assert_allclose(land.path_alpha[index], alpha, atol=1e-9)
        np.testing.assert_allclose(land.path_beta[index], beta, atol=1e-9)
        np.testing.assert_allclose(land.residuals[index], residual, atol=1e-9)
        assert land.path_steps[index].tolist() == trajectory.steps.tolist()
    first_end = land.path_slices()["sgd"][-1]
    assert land.path_alpha[first_end] >= 0 and land.path_beta[first_end] >= 0  # the sign convention
    owners = land.path_owner
    assert owners.tolist() == sorted(owners.tolist()) and set(owners.tolist()) == {0, 1, 2}
    # the grid covers every path
    assert land.alphas.min() < land.path_alpha.min() and land.path_alpha.max() < land.alphas.max()
    assert land.betas.min() < land.path_beta.min() and land.path_beta.max() < land.betas.max()
    assert land.settings["stats"]["captured"] > 0.8 and land.settings["run"]["sizes"] == [64, 8, 10]


def test_each_ball_rides_the_surface(race, land):
    _, racers, *_ = race
    X, y = evaluation_data(racers[0][1], samples=SMALL["samples"])
    layout = racers[0][1].layout
    plane = land.plane
    rng = np.random.default_rng(0)
    for (name, trajectory, _), index in zip(racers, land.path_slices().values()):
        for n in (0, len(index) - 1, *rng.integers(1, len(index) - 1, 2)):
            t = index[n]
            projected = layout.unflatten(plane.point(land.path_alpha[t], land.path_beta[t]))
            # float32 by default, like the grid: within 1e-5 relative of the float64 forward pass
            assert land.path_loss_plane[t] == pytest.approx(loss_and_accuracy(projected, X, y)[0], rel=1e-5)
            assert land.path_loss_true[t] == pytest.approx(
                loss_and_accuracy(trajectory.snapshot(n), X, y)[0], rel=1e-5)
    # and the grid is the same surface: a node evaluated directly
    i, j = 2, 5
    node = layout.unflatten(plane.point(land.alphas[i], land.betas[j]))
    assert land.loss[i, j] == pytest.approx(loss_and_accuracy(node, X, y)[0], rel=1e-5)  # the grid: float32 by default


def test_the_landscape_is_cached_on_every_path_and_setting(race, tmp_path):
    _, racers, *_ = race
    out = tmp_path / "race-landscape.npz"
    land, action = cached_race_landscape(racers[:2], out, progress=False, **SMALL)
    assert action == "compute"
    again, action = cached_race_landscape(racers[:2], out, progress=False, **SMALL)
    assert action == "reuse" and again.key == land.key and again.path_names == ("sgd", "adam")
    _, action = cached_race_landscape(racers, out, progress=False, **SMALL)  # a racer joined
    assert action == "update"
    moved, action = cached_race_landscape(racers, out, progress=False, directions_kind="anchors", **SMALL)
    assert action == "update" and moved.directions_kind == "anchors"
    loaded = Landscape.load(out)
    assert loaded.path_names == ("sgd", "adam", "momentum") and loaded.key == moved.key


def test_the_anchors_plane_holds_the_start_and_two_finals(race):
    _, racers, *_ = race
    trajectories = [t for _, t, _ in racers]
    paths = Race([n for n, _, _ in racers], trajectories)
    plane = make_plane(paths, LandscapeSettings(directions_kind="anchors"))
    ends = np.stack([trajectories[0].params[0], trajectories[0].params[-1], trajectories[1].params[-1]])
    assert isinstance(plane, Plane) and np.abs(plane.project(ends)[2]).max() < 1e-4 * np.linalg.norm(ends[1] - ends[0])
    with pytest.raises(ConfigError, match="--directions"):
        make_plane(paths, LandscapeSettings(directions_kind="random"))


def test_race_options_are_checked():
    assert parse_optimizers("sgd,adam") == ("sgd", "adam")
    for bad, match in (("", "--optimizers '': expected 1 to 5"), ("sgd,lbfgs", "'lbfgs' is not"),
                       ("sgd,sgd", "sgd is given twice")):
        with pytest.raises(ConfigError, match=match):
            parse_optimizers(bad)
    assert parse_lrs(["adam=0.01"], ("sgd", "adam")) == {"adam": 0.01}
    for bad in (["adam"], ["adam=-1"], ["adam=x"], ["momentum=0.1"]):
        with pytest.raises(ConfigError, match="--lr"):
            parse_lrs(bad, ("sgd", "adam"))


@pytest.mark.slow  # renders two short films (~3 s each)
def test_the_race_command_end_to_end(tmp_path, capsys):
    pytest.importorskip("pyvista")
    import imageio.v3 as iio

    from lossfilm.cli import main as cli

    out = tmp_path / "media"
    args = ["race", "--optimizers", "sgd,adam", "--epochs", "1", "--resolution", "9", "--seconds", "0.4",
            "--still-size", "160x120", "--out-dir", str(out), "--quiet"]
    assert cli(args) == 0
    said = capsys.readouterr().out
    assert "sgd" in said and "adam" in said and "trained" in said
    assert iio.imread(out / "race.png").shape == (120, 160, 3)
    assert (out / "race.mp4").stat().st_size > 0 and not (out / "race.gif").exists()
    land = Landscape.load(out / "cache" / "race-landscape.npz")
    assert land.path_names == ("sgd", "adam")
    assert cli(args[:2] + ["sgd,adam,momentum"] + args[3:]) == 0  # one more racer: only it trains
    said = capsys.readouterr().out
    assert said.count("reused") == 2 and "momentum  lr 0.05: trained" in said
    assert cli(["race", "--optimizers", "sgd,nope", "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "each one of sgd, momentum, nesterov, rmsprop, adam, none twice; 'nope' is not" in err


def test_a_racer_that_diverges_keeps_its_finite_path(tmp_path):
    racers = train_racers(("sgd", "adam"), tmp_path, lrs={"sgd": 500.0}, progress=False, **TINY)
    (_, wild, action), (_, calm, _) = racers
    assert wild.diverged and action == "update" and 1 <= len(wild) < len(calm)
    land = race_landscape([wild, calm], ["sgd", "adam"], **SMALL)
    assert [len(i) for i in land.path_slices().values()] == [len(wild), len(calm)]
    assert np.isfinite(land.path_alpha).all() and land.settings["stats"]["paths"]["sgd"]["diverged"]


def test_many_snapshots_go_through_a_temporary_file_with_the_same_plane(race, monkeypatch):
    import lossfilm.training.landscape.pca as pca_module

    _, racers, *_ = race
    paths = Race([n for n, _, _ in racers], [t for _, t, _ in racers])
    in_memory = make_plane(paths, LandscapeSettings())
    monkeypatch.setattr(pca_module, "IN_MEMORY_BYTES", 0)  # as if the stacked paths were over 256 MiB
    streamed = make_plane(paths, LandscapeSettings())
    np.testing.assert_array_equal(streamed.origin, in_memory.origin)
    np.testing.assert_allclose(np.abs(streamed.directions @ in_memory.directions.T), np.eye(2), atol=1e-5)


def test_an_interrupted_race_grid_resumes_from_its_sidecar(race, tmp_path):
    _, racers, *_ = race
    trajectories, names = [t for _, t, _ in racers[:2]], [n for n, _, _ in racers[:2]]
    sidecar = tmp_path / "race-landscape.partial.npz"
    calls = {"n": 0, "stop": -1}

    def loss_fn(params):
        calls["n"] += 1
        if calls["n"] == calls["stop"]:
            raise KeyboardInterrupt
        return float(sum(np.abs(v).sum() for v in params.values()))

    options = dict(loss_fn=loss_fn, resolution=5, max_path=4, checkpoint_path=sidecar)
    # the true and the on-plane loss at 4 points of each of 2 paths, but once at each path's first point: the
    # shared start is the plane's origin, its own projection
    path_calls = 2 * 2 * 4 - 2
    calls["stop"] = path_calls + 10
    with pytest.raises(KeyboardInterrupt):
        race_landscape(trajectories, names, **options)
    assert Landscape.load(sidecar).computed.sum() == 9
    calls.update(n=0, stop=-1)
    land = race_landscape(trajectories, names, **options)
    assert calls["n"] == 25 - 9 and land.settings["resumed_nodes"] == 9 and not sidecar.exists()
    fresh = race_landscape(trajectories, names, loss_fn=loss_fn, resolution=5, max_path=4)
    np.testing.assert_array_equal(land.loss, fresh.loss)
    assert land.key == fresh.key and land.path_names == fresh.path_names
