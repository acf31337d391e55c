"""classic: optimizers race on a textbook 2-D test function (Rosenbrock, Himmelblau, Rastrigin, ...).

The landscape's plane is the function's own x and y (``directions_kind
"axes"``), so the paths are exact, not projections. The scene draws the
surface (log-scaled heights where the landscape recommends it: Rosenbrock's
valley is invisible otherwise), marks the known minima with small pins (a
saddle's critical point too), labels the axes x and y, titles the film with
the function's name (and its formula when it is short), and races a ball and
trail per optimizer on one clock of iterations, with a legend of live values.

Options (``--option key=value``): ``height`` (auto: the landscape's
recommendation, or linear, or log), ``minima`` (mark the known minima),
``formula`` (show the formula under the title), and every option of the
race scene (``clock``, ``easing``, ``intro``, ``run``, ``hold``, ``sweep``,
``fade``, ``smooth``, ``colormap``, ``camera``, ``orbit``, ``floor``, ``title``).

Your own function
-----------------
The scene needs only a landscape with ``directions_kind "axes"``. From the
command line, ``lossfilm classic --expr "..." --domain ... --start ...``
makes one from a formula. From Python, :mod:`lossfilm.training.landscape.classic` makes one
from any callable ``f(x, y)`` (its gradient by central differences unless
you give one), e.g. in ``my_valley.py``::

    import numpy as np
    from lossfilm.training.landscape.classic import classic_landscape, from_callable

    def valley(x, y):
        return np.log1p((1 - x) ** 2 + 10 * (y - x ** 2) ** 2)

    fn = from_callable(valley, domain=(-2, 2, -1, 3), start=(-1.5, 2.0), name="my valley",
                       formula="log(1 + (1-x)^2 + 10 (y-x^2)^2)", minima=[(1.0, 1.0)])
    classic_landscape(fn, optimizers=("sgd", "momentum", "adam"), steps=300).save("my_valley.npz")

then ``lossfilm render classic --landscape my_valley.npz -o my_valley.mp4``.
To change how it looks, subclass the scene in a scene file and render that
file instead of ``classic``::

    from lossfilm.scenes.classic import Classic

    class MyValley(Classic):
        options = {**Classic.options, "height": "linear", "clock": "linear", "sweep": 20.0}

        def title_text(self):
            return "My valley"

(``lossfilm render my_valley_scene.py --landscape my_valley.npz``). A
subclass may also override :meth:`Classic.choose_relief` (another height
scaling), :meth:`Classic.mark_minima` (other markers) or ``construct()``
(another choreography; :meth:`Classic.set_up` and :meth:`Classic.race` are
its two halves).

The landscape's settings the scene reads: ``function`` (``{"name",
"formula"}``), ``minima`` (``[[x, y, f], ...]``), ``critical_points``
(``[[x, y, f, kind], ...]``, e.g. a saddle), ``log_z`` (the recommended
height scaling), ``log_floor`` and ``axis_names`` (default ``["x", "y"]``).
"""

import numpy as np

from lossfilm.format.errors import ConfigError
from lossfilm.format.declared.options import Option
from lossfilm.format.declared.values import Choice, Flag
from lossfilm.render.elements.markers import Star
from lossfilm.render.elements.surface import Relief
from lossfilm.render.framework.scene_options import SWEEP
from lossfilm.scenes.race import OptimizerRace

FORMULA_CHARS = 60  # a longer formula is left out of the subtitle
LOG_DECADES = 4  # with log heights, values more than this many decades below the top are drawn at the bottom


class Classic(OptimizerRace):
    """Optimizers racing on a 2-D test function, with its minima marked."""

    options = {
        **OptimizerRace.options,
        "height": Option("height", Choice(("auto", "linear", "log")), "auto",
                         "height scaling: the landscape's recommendation (auto), linear or log"),
        "minima": Option("minima", Flag(), True, "mark the function's known minima"),
        "formula": Option("formula", Flag(), True, "show the formula under the title"),
        "sweep": SWEEP.but(default=30.0),
    }
    quantity = "f"

    def set_up(self):
        super().set_up()
        if self.option("minima"):
            self.mark_minima()

    def check_landscape(self, landscape):
        if landscape.directions_kind != "axes":
            raise ConfigError(f"scene classic: the landscape is a {landscape.directions_kind!r} plane of a "
                              "network; classic needs a 2-D test function's (lossfilm classic makes one), "
                              "use the race scene for a network")

    # the picture ---------------------------------------------------------------
    def choose_relief(self, landscape, log_z):
        """Heights: log-scaled where asked or recommended, with the bottom clamped instead of blanked."""
        self.check_landscape(landscape)  # a network's plane has no function's heights to choose from
        height = self.option("height")  # its declaration checked the choice
        recommended = bool(landscape.settings.get("log_z", False))
        log_z = {"auto": recommended or log_z, "linear": False, "log": True}[height]
        if not log_z:
            return Relief.of(landscape)
        loss = np.asarray(landscape.loss, dtype=float)
        positive = loss[np.isfinite(loss) & (loss > 0)]
        if positive.size == 0:
            raise ConfigError("option height=log: the function has no positive value to take the log of")
        # a minimum of exactly 0 (Rosenbrock, Himmelblau) has no logarithm: draw it at the floor, and
        # keep the floor a few decades under the top, or the valley becomes a groove narrower than a ball
        suggested = landscape.settings.get("log_floor") or float(positive.min())
        floor = max(float(suggested), float(positive.max()) * 10.0 ** -LOG_DECADES)
        return Relief.of(landscape, log_z=True, log_floor=floor)

    def mark_minima(self):
        """A star on each known minimum and critical point, labelled where there are one or two."""
        theme, relief, surface = self.theme, self.stage.relief, self.surface
        points = self.marked_points()
        self.minima_stars = []
        for k, (x, y, value, kind) in enumerate(points):
            ground = surface.height_at(np.array([x]), np.array([y]))[0]
            z = max(float(np.nan_to_num(relief.z(np.array([value]))[0], nan=ground)), ground)
            label = f" {kind} ({_coordinate(x)}, {_coordinate(y)}) " if len(points) <= 2 else ""
            star = Star(self.plotter, (x, y, z), self.font_px(0.016), theme.text, outline=theme.background,
                        outline_width=self.line_width(1.6), label=label,
                        font_size=self.font_px(0.85 * theme.label_size), text_color=theme.text,
                        label_offset=self.font_px(0.02), box=theme.background,
                        box_opacity=theme.label_box_opacity, shape=_shape(kind), name=f"minimum_{k}")
            star.hide_when_behind(surface, tolerance=2.0 * self.race_ball_radius)
            self.minima_stars.append(star)
        return self.minima_stars

    def marked_points(self):
        """Known minima and other critical points inside the surface's square, as (x, y, f, kind)."""
        settings = self.landscape.settings
        entries = [list(m)[:3] + ["minimum"] for m in settings.get("minima") or []]
        entries += [list(c)[:4] for c in settings.get("critical_points") or [] if len(c) >= 4]
        a, b = self.landscape.alphas, self.landscape.betas
        found = []
        for x, y, value, kind in entries:
            x, y, value = float(x), float(y), float(value)
            if a.min() <= x <= a.max() and b.min() <= y <= b.max():
                found.append((x, y, value, str(kind)))
        return found

    def legend_keys(self):
        if not self.option("minima"):
            return ()
        kinds = [kind for _, _, _, kind in self.marked_points()]
        keys = []
        for kind in dict.fromkeys(kinds):  # in order, once each
            one, many = _KIND_WORDS.get(kind, (kind, kind))
            label = one if kinds.count(kind) == 1 else many
            keys.append((label, self.theme.text, self.theme.background, _shape(kind)))
        return tuple(keys)

    # words -----------------------------------------------------------------------
    def function_name(self):
        function = self.landscape.settings.get("function") or {}
        return str(function.get("name") or "a 2-D test function")

    def title_text(self):
        """The function's name, e.g. ``"Rosenbrock"``."""
        name = self.function_name()
        return name[:1].upper() + name[1:]

    def subtitle_text(self):
        """The formula, when it is short enough to read."""
        function = self.landscape.settings.get("function") or {}
        formula = str(function.get("formula") or "")
        if self.option("formula") and formula and len(formula) <= FORMULA_CHARS:
            return formula
        return ""

    def bar_title(self):
        return "log10 f" if self.stage.relief.log_z else "f(x, y)"


_KIND_WORDS = {"minimum": ("known minimum", "known minima"), "saddle": ("saddle point", "saddle points"),
               "maximum": ("local maximum", "local maxima")}


def _shape(kind):
    """A star marks a minimum; a diamond any other critical point (a saddle, a maximum)."""
    return "star" if kind == "minimum" else "diamond"


def _coordinate(value):
    """A coordinate in a label: 1 -> "1", -2.805118 -> "-2.81"."""
    return f"{value:.0f}" if abs(value - round(value)) < 5e-4 else f"{value:.2f}"


SCENE = Classic
