"""Themes as data: colours, colormap, lights and text sizes of a film.

``dark`` is for talks (a projector washes out light greys, a dark room
hides a dark background), ``light`` is for papers and slides printed on
white. Ball and trail colours stand out against every colour of the theme's
colormap: cyan against magma's purples, oranges and yellows; red against
viridis's purples, greens and yellows. Text sizes are fractions of the frame
height, so a 3840x2160 still and a 854x480 preview read the same.

Examples
--------
>>> from lossfilm.render.elements.theme import get_theme
>>> get_theme("dark").cmap
'magma'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lossfilm.format.declared.values import Choice


@dataclass(frozen=True)
class LightSpec:
    """One light, positioned relative to the camera (it moves with it).

    ``position`` is in camera coordinates: +x right, +y up, +z towards the
    viewer, with the focal point at the origin.
    """

    position: tuple
    intensity: float
    color: str = "white"


@dataclass(frozen=True)
class Theme:
    """Everything about how a film looks that is not geometry or timing."""

    name: str
    background: str  # bottom colour of the background gradient
    background_top: str  # top colour (same as background for a flat one)
    cmap: str  # matplotlib colormap name for the loss
    cmap_range: tuple  # the part of the colormap used: the darkest end of some vanishes on dark backgrounds
    text: str  # HUD, labels, scalar bar text
    text_dim: str  # secondary text (units, captions)
    ball: str
    trail: str
    start_marker: str
    minimum_marker: str
    floor: str  # the plane under the surface that carries the contour lines
    floor_opacity: float
    isoline: str  # colour of the contour lines drawn on the surface itself
    isoline_opacity: float
    edge: str  # thin frame lines around the floor
    ambient: float  # surface material
    diffuse: float
    specular: float
    specular_power: float
    lights: tuple  # LightSpec, ...
    title_size: float = 0.040  # fractions of the frame height (lossfilm.render.screen.overlay.Layout.unit)
    text_size: float = 0.028
    label_size: float = 0.026
    label_box_opacity: float = 0.55  # box behind labels drawn over the surface
    # Several paths (an optimizer race): one colour each, Okabe-Ito (colour-blind safe), in the
    # order they are handed out; and a quiet colormap for the surface so that every one stands out.
    path_colors: tuple = ()
    race_cmap: str = "gray"
    race_cmap_range: tuple = (0.0, 1.0)


# A key light high on the left, a fill near the camera so that no slope facing
# the viewer goes black, and a rim light from behind that separates the
# surface's silhouette from the background.
_STUDIO = (
    LightSpec(position=(-0.6, 0.8, 1.0), intensity=0.70, color="#fff4e6"),
    LightSpec(position=(0.7, -0.3, 1.0), intensity=0.42, color="#e6eeff"),
    LightSpec(position=(0.2, 1.0, -0.8), intensity=0.30, color="white"),
)

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Dark backgrounds swallow the dark blue, white ones the yellow: each goes last there.
_OKABE_ITO_DARK = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#CC79A7", "#D55E00", "#0072B2")
_OKABE_ITO_LIGHT = ("#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442")

THEMES = {
    "dark": Theme(
        name="dark",
        background="#0e1117",
        background_top="#1d2330",
        cmap="magma",
        cmap_range=(0.12, 1.0),
        text="#f2f2f2",
        text_dim="#b4bccb",
        ball="#2ee6ff",
        trail="#7deeff",
        start_marker="#ffffff",
        minimum_marker="#ffd23f",
        floor="#1b2130",
        floor_opacity=1.0,
        isoline="#0b0d12",
        isoline_opacity=0.35,
        edge="#59627a",
        ambient=0.22,
        diffuse=0.78,
        specular=0.35,
        specular_power=28.0,
        lights=_STUDIO,
        path_colors=_OKABE_ITO_DARK,
        race_cmap="bone",
        race_cmap_range=(0.22, 0.85),
    ),
    "light": Theme(
        name="light",
        background="#ffffff",
        background_top="#ffffff",
        cmap="viridis",
        cmap_range=(0.0, 0.95),
        text="#1a1a1a",
        text_dim="#555555",
        ball="#e4002b",
        trail="#e4572e",
        start_marker="#1a1a1a",
        minimum_marker="#e4002b",
        floor="#f1f2f4",
        floor_opacity=1.0,
        isoline="#1a1a1a",
        isoline_opacity=0.30,
        edge="#b8bcc4",
        ambient=0.30,
        diffuse=0.72,
        specular=0.25,
        specular_power=24.0,
        lights=_STUDIO,
        path_colors=_OKABE_ITO_LIGHT,
        race_cmap="bone",
        race_cmap_range=(0.55, 0.95),
    ),
}


def get_theme(name):
    """The theme called ``name``; ConfigError names the choices otherwise.

    Examples
    --------
    >>> get_theme("light").background
    '#ffffff'
    """
    # The kind of render.filming.options.THEME (declared above this module's table, so built here): one wording.
    return THEMES[Choice(tuple(THEMES)).check(name, "theme")]


def path_colors(theme, count):
    """``count`` colours for as many paths, in the theme's order (repeating after seven).

    Examples
    --------
    >>> path_colors(get_theme("dark"), 3)
    ('#E69F00', '#56B4E9', '#009E73')
    """
    palette = theme.path_colors or (theme.ball,)
    return tuple(palette[k % len(palette)] for k in range(count))


def for_race(theme):
    """The theme with its quiet race colormap on the surface (the coloured balls carry the colour).

    Examples
    --------
    >>> for_race(get_theme("dark")).cmap
    'bone'
    """
    return dataclasses.replace(theme, cmap=theme.race_cmap, cmap_range=theme.race_cmap_range)


def colormap(theme):
    """The theme's colormap restricted to its ``cmap_range`` (a matplotlib Colormap).

    Examples
    --------
    >>> colormap(get_theme("dark")).N
    256
    """
    import matplotlib
    from matplotlib.colors import ListedColormap

    lo, hi = theme.cmap_range
    base = matplotlib.colormaps[theme.cmap]
    return ListedColormap(base(np.linspace(lo, hi, 256)), name=f"{theme.cmap}_{lo:g}_{hi:g}")
