"""The from-scratch MLP: ReLU hidden layers, softmax output, mean cross-entropy.

Parameters are a dict ``{"W1", "b1", "W2", "b2", ...}`` with ``W`` shaped
``(out, in)`` and ``b`` shaped ``(1, out)``, the convention of the NumPy
networks our users write, so their snapshots drop straight in.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> params = init_params([4, 5, 3], rng)
>>> X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
>>> loss, grads = loss_and_grads(params, X, y)
>>> sorted(grads) == sorted(params), bool(loss > 0)
(True, True)
"""

from __future__ import annotations

import numpy as np

from lossfilm.format.errors import ConfigError

INITS = ("he", "xavier", "uniform")


def layer_count(params):
    return sum(1 for name in params if name.startswith("W"))


def init_params(sizes, rng, scheme="he"):
    """Weights for layer sizes ``[in, hidden..., out]``; biases start at zero.

    ``he``: N(0, 2/in), for ReLU. ``xavier``: N(0, 2/(in+out)).
    ``uniform``: U(-1/sqrt(in), 1/sqrt(in)), the classic default.
    """
    if scheme not in INITS:
        raise ConfigError(f"unknown initialisation {scheme!r}; choose one of {', '.join(INITS)}")
    if len(sizes) < 2 or min(sizes) < 1:
        raise ConfigError(f"layer sizes {list(sizes)} need an input and an output, all positive")
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        if scheme == "he":
            W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        elif scheme == "xavier":
            W = rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in))
        else:
            bound = 1.0 / np.sqrt(n_in)
            W = rng.uniform(-bound, bound, size=(n_out, n_in))
        params[f"W{i}"] = W
        params[f"b{i}"] = np.zeros((1, n_out))
    return params


def forward(params, X):
    """Logits and the activations the backward pass needs."""
    cache = [X]
    h = X
    n = layer_count(params)
    for i in range(1, n + 1):
        z = h @ params[f"W{i}"].T + params[f"b{i}"]  # (B,in)@(in,out) -> (B,out)
        h = np.maximum(z, 0.0) if i < n else z
        cache.append(h)
    return h, cache


def log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def loss(params, X, y):
    """Mean cross-entropy of the softmax output against integer labels ``y``."""
    logits, _ = forward(params, X)
    return float(-log_softmax(logits)[np.arange(len(y)), y].mean())


def accuracy(params, X, y):
    logits, _ = forward(params, X)
    return float((logits.argmax(axis=1) == y).mean())


def loss_and_grads(params, X, y):
    """Mean cross-entropy and its gradient for every parameter."""
    logits, cache = forward(params, X)
    B = len(y)
    logp = log_softmax(logits)
    value = float(-logp[np.arange(B), y].mean())
    delta = np.exp(logp)  # softmax + cross-entropy: d/dz = p - onehot(y)
    delta[np.arange(B), y] -= 1.0
    delta /= B
    grads = {}
    for i in range(layer_count(params), 0, -1):
        h_in = cache[i - 1]
        grads[f"W{i}"] = delta.T @ h_in  # (out,B)@(B,in) -> (out,in)
        grads[f"b{i}"] = delta.sum(axis=0, keepdims=True)  # (1,out)
        if i > 1:
            delta = (delta @ params[f"W{i}"]) * (h_in > 0)  # ReLU backward
    return value, grads
