"""Your own loss function, named on the command line: ``lossfilm landscape traj.npz --loss my_module:loss_fn``.

``SPEC`` is ``module:attr`` (a module importable from the current folder
or the Python path, dots allowed in both parts) or ``path/to/file.py:attr``.
The attribute is ``loss_fn(params_dict) -> float``, called per node
(:class:`lossfilm.training.landscape.evaluation.FunctionEvaluation`), or an object
that makes its own evaluation, such as a :class:`lossfilm.torch.TorchLoss`
built at the module's top level. Whatever goes wrong is one line naming the
spec: a module that is not there or fails to import, a missing attribute,
something not callable, a function that cannot take one argument.

Examples
--------
>>> loss_fn = load_loss("math:fabs")
>>> loss_fn(-2.0)
2.0
>>> load_loss("math:no_such")
Traceback (most recent call last):
...
lossfilm.format.errors.ConfigError: --loss math:no_such: math has no attribute no_such
>>> load_loss("notamodule")
Traceback (most recent call last):
...
lossfilm.format.errors.ConfigError: --loss 'notamodule': expected MODULE:ATTR or path/to/file.py:ATTR of at most 4096 characters
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path

from lossfilm.boundary.user_file import import_user_file
from lossfilm.format.declared.options import Option
from lossfilm.format.declared.values import Text
from lossfilm.format.errors import ConfigError
from lossfilm.format.user_code import raised
from lossfilm.training.landscape.evaluation import EvaluationMaker

LOSS_MODULES = "lossfilm_user_loss_"  # prefix of the modules loaded from files (a cluster ships them by value)
_NAME = r"[^\W\d]\w*(?:\.[^\W\d]\w*)*"  # a dotted Python name: my_module, package.losses, model.loss
# --loss, declared once (lossfilm.format.declared.options): the form of a spec is checked here, before any import.
LOSS = Option("loss", Text(4096, pattern=rf"(?:{_NAME}|.*[/\\].*|.+\.py):{_NAME}",
                           what="MODULE:ATTR or path/to/file.py:ATTR"), None,
              "your model's loss: loss_fn(params_dict) -> float, or a lossfilm.torch.TorchLoss (default: the built-in "
              "MLP's)", optional=True, metavar="MODULE:ATTR")


def load_loss(spec):
    """The loss function (or evaluation maker) that ``spec`` names; ConfigError in one line if it cannot be had."""
    spec = LOSS.check(spec, LOSS.flag)
    where, _, attr = spec.rpartition(":")
    module = _import(spec, where)
    value = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise ConfigError(f"--loss {spec}: {where} has no attribute {attr}")
        value = getattr(value, part)
    if isinstance(value, EvaluationMaker):
        return value  # it makes its own evaluation (lossfilm.torch.TorchLoss)
    if not callable(value):
        raise ConfigError(f"--loss {spec}: {attr} is a {type(value).__name__}, not a function")
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):  # some built-ins have none: they are tried as they are
        return value
    try:
        signature.bind(object())
    except TypeError:
        raise ConfigError(f"--loss {spec}: {attr}{signature} must take one argument, the parameters "
                          "(a dict of arrays), and return the loss") from None
    return value


def _import(spec, where):
    """The module of ``where``: a file path (``.py`` or with a slash) or a dotted module name."""
    if where.endswith(".py") or os.sep in where or "/" in where:
        if not Path(where).is_file():
            raise ConfigError(f"--loss {spec}: no such file {where}")
        return import_user_file(where, prefix=LOSS_MODULES, label=f"--loss {spec}: {where}")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # the `lossfilm` script, unlike `python -m`, does not look here
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and (where == exc.name or where.startswith(exc.name + ".")):
            raise ConfigError(f"--loss {spec}: no module named {where} (run from the folder that holds it, "
                              "or give path/to/file.py:ATTR)") from None
        raise ConfigError(f"--loss {spec}: importing {where} failed: {type(exc).__name__}: {exc}") from None
    except (Exception, SystemExit) as exc:  # the user's module raised (or sys.exit()) while importing: one line
        raise ConfigError(f"--loss {spec}: importing {where} failed: {raised(exc)}") from exc
