"""Heads-up text: the title, the run's counters, the axis labels and the scalar bar.

All sizes are fractions of the frame (:class:`lossfilm.render.screen.overlay.Layout`),
so the same film reads the same at 854x480 and at 3840x2160. The counters
(step, epoch, loss, accuracy) are one text actor updated in place by
:meth:`Hud.show`.

Examples
--------
>>> film_title({"optimizer": "sgd", "lr": 0.1, "data": "digits", "hidden": [128]})
'SGD (lr 0.1) on digits, 64-128-10'
"""

from __future__ import annotations

import math

import numpy as np

from lossfilm.render.elements.camera import sight_blocked
from lossfilm.render.screen.overlay import Layout, fade, text, world_anchor
from lossfilm.render.screen.placement import Label, placer_for, project
from lossfilm.render.elements.surface import contour_levels

# input width of the known data sets: titles show the whole architecture
_INPUTS = {"digits": 64, "mnist": 784}


def find_setting(settings, *names):
    """The first of ``names`` found in ``settings`` or in a dict nested in it."""
    if not isinstance(settings, dict):
        return None
    for name in names:
        if settings.get(name) not in (None, ""):
            return settings[name]
    for value in settings.values():
        found = find_setting(value, *names) if isinstance(value, dict) else None
        if found is not None:
            return found
    return None


def film_title(settings):
    """A one-line title from the run's settings, e.g. ``"SGD (lr 0.1) on digits, 64-128-10"``.

    Missing settings are left out; with none at all the title is generic.

    Examples
    --------
    >>> film_title({})
    'The training run on its loss landscape'
    """
    optimizer = find_setting(settings, "optimizer")
    lr = find_setting(settings, "lr", "learning_rate")
    data = find_setting(settings, "data", "dataset")
    sizes = find_setting(settings, "sizes", "layer_sizes")
    hidden = find_setting(settings, "hidden")
    name = str(optimizer).upper() if optimizer else "Training"
    if optimizer and lr is not None:
        name += f" (lr {lr:g})" if isinstance(lr, (int, float)) else f" (lr {lr})"
    parts = [name]
    data_name = None
    if data:
        data_name = str(data).rstrip("/").split("/")[-1]
        parts[0] += f" on {data_name}"
    if sizes:
        parts.append("-".join(str(int(s)) for s in sizes))
    elif hidden:
        hidden = [hidden] if isinstance(hidden, (int, float)) else list(hidden)
        inputs = _INPUTS.get(str(data_name).lower())
        layers = ([inputs] if inputs else []) + [int(h) for h in hidden] + ([10] if inputs else [])
        parts.append("-".join(str(s) for s in layers) if inputs else f"hidden {'-'.join(map(str, layers))}")
    if len(parts) == 1 and not optimizer and not data:
        return "The training run on its loss landscape"
    return ", ".join(parts)


def format_loss(value):
    """Loss with 3 significant digits, tiny values in scientific notation.

    Examples
    --------
    >>> format_loss(0.23456), format_loss(2.3e-5), format_loss(float("nan")), format_loss(4.2e300)
    ('0.235', '2.30e-05', 'n/a', '4.20e+300')
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    if value != 0 and abs(value) < 1e-3 or abs(value) >= 1e6:
        return f"{value:.2e}"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def hud_lines(state, show_plane=True, accuracy_label="accuracy"):
    """The counter lines for one path state (a :class:`lossfilm.render.elements.path_tube.PathState`).

    The on-plane loss (what the ball's height shows) is labelled beside the
    true loss when they differ by more than 2%.

    Examples
    --------
    >>> from lossfilm.render.elements.path_tube import PathState
    >>> hud_lines(PathState(index=0, step=1200, epoch=3.25, loss_true=0.5, loss_plane=0.4, accuracy=0.9))
    ['step 1,200   epoch 3.25', 'loss 0.5   (on plane 0.4)', 'accuracy 90.0%']
    >>> hud_lines(PathState(index=0, step=25.4, epoch=25.0, loss_true=0.5, loss_plane=0.5, accuracy=float("nan"),
    ...                     step_is_epoch=True))
    ['step 25 = epoch 25', 'loss 0.5']
    """
    first = f"step {int(round(state.step)):,}"
    if state.step_is_epoch and math.isfinite(state.epoch):  # full batch: a fraction of an epoch means nothing
        first += f" = epoch {int(round(state.epoch)):,}"
    elif math.isfinite(state.epoch):
        first += f"   epoch {state.epoch:.2f}"
    loss = f"loss {format_loss(state.loss_true)}"
    differs = (math.isfinite(state.loss_plane) and math.isfinite(state.loss_true)
               and abs(state.loss_plane - state.loss_true) > 0.02 * max(abs(state.loss_true), 1e-12))
    if show_plane and differs:
        loss += f"   (on plane {format_loss(state.loss_plane)})"
    elif not math.isfinite(state.loss_true):
        loss = f"loss on plane {format_loss(state.loss_plane)}"
    lines = [first, loss]
    if math.isfinite(state.accuracy):
        lines.append(f"{accuracy_label} {100 * state.accuracy:.1f}%")
    return lines


def tick_decimals(ticks):
    """The fewest decimals that print every tick exactly (0.25 needs 2, 0.5 needs 1).

    Examples
    --------
    >>> tick_decimals([0.0, 0.25, 0.5]), tick_decimals([1.0, 2.0]), tick_decimals([-1.0, -0.5])
    (2, 0, 1)
    """
    step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 1.0
    for decimals in range(7):
        if all(abs(round(t, decimals) - t) <= 1e-6 * step for t in ticks):
            return decimals
    return 6


class Hud:
    """The film's text overlay: title, counters, scalar bar and axis labels.

    Parameters
    ----------
    plotter : pyvista.Plotter
    theme : lossfilm.render.elements.theme.Theme
    title : str
        Empty for none.
    subtitle : str
    accuracy_label : str
        What the counters call the accuracy, e.g. "train accuracy" where it
        was measured on the training data.
    """

    def __init__(self, plotter, theme, *, title="", subtitle="", accuracy_label="accuracy"):
        self.plotter = plotter
        self.accuracy_label = accuracy_label
        self.theme = theme
        self.layout = Layout.of(*plotter.window_size)
        self.margin = self.layout.margin
        self.title = self.subtitle = self.counters = None
        self.followers = []  # things with .show(state) that follow the counters (e.g. the 1-D inset)
        self.extra_lines = []  # functions state -> str, each a line below the counters (e.g. lambda_max)
        if title:
            self.title = text(plotter, title, size=self.px(theme.title_size), color=theme.text, bold=True,
                              name="hud_title", **self.layout.corner("upper_left"))
        if subtitle:
            offset = (1.45 * theme.title_size * self.layout.unit) if title else 0.0
            self.subtitle = text(plotter, subtitle, size=self.px(theme.text_size), color=theme.text_dim,
                                 name="hud_subtitle", **self.layout.corner("upper_left", offset))

    def px(self, fraction):
        """A size in pixels from a fraction of the layout's unit (at least 6 px)."""
        return self.layout.px(fraction)

    def add_counters(self):
        """The step/epoch/loss/accuracy block in the lower-left corner."""
        self.counters = text(self.plotter, " ", size=self.px(self.theme.text_size), color=self.theme.text,
                             name="hud_counters", **self.layout.corner("lower_left"))
        self.counters.GetTextProperty().SetLineSpacing(1.25)
        return self.counters

    def show(self, state):
        """Update the counters to a :class:`lossfilm.render.elements.path_tube.PathState`."""
        if self.counters is not None:
            lines = hud_lines(state, accuracy_label=self.accuracy_label) + [line(state) for line in self.extra_lines]
            self.counters.SetInput("\n".join(lines))
        for follower in self.followers:
            follower.show(state)

    def set_opacity(self, opacity):
        fade([actor for actor in (self.title, self.subtitle, self.counters) if actor is not None], opacity)

    def add_scalar_bar(self, surface_actor, relief, title=None):
        """The scalar bar (right, or across the bottom of a portrait frame) with round tick values."""
        import pyvista as pv

        if title is None:
            title = "log10 loss" if relief.log_z else "loss"
        x, y, width, height = self.layout.bar
        vertical = self.layout.bar_vertical
        # across the bottom, VTK stacks the title onto the labels: draw it apart, above the bar's left end
        bar = self.plotter.add_scalar_bar(
            title=title if vertical else " ", mapper=surface_actor.mapper, vertical=vertical, n_labels=5,
            title_font_size=self.px(self.theme.text_size), label_font_size=self.px(0.9 * self.theme.text_size),
            color=self.theme.text, font_family="arial", unconstrained_font_size=True,
            position_x=x, position_y=y, width=width, height=height,
        )
        lo, hi = relief.data_min, relief.data_max
        ticks = contour_levels(lo - 1e-9 * abs(lo), hi + 1e-9 * abs(hi), 5)
        if ticks.size >= 2:
            from vtkmodules.vtkCommonCore import vtkDoubleArray

            values = vtkDoubleArray()
            for tick in ticks:
                values.InsertNextValue(float(tick))
            bar.SetUseCustomLabels(True)
            bar.SetCustomLabels(values)
            big = float(np.max(np.abs(ticks))) >= 1e6
            bar.SetLabelFormat("%.2e" if big else f"%.{tick_decimals(ticks)}f")
        bar.SetBarRatio(0.28 if vertical else 0.3)
        bar.SetTextPad(int(self.px(0.006)))
        bar.SetVerticalTitleSeparation(int(self.px(0.012)))
        bar.GetTitleTextProperty().SetColor(pv.Color(self.theme.text).float_rgb)
        bar.GetLabelTextProperty().SetColor(pv.Color(self.theme.text_dim).float_rgb)
        bar.SetDrawTickLabels(True)
        if vertical:
            bar.SetTextPositionToSucceedScalarBar()  # labels right of the bar
        else:
            bar.SetTextPositionToPrecedeScalarBar()  # labels under the bar
            self.bar_title = text(self.plotter, title, size=self.px(self.theme.text_size), color=self.theme.text,
                                  at=(x * self.layout.width, (y + height) * self.layout.height + 0.2 * self.margin),
                                  name="hud_bar_title")
        return bar

    def add_axis_labels(self, landscape, relief, surface=None):
        """Labels of the plane's axes beside the floor's front edges, clear of everything else on screen.

        Each label belongs outside the middle of its edge of the floor. Before
        every render it takes the first free place going out from the floor's
        centre through that point (:mod:`lossfilm.render.screen.placement`): off the floor
        and its contour lines, off the surface where there is room, and never
        over another text, the legend, the path or a ball. A label behind the
        ``surface`` (a :class:`lossfilm.render.elements.surface.Surface`) is hidden.
        """
        a, b = landscape.alphas, landscape.betas
        xmid, ymid = 0.5 * (a.min() + a.max()), 0.5 * (b.min() + b.max())
        pad = 0.05 * max(np.ptp(a), np.ptp(b))
        floor = relief.floor_z
        size = self.px(self.theme.label_size)
        center = np.array([xmid, ymid, floor])
        anchors = [np.array([xmid, b.min() - pad, floor]), np.array([a.min() - pad, ymid, floor])]
        self.axis_labels = [
            text(self.plotter, f" {landscape.axis_label(axis)} ", size=size, color=self.theme.text_dim,
                 anchor=world_anchor(anchor), name=f"axis_label_{axis}")
            for axis, anchor in enumerate(anchors)
        ]
        placer = placer_for(self.plotter)
        if surface is not None:
            points = np.asarray(surface.mesh.points)
            placer.surface_points = points[:: max(1, len(points) // 800)]
            if "floor" in surface.actors:
                placer.floor = np.array([[x, y, floor] for x, y in
                                         ((a.min(), b.min()), (a.max(), b.min()), (a.max(), b.max()),
                                          (a.min(), b.max()))])

        def outward(renderer, at):
            """Away from the floor's centre through the label's point, then turning ever further aside."""
            out = at - project(renderer, center[None, :])[0]
            base = np.arctan2(out[1], out[0]) if np.hypot(*out) > 1e-6 else -np.pi / 2
            turns = np.radians([0, 20, -20, 40, -40, 65, -65, 90, -90])
            return [np.array([np.cos(base + t), np.sin(base + t)]) for t in turns]

        distances = [f * size for f in (0.0, 0.5, 1.0, 1.7, 2.6, 3.8, 5.2, 7.0, 9.0)]
        for actor, anchor in zip(self.axis_labels, anchors):
            placer.add(Label(actor, anchor, outward, distances, keep_off=("floor", "surface"), margin=self.margin,
                             turn=2.0 * size))

        def hide_behind(renderer, _event):
            eye = np.array(renderer.GetActiveCamera().GetPosition())
            for actor, anchor in zip(self.axis_labels, anchors):
                behind = sight_blocked(anchor[None, :], eye[None, :], surface.height_at, surface.bounds[:4])
                actor.SetVisibility(not behind[0])

        if surface is not None:
            self.plotter.renderer.AddObserver("StartEvent", hide_behind)
        return self.axis_labels
