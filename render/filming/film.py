"""A film: a planned scene on an off-screen plotter, rendered one frame at a time.

:func:`open_film` loads the landscape, builds the plotter off-screen, runs
the scene's ``construct()`` to plan its timeline, and renders nothing yet.
:meth:`Film.frame` then renders any frame, in any order: the encoders and
the worker processes ask for the frames they need. A :class:`FilmSpec` is
all a worker needs to rebuild the same film (it pickles).

Length: a scene plans its own natural length. When ``FilmSpec.seconds`` is
given the whole timeline is stretched (or squeezed) uniformly to that many
seconds, so every scene, including user scenes, honours ``--seconds``.

Examples
--------
>>> # spec = FilmSpec(scene=scene_class("descent"), landscape="media/cache/landscape.npz", size=(1280, 720), fps=30)
>>> # film = open_film(spec)
>>> # first = film.frame(0)            # (720, 1280, 3) uint8
>>> # last = film.frame(film.n_frames - 1)
>>> # film.close()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossfilm.format.errors import ArtifactError, ConfigError, RenderError
from lossfilm.format.landscape import Landscape
from lossfilm.format.declared.values import MAX_SIDE, Duration, Rate, Size
from lossfilm.render.filming.backend import ensure_offscreen, start_probe
from lossfilm.render.framework.scene_loader import load_scene, scene_label
from lossfilm.render.elements.theme import get_theme


MAX_SUPERSAMPLE = 4.0  # the presets use 1 to 1.5; the anti-aliasing benchmark's reference frames 4
MAX_RENDER_SIDE = 2 * MAX_SIDE  # pixels per side of a supersampled frame: as large as VTK renders off-screen


@dataclass(frozen=True)
class FilmSpec:
    """Everything that decides a film; picklable, so worker processes can rebuild it."""

    scene: object  # a Scene subclass (lossfilm.scenes.scene_class("descent")) or the path of a .py scene file
    landscape: str  # path to landscape.npz
    size: tuple  # (width, height) in pixels
    fps: int
    seconds: float | None = None  # None: the scene's own length
    theme: str = "dark"
    log_z: bool = False
    transparent: bool = False
    supersample: float = 1.0  # frames are rendered this many times larger, for the encoder to downscale
    options: tuple = ()  # extra scene options as (key, value) pairs

    @property
    def render_size(self):
        """``(width, height)`` of the frames the renderer draws: ``size`` times ``supersample``.

        Examples
        --------
        >>> FilmSpec(None, "landscape.npz", (1280, 720), fps=30, supersample=1.5).render_size
        (1920, 1080)
        """
        return tuple(int(round(side * self.supersample)) for side in self.size)


@dataclass(frozen=True)
class Stage:
    """What a scene builds on: the loaded landscape, the theme and relief it chose, the plotter."""

    landscape: object  # lossfilm.format.landscape.Landscape
    theme: object  # lossfilm.render.elements.theme.Theme, from Scene.choose_theme
    plotter: object  # pyvista.Plotter, off-screen
    relief: object  # lossfilm.render.elements.surface.Relief, from Scene.choose_relief


def open_film(spec):
    """Build the stage off-screen and plan the scene's timeline (renders nothing).

    The scene is made with its options first; it chooses the theme
    (:meth:`~lossfilm.render.framework.scene.Scene.choose_theme`) and the relief
    (:meth:`~lossfilm.render.framework.scene.Scene.choose_relief`), the film builds the
    stage from them, and the scene's ``construct()`` plans on that stage.

    Parameters
    ----------
    spec : FilmSpec

    Returns
    -------
    Film

    Raises
    ------
    ConfigError
        Unknown scene, theme or option, or an impossible size, fps or length.
    ArtifactError
        The landscape file is missing or malformed.
    RenderError
        No off-screen back-end.

    Examples
    --------
    >>> # film = open_film(FilmSpec(scene_class("orbit"), "landscape.npz", (640, 360), fps=24, seconds=2))
    >>> # film.n_frames
    >>> # 48
    """
    _check(spec)
    start_probe()  # the back-end's probe runs in its child while PyVista's plotting imports here
    import pyvista as pv
    import pyvista.plotting  # noqa: F401  (the slow part of the import, which pv.Plotter would trigger)

    ensure_offscreen()

    scene = load_scene(spec.scene)(spec.options)  # a bad option fails here, before anything is built
    theme = scene.choose_theme(get_theme(spec.theme))
    landscape = Landscape.load(spec.landscape)
    if not np.isfinite(np.asarray(landscape.loss, dtype=float)).any():
        raise ArtifactError(f"{spec.landscape}: the landscape has no finite loss value to draw")
    relief = scene.choose_relief(landscape, spec.log_z)
    plotter = pv.Plotter(off_screen=True, window_size=spec.render_size)
    # PyVista's theme asks for 8x MSAA; under Mesa llvmpipe that alone costs 2.5x to 4x per frame, and the
    # supersampled frame that ffmpeg downscales is smoother for less (see lossfilm.render.filming.quality).
    plotter.ren_win.SetMultiSamples(0)
    try:
        _light_stage(plotter, theme, transparent=spec.transparent)
        scene.stage = Stage(landscape=landscape, theme=theme, plotter=plotter, relief=relief)
        scene.plan()
        return Film(spec, scene, plotter)
    except BaseException:
        plotter.close()
        raise


class Film:
    """A planned scene, ready to render frames.

    Attributes
    ----------
    n_frames : int
        ``round(seconds * fps)``.
    duration : float
        Length in seconds.
    """

    def __init__(self, spec, scene, plotter):
        self.spec = spec
        self.scene = scene
        self.plotter = plotter
        natural = scene.duration
        if natural <= 0:
            raise ConfigError(f"scene {scene_label(spec.scene)!r}: its timeline is empty (construct() plays nothing)")
        self.duration = float(spec.seconds) if spec.seconds is not None else natural
        self.time_scale = natural / self.duration  # scene seconds per film second
        self.n_frames = max(1, int(round(self.duration * spec.fps)))
        from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

        self._pixels = vtkUnsignedCharArray()  # the read-back's buffer, reused frame after frame

    def time_of(self, index):
        """Scene time of frame ``index`` (the timeline's clock, before stretching)."""
        return index / self.spec.fps * self.time_scale

    def frame(self, index):
        """Render frame ``index`` at ``spec.render_size``: (H, W, 3) uint8, or (H, W, 4) when transparent."""
        index = int(index)
        if not 0 <= index < self.n_frames:
            raise ConfigError(f"frame {index} is out of range; this film has frames 0..{self.n_frames - 1}")
        if self.plotter is None:
            raise RenderError("this film is closed; call open_film() again")
        self.scene.seek(self.time_of(index))
        self.plotter.render()  # screenshot() does not re-render by itself
        return self.read()

    def read(self):
        """The pixels of the last render: (H, W, 3) uint8, or (H, W, 4) when transparent."""
        if self.spec.transparent or self.plotter._first_time:
            # PyVista renders nothing before its first image request, which screenshot() makes (and
            # its RGBA read keeps the alpha of a transparent film)
            image = self.plotter.screenshot(transparent_background=self.spec.transparent, return_img=True)
            return np.ascontiguousarray(image, dtype=np.uint8)
        return self._read_rgb()

    def _read_rgb(self):
        """The rendered frame's pixels (H, W, 3) uint8, read straight from the window.

        The same pixels as ``plotter.screenshot()`` (the front buffer), without
        its image filter and its extra copies (about a quarter less time at
        1920x1080, measured under load).
        """
        from vtkmodules.util.numpy_support import vtk_to_numpy

        window = self.plotter.ren_win
        width, height = window.GetSize()
        window.MakeCurrent()
        window.GetPixelData(0, 0, width - 1, height - 1, 1, self._pixels, 0)  # front buffer, RGB
        return vtk_to_numpy(self._pixels).reshape(height, width, 3)[::-1].copy()  # OpenGL's first row is the bottom

    def close(self):
        if self.plotter is not None:
            self.plotter.close()
            self.plotter = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _check(spec):
    """The spec's size, frame rate and length, by the same checks (and limits) as every option of their kind."""
    size = Size().check(spec.size, "size")
    Rate().check(spec.fps, "fps")
    if spec.seconds is not None:
        Duration().check(spec.seconds, "seconds")
    if not (isinstance(spec.supersample, (int, float)) and 1.0 <= spec.supersample <= MAX_SUPERSAMPLE):
        raise ConfigError(f"supersample {spec.supersample!r}: expected a number from 1 to {MAX_SUPERSAMPLE:g}")
    if max(spec.render_size) > MAX_RENDER_SIDE:
        raise ConfigError(f"size {size[0]}x{size[1]} supersampled {spec.supersample:g}x is "
                          f"{spec.render_size[0]}x{spec.render_size[1]}: each side must be at most {MAX_RENDER_SIDE} pixels")


def _light_stage(plotter, theme, *, transparent):
    """Background and the key/fill/rim lights, which follow the camera."""
    import pyvista as pv

    if transparent or theme.background_top == theme.background:
        plotter.set_background(theme.background)
    else:
        plotter.set_background(theme.background, top=theme.background_top)
    plotter.remove_all_lights()
    for spec in theme.lights:
        light = pv.Light(position=spec.position, focal_point=(0.0, 0.0, 0.0), color=spec.color,
                         intensity=spec.intensity, light_type="camera light")
        plotter.add_light(light)
