"""The 1-D view: the loss along the straight line from the first to the last snapshot, exactly."""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.training.fit.config import TrainConfig
from lossfilm.training.data.datasets import load_data
from lossfilm.training.landscape.grid import loss_and_accuracy
from lossfilm.training.landscape.evaluation import evaluation_data
from lossfilm.training.landscape.pipeline import Landscape, cached_or_compute
from lossfilm.format.layout import ParamLayout
from lossfilm.training.landscape.segment import line_losses, line_positions, trajectory_line
from lossfilm.training.fit.train import train
from lossfilm.format.trajectory import Trajectory


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = TrainConfig(epochs=1, hidden=(8,))
    return train(config, load_data("digits", seed=config.seed), tmp_path_factory.mktemp("line") / "run.npz",
                 progress=False)


def test_the_positions_hold_both_ends_of_the_run():
    t = line_positions()
    assert t[0] == -0.25 and t[-1] == 1.25 and len(t) == 61
    assert 0.0 in t and 1.0 in t and (np.diff(t) > 0).all()
    assert 0.0 in line_positions(7, (-0.3, 1.1)) and 1.0 in line_positions(7, (-0.3, 1.1))
    for bad in ((1.0, 0.0), (0.0, np.inf)):
        with pytest.raises(ConfigError, match="line range"):
            line_positions(5, bad)
    with pytest.raises(ConfigError, match="at least 2"):
        line_positions(1)


def test_the_mlp_line_passes_through_the_first_and_last_snapshot(run):
    X, y = evaluation_data(run, samples=400)
    t, loss, accuracy = trajectory_line(run, X=X, y=y)
    at = {float(v): i for i, v in enumerate(t)}
    assert loss[at[0.0]] == pytest.approx(loss_and_accuracy(run.snapshot(0), X, y)[0], rel=1e-9)
    assert loss[at[1.0]] == pytest.approx(loss_and_accuracy(run.snapshot(-1), X, y)[0], rel=1e-9)
    middle = run.layout.unflatten(0.5 * (run.params[0].astype(float) + run.params[-1].astype(float)))
    assert loss[at[0.5]] == pytest.approx(loss_and_accuracy(middle, X, y)[0], rel=1e-9)
    assert np.isfinite(accuracy).all() and accuracy[at[1.0]] > accuracy[at[0.0]]


def test_a_users_line_calls_their_loss_at_exactly_the_snapshots():
    rng = np.random.default_rng(0)
    snaps = [{"w": rng.normal(size=(2, 3)), "bias": rng.normal(size=2)} for _ in range(5)]
    traj = Trajectory.from_snapshots(snaps)

    def loss_fn(p):
        return float((p["w"] ** 2).sum() + np.abs(p["bias"]).sum())

    t, loss, accuracy = trajectory_line(traj, points=9, t_range=(-0.5, 1.5), loss_fn=loss_fn)
    assert loss[t.tolist().index(0.0)] == loss_fn(traj.snapshot(0))
    assert loss[t.tolist().index(1.0)] == loss_fn(traj.snapshot(-1))
    assert np.isnan(accuracy).all()
    flat = line_losses(np.zeros(2), np.ones(2), np.array([0.5]), layout=ParamLayout(("v",), ((2,),)),
                       loss_fn=lambda p: np.inf)[0]
    assert np.isnan(flat).all()  # non-finite losses are NaN, as on the grid


def test_landscapes_carry_the_line_when_asked(run, tmp_path):
    plain = Landscape.from_trajectory(run, resolution=5, samples=300)
    assert plain.line_t is None and plain.settings["line"] is None  # opt-in from Python
    land = Landscape.from_trajectory(run, resolution=5, samples=300, line=21)
    assert len(land.line_t) == 21 and np.isfinite(land.line_loss).all() and land.key != plain.key
    X, y = evaluation_data(run, samples=300)
    assert land.line_loss[list(land.line_t).index(1.0)] == pytest.approx(
        loss_and_accuracy(run.snapshot(-1), X, y)[0], rel=1e-9)
    assert "line    from the first to the last snapshot" in land.summary()
    cached, _ = cached_or_compute(run, tmp_path / "landscape.npz", progress=False, resolution=5, samples=300)
    back = Landscape.load(tmp_path / "landscape.npz")
    assert len(back.line_t) == 61 and cached.settings["line"] == {"points": 61, "range": [-0.25, 1.25]}
    np.testing.assert_array_equal(back.line_loss, cached.line_loss)
    _, action = cached_or_compute(run, tmp_path / "landscape.npz", progress=False, resolution=5, samples=300,
                                  line=0)
    assert action == "update" and Landscape.load(tmp_path / "landscape.npz").line_t is None
