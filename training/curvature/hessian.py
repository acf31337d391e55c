"""Hessian-vector products: exact for the built-in MLP, by differences of a gradient for a user's model.

The Hessian of the loss is never formed (P x P); the eigen-solvers of
:mod:`lossfilm.training.curvature.lanczos` only ask for products ``H v``.

- :func:`mlp_hessian` is Pearlmutter's R-operator (1994) on the built-in
  MLP: one forward pass at ``theta`` is kept, and each product is one
  R-forward and one R-backward pass beside it, the exact directional
  derivative of the analytic gradient of :func:`lossfilm.training.fit.mlp.loss_and_grads`.
  ReLU has zero second derivative away from its kink, so the products are
  exact wherever the gradient is differentiable (almost everywhere).
- :func:`gradient_hessian` takes central differences of a gradient function
  ``grad(theta) -> (P,)``: ``H v ~ (g(theta + h u) - g(theta - h u)) / (2 h) * |v|``
  with ``u = v / |v|`` and the step ``h = STEP * (1 + |theta|_rms)``. The
  error is O(h^2) (the third derivative) plus O(eps / h) (rounding of the
  gradient); ``STEP = 1e-4`` balances them for float64 gradients of order 1
  (about 1e-8 relative each). It is what a user's ``loss_fn`` gets when it
  brings a ``grad_fn``.

The loss is the mean cross-entropy over the same seeded, fixed subset of
samples as the loss grid (:func:`lossfilm.training.landscape.evaluation.subset`).

Examples
--------
>>> import numpy as np
>>> from lossfilm.format.layout import ParamLayout
>>> from lossfilm.training.fit.mlp import init_params
>>> rng = np.random.default_rng(0)
>>> params = init_params([3, 4, 2], rng)
>>> layout = ParamLayout.of(params)
>>> X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)
>>> hvp = mlp_hessian(layout, layout.flatten(params), X, y)
>>> v = rng.normal(size=layout.size)
>>> bool(np.isclose(v @ hvp(v), v @ hvp(v)) and np.allclose(hvp(2 * v), 2 * hvp(v)))
True
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from lossfilm.format.errors import DataError
from lossfilm.training.fit.mlp import forward, layer_count, log_softmax

STEP = 1e-4  # central-difference step of gradient_hessian, relative to 1 + the parameters' RMS


def mlp_hessian(layout, theta, X, y):
    """``hvp(v) -> H v`` (P,) for the built-in MLP's mean cross-entropy on ``X, y`` at ``theta``.

    Parameters
    ----------
    layout : ParamLayout
        The MLP's ``W1, b1, W2, b2, ...``.
    theta : array_like, shape (P,)
        Where the Hessian is taken (float64 inside).
    X : ndarray, shape (N, D)
    y : ndarray, shape (N,) int

    Returns
    -------
    callable
        ``hvp(v)`` for ``v`` of shape (P,); float64. The forward pass at
        ``theta`` is done once, here.
    """
    params = layout.unflatten(np.asarray(theta, dtype=np.float64))
    X = np.asarray(X, dtype=np.float64)
    with threadpool_limits(1):  # as the products below
        logits, cache = forward(params, X)
    B, n = len(y), layer_count(params)
    rows = np.arange(B)
    p = np.exp(log_softmax(logits))  # (B,C) softmax
    delta_out = p.copy()
    delta_out[rows, np.asarray(y)] -= 1.0
    delta_out /= B  # dL/dlogits of the mean cross-entropy
    masks = [h > 0 for h in cache[1:n]]  # ReLU masks of the hidden layers

    def hvp(v):
        # One BLAS thread: these products are small, and BLAS threads only contend (7x slower on 2 busy cores).
        with threadpool_limits(1):
            return _product(v)

    def _product(v):
        dv = layout.unflatten(np.asarray(v, dtype=np.float64))
        # R-forward: the directional derivative along v of every layer's output.
        r_hs = [None]  # R(X) = 0: the first layer has no term through its input
        for i in range(1, n + 1):
            r_z = cache[i - 1] @ dv[f"W{i}"].T + dv[f"b{i}"]  # (B,in)@(in,out) -> (B,out)
            if i > 1:
                r_z += r_hs[-1] @ params[f"W{i}"].T
            r_hs.append(r_z * masks[i - 1] if i < n else r_z)
        # R of (softmax - onehot) / B: the softmax Jacobian diag(p) - p p^T applied to R(logits).
        r_logits = r_hs[-1]
        r_delta = p * (r_logits - (p * r_logits).sum(axis=1, keepdims=True)) / B  # (B,C)
        delta, out = delta_out, {}
        # R-backward, each line the R of the matching line of model.loss_and_grads.
        for i in range(n, 0, -1):
            out[f"W{i}"] = r_delta.T @ cache[i - 1]  # (out,B)@(B,in) -> (out,in)
            out[f"b{i}"] = r_delta.sum(axis=0, keepdims=True)  # (1,out)
            if i > 1:
                out[f"W{i}"] += delta.T @ r_hs[i - 1]
                mask = masks[i - 2]
                r_delta = (r_delta @ params[f"W{i}"] + delta @ dv[f"W{i}"]) * mask
                delta = (delta @ params[f"W{i}"]) * mask
        return layout.flatten(out, dtype=np.float64)
    return hvp


def gradient_hessian(grad, theta, *, step=STEP):
    """``hvp(v) -> H v`` by central differences of ``grad(theta) -> (P,)`` (see the module notes for the step).

    Parameters
    ----------
    grad : callable
        The loss's gradient at a flat parameter vector, (P,) -> (P,).
    theta : array_like, shape (P,)
    step : float
        Relative step; the absolute one is ``step * (1 + rms(theta))``.

    Examples
    --------
    >>> H = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> hvp = gradient_hessian(lambda t: H @ t, np.array([1.0, -1.0]))
    >>> np.allclose(hvp(np.array([1.0, 0.0])), [2.0, 1.0])
    True
    """
    theta = np.asarray(theta, dtype=np.float64)
    h = step * (1.0 + float(np.sqrt(np.mean(theta ** 2))))

    def hvp(v):
        v = np.asarray(v, dtype=np.float64)
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            return np.zeros_like(theta)
        u = v / norm
        plus, minus = (np.asarray(grad(theta + s * h * u), dtype=np.float64) for s in (1.0, -1.0))
        if plus.shape != theta.shape or minus.shape != theta.shape:
            raise DataError(f"grad_fn returned shape {plus.shape}, expected the parameters' {theta.shape}")
        return (plus - minus) * (norm / (2.0 * h))
    return hvp
