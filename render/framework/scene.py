"""Scenes: ``construct()`` plans a timeline; the film sets its state for any time.

A user writes one method, ``construct()``, in a :class:`Scene` subclass.
``self.play(animation, ..., run_time=..., rate_func=...)`` and
``self.wait(seconds)`` only *append* to the timeline
(:class:`lossfilm.render.framework.timeline.Timeline`); nothing is rendered while
planning. To draw a frame the film calls :meth:`Scene.seek` at its time,
which sets every animation's state for that time, so frames can be
rendered in any order, by several worker processes.

Before ``construct()`` the film builds the stage (landscape, theme,
plotter, relief) and asks the scene two things first: :meth:`Scene.choose_theme`
and :meth:`Scene.choose_relief`. A scene that wants a different look or
height scaling overrides those hooks; the stage does not change afterwards.

State changes belong in animations: whatever ``construct()`` sets directly
before its first ``play`` is the opening state; to change something later,
play an animation (``FadeIn(marker)``, ``run_time=0`` for a cut).

Writing a scene: save a file like this one and render it with
``lossfilm render path/to/spin.py --landscape media/cache/landscape.npz -o spin.mp4``::

    from lossfilm.render.framework.animation import Orbit, Roll
    from lossfilm.render.framework.scene import Scene

    class Spin(Scene):
        options = {"turn": 90.0}            # --option turn=180

        def construct(self):
            self.add_surface()
            path = self.add_path()
            trail = self.add_trail()
            ball = self.add_ball()
            hud = self.add_hud()
            camera = self.add_camera()      # after everything it must frame
            self.play(Roll(ball, path, trail, hud, easing="steps"),
                      Orbit(camera, self.option("turn")), run_time=5.0)
            self.wait(1.0)

Examples
--------
>>> from lossfilm.render.framework.animation import Animation
>>> class Hold(Animation):
...     def interpolate(self, alpha):
...         pass
>>> class Demo(Scene):
...     def construct(self):
...         self.play(Hold(), run_time=2.0)
...         self.wait(1.0)
>>> Demo().plan().duration
3.0
"""

from __future__ import annotations

import numpy as np

from lossfilm.format.errors import ConfigError
from lossfilm.render.framework.animation import Orbit
from lossfilm.render.elements.ball import Ball, Trail
from lossfilm.render.elements.camera import CameraRig, get_preset
from lossfilm.render.overlays.hud import Hud, film_title, format_loss
from lossfilm.render.overlays.segment_view import LineView, has_line
from lossfilm.render.elements.markers import Marker
from lossfilm.render.framework.scene_options import BASE_OPTIONS, declarations, parse_options
from lossfilm.render.screen.overlay import Layout
from lossfilm.render.elements.path_tube import BallPath
from lossfilm.render.overlays.sharpness_view import SharpnessView, has_sharpness
from lossfilm.render.elements.surface import Relief, add_surface
from lossfilm.render.elements.theme import path_colors
from lossfilm.render.framework.timeline import Timeline

class Scene:
    """Base class of every film: override :meth:`construct`.

    Parameters
    ----------
    options : dict or sequence of (key, value)
        The options given (``--option key=value``), as text; typed by
        :meth:`read_options`.

    Attributes
    ----------
    options : dict
        Class attribute: the scene's own options, each an
        :class:`~lossfilm.format.declared.options.Option` or a plain default (whose
        type is the option's type), on top of
        :data:`~lossfilm.render.framework.scene_options.BASE_OPTIONS`.
    stage : lossfilm.render.filming.film.Stage or None
        The landscape, theme, plotter and relief, set by the film before
        :meth:`construct` (None: a bare timeline, for tests).
    """

    options: dict[str, object] = {}

    def __init__(self, options=()):
        self.stage = None
        self.timeline = Timeline()
        self.option_values = self.read_options(options)
        self.surface = None  # what add_surface() and add_path() made, for the other building blocks
        self.path = None

    @classmethod
    def all_options(cls):
        """``{name: Option}``: every option this scene takes, the common ones (BASE_OPTIONS) and its own."""
        return declarations({**BASE_OPTIONS, **cls.options})

    @classmethod
    def read_options(cls, raw):
        """The typed value of every option, from the ``raw`` text ones; ConfigError for a bad one."""
        return parse_options(cls.all_options(), dict(raw), cls.__name__)

    def option(self, name):
        return self.option_values[name]

    # the stage: the film asks these before it builds it, so they read their arguments and
    # self.option(), not self.stage -------------------------------------------------------
    def choose_theme(self, theme):
        """The :class:`lossfilm.render.elements.theme.Theme` to film in, given the one asked for (``--theme``)."""
        return theme

    def choose_relief(self, landscape, log_z):
        """How loss becomes height (a :class:`lossfilm.render.elements.surface.Relief`), given ``--log-z``."""
        return Relief.of(landscape, log_z=log_z)

    # the timeline --------------------------------------------------------
    def construct(self):
        raise NotImplementedError(f"{type(self).__name__}.construct() is not written")

    def play(self, *animations, run_time=1.0, rate_func=None):
        """Append ``animations`` running together for ``run_time`` seconds.

        ``rate_func`` applies to those without their own (default: ease-in-out).
        """
        if not animations:
            raise ConfigError("play() needs at least one animation")
        self.timeline.append(animations, run_time, rate_func)

    def wait(self, seconds=1.0):
        """Hold the current state for ``seconds``."""
        self.timeline.wait(seconds)

    def plan(self):
        """Run :meth:`construct` once and return the timeline (nothing is rendered)."""
        self.construct()
        return self.timeline

    @property
    def duration(self):
        return self.timeline.duration

    def seek(self, t):
        camera = getattr(self, "camera", None)
        if not isinstance(camera, CameraRig):  # a scene without the rig (or with its own camera)
            self.timeline.seek(t)
            return
        with camera.deferred():  # every camera animation sets a view; the camera is pointed once
            self.timeline.seek(t)

    # building blocks for construct() ----------------------------------------
    @property
    def landscape(self):
        return self.stage.landscape

    @property
    def theme(self):
        return self.stage.theme

    @property
    def plotter(self):
        return self.stage.plotter

    def add_surface(self, *, floor=None):
        """The lit surface (and the contour floor unless ``floor=False``)."""
        floor = self.option("floor") if floor is None else floor
        self.surface = add_surface(self.plotter, self.landscape, self.theme, self.stage.relief, floor=floor,
                                   line_width=self.line_width(1.4))
        return self.surface

    def add_path(self, *, smooth=0.0, name=None):
        """The training path as a curve on the surface (needs :meth:`add_surface`).

        On a landscape with several paths, ``name`` picks one (default: the first).
        """
        self.path = BallPath(self.landscape, self.surface, smooth=smooth, name=name)
        return self.path

    @property
    def all_paths(self):
        """The paths on the surface: the one of :meth:`add_path`, if any."""
        return [self.path] if self.path is not None else []

    @property
    def path_colors(self):
        """One colour per path on the surface (else per path of the landscape), from the theme's palette."""
        return path_colors(self.theme, len(self.all_paths) or len(self.landscape.path_names))

    @property
    def extent(self):
        """The larger horizontal size of the surface, in scene units."""
        return float(max(np.ptp(self.landscape.alphas), np.ptp(self.landscape.betas)))

    def add_ball(self, *, at=0.0):
        """The ball, at arc fraction ``at`` of the path."""
        self.ball = Ball(self.plotter, self.ball_radius, self.theme.ball)
        self.ball.progress = at
        self.ball.move_to(self.path, at)
        return self.ball

    def add_trail(self, *, fade=False, shadow=True):
        """The tube along the path (and its shadow on the floor), full length until a Roll trims it."""
        floor_z = self.stage.relief.floor_z if shadow and self.option("floor") else None
        self.trail = Trail(self.plotter, self.path, 0.0085 * self.extent, self.theme.trail, floor_z=floor_z,
                           shadow_color=self.theme.trail, shadow_width=self.line_width(2.2), fade=fade)
        return self.trail

    def add_markers(self, *, labels=True):
        """Rings at the start and at the end (the minimum reached) of the path, with labels."""
        path, theme, radius = self.path, self.theme, 0.04 * self.extent
        font = self.font_px(theme.label_size)
        lift = 2.4 * self.ball_radius
        end_loss = self.landscape.path_loss_true[-1]
        if not np.isfinite(end_loss):
            end_loss = self.landscape.path_loss_plane[-1]
        self.start_marker = Marker(self.plotter, path.point_at(0.0), path.normal_at(0.0), radius,
                                   theme.start_marker, " start " if labels else "", font_size=font,
                                   text_color=theme.text, lift=lift, box=theme.background,
                                   box_opacity=theme.label_box_opacity, surface=self.surface,
                                   halo=theme.background, name="start_marker")
        self.end_marker = Marker(self.plotter, path.point_at(1.0), path.normal_at(1.0), radius,
                                 theme.minimum_marker, f" end: loss {format_loss(end_loss)} " if labels else "",
                                 font_size=font, text_color=theme.text, lift=lift, box=theme.background,
                                 box_opacity=theme.label_box_opacity, surface=self.surface,
                                 halo=theme.background, name="end_marker")
        return self.start_marker, self.end_marker

    @property
    def ball_radius(self):
        return 0.028 * self.extent

    def add_hud(self, *, counters=True, scalar_bar=True, axis_labels=True, subtitle="", title_text=None,
                bar_title=None):
        """Title, counters, scalar bar and axis labels.

        The title is the ``title`` option; when that is empty, ``title_text``
        (default: one made from the run's settings). ``bar_title`` names the
        scalar bar (default: "loss" or "log10 loss").
        """
        title = self.option("title")
        if title == "":
            title = film_title(self.landscape.settings) if title_text is None else title_text
        elif title.lower() == "none":
            title = ""
            subtitle = ""
        # the built-in MLP's grid and path are evaluated on the run's training data (or a subset of it)
        on_train = self.landscape.settings.get("evaluation") == "mlp"
        self.hud = Hud(self.plotter, self.theme, title=title, subtitle=subtitle,
                       accuracy_label="train accuracy" if on_train else "accuracy")
        if counters:
            self.hud.add_counters()
        if scalar_bar and self.surface is not None:
            self.hud.add_scalar_bar(self.surface.actors["surface"], self.stage.relief, title=bar_title)
        if axis_labels:
            self.hud.add_axis_labels(self.landscape, self.stage.relief, self.surface)
        return self.hud

    def steady_turn(self, camera, seconds):
        """A function ``turn(t)`` giving the Orbit animations for ``t`` seconds of one steady turn.

        The ``sweep`` option's degrees are spread evenly over the film's
        ``seconds`` (none when ``orbit`` is off), centred on the preset view, so
        that the preset is what the audience sees mid-film. ``turn`` returns an
        empty tuple when there is no turn, and ``turn.turning`` says whether
        there is one.
        """
        sweep = self.option("sweep") if self.option("orbit") else 0.0
        per_second = sweep / max(seconds, 1e-9)
        camera.set_view(azimuth=camera.azimuth - sweep / 2)

        def turn(t):
            return (Orbit(camera, per_second * t),) if sweep else ()

        turn.turning = bool(sweep)
        return turn

    def add_camera(self, view=None, *, frame=None):
        """The camera rig, framing surface, floor and labels, at the ``camera`` option's view.

        ``frame``: (left, bottom, right, top) fractions of the frame for the
        surface (default: the layout's, beside the scalar bar).
        """
        view = view or get_preset(self.option("camera"))
        a, b, relief = self.landscape.alphas, self.landscape.betas, self.stage.relief
        pad = 0.07 * self.extent  # room for the axis labels beside the floor's front edges
        base = relief.floor_z if self.option("floor") else 0.0
        floor = np.array([[x, y, base] for x in (a.min() - pad, a.max()) for y in (b.min() - pad, b.max())])
        keep = [floor]
        surface = self.surface
        if surface is not None and surface.mesh.n_points:
            points = np.asarray(surface.mesh.points)
            keep.append(points[:: max(1, len(points) // 1500)])  # the drawn shape, not its box
        else:
            keep.append(floor + [0.0, 0.0, relief.top - base])
        paths = self.all_paths
        for path in paths:
            keep.append(path.points[::10] + [0.0, 0.0, 2 * self.ball_radius])
        corners = np.concatenate(keep)
        self.camera = CameraRig(self.plotter, corners, view, frame=frame or self.layout.frame)
        if paths and surface is not None:
            # no ball may disappear behind a wall of the valley, and every end must show
            balls = [path.points + self.ball_radius * path.normals for path in paths]
            ends = np.cumsum([len(ball) for ball in balls]) - 1
            self.camera.watch(np.concatenate(balls), surface.height_at, surface.bounds[:4],
                              must_see=list(ends), tolerance=0.5 * self.ball_radius)
        self.camera.set_view()
        return self.camera

    def add_line_view(self, rect, *, panel=False, font=None, log_y=None, x_label=None):
        """The 1-D view (the loss along the straight line from the initial to the final parameters,
        and along the path) as a 2-D plot with its axes in ``rect`` = (left, bottom, width, height),
        fractions of the frame. Returns a :class:`lossfilm.render.overlays.segment_view.LineView`.

        Raises
        ------
        ConfigError
            The landscape has no line view (``line_t`` is None).
        """
        if not has_line(self.landscape):
            raise ConfigError("the landscape has no line view (line_t is missing); "
                              "make it again with lossfilm landscape or lossfilm demo")
        width, height = self.plotter.window_size
        left, bottom, w, h = rect
        several = len(self.landscape.path_names) > 1
        colors = self.path_colors if several else (self.theme.trail,)
        self.line_view = LineView(self.plotter, self.theme, self.landscape,
                                  (left * width, bottom * height, w * width, h * height),
                                  font=font or self.font_px(0.8 * self.theme.text_size), colors=colors,
                                  dot_colors=None if several else (self.theme.ball,), panel=panel, log_y=log_y,
                                  **({} if x_label is None else {"x_label": x_label}))
        return self.line_view

    def add_sharpness_view(self, rect, *, panel=False, font=None, x_label=None, short=False):
        """The sharpness along the path (the top Hessian eigenvalue, and the optimizer's stability line) as a
        2-D plot with its axes in ``rect`` = (left, bottom, width, height), fractions of the frame. Returns a
        :class:`lossfilm.render.overlays.sharpness_view.SharpnessView`.

        Raises
        ------
        ConfigError
            The landscape has no sharpness (``sharpness`` is None).
        """
        if not has_sharpness(self.landscape):
            raise ConfigError("the landscape has no sharpness along the path; make it with "
                              "lossfilm landscape --sharpness")
        width, height = self.plotter.window_size
        left, bottom, w, h = rect
        self.sharpness_view = SharpnessView(
            self.plotter, self.theme, self.landscape, (left * width, bottom * height, w * width, h * height),
            font=font or self.font_px(0.8 * self.theme.text_size), color=self.theme.trail, dot_color=self.theme.ball,
            panel=panel, short=short, **({} if x_label is None else {"x_label": x_label}))
        return self.sharpness_view

    @property
    def layout(self):
        """Where the surface, the scalar bar and the text go (:class:`lossfilm.render.screen.overlay.Layout`)."""
        return Layout.of(*self.plotter.window_size)

    def font_px(self, fraction):
        return self.layout.px(fraction)

    def line_width(self, at_720p):
        """A line width in pixels that looks like ``at_720p`` does at 1280x720."""
        return self.layout.line_width(at_720p)
