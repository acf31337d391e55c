"""The race's legend and loss readout: one row per path, its colour, its name and its loss now.

The rows sit in the lower-left corner, where a single-path film shows its
counters; above them a line with the shared clock (the optimizer step).
Each row is a colour swatch (a disc, like the ball), the path's name and
its loss, updated in place by :meth:`Legend.show` as the balls move. A path
that has reached its last snapshot says so (``done``).

All sizes are fractions of the frame's unit (:class:`lossfilm.render.screen.overlay.Layout`),
as for the rest of the heads-up text.

Examples
--------
>>> legend_rows(["sgd", "adam"], [0.5, 0.0123], [False, True])
[('sgd', '0.5', ''), ('adam', '0.0123', 'done')]
"""

from __future__ import annotations

import math

import numpy as np

from lossfilm.render.overlays.hud import format_loss
from lossfilm.render.screen.overlay import Layout, disc_2d, fade, mark, shape_2d, text, text_width
from lossfilm.render.screen.placement import mark_box, placer_for, text_box


def legend_rows(names, losses, finished):
    """The text of each row: (name, loss, note).

    Examples
    --------
    >>> legend_rows(["momentum"], [float("nan")], [False])
    [('momentum', 'n/a', '')]
    """
    return [(str(name), format_loss(loss), "done" if done else "")
            for name, loss, done in zip(names, losses, finished)]


def row_loss(state):
    """The loss a row shows for a :class:`lossfilm.render.elements.path_tube.PathState`: the true loss, else the on-plane one."""
    return state.loss_true if math.isfinite(state.loss_true) else state.loss_plane


class Legend:
    """The legend and per-path readout in the lower-left corner.

    Parameters
    ----------
    plotter : pyvista.Plotter
    theme : lossfilm.render.elements.theme.Theme
    names : sequence of str
        One per path, in path order (top to bottom).
    colors : sequence of colours
        One per path.
    quantity : str
        What the numbers are ("loss", "f"): the header says it.
    clock : str
        The name of the shared clock in the header ("step").
    keys : sequence of (label, fill, outline) or (label, fill, outline, shape)
        Rows under the paths explaining a marker, drawn as a small star or
        another shape of :func:`lossfilm.render.screen.overlay.marker_outline`
        (e.g. ``("known minimum", "white", "black")``).
    """

    def __init__(self, plotter, theme, names, colors, *, quantity="loss", clock="step", keys=()):
        self.plotter = plotter
        self.theme = theme
        self.names = [str(n) for n in names]
        self.colors = list(colors)
        self.quantity = quantity
        self.clock = clock
        layout = Layout.of(*plotter.window_size)
        self.font = layout.px(theme.text_size)
        margin = layout.margin
        line = 1.4 * self.font
        left = 1.2 * margin
        radius = 0.36 * self.font
        gap = 0.9 * self.font
        name_x = left + 3.0 * radius
        name_width = max([text_width(plotter, n, self.font) for n in self.names] + [0.0])
        loss_x = name_x + name_width + gap
        note_x = loss_x + text_width(plotter, "8.88e-05", self.font) + gap
        self.actors = []  # every actor, for set_opacity
        self.name_actors, self.loss_actors, self.note_actors, self.swatches = [], [], [], []
        count = len(self.names) + len(keys)
        self.key_actors = []
        for k, key in enumerate(keys):
            label, fill, outline = key[:3]
            shape = key[3] if len(key) > 3 else "star"
            y = margin + (len(keys) - 1 - k) * line
            star = shape_2d(shape, 1.25 * radius, (left + radius, y + 0.5 * self.font))
            for part, rgb in zip(star, (fill, outline)):
                self._keep(mark(plotter, part, rgb, line_width=max(1.0, 0.08 * self.font)))
            self.key_actors.append(self._text(label, name_x, y, theme.text_dim, name=f"legend_key_{k}"))
        for k, (name, color) in enumerate(zip(self.names, self.colors)):
            y = margin + (count - 1 - k) * line  # the first path on top
            middle = y + 0.5 * self.font
            self.swatches.append(self._disc(left + radius, middle, radius, color))
            self.name_actors.append(self._text(name, name_x, y, theme.text, name=f"legend_name_{k}"))
            self.loss_actors.append(self._text(" ", loss_x, y, theme.text, name=f"legend_loss_{k}"))
            self.note_actors.append(self._text(" ", note_x, y, theme.text_dim, name=f"legend_note_{k}"))
        top = margin + count * line + 0.15 * self.font
        self.header = self._text(" ", left, top, theme.text, name="legend_header")
        self.column = self._text(quantity, loss_x, top, theme.text_dim, name="legend_column")
        placer_for(plotter).blocks.append(self)  # labels keep clear of the legend as a whole

    def screen_box(self, renderer):
        """The box ``(x0, x1, y0, y1)`` in pixels around every visible part of the legend, or None."""
        boxes = [text_box(actor, renderer) if hasattr(actor, "GetTextProperty") else mark_box(actor, renderer)
                 for actor in self.actors if actor.GetVisibility()]
        boxes = np.array([box for box in boxes if box is not None])
        if not len(boxes):
            return None
        return np.array([boxes[:, 0].min(), boxes[:, 1].max(), boxes[:, 2].min(), boxes[:, 3].max()])

    def show(self, step, states, finished):
        """Update the header to ``step`` and each row to its path's state.

        Parameters
        ----------
        step : float
            The shared clock.
        states : sequence of lossfilm.render.elements.path_tube.PathState
            One per path.
        finished : sequence of bool
            Whether each path has reached its end.
        """
        self.header.SetInput(f"{self.clock} {int(round(step)):,}")
        rows = legend_rows(self.names, [row_loss(s) for s in states], finished)
        for (_, loss, note), loss_actor, note_actor in zip(rows, self.loss_actors, self.note_actors):
            loss_actor.SetInput(loss)
            note_actor.SetInput(note or " ")

    def set_opacity(self, opacity):
        fade(self.actors, opacity)

    def _keep(self, actor):
        self.actors.append(actor)
        return actor

    def _text(self, words, x, y, color, *, name):
        return self._keep(text(self.plotter, words, size=self.font, color=color, at=(x, y), name=name))

    def _disc(self, x, y, radius, color):
        """A filled disc with a thin rim in the text colour (a yellow disc on white still shows)."""
        return [self._keep(mark(self.plotter, disc_2d((x, y), r, sides=48), rgb))
                for r, rgb in ((1.18 * radius, self.theme.text_dim), (radius, color))]
