"""Data sets: pixels scaled to [0, 1] and flattened, labels as integers.

``load_data("digits")`` is the default: the 8x8 handwritten digits bundled
with scikit-learn (1,797 images), split deterministically by ``seed``.

``load_data("mnist")`` downloads the official MNIST files once (see
:mod:`lossfilm.training.data.mnist`); ``load_data(DIR)`` reads them from a folder (see
:func:`load_data` for the layouts and the split used when some are missing).

Examples
--------
>>> data = load_data("digits", seed=0)
>>> data.X_train.shape[1], data.n_classes, bool(0.0 <= data.X_train.min() <= data.X_train.max() <= 1.0)
(64, 10, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lossfilm.format.errors import ConfigError, DataError
from lossfilm.training.data.idx import read_pair
from lossfilm.training.data.mnist import download_mnist

# The four MNIST files by part; each is also accepted with the dotted name
# some mirrors use and with a ".gz" suffix.
_IDX_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("t10k", "images"): "t10k-images-idx3-ubyte",
    ("t10k", "labels"): "t10k-labels-idx1-ubyte",
}


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


def load_data(spec="digits", seed=0, test_fraction=0.2, cache_dir=None):
    """Load a data set by name or from a folder of MNIST IDX files.

    Parameters
    ----------
    spec : str or os.PathLike
        ``"digits"`` (bundled with scikit-learn), ``"mnist"`` (downloaded
        once into a cache, see :mod:`lossfilm.training.data.mnist`), or a folder holding
        MNIST-format files: ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
        ``t10k-labels-idx1-ubyte``, each raw or ``.gz``, also with the dotted
        names (``train-images.idx3-ubyte``) or one level down the way
        unzipping leaves them (``DIR/train-images-idx3-ubyte/train-images-idx3-ubyte``).
    seed : int
        Seed of the deterministic train/test split.
    test_fraction : float
        Share of the images held out for testing. Ignored when both the
        train and the t10k files are present: MNIST's official split is used.
    cache_dir : str or os.PathLike, optional
        Download cache for ``"mnist"``.

    Returns
    -------
    Dataset
        Pixels scaled to [0, 1] and flattened, labels int64. ``source``
        holds ``spec`` (an absolute path for a folder), ``seed`` and
        ``test_fraction``, which rebuild the same data when passed back to
        ``load_data``, plus ``split``, ``files``, ``n_train`` and ``n_test``.

    Notes
    -----
    With only the t10k files (the 10,000 test images) the folder's images
    are split by ``seed`` and ``test_fraction`` (8,000 train / 2,000 test at
    the default 0.2), recorded as ``split: "split of t10k"``; likewise
    ``"split of train"`` with only the train files. The official split is
    recorded as ``split: "official"``.

    Raises
    ------
    ConfigError
        If ``spec`` is neither a known name nor an existing folder, or
        ``test_fraction`` is not between 0 and 1.
    DataError
        If the folder holds no usable pair of files, or a file is malformed.

    Examples
    --------
    >>> data = load_data("digits", seed=1)
    >>> again = load_data(**{k: data.source[k] for k in ("spec", "seed", "test_fraction")})
    >>> bool((again.y_test == data.y_test).all())
    True
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"--test-fraction {test_fraction} must be between 0 and 1")
    if spec == "digits":
        return _digits(seed, test_fraction)
    if spec == "mnist":
        return _idx_folder(download_mnist(cache_dir), "mnist", seed, test_fraction)
    folder = Path(os.fspath(spec)).expanduser()
    if not folder.is_dir():
        raise ConfigError(
            f"unknown data {os.fspath(spec)!r}; use 'digits', 'mnist' or a folder holding MNIST IDX files"
        )
    folder = folder.absolute()
    return _idx_folder(folder, str(folder), seed, test_fraction)


def _digits(seed, test_fraction):
    data = _digits_table()
    X = data[:, :-1] / 16.0  # pixel values are 0..16
    y = data[:, -1].astype(np.int64)
    train, test = split_indices(len(y), seed, test_fraction)
    source = {"spec": "digits", "seed": seed, "test_fraction": test_fraction,
              "n_train": len(train), "n_test": len(test)}
    return Dataset("digits", X[train], y[train], X[test], y[test], 10, source)


def _digits_table():
    """The digits as scikit-learn ships them: (1797, 65) float64, 64 pixels then the label.

    Read straight from scikit-learn's own ``datasets/data/digits.csv.gz``, the
    file its ``load_digits()`` reads, without importing scikit-learn: its
    import (scipy.stats included) takes longer than the demo's whole training.
    ``load_digits()`` itself is the fallback should a release move the file.
    """
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    folders = spec.submodule_search_locations if spec is not None else None
    for folder in folders or ():
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt") as text:
                return np.loadtxt(text, delimiter=",", dtype=np.float64)
    from sklearn.datasets import load_digits  # pragma: no cover (a scikit-learn that moved the file)

    bunch = load_digits()
    return np.column_stack([bunch.data.astype(np.float64), bunch.target.astype(np.float64)])


def split_indices(n, seed, test_fraction):
    """A seeded permutation of ``range(n)`` cut into (train, test) index arrays."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _idx_folder(folder, spec, seed, test_fraction):
    """Build a Dataset from the MNIST files found in ``folder``."""
    found = {part: _find_idx(folder, name) for part, name in _IDX_NAMES.items()}
    pairs = {}
    for subset in ("train", "t10k"):
        images, labels = found[subset, "images"], found[subset, "labels"]
        if (images is None) != (labels is None):
            have, missing = (images, "labels") if labels is None else (labels, "images")
            raise DataError(
                f"{folder}: found {have.name} but not its {missing} file "
                f"{_IDX_NAMES[subset, missing]}[.gz]"
            )
        if images is not None:
            pairs[subset] = (images, labels)
    if not pairs:
        wanted = ", ".join(f"{name}[.gz]" for name in _IDX_NAMES.values())
        raise DataError(f"{folder}: no MNIST files found; looked for {wanted}")

    source = {"spec": spec, "seed": seed, "test_fraction": test_fraction}
    if len(pairs) == 2:
        X_train, y_train = _pixels(*read_pair(*pairs["train"]))
        X_test, y_test = _pixels(*read_pair(*pairs["t10k"]))
        if X_train.shape[1] != X_test.shape[1]:
            raise DataError(
                f"image size mismatch: {pairs['train'][0]} has {X_train.shape[1]} pixels per image "
                f"but {pairs['t10k'][0]} has {X_test.shape[1]}"
            )
        source["split"] = "official"
    else:
        (subset, paths), = pairs.items()
        X, y = _pixels(*read_pair(*paths))
        train, test = split_indices(len(y), seed, test_fraction)
        X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
        source["split"] = f"split of {subset}"
    files = [str(path) for paths in pairs.values() for path in paths]
    source.update(files=files, n_train=len(y_train), n_test=len(y_test))
    return Dataset("mnist", X_train, y_train, X_test, y_test, 10, source)


def _find_idx(folder, name):
    """The first file in ``folder`` that is ``name`` in any accepted spelling, or None."""
    dotted = name.replace("-idx", ".idx")
    spellings = [name, dotted, name + ".gz", dotted + ".gz"]
    for spelling in spellings:
        path = folder / spelling
        if path.is_file():
            return path
        if path.is_dir():  # unzipping often leaves DIR/name/name
            for inner in spellings:
                if (path / inner).is_file():
                    return path / inner
    return None


def _pixels(images, labels):
    """uint8 (N, rows, cols) and (N,) -> float64 (N, rows*cols) in [0, 1] and int64 (N,)."""
    X = images.reshape(len(images), -1).astype(np.float64)  # (N,r,c) -> (N,r*c), one copy
    X /= 255.0  # in place: a second float copy of MNIST would be 376 MB
    return X, labels.astype(np.int64)
