"""The flat layer over the 3-D scene: screen layout, text, text measurement and 2-D marks.

Everything the heads-up display, the legend, the 1-D plot and the markers
draw flat on the screen is made here: text actors (placed in pixels, or
pinned to the screen position of a point of the scene), the width of a text
as the renderer will draw it, and marks (lines, polygons, discs, stars)
given in pixels. Sizes come from :class:`Layout`, as fractions of the
frame, so a film reads the same at 854x480 and at 3840x2160.

Examples
--------
>>> layout = Layout.of(1280, 720)
>>> layout.px(0.028), round(layout.margin, 3)
(20, 25.2)
>>> marker_outline("diamond", 2.0).round(6).tolist()
[[0.0, 2.0], [-1.4, 0.0], [0.0, -2.0], [1.4, 0.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    """Where things go in a frame of this size, and how big text is.

    Text and line sizes are fractions of ``unit``: the frame height, or 0.85
    x the width where that is smaller (portrait frames), so a title never runs
    off a narrow frame. Landscape frames put the scalar bar on the right;
    portrait frames put it across the bottom.

    Examples
    --------
    >>> Layout.of(1920, 1080).unit, Layout.of(720, 1280).unit
    (1080.0, 612.0)
    """

    width: int
    height: int
    unit: float  # pixels that text sizes are fractions of
    frame: tuple  # (left, bottom, right, top) fractions for the surface
    bar_vertical: bool
    bar: tuple  # (x, y, width, height) fractions for the scalar bar

    @classmethod
    def of(cls, width, height):
        unit = float(min(height, 0.85 * width))
        if width >= height:
            return cls(width, height, unit, frame=(0.02, 0.03, 0.87, 0.89), bar_vertical=True,
                       bar=(0.885, 0.2, 0.09, 0.6))
        counters = (4 * 0.028 * unit + 0.035 * unit) / height  # three lines of counters and the margin
        bar_y = counters + 0.02
        return cls(width, height, unit, frame=(0.03, bar_y + 0.12, 0.97, 0.9), bar_vertical=False,
                   bar=(0.12, bar_y, 0.76, 0.09))

    @property
    def margin(self):
        """Pixels between the frame's edges and the text in its corners."""
        return 0.035 * self.unit

    def px(self, fraction):
        """A size in pixels from a fraction of ``unit`` (at least 6 px)."""
        return max(6, int(round(fraction * self.unit)))

    def line_width(self, at_720p):
        """A line width in pixels that looks like ``at_720p`` does at 1280x720."""
        return max(1.0, at_720p * self.unit / 720.0)

    def corner(self, corner, offset=0.0):
        """Where text pinned to ``corner`` ("upper_left", "lower_right", ...) goes, as keywords of :func:`text`.

        ``offset``: pixels further in from the top or bottom edge (a subtitle under the title).
        """
        left, upper = corner.endswith("left"), corner.startswith("upper")
        x = 1.2 * self.margin if left else self.width - 1.2 * self.margin
        y = self.height - self.margin - offset if upper else self.margin
        return {"at": (x, y), "justify": "left" if left else "right", "vertical": "top" if upper else "bottom"}


def text(plotter, words, *, size, color, at=(0.0, 0.0), anchor=None, justify="left", vertical="bottom",
         bold=False, box=None, box_opacity=0.0, name=None):
    """A text actor: at pixel ``at`` of the frame, or ``at`` pixels from where the world point ``anchor`` shows.

    Parameters
    ----------
    plotter : pyvista.Plotter
    words : str
    size : float
        Font size in pixels.
    color : colour
    at : (float, float)
        Pixel position (from the lower-left corner), or the offset from the anchor.
    anchor : vtkCoordinate, optional
        A world point (:func:`world_anchor`): the text follows it on the screen,
        faces the viewer and is drawn over the scene.
    justify, vertical : str
        Which part of the text sits at the position: "left", "center" or
        "right"; "bottom", "center" or "top".
    box : colour, optional
        A translucent box behind the text (legible over any part of the surface), ``box_opacity`` opaque.

    Examples
    --------
    >>> # text(plotter, "start", size=20, color="white", anchor=world_anchor((0, 0, 1)), at=(0, 12))
    """
    import pyvista as pv
    from vtkmodules.vtkRenderingCore import vtkTextActor

    actor = vtkTextActor()
    actor.SetInput(words)
    prop = actor.GetTextProperty()
    prop.SetFontSize(int(round(size)))
    prop.SetColor(pv.Color(color).float_rgb)
    prop.SetBold(bold)
    prop.SetFontFamilyToArial()
    if box is not None and box_opacity > 0:
        prop.SetBackgroundColor(pv.Color(box).float_rgb)
        prop.SetBackgroundOpacity(box_opacity)
    {"left": prop.SetJustificationToLeft, "center": prop.SetJustificationToCentered,
     "right": prop.SetJustificationToRight}[justify]()
    {"bottom": prop.SetVerticalJustificationToBottom, "center": prop.SetVerticalJustificationToCentered,
     "top": prop.SetVerticalJustificationToTop}[vertical]()
    if anchor is None:
        actor.SetPosition(float(at[0]), float(at[1]))
    else:
        _pin(actor, anchor, at)
    plotter.add_actor(actor, name=name, reset_camera=False, pickable=False)
    return actor


def text_width(plotter, words, size):
    """Width in pixels of ``words`` in Arial at ``size`` pixels, measured as the renderer will draw it."""
    from vtkmodules.vtkRenderingCore import vtkTextProperty, vtkTextRenderer
    import vtkmodules.vtkRenderingFreeType  # noqa: F401  (registers the FreeType text renderer)

    prop = vtkTextProperty()
    prop.SetFontSize(int(size))
    prop.SetFontFamilyToArial()
    box = [0, 0, 0, 0]
    vtkTextRenderer().GetBoundingBox(prop, words, box, plotter.ren_win.GetDPI())
    return float(box[1] - box[0])


def world_anchor(point):
    """A screen anchor that follows the world point ``point`` (3,) as the camera moves."""
    from vtkmodules.vtkRenderingCore import vtkCoordinate

    anchor = vtkCoordinate()
    anchor.SetCoordinateSystemToWorld()
    anchor.SetValue(*map(float, point))
    return anchor


def mark(plotter, shape, color, *, line_width=None, opacity=1.0, anchor=None, name=None):
    """A flat mark: ``shape`` (PolyData in pixels, e.g. from :func:`polyline_2d`) drawn over the scene.

    With an ``anchor`` (:func:`world_anchor`) the pixels count from where its
    world point shows; without, from the frame's lower-left corner.
    """
    import pyvista as pv
    from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D

    mapper = vtkPolyDataMapper2D()
    mapper.SetInputData(shape)
    actor = vtkActor2D()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColor(pv.Color(color).float_rgb)
    if line_width is not None:
        prop.SetLineWidth(float(line_width))
    prop.SetOpacity(opacity)
    actor._base_opacity = opacity  # what fade() scales
    if anchor is not None:
        _pin(actor, anchor, (0.0, 0.0))
    plotter.add_actor(actor, name=name, reset_camera=False, pickable=False)
    return actor


def fade(actors, opacity):
    """Set the opacity of text and marks together, each mark relative to the opacity it was drawn with."""
    opacity = float(np.clip(opacity, 0.0, 1.0))
    for actor in actors:
        prop = actor.GetTextProperty() if hasattr(actor, "GetTextProperty") else actor.GetProperty()
        prop.SetOpacity(opacity * getattr(actor, "_base_opacity", 1.0))
        actor.SetVisibility(opacity > 0)


def _pin(actor, anchor, offset):
    coord = actor.GetPositionCoordinate()
    coord.SetCoordinateSystemToDisplay()
    coord.SetValue(float(offset[0]), float(offset[1]))
    coord.SetReferenceCoordinate(anchor)


# shapes in pixels ---------------------------------------------------------------------

def polyline_2d(points):
    """A polyline through pixel ``points`` (n, 2), broken where a point is NaN."""
    import pyvista as pv

    points = np.asarray(points, dtype=float)
    ok = np.isfinite(points).all(axis=1)
    runs, start = [], None
    for i, good in enumerate(np.append(ok, False)):
        if good and start is None:
            start = i
        elif not good and start is not None:
            if i - start >= 2:
                runs.append(np.arange(start, i))
            start = None
    xyz = np.column_stack([np.nan_to_num(points), np.zeros(len(points))])
    if not runs:
        return pv.PolyData(xyz[:1] if len(xyz) else np.zeros((1, 3)))
    lines = np.concatenate([np.concatenate([[len(r)], r]) for r in runs])
    return pv.PolyData(xyz, lines=lines)


def polygon_2d(corners):
    """A filled polygon through pixel ``corners`` (n, 2)."""
    import pyvista as pv

    corners = np.asarray(corners, dtype=float)
    return pv.PolyData(np.column_stack([corners, np.zeros(len(corners))]),
                       faces=np.concatenate([[len(corners)], np.arange(len(corners))]))


def disc_2d(center, radius, *, sides, rim_line=False):
    """A filled disc of ``radius`` pixels; ``rim_line`` adds a one-pixel line around it."""
    from vtkmodules.vtkFiltersSources import vtkRegularPolygonSource

    source = vtkRegularPolygonSource()
    source.SetNumberOfSides(sides)
    source.SetRadius(float(radius))
    source.SetCenter(float(center[0]), float(center[1]), 0.0)
    source.SetGeneratePolygon(True)
    source.SetGeneratePolyline(rim_line)
    source.Update()
    return source.GetOutput()


def shape_2d(shape, radius, center=(0.0, 0.0)):
    """A marker shape of :func:`marker_outline` around pixel ``center``: its fill and its outline (PolyData each)."""
    import pyvista as pv

    center = np.asarray(center, dtype=float)
    rim = marker_outline(shape, radius) + center  # (n, 2), a tip straight up
    n = len(rim)
    points = np.column_stack([np.vstack([center, rim]), np.zeros(n + 1)])  # (n+1, 3): the centre, then the rim
    fan = np.hstack([np.full((n, 1), 3), np.zeros((n, 1), int), 1 + np.arange(n)[:, None],
                     1 + (np.arange(n)[:, None] + 1) % n])
    edge = np.concatenate([[n + 1], 1 + np.arange(n), [1]])
    return pv.PolyData(points, faces=fan.ravel()), pv.PolyData(points, lines=edge)


def marker_outline(shape, radius):
    """Corners (n, 2) of a marker shape, a tip straight up: ``"star"`` (a minimum) or ``"diamond"``.

    Examples
    --------
    >>> marker_outline("star", 1.0).shape
    (10, 2)
    """
    if shape == "diamond":
        return np.array([[0.0, radius], [-0.7 * radius, 0.0], [0.0, -radius], [0.7 * radius, 0.0]])
    return star_outline(radius)[:, ::-1]


def star_outline(radius, inner=0.45, points=5):
    """The corners of a star (2 * points, 2), outer and inner in turn, the first pointing along +x.

    Examples
    --------
    >>> corners = star_outline(1.0)
    >>> corners.shape, np.round(corners[0], 6).tolist()
    ((10, 2), [1.0, 0.0])
    """
    angle = np.arange(2 * points) * np.pi / points  # (2p,)
    r = np.where(np.arange(2 * points) % 2 == 0, radius, inner * radius)
    return np.column_stack([r * np.cos(angle), r * np.sin(angle)])


def to_display(renderer, point):
    """Pixel coordinates (x, y) where the world point ``point`` shows in this renderer."""
    renderer.SetWorldPoint(*map(float, point), 1.0)
    renderer.WorldToDisplay()
    x, y, _ = renderer.GetDisplayPoint()
    return np.array([x, y])
