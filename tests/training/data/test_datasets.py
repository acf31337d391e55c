"""load_data: deterministic splits, value ranges, and sources that rebuild the data."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.training.data.datasets import load_data, split_indices

MNIST_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(), reason=f"no MNIST test set at {MNIST_DIR}"
)


def reload(source):
    """Rebuild a data set the way the landscape stage does: from the JSON'd source."""
    source = json.loads(json.dumps(source))
    return load_data(spec=source["spec"], seed=source["seed"], test_fraction=source["test_fraction"])


def assert_same(a, b):
    for name in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("n, fraction", [(1797, 0.2), (10, 0.5), (3, 0.01)])
def test_split_indices_disjoint_cover_and_deterministic(n, fraction):
    train, test = split_indices(n, 7, fraction)
    assert len(np.intersect1d(train, test)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
    assert len(test) == max(1, round(n * fraction))
    again_train, again_test = split_indices(n, 7, fraction)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(test, again_test)


def test_digits_split_is_seeded_and_round_trips():
    data = load_data("digits", seed=4)
    assert data.X_train.shape == (1438, 64) and data.X_test.shape == (359, 64)
    assert 0.0 <= data.X_train.min() and data.X_train.max() <= 1.0
    assert_same(data, reload(data.source))
    other = load_data("digits", seed=5)
    assert not np.array_equal(data.y_test, other.y_test)


def test_digits_are_scikit_learns_without_importing_it():
    """The digits are read from scikit-learn's own file, equal to its load_digits(), in a process that never
    imports scikit-learn (its import costs more than the demo's training)."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    bunch = load_digits()
    data = load_data("digits", seed=4)
    train, test = split_indices(len(bunch.target), 4, 0.2)
    np.testing.assert_array_equal(data.X_train, bunch.data[train] / 16.0)
    np.testing.assert_array_equal(data.y_test, bunch.target[test])
    code = ("import sys; from lossfilm.training.data.datasets import load_data; load_data('digits'); "
            "print('sklearn' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_test_fraction_out_of_range():
    with pytest.raises(ConfigError, match="test-fraction"):
        load_data("digits", test_fraction=1.0)


@needs_mnist
def test_t10k_only_folder_is_split_8000_2000():
    data = load_data(str(MNIST_DIR), seed=0)
    assert data.X_train.shape == (8000, 784) and data.X_test.shape == (2000, 784)
    assert data.X_train.dtype == np.float64 and data.y_train.dtype == np.int64
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    assert set(np.unique(data.y_train)) == set(range(10)) and data.n_classes == 10
    # independent decode of the label file: the split must pick rows in file order
    raw = np.frombuffer(gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, offset=8)
    assert raw[0] == 7  # the well-known first t10k digit
    train, test = split_indices(10000, 0, 0.2)
    np.testing.assert_array_equal(data.y_train, raw[train])
    np.testing.assert_array_equal(data.y_test, raw[test])
    source = data.source
    assert source["split"] == "split of t10k" and (source["n_train"], source["n_test"]) == (8000, 2000)
    assert Path(source["spec"]).is_absolute()
    assert_same(data, reload(source))


@needs_mnist
def test_t10k_split_follows_the_seed_and_keeps_every_image():
    a = load_data(MNIST_DIR, seed=0)
    b = load_data(MNIST_DIR, seed=1)
    assert not np.array_equal(a.y_test, b.y_test)
    # same images, differently divided: the label histograms of train+test agree
    counts_a = np.bincount(np.concatenate([a.y_train, a.y_test]), minlength=10)
    counts_b = np.bincount(np.concatenate([b.y_train, b.y_test]), minlength=10)
    np.testing.assert_array_equal(counts_a, counts_b)
    assert counts_a.sum() == 10000
