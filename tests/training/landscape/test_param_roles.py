"""One bias rule for the NumPy and PyTorch paths: weights are filter-normalised, biases and BatchNorm stay put."""

import numpy as np
import pytest

from lossfilm.format.layout import ParamLayout
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.landscape.pipeline import Landscape
from lossfilm.training.landscape.param_roles import param_role
from lossfilm.training.landscape.plane import random_plane


@pytest.mark.parametrize("name, shape, role", [
    ("W1", (4, 3), "weight"), ("b1", (1, 4), "bias"), ("b", (4,), "bias"), ("b_out", (2,), "bias"),
    ("bias", (4,), "bias"), ("hidden.bias", (4,), "bias"), ("fc1.bias", (10,), "bias"),
    ("bn1.weight", (8,), "bias"), ("layer1.0.bn2.weight", (8,), "bias"), ("features.1.weight", (8,), "bias"),
    ("bn1.running_mean", (8,), "buffer"), ("bn1.running_var", (8,), "buffer"),
    ("bn1.num_batches_tracked", (), "buffer"), ("conv1.weight", (8, 1, 3, 3), "weight"),
    ("fc.weight", (10, 64), "weight"), ("hidden.weight", (64, 32), "weight"),
    ("w", (5,), "weight"),  # a NumPy user's 1-D weight vector is a weight: only dotted (PyTorch) names go by shape
    ("block1.weight", (4, 4), "weight"),  # the old rule (a name starting with b) took this for a bias
    ("beta", (4,), "bias"), ("gamma1", (4,), "bias"),
])
def test_the_rule(name, shape, role):
    assert param_role(name, shape) == role


def test_explicit_bias_names_replace_the_rule_but_buffers_stay_buffers():
    assert param_role("W1", (4, 3), bias_names={"W1"}) == "bias"
    assert param_role("b1", (1, 4), bias_names=set()) == "weight"
    assert param_role("bn.running_mean", (4,), bias_names=set()) == "buffer"


def test_buffers_never_move_even_when_biases_are_scaled_as_filters():
    layout = ParamLayout(("conv.weight", "conv.bias", "bn.running_mean"), ((2, 1, 2, 2), (2,), (2,)))
    origin = np.ones(layout.size, np.float32)
    parts = layout.unflatten(random_plane(layout, origin, seed=0, biases="filter").directions[0])
    assert np.abs(parts["conv.weight"]).min() > 0 and np.abs(parts["conv.bias"]).max() > 0
    assert not parts["bn.running_mean"].any()


def test_bias_names_reach_the_random_plane_through_the_landscape_settings():
    rng = np.random.default_rng(0)
    trajectory = Trajectory.from_snapshots([{"w": rng.normal(size=4), "v": rng.normal(size=3)} for _ in range(3)])
    land = Landscape.from_trajectory(trajectory, loss_fn=lambda p: float((p["w"] ** 2).sum() + (p["v"] ** 2).sum()),
                                     directions_kind="random", bias_names=["v"], resolution=3)
    parts = trajectory.layout.unflatten(land.directions[0])
    assert parts["w"].any() and not parts["v"].any()
    assert land.settings["bias_names"] == ["v"]
