"""Provenance: how an output was made, carried in the output file's own metadata.

Every MP4, GIF and PNG lossfilm writes says which lossfilm made it, the call
with every setting and seed, the content keys of the landscape and the
trajectory it was drawn from, and the VTK and OpenGL (Mesa) versions that
rendered it: one JSON text, under :data:`KEYWORD`,

- in a PNG as a ``tEXt`` chunk (:func:`png_with_text`);
- in a GIF as a comment extension (:func:`gif_with_comment`);
- in an MP4 as the ``comment`` tag (written and read by ffmpeg, in
  :mod:`lossfilm.render.filming.ffmpeg`);
- in a viewer page (``lossfilm view``) as a JSON ``<script>`` element in its
  head (:func:`read_html_provenance`).

``lossfilm inspect FILE`` prints it and ``lossfilm reproduce FILE``
re-renders from it. This module is bytes and JSON only: it reads PNG and GIF
files itself and leaves MP4 to the render layer's ffmpeg.

Examples
--------
>>> import json, zlib
>>> png = b"\\x89PNG\\r\\n\\x1a\\n" + _chunk(b"IHDR", bytes(13)) + _chunk(b"IEND", b"")
>>> read_png_text(png_with_text(png, KEYWORD, json.dumps({"lossfilm": "0.2.0"})))[KEYWORD]
'{"lossfilm": "0.2.0"}'
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import PurePath

from lossfilm.format.errors import ArtifactError

KEYWORD = "lossfilm"  # the PNG tEXt keyword; the GIF comment and MP4 tag start with it too
PREFIX = KEYWORD + ":"  # a GIF comment or MP4 tag that is lossfilm's provenance starts with this
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT = 1 << 16  # characters of provenance read from a file: lossfilm's own are about 2,000


def printable(text):
    """``text`` with every control character and non-printable one escaped (``\\x1b``, ``\\u202e``).

    Text from a file is shown through this, so that terminal control
    sequences or bidirectional overrides in it cannot rewrite what the user
    sees.

    >>> print(printable("a\\x1b[2Jb\\u202ec"))
    a\\x1b[2Jb\\u202ec
    """
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(text))


def for_output(provenance, output):
    """``provenance`` as the file at ``output`` carries it: the landscape's path relative to its folder.

    ``lossfilm reproduce`` looks the landscape up from the media file's own
    folder, so that a film and its cache can move together; a path that
    leaves that folder (``..``) is followed only with ``--trust``.

    >>> for_output({"landscape": {"path": "/m/cache/l.npz"}}, "/m/film.mp4")["landscape"]["path"]
    'cache/l.npz'
    """
    land = provenance.get("landscape") or {}
    if not land.get("path"):
        return provenance
    folder = os.path.dirname(os.path.abspath(os.fspath(output).rstrip("/" + os.sep)))
    relative = os.path.relpath(os.path.abspath(land["path"]), folder)
    return dict(provenance, landscape=dict(land, path=PurePath(relative).as_posix()))


def made_from(landscape, landscape_path):
    """What an output was drawn from, as its provenance says it: ``{"landscape": ..., "trajectory": ...}``.

    ``landscape_path`` is None for a landscape given in memory (``reproduce``
    then asks for it to be saved first).
    """
    from lossfilm.format.landscape import SCHEMA_VERSION  # landscape -> artifact -> this module: a cycle at the top

    settings = landscape.settings or {}
    return {
        "landscape": {"path": os.path.abspath(landscape_path) if landscape_path is not None else None,
                      "key": landscape.key, "schema_version": SCHEMA_VERSION,
                      "directions_kind": landscape.directions_kind,
                      "settings": {k: settings.get(k) for k in (
                          "directions_kind", "seed", "resolution", "margin", "range", "samples", "max_path",
                          "biases", "scaling", "evaluation", "line", "plane") if k in settings}},
        "trajectory": {"key": landscape.trajectory_key, "keys": settings.get("trajectory_keys"),
                       "run": settings.get("run")},
    }


def to_text(provenance):
    """The provenance dict as the one line of JSON the files carry (``lossfilm:{...}`` for GIF and MP4)."""
    return json.dumps(provenance, sort_keys=True, separators=(",", ":"), default=str)


def from_text(text, where):
    """The provenance dict from a file's metadata text; ArtifactError if it is not lossfilm's (or too long)."""
    if len(text) > MAX_TEXT + len(PREFIX):
        raise ArtifactError(f"{where}: its lossfilm metadata is {len(text):,} characters long, more than "
                            f"provenance ever is ({MAX_TEXT:,})")
    text = text[len(PREFIX):] if text.startswith(PREFIX) else text
    try:
        provenance = json.loads(text)
    except (ValueError, RecursionError):
        raise ArtifactError(f"{where}: its lossfilm metadata is not readable JSON") from None
    if not isinstance(provenance, dict) or "lossfilm" not in provenance:
        raise ArtifactError(f"{where}: its metadata is not lossfilm's provenance")
    return provenance


HTML_MARK = b'<script type="application/json" id="lossfilm-provenance">'  # the viewer page's provenance element
HTML_HEAD = 1 << 20  # bytes of a page read to find it: the viewer writes it in the head, before any script


def read_html_provenance(path):
    """The provenance text in the head of a lossfilm viewer page at ``path``, or None.

    Only the first :data:`HTML_HEAD` bytes are read, whatever the file's
    size, and the text is JSON for :func:`from_text`: the page is data,
    nothing in it is run.
    """
    with open(path, "rb") as file:
        head = file.read(HTML_HEAD)
    start = head.find(HTML_MARK)
    if start < 0:
        return None
    start += len(HTML_MARK)
    end = head.find(b"</script>", start)
    if end < 0:
        raise ArtifactError(f"{path}: its lossfilm provenance is cut short")
    return head[start:end].decode("utf-8", errors="replace")


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_with_text(png, keyword, text):
    """``png`` (bytes) with a ``tEXt`` chunk ``keyword: text`` right after its header chunk.

    tEXt is Latin-1; the JSON is written with ``ensure_ascii`` by
    :func:`to_text` callers, so any text survives.
    """
    if not png.startswith(PNG_SIGNATURE):
        raise ArtifactError("not a PNG file")
    end_of_header = len(PNG_SIGNATURE) + 8 + struct.unpack(">I", png[8:12])[0] + 4  # IHDR: length, type, data, CRC
    data = keyword.encode("latin-1") + b"\0" + text.encode("latin-1", errors="backslashreplace")
    return png[:end_of_header] + _chunk(b"tEXt", data) + png[end_of_header:]


def read_png_text(png, limit=None):
    """The ``tEXt`` chunks of ``png`` (bytes, or a file opened for reading) as ``{keyword: text}``.

    Only the chunk headers are read, and the text chunks: from a file, the
    image data is skipped, never read. A text chunk longer than ``limit``
    bytes is left out.
    """
    handle = png if hasattr(png, "read") else _Bytes(png)
    if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
        raise ArtifactError("not a PNG file")
    texts = {}
    while len(head := handle.read(8)) == 8:
        length, kind = struct.unpack(">I", head[:4])[0], head[4:]
        if kind == b"tEXt" and (limit is None or length <= limit):
            keyword, _, text = handle.read(length).partition(b"\0")
            texts[keyword.decode("latin-1")] = text.decode("latin-1")
            handle.seek(4, os.SEEK_CUR)
        else:
            handle.seek(length + 4, os.SEEK_CUR)
        if kind == b"IEND":
            break
    return texts


class _Bytes:
    """Bytes read like a file: ``read`` and ``seek`` from the current position."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def read(self, size):
        part = self.data[self.at:self.at + size]
        self.at += len(part)
        return part

    def seek(self, offset, whence):
        self.at += offset


def gif_with_comment(gif, text):
    """``gif`` (bytes) with a comment extension holding ``text``, placed just before its trailer."""
    if not gif.startswith((b"GIF87a", b"GIF89a")) or not gif.endswith(b"\x3b"):
        raise ArtifactError("not a complete GIF file")
    data = text.encode("utf-8")
    blocks = b"".join(bytes([len(part)]) + part for part in (data[i:i + 255] for i in range(0, len(data), 255)))
    return gif[:-1] + b"\x21\xfe" + blocks + b"\x00" + b"\x3b"


def read_gif_comments(gif, limit=None):
    """The comment extensions of ``gif`` (bytes), in order, walking its block structure.

    A comment longer than ``limit`` bytes is left out.
    """
    if not gif.startswith((b"GIF87a", b"GIF89a")):
        raise ArtifactError("not a GIF file")
    flags = gif[10]
    at = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)  # header, screen descriptor, global colours
    comments = []
    while at < len(gif):
        block = gif[at]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then data sub-blocks
            label, at = gif[at + 1], at + 2
            data, at = _sub_blocks(gif, at)
            if label == 0xFE and (limit is None or len(data) <= limit):
                comments.append(data.decode("utf-8", errors="replace"))
        elif block == 0x2C:  # image: descriptor, local colours, LZW code size, data sub-blocks
            local = gif[at + 9]
            at += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0) + 1
            _, at = _sub_blocks(gif, at)
        else:
            raise ArtifactError(f"GIF block 0x{block:02x} at byte {at} is not one a GIF has")
    return comments


def _sub_blocks(gif, at):
    start, parts = at, []
    while at < len(gif) and gif[at]:
        parts.append(gif[at + 1:at + 1 + gif[at]])
        at += 1 + gif[at]
    return b"".join(parts) if at - start <= 2 * MAX_TEXT else b"", at + 1  # a longer one is never provenance
