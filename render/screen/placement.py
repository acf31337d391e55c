"""Labels that move so that nothing collides: each frame, a label takes the first free place around its point.

A label that follows a point of the scene (an axis label beside the floor,
"start" over its ring) is placed afresh before every render: its candidate
places are tried in order of preference, and it takes the first whose box
stays inside the frame and clear of what is already on screen: every other
text, the scalar bar, the flat marks (legend swatches, stars, rings), the
insets' panels, the balls and the path's tube. The labels are placed one
after another, each then counting as an obstacle for the next.

One :class:`Placer` serves a plotter (:func:`placer_for`); the elements
that the labels must avoid register with it (``balls``, ``paths``,
``panels``), the texts and marks it finds itself.

Examples
--------
>>> boxes_meet(np.array([0, 10, 0, 10]), np.array([5, 15, 5, 15])), boxes_meet(np.array([0, 10, 0, 10]),
...                                                                               np.array([11, 20, 0, 10]))
(True, False)
>>> around(np.array([100.0, 100.0]), 10.0, 20.0, 8.0, np.array([0.0, 1.0]))[:2].tolist()  # box above the point
[90.0, 110.0]
"""

from __future__ import annotations

import numpy as np

GAP = 3.0  # pixels between a placed label and the nearest obstacle


def boxes_meet(a, b, slack=0.0):
    """Whether the boxes ``(x0, x1, y0, y1)`` overlap by more than ``slack`` pixels."""
    return bool(a[0] + slack < b[1] and b[0] + slack < a[1] and a[2] + slack < b[3] and b[2] + slack < a[3])


def points_in_box(points, box):
    """Whether any of the pixel ``points`` (n, 2) lies inside ``box``."""
    if not len(points):
        return False
    return bool(((points[:, 0] > box[0]) & (points[:, 0] < box[1])
                 & (points[:, 1] > box[2]) & (points[:, 1] < box[3])).any())


def polygon_meets_box(polygon, box):
    """Whether the convex ``polygon`` (n, 2) and ``box`` overlap (separating axes)."""
    corners = np.array([(box[0], box[2]), (box[1], box[2]), (box[1], box[3]), (box[0], box[3])])
    for shape in (polygon, corners):
        for k in range(len(shape)):
            edge = shape[(k + 1) % len(shape)] - shape[k]
            axis = np.array([-edge[1], edge[0]])
            a, b = polygon @ axis, corners @ axis
            if a.max() < b.min() or b.max() < a.min():
                return False
    return True


def around(point, distance, width, height, direction):
    """The box ``(x0, x1, y0, y1)`` of a ``width`` x ``height`` label ``distance`` pixels from ``point``
    along the unit ``direction``, its near side facing the point."""
    reach = distance + 0.5 * abs(width * direction[0]) + 0.5 * abs(height * direction[1])
    center = point + reach * direction
    return np.array([center[0] - 0.5 * width, center[0] + 0.5 * width,
                     center[1] - 0.5 * height, center[1] + 0.5 * height])


def project(renderer, points):
    """Display pixels (n, 2) where the world ``points`` (n, 3) show in ``renderer`` (NaN behind the eye)."""
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    width, height = renderer.GetSize()  # the renderer's own pixels
    left, bottom = renderer.GetOrigin()
    matrix = renderer.GetActiveCamera().GetCompositeProjectionTransformMatrix(
        renderer.GetTiledAspectRatio(), -1.0, 1.0)
    m = np.array([[matrix.GetElement(i, j) for j in range(4)] for i in range(4)])
    clip = np.column_stack([points, np.ones(len(points))]) @ m.T  # (n, 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        ndc = clip[:, :2] / np.where(clip[:, 3:4] > 1e-12, clip[:, 3:4], np.nan)  # (n, 2) in [-1, 1]
    return np.column_stack([left + (ndc[:, 0] + 1) / 2 * width, bottom + (ndc[:, 1] + 1) / 2 * height])


class Placer:
    """Places the labels of one plotter before every render (see the module's docstring)."""

    def __init__(self, plotter):
        self.plotter = plotter
        self.labels = []  # Label, in the order they are placed
        self.balls = []  # things with .actor (visible?), .center and .radius (a Ball)
        self.paths = []  # things with .actor and .screen_points(renderer) (a Trail)
        self.rings = []  # things with .screen_box(renderer), or None when hidden (a Marker's ring)
        self.blocks = []  # things with .screen_box(renderer) that read as one block of words (a legend)
        self.surface_points = None  # world points (n, 3) of the drawn surface, for labels that keep off it
        self.floor = None  # world corners (4, 3) of the floor, for labels that keep off it
        plotter.renderer.AddObserver("StartEvent", self._place, -1.0)  # after the elements' own observers

    def add(self, label):
        self.labels.append(label)
        return label

    def _place(self, renderer, _event):
        mine = {id(label.actor) for label in self.labels}
        texts, boxes = self._fixed_boxes(renderer, mine)
        points = [path.screen_points(renderer) for path in self.paths if path.actor.GetVisibility()]
        for ball in self.balls:
            if ball.actor.GetVisibility():
                c, top = project(renderer, [ball.center, ball.center + ball.radius * np.array(
                    renderer.GetActiveCamera().GetViewUp())])
                r = float(np.linalg.norm(top - c))
                boxes.append(np.array([c[0] - r, c[0] + r, c[1] - r, c[1] + r]))
        for ring in self.rings:
            box = ring.screen_box(renderer)
            if box is not None:
                boxes.append(box)
        for block in self.blocks:  # a label keeps a line off the whole block, not only off each of its words
            box = block.screen_box(renderer)
            if box is not None:
                texts.append(box)
        path_points = np.concatenate(points) if points else np.zeros((0, 2))
        surface = (project(renderer, self.surface_points) if self.surface_points is not None
                   else np.zeros((0, 2)))
        floor = project(renderer, self.floor) if self.floor is not None else None
        width, height = renderer.GetSize()
        for label in self.labels:
            if not label.wanted():
                continue
            placed = label.place(renderer, (texts, boxes), path_points, surface, floor, (width, height))
            if placed is not None:
                texts.append(placed)

    def _fixed_boxes(self, renderer, mine):
        """Boxes of every visible text and the scalar bar, and of the flat marks, not placed here."""
        texts, boxes = [], []
        props = renderer.GetViewProps()
        for i in range(props.GetNumberOfItems()):
            prop = props.GetItemAsObject(i)
            if id(prop) in mine or not prop.GetVisibility():
                continue
            kind = type(prop).__name__
            if kind.endswith("TextActor"):
                if prop.GetInput() and prop.GetInput().strip() and prop.GetTextProperty().GetOpacity() > 0.05:
                    texts.append(text_box(prop, renderer))
            elif kind.endswith("ScalarBarActor"):
                low = prop.GetPositionCoordinate().GetComputedDisplayValue(renderer)
                high = prop.GetPosition2Coordinate().GetComputedDisplayValue(renderer)
                texts.append(np.array([low[0], high[0], low[1], high[1]], dtype=float))
            elif kind == "vtkActor2D" and prop.GetProperty().GetOpacity() > 0.05:
                box = mark_box(prop, renderer)
                if box is not None:
                    boxes.append(box)
        return texts, boxes


def mark_box(actor, renderer):
    """The box in pixels of a flat mark (a vtkActor2D of lines or polygons), or None if it draws nothing.

    Only the points its cells use count: a broken polyline keeps placeholder points at the origin.
    """
    from vtkmodules.util.numpy_support import vtk_to_numpy

    data = actor.GetMapper().GetInput()
    if data is None or not data.GetNumberOfPoints():
        return None
    used = [vtk_to_numpy(cells.GetConnectivityArray()) for cells in (data.GetLines(), data.GetPolys())
            if cells.GetNumberOfCells()]
    if not used:
        return None
    points = vtk_to_numpy(data.GetPoints().GetData())[np.unique(np.concatenate(used)), :2]
    x, y = actor.GetPositionCoordinate().GetComputedDisplayValue(renderer)
    return np.array([points[:, 0].min() + x, points[:, 0].max() + x, points[:, 1].min() + y,
                     points[:, 1].max() + y])


def text_box(actor, renderer):
    """The box ``(x0, x1, y0, y1)`` in pixels of a text actor as it will be drawn."""
    box = [0.0] * 4
    actor.GetBoundingBox(renderer, box)  # around the actor's position
    x, y = actor.GetPositionCoordinate().GetComputedDisplayValue(renderer)
    return np.array(box, dtype=float) + [x, x, y, y]


class Label:
    """A text actor pinned to a world point, placed each frame at the first free candidate place.

    Parameters
    ----------
    actor : vtkTextActor
        Pinned to ``point`` (its position coordinate refers to the point's display position).
    point : (3,) array
        The world point it labels.
    directions : callable
        ``directions(renderer, at) -> list of unit (2,) vectors``, in order of preference.
    distances : sequence of float
        Pixels from the point to the label's near side, tried in turn for each direction.
    keep_off : set of str
        What else to keep off besides texts, marks, balls and the path: ``"surface"``, ``"floor"``.
    visible : callable, optional
        Whether the label shows this frame (else it is left alone and placed nowhere).
    margin : float
        Pixels the label keeps from the frame's edges.
    turn : float
        How many pixels further away a place in the first direction may be and still be preferred to one in the
        last: places are tried nearest first, each direction's distance raised by its share of ``turn``.
    """

    def __init__(self, actor, point, directions, distances, *, keep_off=(), visible=None, margin=0.0, turn=0.0):
        self.actor = actor
        self.point = np.asarray(point, dtype=float)
        self.directions = directions
        self.distances = list(distances)
        self.keep_off = set(keep_off)
        self.visible = visible
        self.margin = margin
        self.turn = float(turn)
        self.words = None  # the text as given, read at the first placement
        prop = actor.GetTextProperty()
        prop.SetJustificationToLeft()
        prop.SetVerticalJustificationToBottom()

    def wanted(self):
        return self.actor.GetVisibility() and (self.visible is None or self.visible())

    def place(self, renderer, boxes, path_points, surface, floor, size):
        at = project(renderer, self.point[None, :])[0]
        if not np.isfinite(at).all():
            return None
        if self.words is None:
            self.words = self.actor.GetInput()
        # a long label that finds no free place on one line tries again on two
        wordings = [self.words] + ([_two_lines(self.words)] if " " in self.words.strip() else [])
        best = None
        for nearby in (True, False):  # around the point first, on one line or two; then further afield
            for words in wordings:
                self.actor.SetInput(words)
                local = [0.0] * 4
                self.actor.GetBoundingBox(renderer, local)
                width, height = local[1] - local[0], local[3] - local[2]
                for box in self._candidates(renderer, at, width, height, size, nearby):
                    score = self._score(box, boxes, path_points, surface, floor, size, self.keep_off)
                    if score == 0:
                        return self._put(box, local, at)
                    if best is None or score < best[0]:
                        best = (score, box, local, words)
        if best is None:
            return None
        self.actor.SetInput(best[3])
        return self._put(best[1], best[2], at)

    def _candidates(self, renderer, at, width, height, size, nearby):
        """The label's boxes in order of preference: around its point (``nearby``), else on a grid over the
        frame within a quarter of its width of the point, nearest first (a crowded frame)."""
        if nearby:
            # near and preferred first: a turn from the first direction to the last costs ``turn`` pixels
            directions = self.directions(renderer, at)
            ranks = np.linspace(0.0, 1.0, len(directions))
            choices = sorted((distance + self.turn * rank, k, distance)
                             for k, rank in enumerate(ranks) for distance in self.distances)
            for _, k, distance in choices:
                yield around(at, distance, width, height, directions[k])
            return
        xs = np.linspace(self.margin, size[0] - self.margin - width, 32)
        ys = np.linspace(self.margin, size[1] - self.margin - height, 24)
        corners = np.array([(x, y) for x in xs for y in ys])  # (768, 2) lower-left corners
        middles = corners + [0.5 * width, 0.5 * height]
        reach = np.hypot(*(middles - at).T)
        for k in np.argsort(reach):
            if reach[k] > 0.25 * size[0] + 0.5 * width:
                return
            x, y = corners[k]
            yield np.array([x, x + width, y, y + height])

    def _score(self, box, boxes, path_points, surface, floor, size, strict):
        """How badly ``box`` collides (0: not at all); running off the frame is worst."""
        width, height = size
        m = self.margin
        if box[0] < m or box[1] > width - m or box[2] < m or box[3] > height - m:
            return 100
        padded = box + [-GAP, GAP, -GAP, GAP]
        # from other texts and marks a label keeps a line away, or it reads as part of them (a legend row)
        # from other words a label keeps a line away, or it reads as part of them (a legend row, the counters);
        # words side by side read as one line, so further apart across than up and down
        texts, marks = boxes
        line = max(GAP, (box[3] - box[2]) / max(1, self.actor.GetInput().count("\n") + 1))
        roomy = box + [-2.5 * line, 2.5 * line, -line, line]
        score = 10 * sum(boxes_meet(roomy, other) for other in texts)
        score += 10 * sum(boxes_meet(padded, other) for other in marks)
        score += 10 * points_in_box(path_points, padded)
        if "floor" in strict and floor is not None and polygon_meets_box(floor, padded):
            score += 5
        if "surface" in strict and points_in_box(surface, padded):
            score += 1
        return score

    def _put(self, box, local, at):
        # the actor's position is an offset from the point's display position; the text's box starts at
        # local[0], local[2] from that position
        self.actor.GetPositionCoordinate().SetValue(box[0] - at[0] - local[0], box[2] - at[1] - local[2])
        return box


def _two_lines(words):
    """``words`` broken at the space nearest its middle.

    Examples
    --------
    >>> _two_lines(" PC1, uncentred (71.2% of sq. offsets) ")
    ' PC1, uncentred (71.2% \\n of sq. offsets) '
    """
    inner = words.strip()
    spaces = [k for k, c in enumerate(inner) if c == " "]
    cut = min(spaces, key=lambda k: abs(k - len(inner) / 2))
    lead, trail = words[: len(words) - len(words.lstrip())], words[len(words.rstrip()):]
    return f"{lead}{inner[:cut]}{trail}\n{lead}{inner[cut + 1:]}{trail}"


def placer_for(plotter):
    """The plotter's :class:`Placer`, made on first use."""
    placer = getattr(plotter, "_lossfilm_placer", None)
    if placer is None:
        placer = Placer(plotter)
        plotter._lossfilm_placer = placer
    return placer


def compass(count=16, first=90.0):
    """``count`` unit directions around the circle, starting at ``first`` degrees and alternating outward
    (90, 112.5, 67.5, 135, 45, ...): above first, then ever further to the sides, below last.

    Examples
    --------
    >>> np.round(compass(4), 6).tolist()
    [[0.0, 1.0], [-1.0, 0.0], [1.0, 0.0], [-0.0, -1.0]]
    """
    step = 360.0 / count
    order = [0.0]
    for k in range(1, count // 2 + 1):
        order += [k * step, -k * step] if k * step < 180 else [k * step]
    angles = np.radians(first + np.array(order[:count]))
    return [np.array([np.cos(a), np.sin(a)]) for a in angles]
