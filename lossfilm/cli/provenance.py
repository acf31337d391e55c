"""Reading an output's provenance back, for `lossfilm inspect` and `lossfilm reproduce` (not a command)."""

from __future__ import annotations

from pathlib import Path

from lossfilm.format.declared.options import Option
from lossfilm.format.declared.values import Path as PathKind
from lossfilm.format.errors import ArtifactError
from lossfilm.format.provenance import (KEYWORD, MAX_TEXT, PREFIX, from_text, read_gif_comments, read_html_provenance,
                                        read_png_text)

MAX_GIF_BYTES = 1 << 28  # a GIF is read whole to walk its blocks; a larger one is not read
# The file `inspect` and `reproduce` read, declared once (a folder of PNG frames is one of them).
MADE = Option("file", PathKind("a file or folder of frames lossfilm wrote"), None,
              "an MP4, MOV, WebM, GIF, PNG, folder of PNG frames or viewer HTML that lossfilm wrote", cli="file",
              metavar="FILE")


def read_provenance(path):
    """The provenance dict that the MP4, MOV, WebM, GIF, PNG or viewer HTML at ``path`` carries; ArtifactError naming it if none.

    A folder of PNG frames is read from its first frame. What is read is
    bounded: a PNG's text chunks only (never its image data), a GIF up to
    :data:`MAX_GIF_BYTES`, an MP4's comment up to
    :data:`lossfilm.format.provenance.MAX_TEXT` characters.
    """
    path = Path(path)
    if path.is_dir():
        frames = sorted(path.glob("frame_*.png"))
        if not frames:
            raise ArtifactError(f"{path}: a folder without lossfilm PNG frames")
        path = frames[0]
    if not path.is_file():
        raise ArtifactError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".png":
        with open(path, "rb") as handle:
            text = read_png_text(handle, limit=MAX_TEXT + len(PREFIX)).get(KEYWORD)
    elif suffix == ".gif":
        if path.stat().st_size > MAX_GIF_BYTES:
            raise ArtifactError(f"{path}: a GIF of {path.stat().st_size:,} bytes; lossfilm reads provenance from "
                                f"GIFs up to {MAX_GIF_BYTES:,}")
        comments = read_gif_comments(path.read_bytes(), limit=MAX_TEXT + len(PREFIX))
        text = next((c for c in comments if c.startswith(PREFIX)), None)
    elif suffix in (".html", ".htm"):
        text = read_html_provenance(path)
    elif suffix in (".mp4", ".mov", ".webm"):
        from lossfilm.render.filming.ffmpeg import read_comment

        text = read_comment(path)
        text = text if text and text.startswith(PREFIX) else None
    else:
        raise ArtifactError(f"{path}: not an MP4, MOV, WebM, GIF or PNG, nor a viewer page (.html)")
    if text is None:
        raise ArtifactError(f"{path}: carries no lossfilm provenance (made by another program, or by "
                            "lossfilm before 0.2)")
    return from_text(text, path)
