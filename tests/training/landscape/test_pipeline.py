"""Landscape.from_trajectory, the artifact, the mesh exports, resume and the CLI."""

import dataclasses

import numpy as np
import pytest

from lossfilm.cli import main as cli
from lossfilm.format.errors import ConfigError
from lossfilm.training.data.datasets import load_data
from lossfilm.training.landscape.grid import loss_and_accuracy
from lossfilm.training.landscape.evaluation import evaluation_data
from lossfilm.training.landscape.pipeline import Landscape, checkpoint_path_for
from lossfilm.training.fit.mlp import init_params, loss_and_grads
from lossfilm.format.trajectory import Trajectory

SIZES = [64, 12, 10]
SMALL = dict(resolution=9, samples=200)  # keeps every grid here well under a second


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    """A saved trajectory of the built-in MLP: 41 snapshots of gradient descent on digits."""
    data = load_data("digits", seed=0)
    rng = np.random.default_rng(0)
    params = init_params(SIZES, rng)
    X, y = data.X_train[:300], data.y_train[:300]
    snapshots, losses = [], []
    for _ in range(41):
        snapshots.append({k: v.copy() for k, v in params.items()})
        loss, grads = loss_and_grads(params, X, y)
        losses.append(loss)
        for k in params:
            params[k] -= 0.5 * grads[k]
    traj = Trajectory.from_snapshots(snapshots, losses=losses, settings={"data": data.source})
    traj.model = {"sizes": SIZES, "activation": "relu"}
    path = tmp_path_factory.mktemp("run") / "trajectory.npz"
    traj.save(path)
    return path


@pytest.fixture(scope="module")
def traj(run_file):
    return Trajectory.load(run_file)  # params memory-mapped, like the CLI's


@pytest.fixture(scope="module")
def land(traj):
    return Landscape.from_trajectory(traj, max_path=15, **SMALL)


def mlp_loss(traj, samples=200, seed=0):
    X, y = evaluation_data(traj, samples, seed)
    return lambda vector: loss_and_accuracy(traj.layout.unflatten(np.asarray(vector, float)), X, y)


def test_grid_value_at_the_origin_node_is_the_loss_at_the_origin(traj, land):
    i, j = int(np.flatnonzero(land.alphas == 0.0)[0]), int(np.flatnonzero(land.betas == 0.0)[0])
    loss, accuracy = mlp_loss(traj)(traj.params[-1])
    assert land.settings["dtype"] == "float32"  # the default: within 1e-5 relative
    assert land.loss[i, j] == pytest.approx(loss, rel=1e-5)
    assert land.accuracy[i, j] == accuracy
    assert land.computed.all() and np.isfinite(land.loss).all()
    exact = Landscape.from_trajectory(traj, max_path=15, dtype="float64", **SMALL)
    assert exact.loss[i, j] == pytest.approx(loss, rel=1e-12)
    assert exact.key != land.key  # the precision is part of what the key covers


def test_path_losses_are_exact_on_the_plane_and_at_the_snapshots(traj, land):
    at = mlp_loss(traj)
    plane = land.plane
    assert len(land.path_alpha) == 15 and land.path_steps[0] == 0 and land.path_steps[-1] == 40
    for n in (0, 6, 14):
        step = int(land.path_steps[n])
        projected = plane.point(land.path_alpha[n], land.path_beta[n])
        # float32 by default (the grid's dtype): within 1e-5 relative of the float64 forward pass
        assert land.path_loss_plane[n] == pytest.approx(at(projected)[0], rel=1e-5)
        assert land.path_loss_true[n] == pytest.approx(at(traj.params[step])[0], rel=1e-5)
        assert abs(land.path_accuracy[n] - at(traj.params[step])[1]) <= 2 / SMALL["samples"]  # a near-tie may round the other way
    assert land.path_loss_true[0] > land.path_loss_true[-1]  # it trained
    assert land.path_loss_plane[-1] == land.path_loss_true[-1]  # the final snapshot is the origin
    assert land.explained_variance.sum() <= 1.0 and land.explained_variance[0] > 0.5


def test_on_plane_path_losses_equal_loss_fn_at_the_projected_parameters(traj):
    seen = []

    def loss_fn(params):
        seen.append(params)
        return float(sum((v ** 2).sum() for v in params.values()))

    land = Landscape.from_trajectory(traj, loss_fn=loss_fn, resolution=5, max_path=7)
    flat = traj.layout.flatten
    for n in range(7):
        projected = land.plane.point(land.path_alpha[n], land.path_beta[n])
        assert land.path_loss_plane[n] == pytest.approx(float((projected ** 2).sum()), rel=1e-12)
    # twice per path point, once per node; but once at the final snapshot, which is the origin: its own projection
    assert len(seen) == 2 * 7 - 1 + 25
    assert all(v.dtype == np.float64 for v in seen[0].values())
    assert np.isnan(land.accuracy).all() and np.isnan(land.path_accuracy).all()
    assert land.path_loss_true[0] == pytest.approx(float((flat(traj.snapshot(0), np.float64) ** 2).sum()))


def test_anchors_plane_puts_its_three_snapshots_on_the_surface(traj):
    land = Landscape.from_trajectory(traj, directions_kind="anchors", anchors=(0, 20, 40), max_path=41, **SMALL)
    on_plane = [0, 20, 40]
    scale = np.hypot(land.path_alpha, land.path_beta).max()
    assert land.residuals[on_plane].max() < 1e-6 * scale
    np.testing.assert_allclose(land.path_loss_plane[on_plane], land.path_loss_true[on_plane], rtol=1e-5)
    assert land.residuals.max() > 1e-3 * scale
    assert land.settings["plane"]["anchors"] == on_plane
    assert np.isnan(land.explained_variance).all()


def test_nan_regions_are_masked_and_reported(traj, tmp_path):
    radius = 1.3

    def loss_fn(params):
        distance = np.linalg.norm(traj.layout.flatten(params, np.float64) - traj.params[-1])
        return np.nan if distance > radius else float(distance)

    land = Landscape.from_trajectory(traj, loss_fn=loss_fn, resolution=11, max_path=5,
                                     grid_range=(-2, 2, -1, 3))
    A, B = np.meshgrid(land.alphas, land.betas, indexing="ij")
    outside = np.hypot(A, B) > radius * (1 + 1e-6)
    inside = np.hypot(A, B) < radius * (1 - 1e-6)
    assert outside.any() and inside.any()
    assert land.nonfinite[outside].all() and not land.nonfinite[inside].any()
    assert land.computed.all()
    assert f"non-finite (NaN/inf, masked): {int(land.nonfinite.sum())} of 121" in land.summary()
    from lossfilm.render.elements.mesh import structured_grid

    grid = structured_grid(land)
    assert np.isfinite(grid.points).all()
    visible = grid.point_data["finite"].astype(bool)
    assert visible.sum() == (~land.nonfinite).sum()
    from lossfilm.render.elements.mesh import visible_surface

    ok = ~land.nonfinite
    whole_cells = ok[:-1, :-1] & ok[1:, :-1] & ok[:-1, 1:] & ok[1:, 1:]
    surface = visible_surface(land)
    assert 0 < surface.n_cells == whole_cells.sum() < whole_cells.size
    assert np.isfinite(surface.points).all() and surface.points[:, 2].max() <= radius
    land.save(tmp_path / "nan.npz")
    assert Landscape.load(tmp_path / "nan.npz").nonfinite.sum() == land.nonfinite.sum()


def test_save_load_round_trip(land, tmp_path):
    land.save(tmp_path / "landscape.npz")
    back = Landscape.load(tmp_path / "landscape.npz")
    for name in ("alphas", "betas", "loss", "accuracy", "computed", "origin", "directions", "path_alpha",
                 "path_beta", "path_loss_plane", "path_loss_true", "path_accuracy", "residuals",
                 "path_steps", "path_epochs", "explained_variance"):
        np.testing.assert_array_equal(getattr(back, name), getattr(land, name), err_msg=name)
    assert (back.key, back.trajectory_key, back.directions_kind) == (land.key, land.trajectory_key, "pca")
    assert back.settings == land.settings
    assert back.settings["resolution"] == 9 and back.settings["seed"] == 0 and back.settings["time_s"] > 0


def test_vts_and_obj_exports_open_with_pyvista(land, tmp_path):
    pv = pytest.importorskip("pyvista")
    from lossfilm.render.elements.mesh import export_obj, export_vts

    export_vts(land, tmp_path / "landscape.vts")
    export_obj(land, tmp_path / "landscape.obj", log_z=True)
    grid = pv.read(tmp_path / "landscape.vts")
    assert grid.dimensions == (9, 9, 1)
    np.testing.assert_allclose(grid.point_data["loss"], land.loss.ravel(order="F"))
    np.testing.assert_allclose(grid.points[:, 2], land.loss.ravel(order="F"))
    assert {"log_loss", "accuracy"} <= set(grid.point_data.keys())
    assert pv.read(tmp_path / "landscape.obj").n_cells == 8 * 8  # one quad per grid cell
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landscape.obj", "landscape.vts"]


def test_key_follows_the_settings(traj, land):
    again = Landscape.from_trajectory(traj, max_path=15, **SMALL)
    assert again.key == land.key
    np.testing.assert_array_equal(again.loss, land.loss)
    assert Landscape.from_trajectory(traj, max_path=15, resolution=7, samples=200).key != land.key


def test_interrupted_grid_resumes_without_recomputing_nodes(traj, tmp_path):
    sidecar = tmp_path / "landscape.partial.npz"
    calls = {"n": 0, "stop": 2 * 5 - 1 + 30}  # the path takes 9 calls (the origin once); stop 30 nodes into the grid

    def loss_fn(params):
        calls["n"] += 1
        if calls["n"] == calls["stop"]:
            raise KeyboardInterrupt
        return float(sum(np.abs(v).sum() for v in params.values()))

    options = dict(loss_fn=loss_fn, resolution=9, max_path=5, checkpoint_path=sidecar)
    with pytest.raises(KeyboardInterrupt):
        Landscape.from_trajectory(traj, **options)
    partial = Landscape.load(sidecar)
    assert partial.computed.sum() == 29 and not partial.computed.all()
    calls.update(n=0, stop=-1)
    land = Landscape.from_trajectory(traj, **options)
    assert calls["n"] == 81 - 29  # only the missing nodes; the path came from the sidecar
    assert land.computed.all() and not sidecar.exists()
    assert land.settings["resumed_nodes"] == 29 and "resumed an interrupted run" in land.summary()
    calls.update(n=0)
    fresh = Landscape.from_trajectory(traj, loss_fn=loss_fn, resolution=9, max_path=5)
    np.testing.assert_allclose(land.loss, fresh.loss, rtol=1e-12)
    assert land.key == fresh.key


def test_a_stale_sidecar_is_ignored(traj, tmp_path):
    sidecar = tmp_path / "landscape.partial.npz"
    Landscape.from_trajectory(traj, loss_fn=lambda p: 1.0, resolution=5, max_path=3).save(sidecar)
    land = Landscape.from_trajectory(traj, loss_fn=lambda p: 2.0, resolution=7, max_path=3,
                                     checkpoint_path=sidecar)
    assert land.loss.shape == (7, 7) and (land.loss == 2.0).all()


def test_snapshot_trajectory_without_loss_fn_is_a_config_error():
    traj = Trajectory.from_snapshots([{"w": np.arange(3.0) + t} for t in range(3)])
    with pytest.raises(ConfigError, match="loss_fn"):
        Landscape.from_trajectory(traj)


def test_cli_writes_reuses_and_reports(run_file, tmp_path, capsys):
    out = tmp_path / "landscape.npz"
    args = ["landscape", str(run_file), "-o", str(out), "--resolution", "7", "--samples", "100",
            "--max-path", "10", "--vts"]
    assert cli(args) == 0
    text = capsys.readouterr().out
    assert "written" in text and "PC1" in text and "alpha [" in text and "non-finite" in text
    assert "distance from plane: max" in text and "time" in text
    assert (tmp_path / "landscape.vts").exists() and not checkpoint_path_for(out).exists()
    written = Landscape.load(out)
    assert written.settings["samples"] == 100 and written.loss.shape == (7, 7)
    stamp = out.stat().st_mtime_ns
    assert cli(args + ["--quiet"]) == 0
    assert capsys.readouterr().out == "" and out.stat().st_mtime_ns == stamp  # reused, not rewritten
    assert cli(args) == 0 and "reused" in capsys.readouterr().out
    assert cli(args + ["--force", "--quiet"]) == 0 and out.stat().st_mtime_ns != stamp


def test_cli_errors_are_one_line(run_file, tmp_path, capsys):
    assert cli(["landscape", str(run_file), "-o", str(tmp_path / "x.npz"), "--anchors", "0", "1", "2"]) == 2
    assert "--anchors needs --directions anchors" in capsys.readouterr().err
    snaps = Trajectory.from_snapshots([{"w": np.arange(3.0) + t} for t in range(3)])
    snaps.save(tmp_path / "snaps.npz")
    assert cli(["landscape", str(tmp_path / "snaps.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no model spec" in err
    assert cli(["landscape", str(tmp_path / "missing.npz")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli(["landscape", str(run_file), "-o", str(tmp_path / "no" / "x.npz"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err  # before any work, not after the grid


def test_several_paths_and_the_line_view_round_trip(land, tmp_path):
    T = len(land.path_alpha)
    race = dataclasses.replace(land, path_owner=(np.arange(T) >= T // 2).astype(np.int64), path_names=("sgd", "adam"),
                               line_t=np.linspace(-0.25, 1.25, 7), line_loss=np.linspace(3.0, 0.1, 7))
    race.save(tmp_path / "race.npz")
    back = Landscape.load(tmp_path / "race.npz")
    assert back.path_names == ("sgd", "adam")
    assert [len(i) for i in back.path_slices().values()] == [T // 2, T - T // 2]
    np.testing.assert_array_equal(back.line_loss, race.line_loss)


def test_a_single_path_landscape_has_one_owner_and_no_line(land, tmp_path):
    land.save(tmp_path / "one.npz")
    back = Landscape.load(tmp_path / "one.npz")
    assert back.path_names == ("path",) and not back.path_owner.any() and back.line_t is None


def test_the_settings_are_one_checked_object(traj, land):
    from lossfilm.training.landscape.settings import DEFAULTS, LandscapeSettings

    settings = LandscapeSettings.of(max_path=15, **SMALL)
    assert Landscape.from_trajectory(traj, settings=settings).key == land.key  # the object or its fields by name
    assert LandscapeSettings().resolution == DEFAULTS["resolution"] == 51
    with pytest.raises(ConfigError, match="unknown landscape setting directions; the settings are directions_kind"):
        Landscape.from_trajectory(traj, directions="random")
    with pytest.raises(ConfigError, match="--resolution 2"):
        LandscapeSettings(resolution=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.resolution = 3
