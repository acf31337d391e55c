"""What a named parameter is to filter normalisation: a weight, a bias-like parameter or a buffer.

Li et al. (2018) scale a random direction filter by filter to the weights
and, with ``ignore='biasbn'``, leave biases and BatchNorm parameters put.
Both the NumPy path (:func:`lossfilm.training.landscape.plane.random_plane`) and the
PyTorch adapter (:mod:`lossfilm.torch`) ask this one rule, by name:

- **buffer**: BatchNorm's running statistics and counter
  (``*.running_mean``, ``*.running_var``, ``*.num_batches_tracked``): held
  at their final values, never a direction, whatever the bias treatment;
- **bias**: a last name part ``b``, ``b1``, ``b_out``, ``bias``,
  ``beta``/``gamma`` (NumPy BatchNorm names); anything in a part named
  ``bn``, ``bn1``, ``batchnorm``...; and, for PyTorch's dotted names,
  every tensor of one dimension or less (Li et al.'s own test, which also
  catches the BatchNorm of an ``nn.Sequential``, ``features.1.weight``);
- **weight**: everything else.

An explicit set of bias names replaces the naming rule where it guesses
wrong (buffers stay buffers).

Examples
--------
>>> [param_role(n, s) for n, s in [("W1", (3, 4)), ("b1", (1, 3)), ("fc1.bias", (3,)),
...                                 ("bn1.weight", (8,)), ("bn1.running_mean", (8,)), ("conv1.weight", (8, 1, 3, 3))]]
['weight', 'bias', 'bias', 'bias', 'buffer', 'weight']
>>> param_role("w", (5,)), param_role("block1.weight", (4, 4)), param_role("w", (5,), bias_names={"w"})
('weight', 'weight', 'bias')
"""

from __future__ import annotations

import re

BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
_BIAS_LAST = re.compile(r"b\d*|b_\w+|bias\w*|beta\d*|gamma\d*")
_NORM_PART = re.compile(r"(bn|batchnorm|batch_norm)\d*")


def param_role(name, shape, bias_names=None):
    """``"weight"``, ``"bias"`` or ``"buffer"``: how a random direction treats parameter ``name`` of ``shape``.

    Parameters
    ----------
    name : str
        As in the trajectory's layout (``"b1"``, ``"layer1.0.bn1.weight"``).
    shape : tuple of int
    bias_names : collection of str, optional
        The bias-like names, instead of the naming rule.
    """
    parts = name.lower().split(".")
    if parts[-1] in BUFFERS:
        return "buffer"
    if bias_names is not None:
        return "bias" if name in bias_names else "weight"
    dotted = len(parts) > 1
    if (_BIAS_LAST.fullmatch(parts[-1]) or any(_NORM_PART.fullmatch(p) for p in parts[:-1])
            or (dotted and len(shape) <= 1)):
        return "bias"
    return "weight"
