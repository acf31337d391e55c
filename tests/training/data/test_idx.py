"""The IDX reader and the MNIST-folder layouts, on tiny files written here."""

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossfilm.format.errors import ConfigError, DataError
from lossfilm.training.data.datasets import load_data
from lossfilm.training.data.idx import read_idx, read_images, read_labels, read_pair
from tests.helpers import NAMES, idx_bytes, tiny_images, tiny_labels, write_folder, write_payload

# --- reading valid files ----------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_reads_images_and_labels(tmp_path, gz):
    images, labels = tiny_images(5), tiny_labels(5)
    image_path = write_payload(tmp_path / "i", idx_bytes(images), gz=gz)
    label_path = write_payload(tmp_path / "l", idx_bytes(labels), gz=gz)
    got_images, got_labels = read_pair(image_path, label_path)
    assert got_images.dtype == np.uint8 and got_images.shape == (5, 3, 4)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_gzip_is_detected_by_content_not_name(tmp_path):
    images = tiny_images(2)
    compressed_without_suffix = write_payload(tmp_path / "images-idx3-ubyte", idx_bytes(images), gz=True)
    raw_with_gz_suffix = write_payload(tmp_path / "images-idx3-ubyte.gz", idx_bytes(images), gz=False)
    np.testing.assert_array_equal(read_images(compressed_without_suffix), images)
    np.testing.assert_array_equal(read_images(raw_with_gz_suffix), images)


LAYOUTS = {
    "flat": lambda base: base,
    "dotted": lambda base: base.replace("-idx", ".idx"),
    "nested": lambda base: f"{base}/{base}",
    "nested dotted": lambda base: f"{base}/{base.replace('-idx', '.idx')}",
}


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_folder_layouts_give_the_official_split(tmp_path, layout, gz):
    arrays = write_folder(tmp_path, gz=gz, name=LAYOUTS[layout])
    data = load_data(str(tmp_path), seed=3, test_fraction=0.5)
    assert data.source["split"] == "official"
    assert data.X_train.shape == (7, 12) and data.X_test.shape == (5, 12)
    np.testing.assert_allclose(data.X_train * 255, arrays["train_images"].reshape(7, 12))
    np.testing.assert_array_equal(data.y_test, arrays["t10k_labels"])
    assert data.y_train.dtype == np.int64 and data.X_train.dtype == np.float64
    assert all(path.startswith(str(tmp_path)) for path in data.source["files"])


@pytest.mark.parametrize("subset", ["t10k", "train"])
def test_one_subset_is_split_by_seed(tmp_path, subset):
    write_folder(tmp_path, parts=(f"{subset}_images", f"{subset}_labels"), n_train=10, n_test=10)
    data = load_data(tmp_path, seed=0, test_fraction=0.2)
    assert data.source["split"] == f"split of {subset}"
    assert (data.source["n_train"], data.source["n_test"]) == (8, 2)
    assert len(data.X_train) == 8 and len(data.X_test) == 2


# --- broken files -------------------------------------------------------------

def _wrong_magic():
    return b"\x01" + idx_bytes(tiny_images(5))[1:]


def _truncated_gzip():
    return gzip.compress(idx_bytes(tiny_images(5)))[:-12]


BROKEN_IMAGES = [
    # (case, bytes of the image file, words the message must contain)
    ("wrong magic", _wrong_magic(), "wrong magic"),
    ("wrong dtype code", idx_bytes(tiny_images(5), dtype_code=0x0D), "wrong dtype code"),
    ("truncated header", idx_bytes(tiny_images(5))[:9], "truncated header"),
    ("short magic", b"\x00\x00", "truncated header"),
    ("truncated body", idx_bytes(tiny_images(5))[:-1], "truncated body"),
    ("trailing bytes", idx_bytes(tiny_images(5)) + b"\x00", "unexpected bytes"),
    ("wrong dims 2-D", idx_bytes(np.zeros((5, 12))), "wrong dimensions"),
    ("zero dims", bytes([0, 0, 8, 0]), "wrong dimensions"),
    ("no images", idx_bytes(np.zeros((0, 3, 4))), "no pixels"),
    ("corrupt gzip", b"\x1f\x8b" + b"not really gzip data", "corrupt or truncated gzip"),
    ("truncated gzip", _truncated_gzip(), "corrupt or truncated gzip"),
    ("empty file", b"", "truncated header"),
]


@pytest.mark.parametrize("payload, problem", [case[1:] for case in BROKEN_IMAGES],
                         ids=[case[0] for case in BROKEN_IMAGES])
def test_broken_image_file_names_file_and_problem(tmp_path, payload, problem):
    path = write_payload(tmp_path / "bad-images-idx3-ubyte", payload)
    with pytest.raises(DataError, match=problem) as info:
        read_images(path)
    message = str(info.value)
    assert "bad-images-idx3-ubyte" in message and "\n" not in message


BROKEN_LABELS = [
    ("wrong dims 2-D", idx_bytes(np.zeros((5, 1))), "wrong dimensions"),
    ("out of range", idx_bytes(np.array([1, 2, 10, 3])), "label value 10 at index 2 is out of range"),
    ("no labels", idx_bytes(np.zeros(0)), "no labels"),
]


@pytest.mark.parametrize("payload, problem", [case[1:] for case in BROKEN_LABELS],
                         ids=[case[0] for case in BROKEN_LABELS])
def test_broken_label_file_names_file_and_problem(tmp_path, payload, problem):
    path = write_payload(tmp_path / "bad-labels-idx1-ubyte", payload)
    with pytest.raises(DataError, match=problem) as info:
        read_labels(path)
    assert "bad-labels-idx1-ubyte" in str(info.value)


def test_count_mismatch_names_both_files(tmp_path):
    images = write_payload(tmp_path / "imgs", idx_bytes(tiny_images(5)))
    labels = write_payload(tmp_path / "lbls", idx_bytes(tiny_labels(4)))
    with pytest.raises(DataError, match="5 images but .* 4 labels") as info:
        read_pair(images, labels)
    assert "imgs" in str(info.value) and "lbls" in str(info.value)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nothing")


def test_folder_without_files_names_folder_and_files(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(DataError) as info:
        load_data(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    assert all(name in message for name in NAMES.values())


def test_half_a_pair_is_reported(tmp_path):
    write_folder(tmp_path, parts=("t10k_images", "t10k_labels", "train_images"))
    with pytest.raises(DataError, match="train-images-idx3-ubyte but not its labels"):
        load_data(tmp_path)


def test_broken_file_inside_folder_surfaces(tmp_path):
    write_folder(tmp_path, parts=("t10k_images",))
    write_payload(tmp_path / NAMES["t10k_labels"], idx_bytes(tiny_labels(4)))
    with pytest.raises(DataError, match="count mismatch"):
        load_data(tmp_path)


def test_image_size_mismatch_between_subsets(tmp_path):
    write_folder(tmp_path, parts=("train_images", "train_labels", "t10k_labels"))
    write_payload(tmp_path / NAMES["t10k_images"], idx_bytes(np.zeros((5, 2, 2))))
    with pytest.raises(DataError, match="image size mismatch"):
        load_data(tmp_path)


@pytest.mark.parametrize("spec", ["no-such-data", "/no/such/folder"])
def test_unknown_spec_is_a_config_error(spec):
    with pytest.raises(ConfigError, match="no-such-data|/no/such/folder"):
        load_data(spec)


def test_a_file_is_not_a_folder_spec(tmp_path):
    path = write_payload(tmp_path / "images", idx_bytes(tiny_images(2)))
    with pytest.raises(ConfigError, match="images"):
        load_data(str(path))


# --- fuzz ---------------------------------------------------------------------

def _read_any(path):
    try:
        read_images(path)
    except DataError:
        pass
    try:
        read_labels(path)
    except DataError:
        pass


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=64))
def test_random_bytes_only_raise_data_error(tmp_path_factory, payload):
    _read_any(write_payload(tmp_path_factory.mktemp("fuzz") / "f", payload))


@settings(max_examples=200, deadline=None)
@given(ndim=st.integers(0, 4), rest=st.binary(max_size=48), gz=st.booleans())
def test_random_bodies_behind_a_valid_magic_only_raise_data_error(tmp_path_factory, ndim, rest, gz):
    # a plausible magic number steers the fuzz past the first check into dims and body
    payload = bytes([0, 0, 8, ndim]) + rest
    _read_any(write_payload(tmp_path_factory.mktemp("fuzz") / "f", payload, gz=gz))
