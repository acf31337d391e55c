"""Rate functions (easing): tiny pure maps from time fraction to progress.

Each takes ``t`` in [0, 1] (values outside are clamped) and returns the
progress in [0, 1], with ``f(0) == 0`` and ``f(1) == 1``. An animation
applies one to its alpha before interpolating, so the same animation can
start gently, stop gently, or run at constant speed.

The ball's third way of moving, ``"steps"`` (progress proportional to the
optimizer step), depends on the recorded path, not on time alone, so it is
not a rate function here: see :meth:`lossfilm.render.elements.path_tube.BallPath.progress_at_step_fraction`.

Examples
--------
>>> from lossfilm.render.framework.easing import RATE_FUNCS
>>> RATE_FUNCS["ease-in-out"](0.5), RATE_FUNCS["linear"](2.0)
(0.5, 1.0)
"""

from __future__ import annotations

import math


def _clamp(t):
    return min(1.0, max(0.0, float(t)))


def linear(t):
    """Constant speed: ``f(t) = t``.

    Examples
    --------
    >>> linear(0.25)
    0.25
    """
    return _clamp(t)


def smooth(t):
    """Ease in and out with zero speed at both ends (smootherstep, C2).

    Examples
    --------
    >>> smooth(0.0), smooth(0.5), smooth(1.0)
    (0.0, 0.5, 1.0)
    """
    t = _clamp(t)
    return t * t * t * (t * (6.0 * t - 15.0) + 10.0)


def ease_in(t):
    """Start at rest and accelerate (sine ease-in).

    Examples
    --------
    >>> round(ease_in(0.5), 3)
    0.293
    """
    t = _clamp(t)
    return 1.0 - math.cos(0.5 * math.pi * t)


def ease_out(t):
    """Start at full speed and come to rest (sine ease-out).

    Examples
    --------
    >>> round(ease_out(0.5), 3)
    0.707
    """
    t = _clamp(t)
    return math.sin(0.5 * math.pi * t)


# The names users can pass as ``easing``; "steps" is handled by the path.
RATE_FUNCS = {
    "linear": linear,
    "ease-in-out": smooth,
    "ease-in": ease_in,
    "ease-out": ease_out,
}
EASING_NAMES = (*RATE_FUNCS, "steps")
