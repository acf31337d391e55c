"""Shared pytest options."""


def pytest_addoption(parser):
    parser.addoption(
        "--regen-images", action="store_true", default=False,
        help="rewrite the cached reference images in tests/render/elements/images/ instead of comparing with them",
    )


# Hypothesis profiles. "ci" (the default) keeps the option fuzzing (tests/cli/test_options_fuzz.py) to about a
# minute; "deep" runs the same properties with 20x the examples: LOSSFILM_FUZZ=deep python -m pytest
# tests/cli/test_options_fuzz.py. Tests that pass their own settings(max_examples=...) keep theirs. "ci" draws the
# same examples on every run (derandomize), so a CI run is reproducible and never red by chance; "deep" explores
# new ones each time, and what it finds becomes a regression row.
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("deep", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("LOSSFILM_FUZZ", "ci"))
