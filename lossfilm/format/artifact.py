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
import mmap
import os
import re
import struct
import sys
import zipfile

import numpy as np

from lossfilm.format.errors import ArtifactError
from lossfilm.format.provenance import printable
# atomic_path, check_writable, write_error: callers import them from here too (they live in safe_write).
from lossfilm.format.safe_write import atomic_path, check_writable, write_error  # noqa: F401

_HEADER = "header_json"
MAX_MEMBERS = 256  # arrays in one artifact; lossfilm's have a few dozen
MAX_HEADER_BYTES = 1 << 24  # the JSON header member
MAX_COMPRESSED_BYTES = 1 << 26  # compressed members' unpacked sizes, in all: lossfilm writes none
_MEMBER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\.npy")
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # zip local file header, 30 bytes
# Every archive member gets this timestamp (the zip format's earliest), not the time of writing:
# the same inputs then make a byte-identical file.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def content_key(settings, *arrays):
    """A short hex digest of JSON-able ``settings`` and the bytes of ``arrays``.

    Large arrays (memmaps) are hashed in row blocks, never copied whole.
    """
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for array in arrays:
        array = np.asanyarray(array)  # a memmap stays one, so that its hashed pages can be released
        digest.update(str((array.dtype.str, array.shape)).encode())
        rows = max(1, (1 << 24) // max(1, array[:1].nbytes)) if array.ndim else 1
        if array.ndim == 0:
            digest.update(array.tobytes())
        for start in range(0, len(array) if array.ndim else 0, rows):
            block = array[start:start + rows]
            digest.update(np.ascontiguousarray(block).view(np.uint8))  # the same bytes, without a copy
            release_pages(block)  # a memmap's pages, once hashed, leave this process
    return digest.hexdigest()[:16]


def save_npz(path, arrays, header, *, kind, schema_version):
    """Write ``arrays`` and a JSON ``header`` to ``path`` atomically.

    The archive is what ``numpy.savez`` writes (uncompressed ``.npy``
    members), but with a fixed timestamp on every member, so that the same
    arrays and header make a byte-identical file. Arrays are streamed into
    it in blocks (memmaps chunk by chunk), so memory does not grow with
    their size.
    """
    header = dict(header, kind=kind, schema_version=schema_version)
    payload = {_HEADER: np.array(json.dumps(header, sort_keys=True, default=str))}
    payload.update(arrays)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
            for name, array in payload.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
                with archive.open(info, "w", force_zip64=True) as member:
                    _write_npy(member, np.asanyarray(array))


_WRITE_BLOCK = 1 << 20  # bytes per write: a (T, P) memmap goes out in 1 MiB views, never copied whole


def _write_npy(handle, array):
    """Write ``array`` in the ``.npy`` format, as ``numpy.lib.format.write_array`` does, in small blocks.

    numpy copies a memmap out in 16 MiB chunks; here a C-ordered array goes
    out as views of about 1 MiB (zipfile checksums and writes them without
    a copy), so saving a trajectory of any length costs almost no memory.
    """
    if array.dtype.hasobject:
        raise ValueError("object arrays cannot be saved in an artifact (they would need pickle)")
    if not array.flags.c_contiguous and array.ndim > 1:
        np.lib.format.write_array(handle, array, allow_pickle=False)  # small, odd layouts only
        return
    np.lib.format.write_array_header_1_0(handle, np.lib.format.header_data_from_array_1_0(array))
    flat = array.reshape(-1)  # a view for C-ordered arrays
    rows = max(1, _WRITE_BLOCK // max(1, array.itemsize))
    for start in range(0, flat.size, rows):
        block = flat[start:start + rows]
        handle.write(memoryview(np.ascontiguousarray(block).view(np.uint8)))
        release_pages(block)


def release_pages(view):
    """Unmap the pages of ``view``, part of a shared file memmap, from this process (the data stays in the file).

    Reading or writing a memmap maps its pages into the process, where they
    count as resident memory until the mapping closes: streaming a 1 GB
    trajectory through one would show as 1 GB of RSS. They are only a view
    of the page cache (written back, never lost: the mapping is shared), so
    dropping them as a stream moves on keeps the process's memory flat. A
    later access maps them again. Does nothing for anything else, or where
    ``madvise(MADV_DONTNEED)`` does not mean that (only Linux is trusted).

    >>> release_pages(np.zeros(3))  # not a memmap: nothing to do
    """
    handle = getattr(view, "_mmap", None)
    if (handle is None or getattr(view, "mode", "c") not in ("r", "r+", "w+") or not view.nbytes
            or not view.flags.c_contiguous or not sys.platform.startswith("linux")
            or not hasattr(handle, "madvise")):
        return
    try:
        base = np.frombuffer(handle, dtype=np.uint8).ctypes.data
    except (ValueError, TypeError):  # a closed mapping
        return
    start = view.ctypes.data - base
    page = mmap.PAGESIZE
    first, end = start // page * page, min(len(handle), -(-(start + view.nbytes) // page) * page)
    if 0 <= first < end:
        handle.madvise(mmap.MADV_DONTNEED, first, end - first)


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


def reuse(path, load, *, kind, schema_version, key, force=False, usable=None):
    """The artifact at ``path`` if a cached stage may reuse it: ``(artifact or None, action)``.

    ``action`` is :func:`cache_action`'s, except that a file whose header
    matched but whose arrays do not load becomes ``"update"``; the artifact is
    ``load(path)`` for ``"reuse"`` and None otherwise.

    >>> reuse("no/such/file.npz", None, kind="demo", schema_version=1, key="0123")
    (None, 'compute')
    """
    action = cache_action(path, kind=kind, schema_version=schema_version, key=key, force=force, usable=usable)
    if action != "reuse":
        return None, action
    try:
        return load(path), action
    except ArtifactError:
        return None, "update"


def is_artifact(path, kind):
    """Whether ``path`` is a readable lossfilm artifact of ``kind`` (its header says so).

    Sidecars that lossfilm keeps beside an output (``NAME.partial.npz``) are
    replaced or removed only when this holds: a user's own file that has
    that name is never touched.
    """
    try:
        return read_header(path).get("kind") == kind
    except ArtifactError:
        return False


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
            newer = isinstance(version, int) and not isinstance(version, bool) and version > schema_version
            advice = ("it was written by a newer lossfilm; upgrade lossfilm to read it" if newer
                      else "re-create the file with this lossfilm")
            raise ArtifactError(f"{path}: schema_version {version} is not supported "
                                f"(this lossfilm reads version {schema_version}); {advice}")
        for member in archive.namelist():
            name = member.removesuffix(".npy")
            if name == _HEADER:
                continue
            try:
                if name in mmap:
                    arrays[name] = _memmap_member(path, archive, member)
                else:
                    arrays[name] = _read_member(archive, member)
            except MemoryError:
                raise
            except Exception as exc:  # a damaged archive fails in zipfile, numpy or tokenize, in many ways
                raise ArtifactError(f"{path}: array {name!r} is unreadable ({_reason(exc)})") from exc
    return arrays, header


@contextlib.contextmanager
def _open_zip(path):
    if not os.path.isfile(path):
        raise ArtifactError(f"{path}: no such file")
    try:
        archive = zipfile.ZipFile(path)
    except MemoryError:
        raise
    except Exception as exc:  # BadZipFile, OSError, NotImplementedError (odd zip versions), ...
        raise ArtifactError(f"{path}: not a lossfilm .npz artifact (truncated or another format)") from exc
    with archive:
        _check_members(path, archive)
        yield archive


def _check_members(path, archive):
    """Refuse, before reading anything large, an archive whose member list or sizes are not an artifact's.

    A member's declared size is what numpy allocates: a stored member must
    fit in the file, and a compressed one (lossfilm writes none) is read
    only up to :data:`MAX_COMPRESSED_BYTES`, so that a small file cannot
    make the process allocate gigabytes (a decompression bomb).
    """
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ArtifactError(f"{path}: not a lossfilm artifact ({len(members):,} members, at most {MAX_MEMBERS})")
    size, names, unpacked = os.path.getsize(path), set(), 0
    for info in members:
        if not _MEMBER_NAME.fullmatch(info.filename) or info.filename in names:
            raise ArtifactError(f"{path}: not a lossfilm artifact (member {printable(info.filename)[:80]})")
        names.add(info.filename)
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size or info.header_offset + info.compress_size > size:
                raise ArtifactError(f"{path}: array {info.filename[:-4]!r} declares {info.file_size:,} bytes, "
                                    "more than the file holds (truncated or crafted)")
        else:
            unpacked += info.file_size
            if unpacked > MAX_COMPRESSED_BYTES:
                raise ArtifactError(f"{path}: its compressed arrays unpack to over {MAX_COMPRESSED_BYTES:,} bytes "
                                    f"(array {info.filename[:-4]!r} alone to {info.file_size:,}); lossfilm reads "
                                    "no more (its own arrays are stored uncompressed)")
        if info.filename == _HEADER + ".npy" and info.file_size > MAX_HEADER_BYTES:
            raise ArtifactError(f"{path}: header of {info.file_size:,} bytes, more than an artifact's")


def _header(path, archive):
    try:
        header = json.loads(str(_read_member(archive, _HEADER + ".npy")))
    except KeyError:
        raise ArtifactError(f"{path}: not a lossfilm artifact (no header)") from None
    except MemoryError:
        raise
    except Exception as exc:  # damaged bytes fail in zipfile, numpy, tokenize or json
        raise ArtifactError(f"{path}: header is unreadable ({_reason(exc)})") from exc
    if not isinstance(header, dict):
        raise ArtifactError(f"{path}: header is unreadable (not a JSON object)")
    return header


def _reason(exc):
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _read_member(archive, member):
    """One ``.npy`` member as an array, after checking that its header fits its size.

    A damaged header could declare a huge shape, and numpy allocates the
    array before it reads the data; the check stops that first.
    """
    info = archive.getinfo(member)
    with archive.open(info) as handle:
        shape, fortran, dtype = _npy_header(handle)
        data_bytes = info.file_size - handle.tell()
    if int(np.prod(shape, dtype=object)) * dtype.itemsize != data_bytes:
        raise ValueError(f"its header declares shape {shape} of {dtype}, which does not fit its "
                         f"{data_bytes} data bytes")
    with archive.open(info) as handle:
        return np.lib.format.read_array(handle, allow_pickle=False)


def _npy_header(handle):
    """``(shape, fortran_order, dtype)`` from an open ``.npy`` stream, left at the start of the data."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(handle)
    raise ValueError(f"unsupported .npy format version {version}")


def _memmap_member(path, archive, member):
    info = archive.getinfo(member)
    if info.compress_type != zipfile.ZIP_STORED:
        with archive.open(member) as handle:
            return np.lib.format.read_array(handle, allow_pickle=False)
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
        handle.seek(info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10])
        shape, fortran, dtype = _npy_header(handle)
        offset = handle.tell()
    if dtype.hasobject:
        raise ValueError("object arrays are not read (they would need pickle)")
    if offset + int(np.prod(shape, dtype=object)) * dtype.itemsize > os.path.getsize(path):
        raise ValueError("data is truncated")
    order = "F" if fortran else "C"
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
