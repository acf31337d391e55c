"""Artifact files: versioned ``.npz`` archives written atomically.

Every artifact holds its arrays plus one JSON header (``kind``,
``schema_version``, ``key`` and the settings that made it). Arrays are
stored uncompressed so that a large one (a trajectory of thousands of
snapshots) can be memory-mapped straight out of the archive instead of
read into RAM.

Examples
--------
>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
>>> save_npz(path, {"x": np.arange(3)}, {"key": "k"}, kind="demo", schema_version=1)
>>> arrays, header = load_npz(path, kind="demo", schema_version=1)
>>> arrays["x"].tolist(), header["key"]
([0, 1, 2], 'k')
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import zipfile
from pathlib import Path

import numpy as np

from lossfilm.errors import ArtifactError, LossfilmError

_HEADER = "header_json"
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # zip local file header, 30 bytes


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it into place on success.

    The temporary name keeps the suffix (writers choose formats by it). On
    any exception, including KeyboardInterrupt, the temporary file is removed
    and an existing file at ``path`` is left untouched.
    """
    path = Path(path)
    check_writable(path)
    tmp = path.parent / f".{path.stem}.{os.getpid()}.tmp{path.suffix}"
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        if isinstance(exc, LossfilmError):
            raise
        raise LossfilmError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    except BaseException:
        _remove(tmp)
        raise


def check_writable(path):
    """Raise LossfilmError unless ``path``'s folder exists and is writable (before slow work, not after).

    >>> check_writable("/no/such/folder/film.mp4")
    Traceback (most recent call last):
    ...
    lossfilm.errors.LossfilmError: /no/such/folder/film.mp4: output directory /no/such/folder does not exist
    """
    directory = Path(os.fspath(path).rstrip("/" + os.sep) or ".").parent
    if not directory.is_dir():
        raise LossfilmError(f"{path}: output directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise LossfilmError(f"{path}: output directory {directory} is not writable")


def _remove(path):
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        os.remove(path)


def content_key(settings, *arrays):
    """A short hex digest of JSON-able ``settings`` and the bytes of ``arrays``.

    Large arrays (memmaps) are hashed in row blocks, never copied whole.
    """
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for array in arrays:
        array = np.asarray(array)
        digest.update(str((array.dtype.str, array.shape)).encode())
        rows = max(1, (1 << 24) // max(1, array[:1].nbytes)) if array.ndim else 1
        if array.ndim == 0:
            digest.update(array.tobytes())
        for start in range(0, len(array) if array.ndim else 0, rows):
            digest.update(np.ascontiguousarray(array[start:start + rows]).tobytes())
    return digest.hexdigest()[:16]


def save_npz(path, arrays, header, *, kind, schema_version):
    """Write ``arrays`` and a JSON ``header`` to ``path`` atomically.

    Arrays are streamed into the archive in blocks (``numpy.savez`` writes
    memmaps chunk by chunk), so memory does not grow with their size.
    """
    header = dict(header, kind=kind, schema_version=schema_version)
    payload = {_HEADER: np.array(json.dumps(header, sort_keys=True, default=str))}
    payload.update(arrays)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **payload)


def cache_action(path, *, kind, schema_version, key, force=False, usable=None):
    """Decide what a cached stage does about ``path``: ``"compute"``, ``"reuse"`` or ``"update"``.

    ``"reuse"`` only for a readable artifact of this kind and version with the
    same ``key`` (and, if given, ``usable(header)`` true); ``"update"``
    (compute and overwrite) for anything else that exists, or when ``force``;
    ``"compute"`` when there is no file.

    >>> cache_action("no/such/file.npz", kind="demo", schema_version=1, key="0123")
    'compute'
    """
    if not os.path.exists(path):
        return "compute"
    if force:
        return "update"
    try:
        header = read_header(path)
    except ArtifactError:
        return "update"
    same = (header.get("kind"), header.get("schema_version"), header.get("key")) == (kind, schema_version, key)
    return "reuse" if same and (usable is None or usable(header)) else "update"


def read_header(path):
    """Return the JSON header of an artifact without reading its arrays."""
    with _open_zip(path) as archive:
        return _header(path, archive)


def load_npz(path, *, kind, schema_version, mmap=()):
    """Read an artifact written by :func:`save_npz`, checking kind and version.

    Arrays named in ``mmap`` are memory-mapped read-only from the archive.

    Raises
    ------
    ArtifactError
        If the file is missing, not an archive, of another kind or version,
        or truncated.
    """
    arrays = {}
    with _open_zip(path) as archive:
        header = _header(path, archive)
        if header.get("kind") != kind:
            raise ArtifactError(f"{path}: is a {header.get('kind')!r} file, expected a {kind!r} file")
        version = header.get("schema_version")
        if version != schema_version:
            raise ArtifactError(
                f"{path}: schema_version {version} is not supported "
                f"(this lossfilm reads version {schema_version}); re-create the file"
            )
        for member in archive.namelist():
            name = member.removesuffix(".npy")
            if name == _HEADER:
                continue
            try:
                if name in mmap:
                    arrays[name] = _memmap_member(path, archive, member)
                else:
                    with archive.open(member) as handle:
                        arrays[name] = np.lib.format.read_array(handle, allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise ArtifactError(f"{path}: array {name!r} is unreadable ({exc})") from exc
    return arrays, header


@contextlib.contextmanager
def _open_zip(path):
    if not os.path.isfile(path):
        raise ArtifactError(f"{path}: no such file")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArtifactError(f"{path}: not a lossfilm .npz artifact (truncated or another format)") from exc
    with archive:
        yield archive


def _header(path, archive):
    try:
        with archive.open(_HEADER + ".npy") as handle:
            return json.loads(str(np.lib.format.read_array(handle, allow_pickle=False)))
    except KeyError:
        raise ArtifactError(f"{path}: not a lossfilm artifact (no header)") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ArtifactError(f"{path}: header is unreadable ({exc})") from exc


def _memmap_member(path, archive, member):
    info = archive.getinfo(member)
    if info.compress_type != zipfile.ZIP_STORED:
        with archive.open(member) as handle:
            return np.lib.format.read_array(handle, allow_pickle=False)
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
        handle.seek(info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10])
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
        offset = handle.tell()
    if offset + int(np.prod(shape)) * dtype.itemsize > os.path.getsize(path):
        raise ValueError("data is truncated")
    order = "F" if fortran else "C"
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
