"""Hessian-vector products of a PyTorch model's loss, for the Hessian plane and the sharpness (``TorchLoss``).

The Hessian (P x P) is never formed: the Lanczos solver of
:mod:`lossfilm.training.curvature.lanczos` only asks for products ``H v``.
Each product is exact (automatic differentiation, no finite differences) and
is taken of the same loss the grid shows: the mean of ``criterion`` over the
landscape's seeded subset of samples, in eval mode (BatchNorm uses its
running statistics, dropout is off), on the evaluation's device.

The data is taken ``chunk`` samples at a time (``TorchLoss.chunk``) and the
chunks' products are summed, weighted by their share of the samples: the
mean loss is a weighted sum of chunk means, and so is its Hessian. Memory
then grows with the chunk, not with the data.

Two ways to take one product, both from ``torch.func``/``torch.autograd``:

- ``"forward-over-reverse"``: ``torch.func.jvp`` of ``torch.func.grad`` of
  the loss, one forward-mode pass through the reverse-mode gradient;
- ``"double-backward"``: the gradient with ``create_graph=True``, then the
  gradient of ``g . v`` (Pearlmutter's trick by reverse mode twice).

``HVP_METHOD`` is the faster of the two on the CNN of
``examples/pytorch_cnn.py`` and a small MLP on a CPU (``tests/bench_torch.py``
measures both, README "PyTorch" has the numbers); the other stays selectable
for a model whose operators lack forward-mode rules.

Examples
--------
>>> import torch                                                          # doctest: +SKIP
>>> hvp = torch_hessian(evaluation, theta)   # evaluation: a TorchEvaluation  # doctest: +SKIP
>>> hvp(v).shape == theta.shape                                           # doctest: +SKIP
True
"""

from __future__ import annotations

import numpy as np

from lossfilm.format.errors import ConfigError, DataError

HVP_METHODS = ("double-backward", "forward-over-reverse")
HVP_METHOD = "double-backward"  # the faster on both models measured (tests/bench_torch.py)


def torch_hessian(evaluation, theta, *, method=HVP_METHOD):
    """``hvp(v) -> H v`` (P,) float64 of ``evaluation``'s mean loss at the flat parameters ``theta`` (P,).

    Parameters
    ----------
    evaluation : TorchEvaluation
        The model, criterion, held buffers and the (already subset) data.
    theta : array_like, shape (P,)
        Where the Hessian is taken; the products are in the model's
        float32 arithmetic, returned as float64 for the eigen-solver.
    method : {"double-backward", "forward-over-reverse"}

    Returns
    -------
    callable
        ``hvp(v)`` for ``v`` of shape (P,).
    """
    import torch

    if method not in HVP_METHODS:
        raise ConfigError(f"hvp method {method!r}: choose one of {', '.join(HVP_METHODS)}")
    loss = evaluation.loss
    device, model = loss.device, loss.model
    theta = torch.as_tensor(np.asarray(theta, dtype=np.float32), device=device)  # (P,)
    chunks = [(evaluation.inputs[s:s + loss.chunk], evaluation.targets[s:s + loss.chunk])
              for s in range(0, evaluation.samples, loss.chunk)]
    mean_loss = _mean_loss(evaluation)
    product = _forward_over_reverse if method == "forward-over-reverse" else _double_backward

    def hvp(v):
        v = np.asarray(v, dtype=np.float64)
        if v.shape != tuple(theta.shape):
            raise DataError(f"hvp: v has shape {v.shape}, the parameters {tuple(theta.shape)}")
        direction = torch.as_tensor(v.astype(np.float32), device=device)
        total = torch.zeros(theta.shape, dtype=torch.float64, device=device)
        was_training = model.training
        model.eval()
        try:
            for x, y in chunks:
                part = product(lambda flat: mean_loss(flat, x, y), theta, direction)
                total += part.double() * (len(y) / evaluation.samples)
        finally:
            model.train(was_training)
        return total.cpu().numpy()
    return hvp


def _mean_loss(evaluation):
    """``loss(flat (P,), x, y) -> scalar``: the criterion's mean on a chunk, the parameters as one flat tensor."""
    from torch.func import functional_call

    model, criterion, fixed = evaluation.loss.model, evaluation.loss.criterion, evaluation.fixed
    names, shapes, offsets = evaluation.layout.names, evaluation.layout.shapes, evaluation.layout.offsets

    def mean_loss(flat, x, y):
        params = {name: flat[offsets[i]:offsets[i + 1]].view(shapes[i]) for i, name in enumerate(names)}
        return criterion(functional_call(model, (params, fixed), (x,)), y)
    return mean_loss


def _forward_over_reverse(loss, theta, v):
    """``H v`` as the forward-mode derivative along ``v`` of the reverse-mode gradient."""
    from torch.func import grad, jvp

    return jvp(grad(loss), (theta,), (v,))[1]


def _double_backward(loss, theta, v):
    """``H v`` as the gradient of ``grad(loss) . v``: reverse mode twice."""
    import torch

    with torch.enable_grad():
        flat = theta.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(loss(flat), flat, create_graph=True)
        (product,) = torch.autograd.grad(gradient, flat, grad_outputs=v)
    return product.detach()
