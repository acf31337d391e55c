"""Jupyter display: a Landscape shows the viewer; a film shows its video; a still shows its picture.

The outputs are written as always; what the calls return also displays
itself in a notebook (``_repr_html_``, ``_repr_png_``), and stays what it
was for code: :class:`ShownFilm` is a ``RenderSummary``, :class:`ShownStill`
an ``int`` (the frame index).

A Landscape lives in the format layer, below the viewer, so it cannot point
at the viewer itself: ``import lossfilm`` inside IPython tells IPython's HTML
formatter, by the class's name, to show it with :func:`landscape_html`.

Examples
--------
>>> print(iframe("<b>hi</b>", height=100))
<iframe srcdoc="&lt;b&gt;hi&lt;/b&gt;" style="width: 100%; height: 100px; border: 0" sandbox="allow-scripts"></iframe>
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import asdict
from pathlib import Path

from lossfilm.render.filming.deliver import RenderSummary
from lossfilm.viewer.page import page_html

HEIGHT = 620  # px of the viewer in a notebook cell
EMBED_LIMIT = 25_000_000  # bytes: a larger film is linked by its path instead of copied into the notebook


def iframe(page, height=HEIGHT):
    """``page`` (a whole HTML document) in a sandboxed iframe, as a notebook cell shows it."""
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width: 100%; height: {height}px; border: 0" '
            'sandbox="allow-scripts"></iframe>')


def landscape_html(landscape):
    """The viewer of ``landscape`` for a notebook cell (IPython's HTML formatter calls it)."""
    return iframe(page_html(landscape)[0])


class ShownFilm(RenderSummary):
    """A :class:`RenderSummary` that a notebook shows as the film: a video, the GIF or the last PNG frame."""

    @classmethod
    def of(cls, summary):
        return cls(**asdict(summary))

    def _repr_html_(self):
        path = Path(self.path)
        if self.format == "png":
            frames = sorted(path.glob("frame_*.png"))
            return _image(frames[-1], "image/png") if frames else None
        mime = {"mp4": "video/mp4", "gif": "image/gif"}.get(self.format)
        if mime is None or not path.is_file():
            return None
        if mime.startswith("image/"):
            return _image(path, mime)
        source = (_data_url(path, mime) if path.stat().st_size <= EMBED_LIMIT
                  else html.escape(os.path.relpath(path), quote=True))
        width = min(self.size[0], 960)
        return f'<video src="{source}" controls loop muted autoplay playsinline width="{width}"></video>'


class ShownFilms(list):
    """The list of :class:`ShownFilm` that one render wrote; a notebook shows each."""

    def _repr_html_(self):
        return "<br>".join(film._repr_html_() or html.escape(str(film)) for film in self)


class ShownStill(int):
    """The index of the frame a still shows (an ``int``), with the PNG's ``path``; a notebook shows the picture."""

    def __new__(cls, index, path):
        still = super().__new__(cls, index)
        still.path = os.fspath(path)
        return still

    def _repr_png_(self):
        return Path(self.path).read_bytes()


def shown(summary):
    """A film call's result (one RenderSummary or a list of them) as one that displays itself."""
    if isinstance(summary, RenderSummary):
        return ShownFilm.of(summary)
    return ShownFilms(ShownFilm.of(s) for s in summary)


def _data_url(path, mime):
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _image(path, mime):
    return f'<img src="{_data_url(path, mime)}" alt="{html.escape(Path(path).name, quote=True)}">'
