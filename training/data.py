"""Data sets: pixels scaled to [0, 1] and flattened, labels as integers.

``load_data("digits")`` is the default: the 8x8 handwritten digits bundled
with scikit-learn (1,797 images), split deterministically by ``seed``.

Examples
--------
>>> data = load_data("digits", seed=0)
>>> data.X_train.shape[1], data.n_classes, bool(0.0 <= data.X_train.min() <= data.X_train.max() <= 1.0)
(64, 10, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossfilm.errors import ConfigError


@dataclass(frozen=True)
class Dataset:
    """A train/test split of flattened images."""

    name: str
    X_train: np.ndarray  # (N, D) float64 in [0, 1]
    y_train: np.ndarray  # (N,) int64
    X_test: np.ndarray  # (M, D) float64 in [0, 1]
    y_test: np.ndarray  # (M,) int64
    n_classes: int
    source: dict  # JSON-able: where it came from and how it was split

    @property
    def n_features(self):
        return self.X_train.shape[1]


def load_data(spec="digits", seed=0, test_fraction=0.2):
    """Load a data set by name.

    Parameters
    ----------
    spec : str
        ``"digits"`` (bundled with scikit-learn).
    seed : int
        Seed of the deterministic train/test split.
    test_fraction : float
        Share of the images held out for testing.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"--test-fraction {test_fraction} must be between 0 and 1")
    if spec == "digits":
        return _digits(seed, test_fraction)
    raise ConfigError(f"unknown data {spec!r}; use 'digits'")


def _digits(seed, test_fraction):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = bunch.data.astype(np.float64) / 16.0  # pixel values are 0..16
    y = bunch.target.astype(np.int64)
    train, test = split_indices(len(y), seed, test_fraction)
    source = {"spec": "digits", "seed": seed, "test_fraction": test_fraction,
              "n_train": len(train), "n_test": len(test)}
    return Dataset("digits", X[train], y[train], X[test], y[test], 10, source)


def split_indices(n, seed, test_fraction):
    """A seeded permutation of ``range(n)`` cut into (train, test) index arrays."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])
