"""The one way lossfilm writes a file or folder: a private temporary beside the target, then a rename.

Every output (``.npz`` artifacts, the Recorder's snapshots, PNG stills, MP4,
GIF and PNG-folder films, partial landscapes, exported meshes) and every
large scratch file (the race's stacked rows, an in-memory landscape saved
for the render) goes through :func:`private_folder`:

- the temporary lives in a folder that :func:`tempfile.mkdtemp` creates
  exclusively (a fresh random name, mode 0700) beside the target. Nobody
  else can create, replace or link a name inside it, so a symbolic link
  planted in a shared folder (``/tmp``, a group's output folder) cannot
  redirect a write: the temporary's name is never one that existed before;
- :func:`atomic_path` fsyncs the finished temporary, gives it the
  permission bits of the file it replaces, and renames it into place with
  :func:`os.replace` (a planted link at the target is replaced, never
  followed). Until that rename the earlier file is untouched, so a command
  that fails or is interrupted leaves every pre-existing file as it was;
- the folder holds a marker file naming its random token, this process and
  this host. A killed process cannot clean up; the next write into the same
  folder removes a leftover only when it can prove lossfilm made it (the
  folder is this user's, the marker names the folder's own token and a
  process of this host that no longer runs). A user's file or folder that
  merely looks like a temporary is never touched.

:func:`check_distinct` refuses, before any work, an output that is also an
input of the same command, or one output named twice, however it is spelled
(``a.mp4`` and ``./a.mp4``, a symbolic or a hard link).

Examples
--------
>>> import os, tempfile
>>> target = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> with atomic_path(target) as tmp:
...     _ = tmp.write_text("hello")
>>> open(target).read(), sorted(os.listdir(os.path.dirname(target)))
('hello', ['notes.txt'])
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import stat
import tempfile
from pathlib import Path

from lossfilm.format.errors import ConfigError, LossfilmError

TEMPORARY_PREFIX, TEMPORARY_SUFFIX = ".lossfilm-", ".tmp"
MARKER = "lossfilm-temporary.json"  # inside each private folder: the proof that lossfilm made it
_TEMPORARY_NAME = re.compile(r"\.lossfilm-([a-z0-9_]{8,})\.tmp")  # mkdtemp's random part: 8 of [a-z0-9_]
_MARKER_BYTES = 4096  # a marker is a short JSON line; a longer file is not one
SCRATCH_ENV = "LOSSFILM_TMPDIR"  # where large scratch data goes when the user asks (never the system temp by itself)


class private_folder:
    """A fresh folder only this user can enter, beside ``near``, with lossfilm's marker; removed on exit.

    Parameters
    ----------
    near : path-like
        The target being written: its folder holds the private one.

    Attributes
    ----------
    path : Path
        The folder. Anything written inside cannot be redirected by a link
        planted from outside.
    """

    def __init__(self, near):
        near = Path(near)
        parent = _parent(near)
        remove_stale_temporaries(parent)
        try:
            self.path = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, suffix=TEMPORARY_SUFFIX, dir=parent))
        except OSError as exc:
            raise write_error(near, exc) from exc
        token = _TEMPORARY_NAME.fullmatch(self.path.name)[1]
        marker = {"lossfilm_temporary": token, "pid": os.getpid(), "host": socket.gethostname(), "for": near.name}
        descriptor = os.open(self.path / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(marker, handle)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        self.remove()
        return False

    def remove(self):
        """Delete the folder and everything in it (idempotent)."""
        shutil.rmtree(self.path, ignore_errors=True)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _parent(path):
    text = os.fspath(path).rstrip("/" + os.sep) or os.fspath(path)
    parent = Path(text).parent
    return parent if str(parent) else Path(".")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path for ``path``; on success fsync it and rename it into place.

    The temporary has ``path``'s own name (writers choose formats by its
    suffix), inside a :class:`private_folder` beside it. On any exception,
    KeyboardInterrupt included, the temporary is removed and an existing
    file at ``path`` is left byte-identical. A replaced file's permission
    bits are kept.
    """
    path = Path(path)
    check_writable(path)
    with private_folder(path) as folder:
        tmp = folder / path.name
        try:
            yield tmp
            commit(tmp, path)
        except OSError as exc:
            if isinstance(exc, LossfilmError):
                raise
            raise write_error(path, exc) from exc


def commit(tmp, path):
    """Move the finished temporary file or folder ``tmp`` to ``path``: fsync, keep the old mode, rename."""
    _fsync_tree(tmp)
    with contextlib.suppress(FileNotFoundError):
        old = os.lstat(path)
        if stat.S_ISREG(old.st_mode) and os.path.isfile(tmp):
            os.chmod(tmp, stat.S_IMODE(old.st_mode))
    os.replace(tmp, path)
    _fsync_folder(_parent(path))


def _fsync_tree(path):
    if os.path.isdir(path):
        for entry in os.scandir(path):
            if entry.is_file(follow_symlinks=False):
                _fsync_file(entry.path)
        _fsync_folder(path)
    else:
        _fsync_file(path)


def _fsync_file(path):
    descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(path):
    with contextlib.suppress(OSError):  # not every file system can fsync a folder; the rename stands anyway
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@contextlib.contextmanager
def atomic_folder(path, *, replaceable):
    """Yield a temporary folder for the folder ``path``; on success it replaces ``path`` whole.

    ``replaceable(entry_name)`` says which files an existing folder at
    ``path`` may hold to be replaced (an earlier PNG sequence's frames);
    any other file there is refused with ConfigError, before any work.
    """
    path = Path(os.fspath(path).rstrip("/" + os.sep) or os.fspath(path))
    if os.path.lexists(path) and not path.is_dir():
        raise ConfigError(f"{path}: exists and is not a folder; a PNG sequence needs a folder")
    if path.is_dir():
        others = sorted(entry.name for entry in path.iterdir() if not replaceable(entry.name))
        if others:
            raise ConfigError(f"{path}/: already holds other files ({others[0]}, ...); "
                              "choose a new folder for the PNG frames")
    if not _parent(path).is_dir():
        raise ConfigError(f"{path}: output directory {_parent(path)} does not exist")
    with private_folder(path) as folder:
        tmp, old = folder / path.name, folder / "replaced"
        tmp.mkdir()
        yield tmp
        _fsync_tree(tmp)
        if path.exists():
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old.exists() and not path.exists():
                os.replace(old, path)
            raise
        _fsync_folder(_parent(path))


def scratch_folder(near=None):
    """A :class:`private_folder` for large scratch data: in ``$LOSSFILM_TMPDIR`` if set, else beside ``near``.

    Never the system's temporary folder by itself: on many systems it is
    RAM-backed (tmpfs), where gigabytes of scratch data would be memory.
    """
    asked = os.environ.get(SCRATCH_ENV)
    folder = Path(asked) if asked else (Path(near) if near is not None and Path(near).is_dir()
                                        else _parent(near) if near is not None else Path("."))
    if not folder.is_dir():
        raise ConfigError(f"{SCRATCH_ENV}={asked}: not a folder" if asked else f"{folder}: no such folder for "
                          "scratch data")
    return private_folder(folder / ".scratch")


def remove_stale_temporaries(folder):
    """Delete the private folders in ``folder`` that killed lossfilm processes left; return how many.

    Only a folder that lossfilm can prove it made goes: a real folder (not a
    link) owned by this user, named like a private folder, whose marker
    names that folder's own random token and a process of this host that no
    longer runs. Anything else, however it is named, stays.
    """
    removed, host = 0, socket.gethostname()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = _TEMPORARY_NAME.fullmatch(entry.name)
        if not match:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode) or (_uid() is not None and info.st_uid != _uid()):
                continue
            marker = _read_marker(os.path.join(entry.path, MARKER))
        except (OSError, ValueError):
            continue
        if (isinstance(marker, dict) and marker.get("lossfilm_temporary") == match[1] and marker.get("host") == host
                and isinstance(marker.get("pid"), int) and not _pid_alive(marker["pid"])):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


def _uid():
    return os.getuid() if hasattr(os, "getuid") else None  # no owners to compare where there are no uids


def _read_marker(path):
    descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError("not a file")
        text = handle.read(_MARKER_BYTES + 1)
        if len(text) > _MARKER_BYTES:
            raise ValueError("too long for a marker")
        return json.loads(text)


def _pid_alive(pid):
    if pid <= 0:
        return True  # not a process id: never a proof that it ended
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_distinct(outputs, inputs=()):
    """Refuse, in one line, an output that is also an input, or the same output twice, however spelled.

    Two paths are the same when they resolve to the same place (``a.mp4``,
    ``./a.mp4``, a symbolic link) or name the same file (a hard link: the
    same device and inode).

    Raises
    ------
    ConfigError

    Examples
    --------
    >>> check_distinct(["film.mp4", "./film.mp4"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lossfilm.format.errors.ConfigError: ./film.mp4: named twice as an output (also film.mp4); ...
    """
    seen = []
    for role, path in [("input", p) for p in inputs if p is not None] + [("output", p) for p in outputs]:
        identity = _identity(path)
        for other_role, other, other_identity in seen:
            if role == "output" and _same(identity, other_identity):
                if other_role == "input":
                    raise ConfigError(f"{path}: is also an input of this command ({other}); writing it would "
                                      "destroy it; choose another output")
                raise ConfigError(f"{path}: named twice as an output (also {other}); give each output its own path")
        seen.append((role, path, identity))


def _identity(path):
    text = os.fspath(path).rstrip("/" + os.sep) or os.fspath(path)
    try:
        info = os.stat(text)
        inode = (info.st_dev, info.st_ino)
    except OSError:
        inode = None
    return os.path.realpath(text), inode


def _same(one, other):
    return one[0] == other[0] or (one[1] is not None and one[1] == other[1])


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
