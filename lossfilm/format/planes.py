"""Plane kinds: what each kind of plane is called, how its axes and summary read, how far its grid reaches.

A landscape file stores the kind of its plane as ``directions_kind``; the
command line takes it as ``--directions`` (Li et al.'s word). Everything that
depends on the kind reads :data:`PLANE_KINDS`: axis labels
(:meth:`lossfilm.format.landscape.Landscape.axis_label`, which the renderer
draws), the summary's plane line, the extent of the loss grid, and the
choices and help of ``--directions``. How a plane of each kind is *made*
from trajectories (PCA, random directions, anchors) is computation, in
:mod:`lossfilm.training.landscape.plane`; this table is data, readable by the
renderer, which never imports training.

Adding a plane kind
-------------------
1. Add one :class:`PlaneKind` to :data:`PLANE_KINDS` below: its name, a
   phrase for ``--directions --help``, its axis label, its summary line and
   its grid reach.
2. Write its builder in :mod:`lossfilm.training.landscape.plane`, a function
   ``(paths, settings) -> Plane`` registered with
   ``@plane_builder("NAME")`` (``race=True`` if it can also make a race's
   common plane through the racers' shared start).
3. Test it in ``tests/test_plane.py``, which also checks that every kind
   offered by ``--directions`` has a builder.

Examples
--------
>>> PLANE_KINDS["random"].reach, [kind.name for kind in PLANE_KINDS.values() if kind.network]
(2.0, ['pca', 'pca-uncentred', 'random', 'anchors', 'hessian'])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlaneKind:
    """One kind of plane, as the landscape file and everything that reads it know it.

    Attributes
    ----------
    name : str
        The ``directions_kind`` stored in a landscape, and the ``--directions`` choice.
    help : str
        A phrase for ``--directions``' help, e.g. ``"PCA of the path"``.
    label : callable
        ``label(landscape, axis) -> str``: what axis 0 or 1 is, in words.
    summary : callable
        ``summary(landscape) -> str``: the summary's line about the plane
        (after ``"plane   "``); it reads ``landscape.settings["plane"]``,
        what the builder recorded.
    reach : float
        The grid's square is at least ``reach`` times the farthest
        snapshot's distance from the origin (0: fitted to the projected
        path alone). A plane that barely sees the path, on which it projects
        to a small knot near the origin, needs this to show the landscape
        at the scale the training actually moved.
    network : bool
        A plane through a network's parameter space, offered by
        ``--directions``; False for a 2-D function's own axes.
    """

    name: str
    help: str
    label: Callable
    summary: Callable
    reach: float = 0.0
    network: bool = True


def _centred(land):
    """Whether a PCA landscape's directions are centred (files from before lossfilm 0.2 say nothing: uncentred)."""
    return bool(land.settings.get("plane", {}).get("centred", False))


def _pca_share(land):
    """What a PCA landscape's percentages are shares of (short: it is drawn beside the axis)."""
    if _centred(land):
        return "variance"
    return "sq. offsets"  # the offsets' summed squared length from the origin


def _pca_label(land, axis):
    convention = "centred" if _centred(land) else "uncentred"
    return f"PC{axis + 1}, {convention} ({100 * land.explained_variance[axis]:.1f}% of {_pca_share(land)})"


def _pca_summary(land):
    plane, ev = land.settings.get("plane", {}), land.explained_variance
    snapshots = land.settings.get("stats", {}).get("snapshots", "?")
    convention = ("centred, as Li et al. 2018 and scikit-learn: shares of the offsets' variance about their mean"
                  if _centred(land) else
                  "uncentred: shares of the offsets' summed squared length from the origin")
    return (f"PCA of {snapshots} snapshots' offsets, origin = {plane.get('origin', 'final snapshot')} "
            f"({convention}): PC1 {100 * ev[0]:.1f}%, PC2 {100 * ev[1]:.1f}% (together {100 * ev.sum():.1f}%)"
            + (f"; PC2 {plane['pc2']}" if "pc2" in plane else ""))


def _random_summary(land):
    plane = land.settings.get("plane", {})
    units = ("Li et al.'s exact scaling: coordinates are multiples of the filter-normalised directions"
             if plane.get("scaling") == "li" else "made orthonormal: coordinates are parameter distances")
    return (f"random filter-normalised directions (seed {plane.get('seed')}, biases {plane.get('biases')}; "
            f"{units}), origin = final snapshot")


def _anchors_summary(land):
    plane = land.settings.get("plane", {})
    if "origin" in plane:  # a race: the plane through the racers' start and two final points
        return f"through {plane.get('anchors')}, origin = {plane['origin']}"
    return f"through snapshots {plane.get('anchors')}, origin = snapshot {(plane.get('anchors') or ['?'])[-1]}"


def _hessian_label(land, axis):
    plane = land.settings.get("plane", {})
    values, curvature = plane.get("eigenvalues") or [np.nan] * 2, plane.get("curvature") or [np.nan] * 2
    # "lambda", not the Greek letter: VTK's built-in Arial has no Greek glyphs and would drop it
    if plane.get("filter_normalise"):
        return f"Hessian dir. {axis + 1}, filter-normalised (curvature {curvature[axis]:.3g})"
    return f"Hessian dir. {axis + 1} (lambda{axis + 1} = {values[axis]:.3g})"


def _hessian_summary(land):
    plane = land.settings.get("plane", {})
    values, residuals = plane.get("eigenvalues") or [np.nan] * 2, plane.get("residuals") or [np.nan] * 2
    state = ("converged" if plane.get("converged")
             else f"NOT converged to {plane.get('tol', 0):.0e}: loosen --hessian-tol or trust them less")
    text = (f"top Hessian eigenvectors at the final snapshot: lambda1 = {values[0]:.4g}, lambda2 = {values[1]:.4g} "
            f"(Lanczos, {plane.get('iterations', '?')} Hessian-vector products, residual "
            f"{max(residuals):.1e} of |lambda1|: {state})")
    if plane.get("filter_normalise"):
        curvature = plane.get("curvature") or [np.nan] * 2
        text += (f"; filter-normalised, so the axes' curvatures are {curvature[0]:.4g} and {curvature[1]:.4g}, "
                 "not the eigenvalues")
    if plane.get("saddle"):
        text += "; a NEGATIVE eigenvalue: the final point is a saddle, not a minimum"
    return text


def _axis_names(land):
    return land.settings.get("axis_names", ["x", "y"])


PLANE_KINDS = {kind.name: kind for kind in (
    PlaneKind("pca", "PCA of the path (centred, as Li et al. 2018)", label=_pca_label, summary=_pca_summary),
    PlaneKind("pca-uncentred", "PCA of the path's offsets from its origin, uncentred",
              label=_pca_label, summary=_pca_summary),
    PlaneKind("random", "random filter-normalised directions",
              label=lambda land, axis: f"random direction {axis + 1}",
              summary=_random_summary, reach=2.0),
    PlaneKind("anchors", "the plane through three snapshots",
              label=lambda land, axis: f"anchor direction {axis + 1}",
              summary=_anchors_summary),
    PlaneKind("hessian", "the top two Hessian eigenvectors at the final point",
              label=_hessian_label, summary=_hessian_summary),
    PlaneKind("axes", "a 2-D function's own x and y",
              label=lambda land, axis: _axis_names(land)[axis],
              summary=lambda land: f"the function's own axes {', '.join(_axis_names(land))} "
                                   "(exact: nothing is projected)",
              network=False),
)}


def plane_kind(name):
    """The :class:`PlaneKind` called ``name``; a plain one for a kind this lossfilm does not know.

    A file written by a newer lossfilm may hold a newer kind: it still loads
    and renders, its axes labelled "direction 1" and "direction 2".

    Examples
    --------
    >>> plane_kind("pca").help, plane_kind("newer").help
    ('PCA of the path (centred, as Li et al. 2018)', 'newer')
    """
    return PLANE_KINDS.get(name) or PlaneKind(name, name, label=lambda land, axis: f"direction {axis + 1}",
                                              summary=lambda land: f"{name} directions")


SCALINGS = ("orthonormal", "li")  # how random directions are scaled: orthonormalised, or as Li et al. 2018 do


def directions_help(kinds):
    """``--directions``' help for ``kinds``: ``"plane: PCA of the path, ..., or the plane through three snapshots"``.

    Examples
    --------
    >>> directions_help(["pca", "anchors"])
    'plane: PCA of the path (centred, as Li et al. 2018), or the plane through three snapshots'
    """
    phrases = [PLANE_KINDS[name].help for name in kinds]
    return "plane: " + (", ".join(phrases[:-1]) + ", or " if len(phrases) > 1 else "") + phrases[-1]
