"""The viewer page: one self-contained HTML file that draws a landscape and plays its run.

The file holds, in order: the provenance (JSON in the head, where ``lossfilm
inspect`` finds it), the page's style, the vendored plotly.js gl3d bundle,
the landscape's numbers (JSON, :mod:`lossfilm.viewer.scene_data`) and the
script that draws and plays them (``viewer.js``). Nothing is fetched when
it is opened: it works from a double-click, offline.

Examples
--------
>>> import lossfilm  # doctest: +SKIP
>>> lossfilm.view("media/cache/landscape.npz", "landscape.html")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import os
import re
import warnings
from importlib import resources
from pathlib import Path

from lossfilm.format.safe_write import atomic_path, check_distinct, check_writable
from lossfilm.format.errors import ArtifactError, ConfigError, LossfilmWarning
from lossfilm.format.landscape import Landscape
from lossfilm.format.provenance import for_output, made_from, to_text
from lossfilm.format.version import __version__
from lossfilm.format.declared.options import Option, check_values
from lossfilm.format.declared.values import Path as PathKind, Text
from lossfilm.render.filming.options import LANDSCAPE_PATH, LOG_Z, THEME
from lossfilm.viewer.scene_data import viewer_data

PLOTLY_BUNDLE = "vendor/plotly-gl3d.min.js"
PLOTLY_VERSION = "4.1.1"  # the npm package plotly.js-gl3d-dist-min that vendor/ holds
PROVENANCE_ID = "lossfilm-provenance"
_SLOT = re.compile(r"\{\{(\w+)\}\}")


# The viewer's options, declared once: the film's theme and log_z, a title, and the page it writes.
PAGE = Option("path", PathKind("an .html file to write", role="write", suffixes=(".html", ".htm"),
                               example="landscape.html"), "landscape.html", "the page to write", metavar="HTML")
TITLE = Option("title", Text(200, what="a title"), None, "the page's title (default: made from the run's settings)",
               optional=True)
VIEW_OPTIONS = (THEME.but(help="colours and lights, as the film's"), LOG_Z, TITLE)


def view(landscape, path, *, theme="dark", log_z=False, title=None, command=None):
    """Write the interactive viewer of ``landscape`` to the HTML file ``path``.

    Parameters
    ----------
    landscape : Landscape or path-like
        A landscape, or the path of its ``.npz`` file.
    path : path-like
        The ``.html`` to write (atomically: an interrupted write leaves an
        earlier file there untouched).
    theme : {"dark", "light"}
        The film's colours.
    log_z : bool
        Log-scaled height, for needle-like minima.
    title : str, optional
        Default: the film's title, made from the run's settings.
    command : str, optional
        The command line that asked for it (the CLI passes it), kept in the provenance.

    Returns
    -------
    ViewerPage
        The file written: its path and what its bytes are made of; in Jupyter it shows the viewer.

    Examples
    --------
    >>> import lossfilm  # doctest: +SKIP
    >>> page = lossfilm.view(landscape, "landscape.html", theme="light")  # doctest: +SKIP
    >>> print(page)  # doctest: +SKIP
    landscape.html: 1.86 MB (plotly.js 1.75 MB, landscape data 0.09 MB, viewer script 0.02 MB, ...)
    """
    checked = check_values(VIEW_OPTIONS, dict(theme=theme, log_z=log_z, title=title), owner="view()")
    theme, log_z, title = checked["theme"], checked["log_z"], checked["title"]
    PAGE.check(path)
    if isinstance(landscape, (str, os.PathLike)):
        LANDSCAPE_PATH.check(landscape)
    check_writable(path)
    land, landscape_path = _landscape(landscape)
    check_distinct([path], inputs=[landscape_path] if landscape_path is not None else [])
    settings = {"theme": theme, "log_z": bool(log_z), "title": title}
    made = for_output({"lossfilm": __version__, "call": "view", "command": command, "scene": None,
                       "settings": settings, **made_from(land, landscape_path),
                       "renderer": {"plotly.js": PLOTLY_VERSION}}, path)
    text, parts = page_html(land, theme=theme, log_z=log_z, title=title, provenance=made)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
    return ViewerPage(path=os.fspath(path), parts=parts, html=text)


def page_html(landscape, *, theme="dark", log_z=False, title=None, provenance=None):
    """The viewer page as text, and ``{part: bytes}`` of what it holds.

    Warnings about what the page leaves out (a thinned grid or path) are
    raised as :class:`LossfilmWarning` and shown on the page too.
    """
    THEME.check(theme)  # the film's declaration: one wording
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LossfilmWarning)
        data = viewer_data(landscape, theme=theme, log_z=log_z, title=title)
    notices = [str(w.message) for w in caught if issubclass(w.category, LossfilmWarning)]
    for notice in notices:
        warnings.warn(notice, LossfilmWarning, stacklevel=3)
    data["notices"] = notices
    parts = {
        "provenance": to_text(provenance or {}).replace("<", "\\u003c"),  # NaN allowed: json.loads reads it
        "css": _asset("viewer.css"),
        "plotly": _asset(PLOTLY_BUNDLE),
        "data": _json_in_script(data),
        "viewer": _asset("viewer.js"),
    }
    slots = dict(parts, version=__version__, title=html.escape(data["title"]), theme=theme,
                 plotly_version=PLOTLY_VERSION)
    text = _SLOT.sub(lambda match: slots[match.group(1)], _asset("page.html"))
    sizes = {name: len(value.encode("utf-8")) for name, value in parts.items()}
    sizes["page"] = len(text.encode("utf-8")) - sum(sizes.values())
    return text, sizes


class ViewerPage:
    """A viewer file written: ``path``, ``parts`` (bytes of each part) and, in Jupyter, the viewer itself."""

    def __init__(self, path, parts, html):
        self.path = path
        self.parts = parts
        self._html = html

    @property
    def bytes(self):
        return sum(self.parts.values())

    def __str__(self):
        names = {"plotly": "plotly.js", "data": "landscape data", "viewer": "viewer script", "css": "style",
                 "provenance": "provenance", "page": "page"}
        return f"{self.path}: {_mb(self.bytes)} (" + ", ".join(
            f"{names[k]} {_mb(v)}" for k, v in sorted(self.parts.items(), key=lambda kv: -kv[1])) + ")"

    def __repr__(self):
        return f"ViewerPage({self.path!r}, {self.bytes} bytes)"

    def _repr_html_(self):
        from lossfilm.viewer.notebook import iframe

        return iframe(self._html)


def _mb(n):
    return f"{n / 1e6:.2f} MB" if n >= 10_000 else f"{n / 1e3:.1f} kB"


def _json_in_script(value):
    """JSON safe inside a ``<script>`` element: no ``<`` at all (so no ``</script>``), NaN never written."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str).replace("<", "\\u003c")


def _asset(name):
    return resources.files("lossfilm.viewer").joinpath(name).read_text(encoding="utf-8")


def _landscape(landscape):
    """``(Landscape, its file's path or None)`` from a Landscape or the path of its file."""
    if isinstance(landscape, (str, os.PathLike)):
        if not Path(landscape).is_file():
            raise ArtifactError(f"{landscape}: no such landscape file; make one with `lossfilm landscape` "
                                "or run `lossfilm demo`")
        return Landscape.load(landscape), os.fspath(landscape)
    if not isinstance(landscape, Landscape):
        raise ConfigError(f"landscape: expected a Landscape or the path of its .npz file, "
                          f"got {type(landscape).__name__}")
    return landscape, None
