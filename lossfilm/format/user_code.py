"""The boundary with user code: calling a user's function, and checking what comes back.

lossfilm calls code it did not write: a ``loss_fn``, ``acc_fn`` or
``grad_fn``, a ``--loss module:attr``, a PyTorch model and its criterion, a
2-D function of a scene file. Whatever that code raises, or returns that is
not what lossfilm asked for, becomes one :class:`UserCodeError` line that
names the function, what it raised or returned, and where (the grid node
``(a, b)``, the snapshot); ``lossfilm --debug`` shows the user's traceback
(the error's ``__cause__``).

- :func:`call` runs the function. ``SystemExit`` inside it is caught too:
  a ``sys.exit()`` in a loss function must not end lossfilm silently with
  status 0. ``KeyboardInterrupt`` passes through: Ctrl-C still interrupts.
- :func:`loss_value` takes what a loss function returned: a real number
  (Python or NumPy), a 0-d array or an array of exactly one element (a
  PyTorch tensor too). NaN and inf are accepted: they are holes in the
  grid. A string (even ``"1.5"``), ``None``, a bool, a vector, a complex
  number or anything else is refused.

Examples
--------
>>> import numpy as np
>>> loss_value(np.array([2.5]), "loss_fn f", "at grid node (0, 0)")
2.5
>>> loss_value("2.5", "loss_fn f", "at grid node (0, 1)")
Traceback (most recent call last):
...
lossfilm.format.errors.UserCodeError: your loss_fn f returned the str '2.5' at grid node (0, 1); a loss must be a real number (a float, a 0-d array or an array of one element)
>>> call(lambda p: 1 / 0, {}, role="loss_fn f", where="at grid node (1, 2)")
Traceback (most recent call last):
...
lossfilm.format.errors.UserCodeError: your loss_fn f raised ZeroDivisionError: division by zero at grid node (1, 2)
"""

from __future__ import annotations

import numbers

import numpy as np

from lossfilm.format.errors import UserCodeError

MAX_SHOWN = 60  # characters of a returned value or an exception's message in the one line


def role(kind, fn):
    """How messages name a user's function: ``"loss_fn my_loss"`` (kind and the function's own name).

    >>> role("loss_fn", len), role("loss_fn", lambda p: 0.0)
    ('loss_fn len', 'loss_fn (a lambda)')
    """
    name = getattr(fn, "__name__", None)
    if name == "<lambda>":
        return f"{kind} (a lambda)"
    return f"{kind} {name or type(fn).__name__ + ' object'}"


def at_node(a, b, what="grid node"):
    """``"at grid node (0.5, -1.25)"``: where on the plane a call was made.

    >>> at_node(0.5, -1.0)
    'at grid node (0.5, -1)'
    """
    return f"at {what} ({float(a):.4g}, {float(b):.4g})"


def call(fn, *args, role, where):
    """``fn(*args)``, with anything it raises (SystemExit included) as one :class:`UserCodeError` line.

    Parameters
    ----------
    fn : callable
        The user's function.
    *args
        Its arguments.
    role : str
        How the message names it (:func:`role`).
    where : str
        Where it was called, e.g. ``"at grid node (0.5, -1)"``.
    """
    try:
        return fn(*args)
    except UserCodeError:
        raise  # already said where: a user's function that calls lossfilm's checks of another
    except (Exception, SystemExit) as exc:  # KeyboardInterrupt is not caught: Ctrl-C still stops lossfilm
        raise UserCodeError(f"your {role} raised {raised(exc)} {where}") from exc


def raised(exc):
    """``"RuntimeError: message"`` in one line (the message's first line, shortened).

    >>> raised(SystemExit(0))
    'SystemExit(0) (sys.exit() inside it)'
    """
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}) (sys.exit() inside it)"
    lines = str(exc).strip().splitlines()
    text = _short(lines[0]) if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def loss_value(value, role, where, what="a loss"):
    """``value`` as a float if it is a real scalar; else :class:`UserCodeError` saying what it is.

    NaN and inf come back as they are (the grid's holes). ``what`` names
    the quantity (``"an accuracy"`` for an ``acc_fn``).
    """
    scalar = real_scalar(value)
    if scalar is None:
        raise UserCodeError(f"your {role} returned {describe(value)} {where}; {what} must be a real number "
                            "(a float, a 0-d array or an array of one element)")
    return scalar


def describe(value):
    """What a returned value is, in a few words, for a message.

    >>> describe(None), describe(np.zeros(3)), describe(1 + 2j)
    ('None', 'an array of shape (3,)', 'the complex number (1+2j)')
    """
    if value is None:
        return "None"
    if isinstance(value, (str, bytes)):
        return f"the {type(value).__name__} {_short(repr(value))}"
    if isinstance(value, (bool, np.bool_)):
        return f"the bool {bool(value)}"
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return f"the complex number {_short(repr(complex(value)))}"
    shape = getattr(value, "shape", None)
    if shape is not None:
        dtype = getattr(value, "dtype", None)
        kind = f" of {dtype}" if dtype is not None and "complex" in str(dtype) else ""
        return f"an array of shape {tuple(shape)}{kind}" if tuple(shape) else f"a 0-d array of {dtype}"
    if isinstance(value, (list, tuple, dict, set)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def real_scalar(value):
    """The float of a real scalar, 0-d array or one-element array; None for anything else."""
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a PyTorch tensor, perhaps on a GPU, perhaps with grad
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray) or value.size != 1:
        return None
    if value.dtype.kind not in "iuf":  # bool, complex, strings, objects
        return None
    return float(value.reshape(()))


def _short(text):
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."
