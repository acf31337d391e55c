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
import errno
import hashlib
import json
import mmap
import os
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

from lossfilm.format.errors import ArtifactError, LossfilmError

_HEADER = "header_json"
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # zip local file header, 30 bytes
# Every archive member gets this timestamp (the zip format's earliest), not the time of writing:
# the same inputs then make a byte-identical file.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it into place on success.

    The temporary name keeps the suffix (writers choose formats by it). On
    any exception, including KeyboardInterrupt, the temporary file is removed
    and an existing file at ``path`` is left untouched.
    """
    check_file_target(path)
    path = Path(path)
    tmp = path.parent / f".{path.stem}.{os.getpid()}.tmp{path.suffix}"
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        if isinstance(exc, LossfilmError):
            raise
        raise write_error(path, exc) from exc
    except BaseException:
        _remove(tmp)
        raise


def write_error(path, exc):
    """The one-line LossfilmError for an OSError ``exc`` met while writing ``path``.

    A full disk, a quota or a file size limit is said in those words, and
    whether an earlier file at ``path`` survived.

    >>> print(write_error("out/film.mp4", OSError(errno.ENOSPC, "No space left on device")))
    no space left on device while writing out/film.mp4
    """
    causes = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
              errno.EFBIG: "file size limit exceeded"}
    if exc.errno in causes:
        kept = "; the earlier file there is unchanged" if os.path.isfile(path) else ""
        return LossfilmError(f"{causes[exc.errno]} while writing {path}{kept}")
    return LossfilmError(f"{path}: cannot write ({exc.strerror or exc})")


def check_writable(path):
    """Raise LossfilmError unless ``path``'s folder exists and is writable (before slow work, not after).

    >>> check_writable("/no/such/folder/film.mp4")
    Traceback (most recent call last):
    ...
    lossfilm.format.errors.LossfilmError: /no/such/folder/film.mp4: output directory /no/such/folder does not exist
    """
    directory = Path(os.fspath(path).rstrip("/" + os.sep) or ".").parent
    if not directory.is_dir():
        if directory.exists():
            raise LossfilmError(f"{path}: output directory {directory} is a file, not a folder")
        raise LossfilmError(f"{path}: output directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise LossfilmError(f"{path}: output directory {directory} is not writable")


def check_file_target(path, example=None):
    """:func:`check_writable`, and ``path`` must name a file: not an existing folder, not a name ending in ``/``.

    Called before the work that makes the file starts (training, recording, a grid), as every output check is.
    ``example`` is a file name the message suggests inside the folder.

    >>> check_file_target("media/", example="trajectory.npz")
    Traceback (most recent call last):
    ...
    lossfilm.format.errors.LossfilmError: media/: is a folder, not a file; give a file name, e.g. media/trajectory.npz
    """
    text = os.fspath(path)
    if text.endswith(("/", os.sep)) or os.path.isdir(text):
        what = "is a folder" if os.path.isdir(text) else "ends in /, a folder's name"
        inside = f", e.g. {(Path(text) / example).as_posix()}" if example else " inside it"
        raise LossfilmError(f"{text}: {what}, not a file; give a file name{inside}")
    check_writable(path)


def _remove(path):
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        os.remove(path)


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
        yield archive


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
