"""The MLP: gradients against central finite differences, the loss at known points."""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.training.fit import mlp


def numerical_grads(params, X, y, h=1e-6):
    """Central differences of the loss, one parameter entry at a time."""
    grads = {}
    for name, p in params.items():
        g = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + h
            plus = mlp.loss(params, X, y)
            p[index] = saved - h
            minus = mlp.loss(params, X, y)
            p[index] = saved
            g[index] = (plus - minus) / (2 * h)
        grads[name] = g
    return grads


@pytest.mark.parametrize("sizes", [[5, 4, 3], [5, 4, 6, 3]], ids=["one-hidden", "two-hidden"])
def test_gradients_match_finite_differences(sizes):
    rng = np.random.default_rng(1)
    params = mlp.init_params(sizes, rng)
    for name in params:  # non-zero biases, so their gradients are exercised too
        if name.startswith("b"):
            params[name] = rng.normal(0.0, 0.1, size=params[name].shape)
    X, y = rng.normal(size=(7, sizes[0])), rng.integers(0, sizes[-1], 7)

    value, grads = mlp.loss_and_grads(params, X, y)
    expected = numerical_grads(params, X, y)

    assert value == pytest.approx(mlp.loss(params, X, y), rel=1e-12)
    assert sorted(grads) == sorted(params)
    for name in params:
        assert grads[name].shape == params[name].shape
        diff = np.linalg.norm(grads[name] - expected[name])
        scale = np.linalg.norm(grads[name]) + np.linalg.norm(expected[name])
        assert scale > 0, f"{name}: zero gradient, the check would be vacuous"
        assert diff / scale < 1e-6, f"{name}: relative error {diff / scale:.2e}"


def test_uniform_logits_give_log_of_the_class_count():
    params = {name: np.zeros_like(p) for name, p in mlp.init_params([6, 4, 5], np.random.default_rng(0)).items()}
    X, y = np.random.default_rng(2).random((9, 6)), np.arange(9) % 5
    assert mlp.loss(params, X, y) == pytest.approx(np.log(5), rel=1e-12)


def test_loss_is_stable_for_huge_logits():
    params = {"W1": np.array([[1e4], [-1e4]]), "b1": np.zeros((1, 2))}
    X, y = np.ones((2, 1)), np.array([0, 1])
    value, grads = mlp.loss_and_grads(params, X, y)
    assert value == pytest.approx(1e4, rel=1e-9)  # one right (loss 0), one wrong by 2e4
    assert all(np.isfinite(g).all() for g in grads.values())


def test_init_shapes_and_schemes():
    rng = np.random.default_rng(0)
    params = mlp.init_params([784, 128, 10], rng, "he")
    assert {k: v.shape for k, v in params.items()} == {
        "W1": (128, 784), "b1": (1, 128), "W2": (10, 128), "b2": (1, 10)}
    assert not params["b1"].any()
    assert params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    bound = 1 / np.sqrt(784)
    uniform = mlp.init_params([784, 128, 10], rng, "uniform")["W1"]
    assert -bound <= uniform.min() and uniform.max() <= bound
    with pytest.raises(ConfigError, match="unknown initialisation 'lecun'"):
        mlp.init_params([4, 2], rng, "lecun")


def test_accuracy_counts_argmax_hits():
    params = {"W1": np.eye(3), "b1": np.zeros((1, 3))}
    X, y = np.eye(3), np.array([0, 1, 0])
    assert mlp.accuracy(params, X, y) == pytest.approx(2 / 3)
