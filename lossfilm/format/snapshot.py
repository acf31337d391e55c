"""What a snapshot may hold: checks of the parameter dicts a user hands to ``Trajectory.from_snapshots`` and ``Recorder``.

A snapshot maps names (strings) to arrays of real numbers: NumPy arrays,
nested lists of numbers, PyTorch tensors. Each value is checked before it
is flattened into a float32 row, and a problem is one :class:`DataError`
line naming the snapshot and the key: ``None``, a string, a ragged list, an
empty array, booleans, complex numbers, Python objects, and (once the row
is made) numbers beyond float32's range, which the row cannot hold.

:func:`shared_between` recognises the commonest mistake of a hand-written
loop: ``history.append(params)`` (or ``dict(params)``) where the loop then
changes the arrays in place, so that every snapshot in the list is the same
dict, or holds the same array objects, and shows the final parameters.

Examples
--------
>>> number_array([[1, 2], [3, 4]], "W1", "snapshot 0").shape
(2, 2)
>>> number_array([[1, 2], [3]], "W1", "snapshot 3")
Traceback (most recent call last):
...
lossfilm.format.errors.DataError: snapshot 3: W1 is a ragged list (its rows have different lengths), not an array of numbers
"""

from __future__ import annotations

import numpy as np

from lossfilm.format.declared.values import MAX_WHOLE
from lossfilm.format.errors import DataError

FLOAT32_MAX = float(np.finfo(np.float32).max)  # snapshots are stored as float32
KINDS = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes", "O": "Python objects (None, or "
         "mixed types)", "M": "dates", "m": "time spans", "V": "raw bytes"}


def number_array(value, name, where):
    """``value`` as a NumPy array of real numbers (a view where possible); DataError naming ``where`` and ``name``.

    Parameters
    ----------
    value : array_like or torch.Tensor
    name : str
        The snapshot's key.
    where : str
        ``"snapshot 3"``, ``"Recorder.record at step 120"``.
    """
    if value is None:
        raise DataError(f"{where}: {name} is None, not an array of numbers")
    if isinstance(value, (str, bytes)):
        text = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise DataError(f"{where}: {name} is the {type(value).__name__} {text}, not an array of numbers")
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a PyTorch tensor
        value = value.detach().cpu()
        if value.dtype.is_floating_point and value.dtype.itemsize < 4:  # bfloat16/float16: NumPy lacks one
            value = value.float()
        value = value.numpy()
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            raise DataError(f"{where}: {name} is a ragged list (its rows have different lengths), "
                            "not an array of numbers") from None
        raise DataError(f"{where}: {name} is a {type(value).__name__}, not an array of numbers") from None
    if array.dtype.kind not in "iuf":
        raise DataError(f"{where}: {name} holds {KINDS.get(array.dtype.kind, str(array.dtype))}, "
                        "not real numbers")
    if array.size == 0:
        raise DataError(f"{where}: {name} is empty (shape {array.shape}); every parameter needs at least "
                        "one value")
    return array


def nonfinite_reason(array, name, where):
    """Why ``array`` made a non-finite float32 row: NaN/inf in it, or numbers beyond float32's range (one line).

    >>> nonfinite_reason(np.array([1e39]), "w", "snapshot 2")
    "snapshot 2: w holds 1e+39, beyond float32's range (3.4e+38), which snapshots are stored in"
    """
    array = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        return f"{where}: {name} contains NaN or inf"
    big = float(np.abs(array).max())
    return (f"{where}: {name} holds {big:.3g}, beyond float32's range ({FLOAT32_MAX:.2g}), which snapshots are "
            "stored in")


def unstorable(arrays, names):
    """The first of ``names`` whose array is not finite once stored as float32 (NaN, inf, or too large)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return next(name for name in names if not np.isfinite(np.asarray(arrays[name], np.float32)).all())


def check_name(name, where):
    """A snapshot's keys are strings (they are saved as the parameters' names)."""
    if not isinstance(name, str):
        raise DataError(f"{where}: key {name!r} is of type {type(name).__name__}; parameter names must be strings")


def whole_number(value, what):
    """``value`` as an int if it is a whole number (``3``, ``np.int64(3)``, ``3.0``); else DataError.

    >>> whole_number(4.0, "step"), whole_number(np.int32(2), "step")
    (4, 2)
    >>> whole_number(1.5, "Recorder.record step")
    Traceback (most recent call last):
    ...
    lossfilm.format.errors.DataError: Recorder.record step: 1.5 is not a whole number; steps count optimizer steps
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DataError(f"{what}: {value!r} is a {type(value).__name__}, not a whole number; steps count "
                        "optimizer steps")
    if isinstance(value, (float, np.floating)) and not (np.isfinite(value) and float(value).is_integer()):
        raise DataError(f"{what}: {value!r} is not a whole number; steps count optimizer steps")
    if abs(int(value)) > MAX_WHOLE:  # stored as int64; found by Hypothesis: 2**63 overflowed it at the end of a run
        raise DataError(f"{what}: {value!r} is beyond {MAX_WHOLE:,}; steps count optimizer steps")
    return int(value)


def real_number(value, what):
    """``value`` as a float (NaN allowed: unknown); a string, None, a complex number or a vector is a DataError.

    >>> real_number(np.array([0.5]), "loss")
    0.5
    """
    from lossfilm.format.user_code import describe, real_scalar

    number = real_scalar(value)
    if number is None:
        raise DataError(f"{what}: got {describe(value)}; expected a real number (a float, or NaN if unknown)")
    return number


def shared_between(snapshots):
    """The aliasing mistake of a hand-written loop, in words, if every snapshot is one dict or shares its arrays.

    ``snapshots`` is a list already in memory (a generator yields each
    state as it is, so it cannot make this mistake). Returns "" when the
    snapshots are separate objects.

    >>> params = {"w": np.zeros(2)}
    >>> history = []
    >>> for step in range(3):
    ...     params["w"] += 1.0
    ...     history.append(params)
    >>> shared_between(history).split(";")[0]
    'all 3 snapshots are the same dict object'
    """
    if len(snapshots) < 2:
        return ""
    first = snapshots[0]
    if all(snap is first for snap in snapshots):
        return (f"all {len(snapshots)} snapshots are the same dict object; your loop appended `params` itself "
                "and then changed it, so every snapshot shows the final parameters. Append a copy: "
                "`history.append({k: v.copy() for k, v in params.items()})`")
    try:
        shared = [name for name, value in first.items()
                  if isinstance(value, np.ndarray) and all(snap.get(name) is value for snap in snapshots[1:])]
    except AttributeError:
        return ""
    if shared and len(shared) == len(first) and all(len(snap) == len(first) for snap in snapshots):
        return (f"all {len(snapshots)} snapshots hold the same array objects ({', '.join(map(str, shared[:4]))}"
                f"{', ...' if len(shared) > 4 else ''}); `dict(params)` or `params.copy()` copies the dict but not "
                "its arrays, which your loop changed in place, so every snapshot shows the final parameters. "
                "Append `{k: v.copy() for k, v in params.items()}`")
    return ""


def partly_shared(snapshots):
    """A warning, in words, when some keys hold one array object in every snapshot and others do not; else "".

    A frozen layer can do that on purpose; a loop that changes some arrays in place (``W -= lr * g``) and
    rebinds others (``b = b - lr * g``) does it by mistake, and those keys then show their final values.

    >>> W = np.zeros(2)
    >>> partly_shared([{"W": W, "b": np.zeros(1)}, {"W": W, "b": np.ones(1)}])[:40]
    'W is the same array object in all 2 snap'
    """
    if len(snapshots) < 2 or not all(hasattr(snap, "items") for snap in snapshots):
        return ""
    first = snapshots[0]
    shared = [name for name, value in first.items()
              if isinstance(value, np.ndarray) and all(snap.get(name) is value for snap in snapshots[1:])]
    if not shared or len(shared) == len(first):
        return ""
    return (f"{', '.join(map(str, shared[:4]))} {'is' if len(shared) == 1 else 'are'} the same array object in all "
            f"{len(snapshots)} snapshots: if your loop changes {'it' if len(shared) == 1 else 'them'} in place, "
            "every snapshot shows the final value; append copies (`{k: v.copy() for k, v in params.items()}`)")
