"""Reading an output's provenance back, for `lossfilm inspect` and `lossfilm reproduce` (not a command)."""

from __future__ import annotations

from pathlib import Path

from lossfilm.format.errors import ArtifactError
from lossfilm.format.provenance import KEYWORD, PREFIX, from_text, read_gif_comments, read_png_text


def read_provenance(path):
    """The provenance dict that the MP4, MOV, WebM, GIF or PNG at ``path`` carries; ArtifactError naming it if none.

    A folder of PNG frames is read from its first frame.
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
        text = read_png_text(path.read_bytes()).get(KEYWORD)
    elif suffix == ".gif":
        text = next((c for c in read_gif_comments(path.read_bytes()) if c.startswith(PREFIX)), None)
    elif suffix in (".mp4", ".mov", ".webm"):
        from lossfilm.render.filming.ffmpeg import read_comment

        text = read_comment(path)
        text = text if text and text.startswith(PREFIX) else None
    else:
        raise ArtifactError(f"{path}: not an MP4, MOV, WebM, GIF or PNG")
    if text is None:
        raise ArtifactError(f"{path}: carries no lossfilm provenance (made by another program, or by "
                            "lossfilm before 0.2)")
    return from_text(text, path)
