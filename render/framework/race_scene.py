"""The base of a race: every path of the landscape on one surface, each with its ball, trail and colour.

:class:`RaceScene` adds to :class:`lossfilm.render.framework.scene.Scene` the building
blocks for several paths: :meth:`RaceScene.add_paths`, a runner (ball,
trail, finish ring) per path for a :class:`lossfilm.render.framework.animation.Race`,
the start markers and the legend of live losses. The bundled race and
classic scenes build on it; so can a scene file::

    from lossfilm.render.framework.animation import Race
    from lossfilm.render.framework.race_scene import RaceScene

    class Dash(RaceScene):
        def construct(self):
            self.add_surface()
            self.add_paths()
            runners = self.add_runners()
            legend = self.add_legend()
            self.add_camera()
            self.play(Race(runners, legend), run_time=6.0)
"""

from __future__ import annotations

import numpy as np

from lossfilm.render.framework.animation import Runner
from lossfilm.render.elements.ball import Ball, Trail
from lossfilm.render.overlays.legend import Legend
from lossfilm.render.elements.markers import Marker
from lossfilm.render.elements.path_tube import BallPath
from lossfilm.render.framework.scene import Scene


class RaceScene(Scene):
    """A scene of several paths on one surface, a ball, trail and colour each."""

    def __init__(self, options=()):
        super().__init__(options)
        self.paths = []

    def add_paths(self, *, smooth=0.0):
        """Every path of the landscape as a curve on the surface, in the landscape's order."""
        self.paths = [BallPath(self.landscape, self.surface, smooth=smooth, name=name)
                      for name in self.landscape.path_names]
        return self.paths

    @property
    def all_paths(self):
        """The paths on the surface: those of :meth:`add_paths`, else the one of :meth:`add_path`."""
        return list(self.paths) or super().all_paths

    @property
    def race_ball_radius(self):
        """Balls of a race are a little smaller than the single ball: several share a valley."""
        return 0.024 * self.extent

    def add_runners(self, *, fade=False, shadow=True, radius=None):
        """A ball, a trail and a finish ring for every path of :meth:`add_paths`, each in its colour.

        Returns a list of :class:`lossfilm.render.framework.animation.Runner` for a
        :class:`lossfilm.render.framework.animation.Race`; the balls start at their starts, the
        finish rings are hidden until their ball arrives.
        """
        radius = self.race_ball_radius if radius is None else radius
        floor_z = self.stage.relief.floor_z if shadow and self.option("floor") else None
        ring = 0.034 * self.extent
        self.runners = []
        for k, (path, color) in enumerate(zip(self.paths, self.path_colors)):
            # where paths share a valley their trails stack, each a little higher and thinner than
            # the one before: the lower ones still show along the edges, nothing speckles
            tube = 0.0075 * self.extent
            trail = Trail(self.plotter, path, tube * (1.0 - 0.5 * k / max(len(self.paths), 2)), color,
                          floor_z=floor_z, shadow_color=color, shadow_width=self.line_width(2.0), fade=fade,
                          lift=0.35 * k * tube, name=f"trail_{k}")
            ball = Ball(self.plotter, radius, color, name=f"ball_{k}", rest=True)
            ball.move_to(path, 0.0)
            finish = Marker(self.plotter, path.point_at(1.0), path.normal_at(1.0), ring, color,
                            surface=self.surface, halo=self.theme.background, name=f"finish_{k}")
            self.runners.append(Runner(path, ball, trail, finish))
        return self.runners

    def add_start_markers(self, *, label=True):
        """One ring where the paths start (a shared start), or one per path in its colour."""
        paths, theme = self.paths, self.theme
        starts = np.array([path.point_at(0.0)[:2] for path in paths])  # (K, 2)
        shared = np.ptp(starts, axis=0).max() <= 1e-6 * self.extent
        font = self.font_px(theme.label_size)
        if shared:
            self.start_markers = [Marker(
                self.plotter, paths[0].point_at(0.0), paths[0].normal_at(0.0), 0.04 * self.extent,
                theme.start_marker, " start " if label else "", font_size=font, text_color=theme.text,
                lift=2.4 * self.race_ball_radius, box=theme.background, box_opacity=theme.label_box_opacity,
                surface=self.surface, halo=theme.background, name="start_marker")]
        else:
            self.start_markers = [Marker(self.plotter, path.point_at(0.0), path.normal_at(0.0),
                                         0.03 * self.extent, color, surface=self.surface,
                                         halo=theme.background, name=f"start_marker_{k}")
                                  for k, (path, color) in enumerate(zip(paths, self.path_colors))]
        return self.start_markers

    def add_legend(self, *, quantity="loss", clock="step", keys=()):
        """The legend with each path's name, colour and loss, in the lower-left corner.

        ``keys``: extra rows explaining star markers, as (label, fill, outline) or
        (label, fill, outline, shape).
        """
        self.legend = Legend(self.plotter, self.theme, [p.name for p in self.paths], self.path_colors,
                             quantity=quantity, clock=clock, keys=keys)
        return self.legend
