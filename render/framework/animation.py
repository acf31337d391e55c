"""Animations: state plus ``interpolate(alpha)``; they never render.

An animation is planned by :meth:`lossfilm.render.framework.scene.Scene.play`, which calls
:meth:`Animation.begin` once (to capture the state it starts from) and then
``interpolate(1.0)`` (so the next animation starts from its end state). At
frame time the scene sets every animation to its alpha for that time, in
any order of frames, and the film renders once.

Examples
--------
>>> class Count(Animation):
...     def __init__(self):
...         super().__init__()
...         self.value = 0.0
...     def interpolate(self, alpha):
...         self.value = 10 * alpha
>>> count = Count(); count.interpolate(0.5); count.value
5.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lossfilm.format.errors import ConfigError
from lossfilm.render.framework.easing import EASING_NAMES, RATE_FUNCS, linear
from lossfilm.render.elements.ball import spread_apart


class Animation:
    """Base class: override :meth:`interpolate`; optionally :meth:`begin`.

    ``rate_func`` set on the instance wins over the one given to ``play()``.
    """

    rate_func: Callable[[float], float] | None = None

    def __init__(self, rate_func=None):
        if rate_func is not None:
            self.rate_func = rate_func

    def begin(self):
        """Capture the starting state (called once, when the animation is planned)."""

    def interpolate(self, alpha):
        """Set the state for ``alpha`` in [0, 1] (already eased)."""
        raise NotImplementedError


class Roll(Animation):
    """The ball rolls along the path to ``to`` (arc fraction), the trail and counters follow.

    Parameters
    ----------
    ball : lossfilm.render.elements.ball.Ball
    path : lossfilm.render.elements.path_tube.BallPath
    trail : lossfilm.render.elements.ball.Trail or None
    hud : lossfilm.render.overlays.hud.Hud or None
    to : float
        Arc fraction to stop at (1.0: the end of the path).
    easing : str
        ``"linear"``, ``"ease-in-out"``, ``"ease-in"``, ``"ease-out"`` (along the
        path's length) or ``"steps"`` (progress proportional to the optimizer step).
    """

    def __init__(self, ball, path, trail=None, hud=None, *, to=1.0, easing="ease-in-out"):
        if easing not in EASING_NAMES:
            raise ConfigError(f"easing {easing!r} is unknown; choose one of {', '.join(EASING_NAMES)}")
        super().__init__(rate_func=linear if easing == "steps" else RATE_FUNCS[easing])
        self.ball, self.path, self.trail, self.hud = ball, path, trail, hud
        self.easing = easing
        self.to = float(to)
        self.start = 0.0

    def begin(self):
        self.start = self.ball.progress

    def interpolate(self, alpha):
        if self.easing == "steps":
            # walk the optimizer steps between the two ends at constant speed
            steps = np.asarray(self.path.landscape.path_steps, dtype=float)
            a = self._step_fraction(self.start, steps)
            b = self._step_fraction(self.to, steps)
            progress = self.path.progress_at_step_fraction(a + alpha * (b - a))
        else:
            progress = self.start + alpha * (self.to - self.start)
        self.ball.progress = progress
        self.ball.move_to(self.path, progress)
        if self.trail is not None:
            self.trail.show_until(progress)
        if self.hud is not None:
            self.hud.show(self.path.state_at(progress))

    def _step_fraction(self, progress, steps):
        if len(steps) < 2 or steps[-1] <= steps[0]:
            return progress
        step = np.interp(self.path.index_at(progress), np.arange(len(steps)), steps)
        return float((step - steps[0]) / (steps[-1] - steps[0]))


# How the race's shared clock runs through the optimizer steps: "linear" gives every step the
# same time; "sqrt" and "log" give the early steps (where the balls move most) more of it.
CLOCKS = ("linear", "sqrt", "log")


def step_clock(kind, first, last):
    """A map from time fraction u in [0, 1] to an optimizer step in [first, last].

    Every path sees the same step at the same time, whatever the map, so the
    race stays fair; the map only decides how long each stretch of steps lasts.

    Examples
    --------
    >>> clock = step_clock("sqrt", 0, 400)
    >>> clock(0.0), clock(0.5), clock(1.0)
    (0.0, 100.0, 400.0)
    >>> round(step_clock("log", 0, 999)(0.5), 6)
    30.622777
    """
    if kind not in CLOCKS:
        raise ConfigError(f"clock {kind!r} is unknown; choose one of {', '.join(CLOCKS)}")
    first, last = float(first), float(last)
    span = max(last - first, 0.0)
    if kind == "linear":
        return lambda u: first + float(np.clip(u, 0, 1)) * span
    if kind == "sqrt":
        return lambda u: first + float(np.clip(u, 0, 1)) ** 2 * span
    return lambda u: first + float((1.0 + span) ** float(np.clip(u, 0, 1)) - 1.0)


@dataclass
class Runner:
    """One path of a race and what rides on it: the ball, its trail, the ring that marks its end."""

    path: object  # lossfilm.render.elements.path_tube.BallPath
    ball: object  # lossfilm.render.elements.ball.Ball
    trail: object = None  # lossfilm.render.elements.ball.Trail
    finish: object = None  # lossfilm.render.elements.markers.Marker, shown once the ball has arrived


class Race(Animation):
    """Every ball rides its own path on one shared clock of optimizer steps.

    At step ``s`` each ball is at the last snapshot of its path with
    ``path_steps <= s``, blended towards the next one; once ``s`` passes its
    path's last step it rests at the end (and its finish ring appears), so a
    path with fewer steps finishes first and the film waits for the last one.

    Parameters
    ----------
    runners : sequence of Runner
    legend : lossfilm.render.overlays.legend.Legend, optional
        Shows the step and each path's loss.
    clock : str
        How time runs through the steps (:data:`CLOCKS`).
    easing : str
        A rate function of :data:`lossfilm.render.framework.easing.RATE_FUNCS` on top of the clock.
    start, end : float, optional
        The steps the race runs between (default: from the first step of any
        path to the last step of any path).
    """

    def __init__(self, runners, legend=None, *, clock="sqrt", easing="linear", start=None, end=None):
        if easing not in RATE_FUNCS:
            raise ConfigError(f"easing {easing!r} is unknown for a race; choose one of {', '.join(RATE_FUNCS)}")
        super().__init__(rate_func=RATE_FUNCS[easing])
        self.runners = list(runners)
        self.legend = legend
        first = min(r.path.first_step for r in self.runners) if start is None else start
        last = max(r.path.last_step for r in self.runners) if end is None else end
        self.clock = step_clock(clock, first, last)
        self.step = first

    def interpolate(self, alpha):
        self.step = step = self.clock(alpha)
        states, finished = [], []
        for runner in self.runners:
            path = runner.path
            index = path.index_at_step(step)
            progress = path.progress_at_index(index)
            runner.ball.progress = progress
            runner.ball.move_to(path, progress)
            if runner.trail is not None:
                runner.trail.show_until(progress)
            done = step >= path.last_step
            if runner.finish is not None:
                runner.finish.set_opacity(1.0 if done else 0.0)
            states.append(path.state_at_index(index))
            finished.append(done)
        if self.runners:  # racers that share a point (the start, a minimum) stand side by side, not merged
            spread_apart([runner.ball for runner in self.runners], self.runners[0].path.surface)
        if self.legend is not None:
            self.legend.show(step, states, finished)


class Orbit(Animation):
    """Turn the camera by ``degrees`` of azimuth (constant speed by default)."""

    rate_func = staticmethod(linear)

    def __init__(self, camera, degrees, *, rate_func=None):
        super().__init__(rate_func)
        self.camera = camera
        self.degrees = float(degrees)
        self.start = camera.azimuth

    def begin(self):
        self.start = self.camera.azimuth
        # every azimuth on the way must fit the frame: the rig keeps the farthest distance
        count = max(2, int(abs(self.degrees) / 3.0) + 1)
        self.camera.include(np.linspace(self.start, self.start + self.degrees, count), self.camera.elevation)

    def interpolate(self, alpha):
        self.camera.set_view(azimuth=self.start + alpha * self.degrees)


class Grow(Animation):
    """Draw something that grows (``grow(fraction)``, e.g. a curve of the 1-D view) from 0 to 1."""

    def __init__(self, target, *, rate_func=None):
        super().__init__(rate_func)
        self.target = target

    def interpolate(self, alpha):
        self.target.grow(alpha)


class FadeIn(Animation):
    """Fade objects with ``set_opacity`` (markers, labels, the ball) from 0 to 1."""

    def __init__(self, *objects, rate_func=None):
        super().__init__(rate_func)
        self.objects = objects

    def interpolate(self, alpha):
        for obj in self.objects:
            obj.set_opacity(alpha)
