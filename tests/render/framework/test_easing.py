"""Rate functions: ends, midpoints, clamping, monotonicity."""

import numpy as np
import pytest

from lossfilm.render.framework.easing import EASING_NAMES, RATE_FUNCS, ease_in, ease_out, linear, smooth


@pytest.mark.parametrize("name", sorted(RATE_FUNCS))
def test_every_rate_function_starts_at_0_and_ends_at_1(name):
    rate = RATE_FUNCS[name]
    assert rate(0.0) == pytest.approx(0.0, abs=1e-12)
    assert rate(1.0) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("rate, middle", [(linear, 0.5), (smooth, 0.5), (ease_in, 1 - np.sqrt(0.5)),
                                          (ease_out, np.sqrt(0.5))])
def test_midpoints(rate, middle):
    assert rate(0.5) == pytest.approx(middle, abs=1e-12)


@pytest.mark.parametrize("name", sorted(RATE_FUNCS))
def test_inputs_are_clamped_to_the_unit_interval(name):
    rate = RATE_FUNCS[name]
    assert rate(-3.0) == pytest.approx(0.0, abs=1e-12)
    assert rate(7.0) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", sorted(RATE_FUNCS))
def test_progress_never_goes_backwards(name):
    values = np.array([RATE_FUNCS[name](t) for t in np.linspace(0, 1, 201)])
    assert np.all(np.diff(values) >= -1e-12)


def test_ease_in_out_starts_and_stops_gently():
    h = 1e-3
    assert smooth(h) / h < 0.01  # speed ~0 at the start
    assert (1 - smooth(1 - h)) / h < 0.01  # and at the end
    assert (smooth(0.5 + h) - smooth(0.5 - h)) / (2 * h) > 1.5  # faster than linear in the middle


def test_steps_is_a_named_easing_but_not_a_rate_function():
    assert "steps" in EASING_NAMES and "steps" not in RATE_FUNCS
    assert set(RATE_FUNCS) <= set(EASING_NAMES)
