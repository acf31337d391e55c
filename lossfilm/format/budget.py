"""What a request will cost, estimated before the work starts; an absurd one is refused in one line.

Every size-like input (grid resolution, epochs, layer widths, snapshot
count, frame size, fps and seconds) goes through :func:`check_cost` before
the first expensive step. The caller says how the cost grows with the value
(``cost_of(value) -> Cost``: memory, disk and seconds); a value whose cost
does not fit this machine (memory or disk it does not have, or more than
:data:`MAX_SECONDS` of work, which is more likely a typo than a plan) is
refused with the estimate and the largest value that fits, found by
bisection. ``--force`` (``force=True``) runs it anyway.

The rates below are deliberately round: they come from this project's
benchmarks on a 2-core machine (README, Benchmarks) and only have to tell a
typo from a plan, within a factor of a few.

Examples
--------
>>> check_cost("--resolution", 101, lambda r: Cost(memory=64 * r * r))
Cost(memory=652864, disk=0, seconds=0.0)
>>> check_cost("--resolution", 10 ** 7, lambda r: Cost(memory=64 * r * r), memory=1e9)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
lossfilm.format.errors.ConfigError: --resolution 10000000: needs about 6400 TB of memory (1 GB available); ...
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from lossfilm.format.errors import ConfigError

MAX_SECONDS = 3600.0  # more estimated work than this is refused without --force
MEMORY_SHARE = 0.8  # of the memory available now
FLOPS = 4e9  # NumPy float64 training arithmetic on small minibatches, both cores of the development machine
GRID_FLOPS = 6e9  # the landscape fast path: 17.6e9 measured at 784-128-10 and 10,000 samples, 6e9 on digits (shared)
PIXEL_SECONDS = 2e-7  # one output pixel of a supersampled frame, Mesa llvmpipe on 2 cores (5.7 frames/s at 720p)


@dataclass(frozen=True)
class Cost:
    """What a request needs: bytes of memory and of disk, and seconds of work."""

    memory: float = 0
    disk: float = 0
    seconds: float = 0.0


def available_memory():
    """Bytes of memory available now (``MemAvailable`` on Linux), or 8 GiB where it cannot be read."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def free_disk(path):
    """Free bytes on the disk that ``path`` (or its nearest existing parent) is on."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def check_cost(option, value, cost_of, *, force=False, memory=None, disk=None, seconds=MAX_SECONDS, lowest=1,
               hint=""):
    """``cost_of(value)`` if it fits; else ConfigError: the estimate, the largest value that fits, ``--force``.

    Parameters
    ----------
    option : str
        The input as the user wrote it, e.g. ``"--resolution"``.
    value : int
        Its value; ``cost_of`` must grow with it.
    cost_of : callable
        ``cost_of(value) -> Cost``.
    force : bool
        Return the cost without checking.
    memory, disk : float, optional
        Bytes there are (default: :data:`MEMORY_SHARE` of :func:`available_memory`; no disk limit).
    seconds : float
        The most seconds of work allowed.
    lowest : int
        The smallest value the option takes (the bisection's floor).
    hint : str
        Appended to the message (another way to make it fit).
    """
    cost = cost_of(value)
    if force:
        return cost
    memory = MEMORY_SHARE * available_memory() if memory is None else memory
    limits = Cost(memory=memory, disk=float("inf") if disk is None else disk, seconds=seconds)
    too_much = _excess(cost, limits)
    if not too_much:
        return cost
    largest = None
    if not _excess(cost_of(lowest), limits):
        good, bad = lowest, int(value)
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if not _excess(cost_of(middle), limits) else (good, middle)
        largest = good
    fits = (f"the largest that fits is {option} {largest:,}" if largest is not None
            else f"even {option} {lowest} does not fit")
    raise ConfigError(f"{option} {value}: needs {'; '.join(too_much)}; {fits}{hint}; add --force to try anyway")


def _excess(cost, limits):
    """What ``cost`` exceeds of ``limits``, in words (empty if it fits)."""
    lines = []
    if cost.memory > limits.memory:
        lines.append(f"about {bytes_in_words(cost.memory)} of memory ({bytes_in_words(limits.memory)} available)")
    if cost.disk > limits.disk:
        lines.append(f"about {bytes_in_words(cost.disk)} of disk ({bytes_in_words(limits.disk)} free)")
    if cost.seconds > limits.seconds:
        lines.append(f"about {seconds_in_words(cost.seconds)} of work (more than {seconds_in_words(limits.seconds)})")
    return lines


def bytes_in_words(n):
    """``1.5e9 -> '2 GB'``: the nearest round number of the largest unit that keeps it above 1.

    Examples
    --------
    >>> bytes_in_words(999), bytes_in_words(1.5e9), bytes_in_words(6.4e15)
    ('999 B', '1.5 GB', '6400 TB')
    """
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if n >= 100 or unit == "B" else f"{n:.2g} {unit}"
        n /= 1000


def seconds_in_words(s):
    """``5400 -> '1.5 hours'``.

    Examples
    --------
    >>> seconds_in_words(30), seconds_in_words(5400), seconds_in_words(3e6)
    ('30 s', '90 minutes', '35 days')
    """
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} minutes"
    if s < 172800:
        return f"{s / 3600:.2g} hours"
    return f"{s / 86400:.0f} days"
