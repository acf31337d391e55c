"""The camera: named views, and framing the whole surface at any aspect ratio.

A view is an azimuth and an elevation around the scene's centre. The rig
finds the distance at which the scene's bounding box fits a target
rectangle of the frame (leaving room for the title, the HUD and the scalar
bar), for every view the film will use, and keeps the largest: an orbiting
camera neither zooms nor clips. An off-axis projection (VTK's window
centre) then puts the box in the middle of that rectangle. Where a deep
valley's near wall would hide the path, the rig raises every view's
elevation just enough (in 3 degree steps) to see it (:meth:`CameraRig.watch`).

Azimuth 0 looks along +beta (the alpha axis runs left to right); positive
azimuths turn the camera counter-clockwise seen from above.

Examples
--------
>>> PRESETS["three-quarter"].elevation
32.0
"""

from __future__ import annotations

import contextlib

from dataclasses import dataclass

import numpy as np

from lossfilm.format.errors import ConfigError


@dataclass(frozen=True)
class View:
    azimuth: float  # degrees
    elevation: float  # degrees above the horizon


PRESETS = {
    "three-quarter": View(azimuth=-38.0, elevation=32.0),
    "top": View(azimuth=0.0, elevation=90.0),
    "side": View(azimuth=0.0, elevation=6.0),
}

# Default frame area for the surface, as (left, bottom, right, top) fractions:
# the title sits above it, the scalar bar to its right.
FRAME = (0.02, 0.03, 0.87, 0.89)


def get_preset(name):
    """The view called ``name``; ConfigError names the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"camera {name!r} is unknown; choose one of {', '.join(PRESETS)}") from None


def view_basis(azimuth, elevation):
    """Unit vectors (backward, up, right) of a camera at this view.

    ``backward`` points from the focal point to the camera.

    Examples
    --------
    >>> b, u, r = view_basis(0.0, 0.0)
    >>> (np.round(b, 6) + 0.0).tolist(), (np.round(r, 6) + 0.0).tolist()
    ([0.0, -1.0, 0.0], [1.0, 0.0, 0.0])
    """
    az, el = np.radians(azimuth - 90.0), np.radians(min(elevation, 90.0))
    backward = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    horizontal = np.array([np.cos(az), np.sin(az), 0.0])
    # up: world z made orthogonal to the view; from straight above, "away from the viewer's side"
    up = np.array([0.0, 0.0, 1.0]) - backward[2] * backward
    if np.linalg.norm(up) < 1e-6:
        up = -horizontal
    up /= np.linalg.norm(up)
    right = np.cross(up, backward)
    return backward, up, right / np.linalg.norm(right)


def sight_blocked(points, ends, height_at, bounds, tolerance=0.0, samples=40):
    """Whether the surface rises above each sight line from ``points`` to ``ends``.

    Parameters
    ----------
    points, ends : (n, 3) arrays
        Where each sight line starts (the thing seen) and ends (the eye, or far enough).
    height_at : callable
        ``height_at(x, y) -> z`` of the surface (NaN where blanked).
    bounds : tuple
        (xmin, xmax, ymin, ymax) of the surface: outside it nothing blocks.

    Returns
    -------
    (n,) bool array

    Examples
    --------
    >>> wall = lambda x, y: np.where(np.abs(x) < 0.1, 5.0, 0.0)
    >>> sight_blocked(np.array([[-1.0, 0, 1]]), np.array([[1.0, 0, 1]]), wall, (-2, 2, -2, 2)).tolist()
    [True]
    """
    xmin, xmax, ymin, ymax = bounds
    s = np.linspace(0.0, 1.0, samples + 1)[1:]  # (m,) skip the start: it sits on the surface
    ray = points[:, None, :] + s[None, :, None] * (ends - points)[:, None, :]  # (n, m, 3)
    x, y = ray[..., 0], ray[..., 1]
    ground = height_at(x.ravel(), y.ravel()).reshape(x.shape)  # (n, m)
    inside = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
    return (inside & (np.nan_to_num(ground, nan=-np.inf) > ray[..., 2] + tolerance)).any(axis=1)


class CameraRig:
    """Owns the plotter's camera: views, framing and the distance for the whole film.

    Parameters
    ----------
    plotter : pyvista.Plotter
    points : (n, 3) array
        Points that must stay in the frame (e.g. the corners of the scene's box).
    view : View
        The starting view.
    frame : tuple
        (left, bottom, right, top) fractions of the frame to fit the points into.
    view_angle : float
        Vertical field of view in degrees (narrow: less perspective distortion).
    """

    def __init__(self, plotter, points, view, *, frame=FRAME, view_angle=26.0):
        self.plotter = plotter
        self.points = np.asarray(points, dtype=float)  # (n, 3)
        self.center = 0.5 * (self.points.min(axis=0) + self.points.max(axis=0))
        self.frame = frame
        self.view_angle = view_angle
        width, height = plotter.window_size
        self.aspect = width / height
        self.azimuth, self.elevation = view.azimuth, view.elevation
        self._views = {(round(view.azimuth, 3), round(view.elevation, 3))}
        self._watch = None
        self._solved = None  # (lift, distance), for the views included so far
        self._deferred = self._pending = False  # inside deferred(); a view set there and not yet pointed

    def include(self, azimuths, elevation):
        """Make sure views at these azimuths (and this elevation) fit too."""
        for azimuth in np.atleast_1d(azimuths):
            self._views.add((round(float(azimuth), 3), round(float(elevation), 3)))
        self._solved = None

    def watch(self, points, height_at, bounds, *, must_see=(), tolerance=0.0):
        """Raise the camera, if need be, so that these points are not hidden by the surface.

        Parameters
        ----------
        points : (n, 3) array
            Points that should be visible (e.g. the ball's centre along the path).
        height_at : callable
            ``height_at(x, y) -> z`` of the surface (NaN where blanked).
        bounds : tuple
            (xmin, xmax, ymin, ymax) of the surface.
        must_see : sequence of int
            Indices of points that must be visible in every view (e.g. the minimum);
            of the others, 95% must be.
        tolerance : float
            How far the surface may rise above a sight line before it hides a point.
        """
        self._watch = (np.asarray(points, dtype=float), height_at, tuple(bounds), tuple(must_see),
                       float(tolerance))
        self._solved = None

    @property
    def lift(self):
        """Degrees added to every view's elevation so the watched points stay visible."""
        return self._solve()[0]

    @property
    def distance(self):
        """Camera distance that fits every included view (computed once, then kept)."""
        return self._solve()[1]

    def set_view(self, azimuth=None, elevation=None):
        """Point the camera from this view (state only; the next render shows it).

        Inside :meth:`deferred` only the angles are kept, and the camera is
        pointed once when the block ends.
        """
        if azimuth is not None:
            self.azimuth = float(azimuth)
        if elevation is not None:
            self.elevation = float(elevation)
        if self._deferred:
            self._pending = True
            return
        self._point()

    @contextlib.contextmanager
    def deferred(self):
        """Point the camera once, at the end of the block, however many views were set inside it.

        A scene's seek runs every camera animation (an orbit, a tilt, and the
        ones not started yet at their start): the last view set wins, so one
        pointing per frame is enough.
        """
        self._deferred = True
        try:
            yield self
        finally:
            self._deferred = False
            if self._pending:
                self._pending = False
                self._point()

    def _point(self):
        lift, distance = self._solve()
        elevation = self._lifted(self.elevation, lift)
        backward, up, _ = view_basis(self.azimuth, elevation)
        camera = self.plotter.camera
        camera.SetViewAngle(self.view_angle)
        camera.SetFocalPoint(*self.center)
        camera.SetPosition(*(self.center + distance * backward))
        camera.SetViewUp(*up)
        camera.SetWindowCenter(*self._window_center(self.azimuth, elevation, distance))
        self.plotter.renderer.ResetCameraClippingRange()

    @staticmethod
    def _lifted(elevation, lift):
        return elevation if elevation >= 90.0 else min(89.0, elevation + lift)

    def _solve(self):
        if self._solved is None:
            views = sorted(self._views)
            lift = 0.0
            if self._watch is not None:
                # visibility changes slowly with the view: every 10 degrees of azimuth is enough
                coarse = sorted({(round(az / 10.0) * 10.0, el) for az, el in views})
                lowest = min(el for _, el in views)
                for lift in np.arange(0.0, max(0.0, 80.0 - lowest) + 1e-9, 3.0):
                    if all(self._sees(az, self._lifted(el, lift)) for az, el in coarse):
                        break
            distance = max(self._fit_distance(az, self._lifted(el, lift)) for az, el in views)
            self._solved = (float(lift), float(distance))
        return self._solved

    def _sees(self, azimuth, elevation, samples=40):
        """Whether the watched points are visible from far away in this direction."""
        points, height_at, (xmin, xmax, ymin, ymax), must_see, tolerance = self._watch
        backward, _, _ = view_basis(azimuth, elevation)
        if backward[2] >= 0.999:
            return True
        step = max(1, len(points) // 150)
        chosen = sorted(set(range(0, len(points), step)) | set(must_see))
        points = points[chosen]  # (n, 3)
        required = np.isin(chosen, list(must_see))  # (n,)
        top = float(np.nanmax(self.points[:, 2]))
        # walk from each point towards the camera until the sight line is above everything
        reach = (top - points[:, 2]).clip(min=0) / max(backward[2], 1e-3)  # (n,)
        ends = points + reach[:, None] * backward  # (n, 3)
        hidden = sight_blocked(points, ends, height_at, (xmin, xmax, ymin, ymax), tolerance, samples)
        if hidden[required].any():
            return False
        return hidden.mean() <= 0.05

    def _projected(self, azimuth, elevation, distance):
        """Tangent-space coordinates (n, 2) of the points seen from this view."""
        backward, up, right = view_basis(azimuth, elevation)
        q = self.points - self.center  # (n, 3)
        depth = distance - q @ backward  # (n,)
        return np.column_stack([q @ right / depth, q @ up / depth])

    def _fit_distance(self, azimuth, elevation):
        tan_half = np.tan(np.radians(self.view_angle) / 2)
        left, bottom, right, top = self.frame
        max_w = (right - left) * 2 * tan_half * self.aspect
        max_h = (top - bottom) * 2 * tan_half
        backward, up, right_vec = view_basis(azimuth, elevation)
        q = self.points - self.center  # (n, 3)
        toward, across, upward = q @ backward, q @ right_vec, q @ up  # (n,) each
        nearest = float(toward.max())
        radius = float(np.max(np.linalg.norm(q, axis=1)))
        lo, hi = max(nearest, 0.0) + 1e-6 * radius, nearest + 100.0 * radius / tan_half
        for _ in range(40):  # bisection: the projection shrinks as the camera backs off
            mid = 0.5 * (lo + hi)
            depth = mid - toward
            fits = np.ptp(across / depth) <= max_w and np.ptp(upward / depth) <= max_h
            lo, hi = (lo, mid) if fits else (mid, hi)
        return hi

    def _window_center(self, azimuth, elevation, distance):
        """Off-axis shift (normalised device units) that centres the box in the frame area."""
        tan_half = np.tan(np.radians(self.view_angle) / 2)
        xy = self._projected(azimuth, elevation, distance)
        mid = 0.5 * (xy.min(axis=0) + xy.max(axis=0))  # tangent units
        ndc = mid / np.array([tan_half * self.aspect, tan_half])
        left, bottom, right, top = self.frame
        target = np.array([left + right - 1.0, bottom + top - 1.0])
        return tuple(ndc - target)
