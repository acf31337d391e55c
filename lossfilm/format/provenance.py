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

from lossfilm.format.errors import ArtifactError
from lossfilm.format.landscape import SCHEMA_VERSION

KEYWORD = "lossfilm"  # the PNG tEXt keyword; the GIF comment and MP4 tag start with it too
PREFIX = KEYWORD + ":"  # a GIF comment or MP4 tag that is lossfilm's provenance starts with this
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def made_from(landscape, landscape_path):
    """What an output was drawn from, as its provenance says it: ``{"landscape": ..., "trajectory": ...}``.

    ``landscape_path`` is None for a landscape given in memory (``reproduce``
    then asks for it to be saved first).
    """
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
    """The provenance dict from a file's metadata text; ArtifactError if it is not lossfilm's."""
    text = text[len(PREFIX):] if text.startswith(PREFIX) else text
    try:
        provenance = json.loads(text)
    except ValueError:
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


def read_png_text(png):
    """The ``tEXt`` chunks of ``png`` (bytes) as ``{keyword: text}``."""
    if not png.startswith(PNG_SIGNATURE):
        raise ArtifactError("not a PNG file")
    texts, at = {}, len(PNG_SIGNATURE)
    while at + 8 <= len(png):
        length, kind = struct.unpack(">I", png[at:at + 4])[0], png[at + 4:at + 8]
        if kind == b"tEXt":
            keyword, _, text = png[at + 8:at + 8 + length].partition(b"\0")
            texts[keyword.decode("latin-1")] = text.decode("latin-1")
        if kind == b"IEND":
            break
        at += 12 + length
    return texts


def gif_with_comment(gif, text):
    """``gif`` (bytes) with a comment extension holding ``text``, placed just before its trailer."""
    if not gif.startswith((b"GIF87a", b"GIF89a")) or not gif.endswith(b"\x3b"):
        raise ArtifactError("not a complete GIF file")
    data = text.encode("utf-8")
    blocks = b"".join(bytes([len(part)]) + part for part in (data[i:i + 255] for i in range(0, len(data), 255)))
    return gif[:-1] + b"\x21\xfe" + blocks + b"\x00" + b"\x3b"


def read_gif_comments(gif):
    """The comment extensions of ``gif`` (bytes), in order, walking its block structure."""
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
            if label == 0xFE:
                comments.append(data.decode("utf-8", errors="replace"))
        elif block == 0x2C:  # image: descriptor, local colours, LZW code size, data sub-blocks
            local = gif[at + 9]
            at += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0) + 1
            _, at = _sub_blocks(gif, at)
        else:
            raise ArtifactError(f"GIF block 0x{block:02x} at byte {at} is not one a GIF has")
    return comments


def _sub_blocks(gif, at):
    parts = []
    while at < len(gif) and gif[at]:
        parts.append(gif[at + 1:at + 1 + gif[at]])
        at += 1 + gif[at]
    return b"".join(parts), at + 1
