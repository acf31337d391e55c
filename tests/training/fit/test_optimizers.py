"""Optimizers: each descends, deterministically, on any dict of arrays."""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.training.fit import mlp
from lossfilm.training.fit.optimizers import DEFAULT_LRS, OPTIMIZERS, make_optimizer

NAMES = sorted(OPTIMIZERS)


def blobs(seed=0, n=90, d=4, c=3):
    """Three separable Gaussian blobs: a problem every optimizer should make progress on."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    centers = rng.normal(0.0, 2.0, size=(c, d))
    return centers[y] + rng.normal(0.0, 0.5, size=(n, d)), y


def run_mlp(name, steps=60, **hparams):
    X, y = blobs()
    params = mlp.init_params([4, 8, 3], np.random.default_rng(0))
    optimizer = make_optimizer(name, **hparams)
    start = mlp.loss(params, X, y)
    for _ in range(steps):
        _, grads = mlp.loss_and_grads(params, X, y)
        optimizer.step(params, grads)
    return start, mlp.loss(params, X, y), params


@pytest.mark.parametrize("name", NAMES)
def test_each_optimizer_decreases_the_mlp_loss(name):
    start, end, _ = run_mlp(name, lr=DEFAULT_LRS[name] * (10 if name in ("rmsprop", "adam") else 1))
    assert end < 0.5 * start, f"{name}: loss {start:.3f} -> {end:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_each_optimizer_approaches_the_minimum_of_a_quadratic(name):
    # f(p) = 0.5 * sum(a * (p - target)^2), badly scaled on purpose
    a, target = np.array([1.0, 10.0]), np.array([1.0, -2.0])
    params = {"xy": np.array([4.0, 3.0])}
    optimizer = make_optimizer(name, lr={"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02}.get(name, 0.05))
    start = np.linalg.norm(params["xy"] - target)
    for _ in range(500):
        optimizer.step(params, {"xy": a * (params["xy"] - target)})
    assert np.linalg.norm(params["xy"] - target) < 0.05 * start


@pytest.mark.parametrize("name", NAMES)
def test_each_optimizer_is_deterministic(name):
    *_, first = run_mlp(name, steps=10)
    *_, second = run_mlp(name, steps=10)
    assert all(np.array_equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize("name", NAMES)
def test_rosenbrock_descends_from_the_usual_start(name):
    def grad(xy):
        x, y = xy
        return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])

    def rosenbrock(xy):
        return (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2

    params = {"xy": np.array([-1.5, 2.0])}
    optimizer = make_optimizer(name, lr={"sgd": 1e-4, "momentum": 1e-4, "nesterov": 1e-4}.get(name, 1e-2))
    start = rosenbrock(params["xy"])
    for _ in range(300):
        optimizer.step(params, {"xy": grad(params["xy"])})
    assert rosenbrock(params["xy"]) < 0.5 * start


def test_updates_are_in_place_and_leave_the_gradients_alone():
    params = {"W": np.ones((2, 2)), "b": np.zeros(2)}
    W = params["W"]
    grads = {"W": np.full((2, 2), 0.5), "b": np.ones(2)}
    make_optimizer("adam", weight_decay=0.1).step(params, grads)
    assert params["W"] is W and W[0, 0] < 1.0
    assert np.array_equal(grads["W"], np.full((2, 2), 0.5)) and np.array_equal(grads["b"], np.ones(2))


def test_known_first_steps():
    g = {"p": np.array([2.0, -0.5])}
    sgd = {"p": np.zeros(2)}
    make_optimizer("sgd", lr=0.1).step(sgd, g)
    assert np.allclose(sgd["p"], [-0.2, 0.05])
    # Adam's bias correction makes its first step lr * sign(g)
    adam = {"p": np.zeros(2)}
    make_optimizer("adam", lr=0.01).step(adam, g)
    assert np.allclose(adam["p"], [-0.01, 0.01], rtol=1e-6)
    # momentum: the second step with the same gradient is (1 + momentum) times the first
    momentum, opt = {"p": np.zeros(2)}, make_optimizer("momentum", lr=0.1, momentum=0.5)
    opt.step(momentum, g)
    opt.step(momentum, g)
    assert np.allclose(momentum["p"], -0.1 * (1 + 1.5) * g["p"])
    # weight decay pulls towards zero when the gradient is zero
    decayed = {"p": np.array([1.0])}
    make_optimizer("sgd", lr=0.5, weight_decay=0.2).step(decayed, {"p": np.zeros(1)})
    assert decayed["p"][0] == pytest.approx(0.9)


def test_default_learning_rates_are_used_and_reported():
    for name in NAMES:
        optimizer = make_optimizer(name)
        assert optimizer.lr == DEFAULT_LRS[name] > 0
        assert optimizer.hparams["lr"] == DEFAULT_LRS[name]
    assert make_optimizer("nesterov", lr=0.3, momentum=0.5).hparams == {
        "lr": 0.3, "momentum": 0.5, "weight_decay": 0.0}


@pytest.mark.parametrize("name, hparams, message", [
    ("lbfgs", {}, "unknown optimizer 'lbfgs'; choose one of"),
    ("adam", {"momentum": 0.9}, "optimizer 'adam' has no hyper-parameter 'momentum'"),
    ("sgd", {"lr": -1.0}, "--lr -1.0 must be positive"),
    ("sgd", {"lr": float("nan")}, "--lr nan must be positive"),
    ("momentum", {"momentum": 1.0}, r"--momentum 1.0 must be in \[0, 1\)"),
    ("adam", {"beta2": 1.5}, r"--beta2 1.5 must be in \[0, 1\)"),
    ("rmsprop", {"eps": 0.0}, "--eps 0.0 must be positive"),
    ("sgd", {"weight_decay": -0.1}, "--weight-decay -0.1 must be zero or positive"),
])
def test_bad_names_and_values_are_config_errors(name, hparams, message):
    with pytest.raises(ConfigError, match=message):
        make_optimizer(name, **hparams)
