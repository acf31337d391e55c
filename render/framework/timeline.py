"""The timeline: planned animations on a clock, set to their state for any time.

:meth:`lossfilm.render.framework.scene.Scene.play` appends an entry (animations that
run together for ``run_time`` seconds), ``wait`` only moves the clock on.
:meth:`Timeline.seek` then sets every animation's state for a time, in any
order of times, which is what lets worker processes render any frame.

Examples
--------
>>> from lossfilm.render.framework.animation import Animation
>>> class Count(Animation):
...     value = 0.0
...     def interpolate(self, alpha):
...         Count.value = 10 * alpha
>>> timeline = Timeline()
>>> timeline.append([Count()], run_time=2.0, rate_func=lambda t: t)
>>> timeline.wait(1.0)
>>> timeline.seek(0.5); Count.value, timeline.duration
(2.5, 3.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossfilm.format.errors import ConfigError
from lossfilm.render.framework.easing import smooth


@dataclass
class _Entry:
    start: float
    run_time: float
    animations: tuple
    rates: tuple  # one rate function per animation


class Timeline:
    """Planned animations on a clock; :meth:`seek` sets the state at any time."""

    def __init__(self):
        self.entries = []
        self.duration = 0.0

    def append(self, animations, run_time, rate_func):
        """Plan ``animations`` to run together from now for ``run_time`` seconds.

        Each is eased by its own ``rate_func``, else by ``rate_func``, else
        ease-in-out. Each begins (captures its start) and is left at its end,
        so that the next entry starts from there.
        """
        if not np.isfinite(run_time) or run_time < 0:
            raise ConfigError(f"run_time {run_time!r}: must be a finite number of seconds >= 0")
        rates = tuple(a.rate_func or rate_func or smooth for a in animations)
        entry = _Entry(self.duration, float(run_time), tuple(animations), rates)
        for animation, rate in zip(entry.animations, entry.rates):
            animation.begin()
            animation.interpolate(float(rate(1.0)))
        self.entries.append(entry)
        self.duration += float(run_time)

    def wait(self, seconds):
        """Move the clock on by ``seconds`` without animating anything."""
        if not np.isfinite(seconds) or seconds < 0:
            raise ConfigError(f"wait {seconds!r}: must be a finite number of seconds >= 0")
        self.duration += float(seconds)

    def seek(self, t):
        """Set every animation's state for time ``t`` (seconds).

        Animations that have not started yet show their start state: they are
        applied first, latest first, and the started ones, in order, override
        them where they touch the same object.
        """
        future = [e for e in self.entries if e.start > t]
        past = [e for e in self.entries if e.start <= t]
        for entry in reversed(future):
            for animation, rate in zip(entry.animations, entry.rates):
                animation.interpolate(float(rate(0.0)))
        for entry in past:
            alpha = 1.0 if entry.run_time == 0 else min(1.0, (t - entry.start) / entry.run_time)
            for animation, rate in zip(entry.animations, entry.rates):
                animation.interpolate(float(rate(alpha)))
