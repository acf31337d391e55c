"""The size checks: estimates refuse what does not fit, name the largest value that does, and --force passes."""

import numpy as np
import pytest

from lossfilm.format.budget import Cost, check_cost
from lossfilm.format.errors import ConfigError


def test_the_largest_value_that_fits_is_found_exactly_and_force_skips_the_check():
    def cost(n):
        return Cost(memory=1000 * n, seconds=2.0 * n)

    with pytest.raises(ConfigError, match=r"--things 5000: needs about 5 MB of memory \(1 MB available\); about "
                                          r"2.8 hours of work .*the largest that fits is --things 1,000; add --force"):
        check_cost("--things", 5000, cost, memory=1e6)
    assert check_cost("--things", 1000, cost, memory=1e6) == cost(1000)  # exactly at the limit fits
    with pytest.raises(ConfigError, match="the largest that fits is --things 1,000;"):
        check_cost("--things", 1001, cost, memory=1e6)
    assert check_cost("--things", 5000, cost, memory=1e6, force=True) == cost(5000)
    with pytest.raises(ConfigError, match="even --things 3 does not fit"):
        check_cost("--things", 5000, cost, memory=1.0, lowest=3)


def test_a_long_pca_and_projection_show_progress_with_an_eta(capsys):
    from lossfilm.training.landscape.plane import pca_plane

    params = np.cumsum(np.random.default_rng(0).normal(size=(300, 40)), axis=0).astype(np.float32)
    plane = pca_plane(params, method="randomized", progress=True)
    plane.project(params, progress=True)
    err = capsys.readouterr().err
    assert "PCA passes" in err and "projection" in err and "PCA of 300 snapshots x 40 parameters" in err
    assert "<" in err  # tqdm's elapsed<remaining: the ETA
    pca_plane(params, method="randomized")
    assert capsys.readouterr().err == ""  # silent unless asked
