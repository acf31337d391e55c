"""The IDX file format of the original MNIST distribution, raw or gzipped.

An IDX file is a header followed by the array's bytes::

    0x00 0x00 <dtype code> <number of dims>   magic number, 4 bytes
    <dim 0> ... <dim n-1>                      big-endian uint32 each
    <data>                                     row-major, here uint8

Only dtype code 0x08 (unsigned byte) is read: it is the only one MNIST-style
data sets use. A file is treated as gzip when it starts with the gzip magic
bytes, whatever its name. Every malformed file raises :class:`DataError`
with a one-line message naming the file and the problem; bytes beyond the
ones the header describes are an error too (they mean the file is not what
its header says).

Examples
--------
>>> import gzip, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "labels.gz")
>>> with gzip.open(path, "wb") as handle:
...     _ = handle.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
>>> read_labels(path).tolist()
[7, 2, 1]
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from lossfilm.format.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08


def read_idx(path):
    """Read an IDX file of unsigned bytes into one array.

    Parameters
    ----------
    path : str or os.PathLike
        The file, raw or gzip-compressed.

    Returns
    -------
    numpy.ndarray
        Read-only uint8 array with the shape the header gives.

    Raises
    ------
    DataError
        If the file is missing, unreadable, not IDX, not uint8, or its size
        does not match its header.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx2-ubyte")
    >>> with open(path, "wb") as handle:
    ...     _ = handle.write(bytes([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2, 5, 6]))
    >>> read_idx(path).tolist()
    [[5, 6]]
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes; an IDX file starts with 4 magic bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: wrong magic number 0x{raw[:4].hex()}; not an IDX file")
    if raw[2] != _UBYTE:
        raise DataError(f"{path}: wrong dtype code 0x{raw[2]:02x} in the magic number; expected 0x08 (uint8)")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if ndim == 0:
        raise DataError(f"{path}: wrong dimensions: the header declares 0 dimensions")
    if len(raw) < header_size:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes; {ndim} dimensions need {header_size})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header_size + int(np.prod(shape, dtype=object))  # Python ints: no overflow on huge dims
    if len(raw) < expected:
        raise DataError(
            f"{path}: truncated body ({len(raw) - header_size} data bytes; "
            f"shape {'x'.join(map(str, shape))} needs {expected - header_size})"
        )
    if len(raw) > expected:
        raise DataError(
            f"{path}: {len(raw) - expected} unexpected bytes after the data "
            f"(shape {'x'.join(map(str, shape))}); the file is not what its header says"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def read_images(path):
    """Read an IDX image file: ``(N, rows, cols)`` uint8 with N >= 1.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "images-idx3-ubyte")
    >>> with open(path, "wb") as handle:
    ...     _ = handle.write(bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255]))
    >>> read_images(path).shape
    (1, 1, 2)
    """
    images = read_idx(path)
    if images.ndim != 3:
        raise DataError(f"{path}: wrong dimensions {images.shape}; image files are 3-D (N x rows x cols)")
    if 0 in images.shape:
        raise DataError(f"{path}: holds no pixels (shape {images.shape})")
    return images


def read_labels(path, n_classes=10):
    """Read an IDX label file: ``(N,)`` uint8 with every value below ``n_classes``.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as handle:
    ...     _ = handle.write(bytes([0, 0, 8, 1, 0, 0, 0, 2, 9, 0]))
    >>> read_labels(path).tolist()
    [9, 0]
    """
    labels = read_idx(path)
    if labels.ndim != 1:
        raise DataError(f"{path}: wrong dimensions {labels.shape}; label files are 1-D (N)")
    if labels.size == 0:
        raise DataError(f"{path}: holds no labels")
    bad = np.flatnonzero(labels >= n_classes)
    if bad.size:
        raise DataError(
            f"{path}: label value {labels[bad[0]]} at index {bad[0]} is out of range 0..{n_classes - 1}"
        )
    return labels


def read_pair(images_path, labels_path, n_classes=10):
    """Read matching image and label files; their counts must agree.

    Returns
    -------
    images : numpy.ndarray
        ``(N, rows, cols)`` uint8.
    labels : numpy.ndarray
        ``(N,)`` uint8.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "i"), "wb") as handle:
    ...     _ = handle.write(bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 128]))
    >>> with open(os.path.join(folder, "l"), "wb") as handle:
    ...     _ = handle.write(bytes([0, 0, 8, 1, 0, 0, 0, 1, 4]))
    >>> images, labels = read_pair(os.path.join(folder, "i"), os.path.join(folder, "l"))
    >>> images.shape, labels.tolist()
    ((1, 1, 1), [4])
    """
    images = read_images(images_path)
    labels = read_labels(labels_path, n_classes)
    if len(images) != len(labels):
        raise DataError(
            f"count mismatch: {images_path} has {len(images)} images "
            f"but {labels_path} has {len(labels)} labels"
        )
    return images, labels


def _read_bytes(path):
    """The file's contents, decompressed when it starts with the gzip magic bytes."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected an IDX file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DataError(f"{path}: corrupt or truncated gzip data ({str(exc) or type(exc).__name__})") from exc
