"""A landscape as the numbers the viewer page draws: surface, floor contours, paths, HUD values, colours.

Heights go through the film's own :class:`~lossfilm.render.elements.surface.Relief`
(the same ``log_z``, the same height as a fraction of the width), colours
through the film's theme and colormap, so the page looks like the film.
Arrays travel as base64 of little-endian float32 (the grid) or float64 (the
path, whose values the HUD prints and a test compares with the file).

A grid larger than :data:`MAX_SIDE` per side, or paths longer than
:data:`MAX_PATH_POINTS` in all, are thinned (every k-th node or point, the
last one kept) with a warning, so that the page stays within its size budget.

Examples
--------
>>> import numpy as np
>>> encode(np.array([1.0, np.nan]), "f8")["dtype"]
'f8'
>>> thinned(np.arange(10), 4).tolist()
[0, 3, 6, 9]
"""

from __future__ import annotations

import base64
import math
import warnings

import numpy as np

from lossfilm.format.errors import LossfilmWarning
from lossfilm.render.elements.camera import PRESETS, view_basis
from lossfilm.render.overlays.hud import film_title, format_loss
from lossfilm.render.overlays.sharpness_view import has_sharpness, stability_threshold
from lossfilm.render.elements.surface import Relief, bilinear, contour_levels
from lossfilm.render.elements.theme import colormap, for_race, get_theme, path_colors

MAX_SIDE = 201  # grid nodes per side drawn: 201x201 float32 arrays are ~0.5 MB of the page
MAX_PATH_POINTS = 20_000  # path points drawn, all paths together
N_CONTOURS = 14  # about as many contour levels as the film draws
COLORSCALE_STOPS = 32  # colours sampled from the theme's colormap (plotly interpolates between them)
LIFT = 0.004  # the path is lifted this fraction of the scene width above the surface (no z-fighting)
BALL_LIFT = 0.015  # and the ball about its radius, so that a steep slope never buries half of it
CAMERA_DISTANCE = 2.1  # plotly camera eye distance, in units of the scene's largest side


def encode(values, dtype):
    """``{"dtype", "data"}``: ``values`` as base64 of little-endian ``dtype`` ("f4", "f8" or "i4")."""
    array = np.ascontiguousarray(np.asarray(values, dtype="<" + dtype))
    return {"dtype": dtype, "data": base64.b64encode(array.tobytes()).decode("ascii")}


def thinned(indices, limit):
    """At most about ``limit`` of ``indices``, evenly spaced, first and last kept."""
    indices = np.asarray(indices)
    if len(indices) <= limit:
        return indices
    stride = math.ceil((len(indices) - 1) / (limit - 1))
    keep = indices[::stride]
    return keep if keep[-1] == indices[-1] else np.append(keep, indices[-1])


def viewer_data(landscape, *, theme="dark", log_z=False, title=None):
    """Everything the page draws, as a JSON-able dict (arrays base64-encoded).

    Parameters
    ----------
    landscape : Landscape
    theme : {"dark", "light"}
    log_z : bool
        Log-scaled height, as the film's ``--log-z``.
    title : str, optional
        Default: the film's title made from the run's settings.

    Returns
    -------
    dict
    """
    look = get_theme(theme)
    race = len(landscape.path_names) > 1
    if race:
        look = for_race(look)
    rows, cols = _grid_nodes(landscape)
    loss = np.asarray(landscape.loss, dtype=float)[np.ix_(rows, cols)]
    alphas, betas = np.asarray(landscape.alphas, float)[rows], np.asarray(landscape.betas, float)[cols]
    relief = Relief.of(landscape, log_z=log_z)
    heights = relief.z(loss)  # (R1, R2), NaN where blanked
    width = max(np.ptp(alphas), np.ptp(betas), 1e-12)
    return {
        "title": film_title(landscape.settings) if title is None else title,
        "theme": _theme(look),
        "surface": {
            # plotly's surface is z[row][col] with rows along y (the transpose puts beta on y), but it looks
            # its hover's customdata up as [col][row]: the loss goes as it is, loss[alpha index][beta index]
            "alphas": encode(alphas, "f8"), "betas": encode(betas, "f8"), "shape": [len(betas), len(alphas)],
            "z": encode(heights.T, "f4"), "loss": encode(loss, "f4"),
            "top": relief.top, "floor_z": relief.floor_z, "width": float(width),
            "ball_lift": float((BALL_LIFT - LIFT) * width),  # the ball above the path
            "isolines": _isolines(relief),
            "ticks": _height_ticks(relief),
            "floor_contours": _floor_contours(alphas, betas, heights, relief, look),
        },
        "axes": {"x": landscape.axis_label(0), "y": landscape.axis_label(1),
                 "z": "loss (log scale)" if log_z else "loss"},
        "paths": _paths(landscape, relief, width, _path_colours(look, len(landscape.path_names))),
        "cameras": _cameras(),
        "log_z": bool(log_z),
    }


def _grid_nodes(landscape):
    """Row and column indices drawn: all of them, or every k-th with a warning past MAX_SIDE."""
    n1, n2 = np.shape(landscape.loss)
    rows, cols = thinned(np.arange(n1), MAX_SIDE), thinned(np.arange(n2), MAX_SIDE)
    if len(rows) < n1 or len(cols) < n2:
        warnings.warn(f"the grid's {n1}x{n2} nodes are more than the viewer draws; it shows "
                      f"{len(rows)}x{len(cols)} of them (every {math.ceil((max(n1, n2) - 1) / (MAX_SIDE - 1))}th)",
                      LossfilmWarning, stacklevel=3)
    return rows, cols


def _theme(look):
    cmap = colormap(look)
    stops = np.linspace(0.0, 1.0, COLORSCALE_STOPS)
    return {
        "name": look.name, "background": look.background, "background_top": look.background_top,
        "text": look.text, "text_dim": look.text_dim, "ball": look.ball, "trail": look.trail,
        "start": look.start_marker, "end": look.minimum_marker, "floor": look.floor, "edge": look.edge,
        "isoline": _rgba(look.isoline, look.isoline_opacity),
        "colorscale": [[float(t), _hex(cmap(float(t)))] for t in stops],
        "lighting": {"ambient": look.ambient, "diffuse": look.diffuse, "specular": look.specular,
                     "roughness": float(np.clip(1.0 - look.specular_power / 100.0, 0.1, 0.9)), "fresnel": 0.1},
    }


def _path_colours(look, count):
    """A race's racers in the theme's path colours; a single path in the ball's colour, as in the film."""
    return list(path_colors(look, count)) if count > 1 else [look.ball]


def _hex(rgba):
    return "#" + "".join(f"{int(round(255 * c)):02x}" for c in rgba[:3])


def _rgba(color, opacity):
    color = color.lstrip("#")
    r, g, b = (int(color[k:k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{opacity:g})"


def _isolines(relief):
    """The surface's contour levels as plotly's ``start/end/size`` in scene heights (None: flat)."""
    levels = contour_levels(relief.data_min, relief.data_max, N_CONTOURS)
    if len(levels) < 2:
        return None
    heights = (levels - relief.data_min) * relief.scale
    return {"start": float(heights[0]), "end": float(heights[-1]), "size": float(heights[1] - heights[0])}


def _height_ticks(relief):
    """The z axis's tick heights and their labels in loss units (10^x on a log scale)."""
    levels = contour_levels(relief.data_min, relief.data_max, 5)
    values = 10.0 ** levels if relief.log_z else levels
    return {"vals": [float(v) for v in (levels - relief.data_min) * relief.scale],
            "text": [format_loss(float(v)) for v in values]}


def _floor_contours(alphas, betas, heights, relief, look):
    """The contour lines drawn on the floor, coloured by the colormap at their level (NaN-separated)."""
    from contourpy import contour_generator  # matplotlib's contouring (the colormap already needs matplotlib)

    levels = contour_levels(0.0, relief.top, N_CONTOURS) if relief.top > 0 else np.array([])
    if not len(levels) or not np.isfinite(heights).any():
        return None
    generator = contour_generator(alphas, betas, heights.T, line_type="Separate")
    xs, ys, colours = [], [], []
    for level in levels:
        for line in generator.lines(level):
            xs.extend(line[:, 0].tolist() + [np.nan])
            ys.extend(line[:, 1].tolist() + [np.nan])
            colours.extend([level / relief.top] * (len(line) + 1))
    if not xs:
        return None
    return {"x": encode(xs, "f4"), "y": encode(ys, "f4"), "color": encode(colours, "f4")}


def _paths(landscape, relief, width, colours):
    """Each path's points: plane coordinates, heights, and the HUD's numbers; the shared slider's frames."""
    slices = landscape.path_slices()
    total = sum(len(index) for index in slices.values())
    budget = max(2, MAX_PATH_POINTS // max(1, len(slices)))
    if total > MAX_PATH_POINTS:
        warnings.warn(f"the landscape's {total} path points are more than the viewer draws; each path shows at most "
                      f"{budget} of them, evenly spaced", LossfilmWarning, stacklevel=3)
        slices = {name: thinned(index, budget) for name, index in slices.items()}
    alphas = np.asarray(landscape.alphas, float)
    betas = np.asarray(landscape.betas, float)
    surface = relief.z(landscape.loss)
    steps = [np.asarray(landscape.path_steps, float)[index] for index in slices.values()]
    count, frame_steps, frame_index = _frames(steps)
    paths = []
    for (name, index), colour, own_steps, own_frames in zip(slices.items(), colours, steps, frame_index):
        a = np.asarray(landscape.path_alpha, float)[index]
        b = np.asarray(landscape.path_beta, float)[index]
        plane = np.asarray(landscape.path_loss_plane, float)[index]
        z = relief.z(plane)
        # where the on-plane loss is unknown the ball rides the drawn surface itself
        if len(index):
            z = np.where(np.isfinite(z), z, bilinear(alphas, betas, surface, a, b))
        paths.append({
            "name": name, "color": colour, "points": int(len(index)),
            "a": encode(a, "f8"), "b": encode(b, "f8"), "z": encode(z + LIFT * width, "f8"),
            "steps": encode(own_steps, "f8"),
            "epochs": encode(np.asarray(landscape.path_epochs, float)[index], "f8"),
            "loss_true": encode(np.asarray(landscape.path_loss_true, float)[index], "f8"),
            "loss_plane": encode(plane, "f8"),
            "accuracy": encode(np.asarray(landscape.path_accuracy, float)[index], "f8"),
            "frame_index": encode(own_frames, "i4"),
        })
    return {"paths": paths, "frames": count, "frame_steps": encode(frame_steps, "f8"),
            "sharpness": _sharpness(landscape)}


def _frames(steps):
    """The slider's frames: ``(count, step of each frame, each path's point index at each frame)``.

    A single path's frames are its points. A race's are every step any racer
    reached, and each racer shows its last point at or before that step (its
    first before it starts): the shared slider compares them at equal steps.

    Examples
    --------
    >>> count, at, index = _frames([np.array([0.0, 2.0]), np.array([0.0, 1.0, 2.0])])
    >>> count, at.tolist(), [i.tolist() for i in index]
    (3, [0.0, 1.0, 2.0], [[0, 0, 1], [0, 1, 2]])
    """
    if not steps or all(len(own) == 0 for own in steps):
        return 0, np.zeros(0), [np.zeros(0, int) for _ in steps]
    if len(steps) == 1:
        return len(steps[0]), steps[0], [np.arange(len(steps[0]))]
    union = np.unique(np.concatenate(steps))
    index = [np.clip(np.searchsorted(own, union, side="right") - 1, 0, max(len(own) - 1, 0)) for own in steps]
    return len(union), union, index


def _sharpness(landscape):
    """lambda_max at the measured steps, and the stability line, for the HUD (None without them)."""
    if not has_sharpness(landscape):
        return None
    threshold = stability_threshold(landscape)
    return {"steps": encode(np.asarray(landscape.sharpness_steps, float), "f8"),
            "values": encode(np.asarray(landscape.sharpness, float), "f8"),
            "threshold": (f"{threshold['rule']} = {threshold['value']:.3g}" if threshold else None)}


def _cameras():
    """The film's camera presets as plotly cameras (eye on a sphere around the centre, z up)."""
    cameras = {}
    for name, view in PRESETS.items():
        backward, up, _ = view_basis(view.azimuth, view.elevation)
        eye = CAMERA_DISTANCE * backward
        cameras[name] = {"eye": dict(zip("xyz", map(float, eye))), "up": dict(zip("xyz", map(float, up))),
                         "center": {"x": 0.0, "y": 0.0, "z": 0.0}}
    return cameras
