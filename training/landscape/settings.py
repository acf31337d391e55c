"""The landscape settings: one commented block of defaults, parsed into a frozen LandscapeSettings.

These are the settings that decide a landscape's content, for a single run
(:meth:`lossfilm.training.landscape.pipeline.Landscape.from_trajectory`, ``lossfilm
landscape``), a race (:mod:`lossfilm.training.landscape.race`) and a classic 2-D
function (:mod:`lossfilm.training.landscape.classic`) alike. ``lossfilm landscape
--help`` and ``lossfilm race --help`` show the same values: the CLI reads
them from ``LANDSCAPE_OPTIONS``. How the work is done (threads, progress bars,
checkpoints) is not a setting: it never changes the result.

Examples
--------
>>> settings = LandscapeSettings(directions_kind="random", grid_range=(-1, 1, -2, 2))
>>> settings.resolution, settings.grid_range, settings.to_dict("mlp")["range"]
(51, (-1.0, 1.0, -2.0, 2.0), [-1.0, 1.0, -2.0, 2.0])
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from lossfilm.format.errors import ConfigError
from lossfilm.format.declared.options import Option, defaults
from lossfilm.format.planes import PLANE_KINDS, SCALINGS, directions_help
from lossfilm.format.declared.values import Choice, Count, Flag, Many, Number, Numbers, Text
from lossfilm.training.landscape.grid import DTYPES
from lossfilm.training.landscape.segment import RANGE, line_positions

SHARPNESS_MAX = 10000  # snapshots of the sharpness curve at most: each costs one Lanczos run

MAX_LINE = 100000  # points of the 1-D view: each is one loss evaluation, and a plot is a few hundred pixels wide
MAX_MARGIN = 100.0  # room around the path, in shares of its extent: more puts the path in one pixel

# The landscape settings, declared once (lossfilm.format.declared.options): ``lossfilm landscape`` builds its arguments
# from them and LandscapeSettings checks its fields with them. The grid: a square around the path, equal scale
# on both axes, the origin on a node.
LANDSCAPE_OPTIONS = (
    # the plane (lossfilm.format.planes lists the kinds; lossfilm.training.landscape.plane makes them)
    Option("directions_kind", Choice(tuple(PLANE_KINDS)), "pca", directions_help(
        [name for name, plane in PLANE_KINDS.items() if plane.network]), cli="--directions"),
    Option("anchors", Numbers(Count(0), 3), None, "snapshot indices of the anchors plane "
           "(origin at K; default: first, middle, last)", optional=True, metavar=("I", "J", "K")),
    Option("biases", Choice(("zero", "filter")), "zero", "random directions leave the biases put (zero) or scale "
           "them as one filter (filter)"),
    Option("bias_names", Many(Text(), 0, 100000), None, "which parameters are bias-like, by name (default: the "
           "rule of lossfilm.training.landscape.param_roles)", optional=True),
    Option("scaling", Choice(SCALINGS), "orthonormal", "random directions: made orthonormal after "
           "filter normalisation (coordinates are parameter distances), or 'li', kept exactly filter-normalised "
           "as Li et al. 2018 (coordinates are multiples of the directions)"),
    Option("seed", Count(0), 0, "seed of the random directions, the PCA start, Lanczos' start and the sample subset"),
    Option("filter_normalise", Flag(), False, "--directions hessian: scale the eigenvectors filter by filter, as Li "
           "et al. do random directions (the axes' curvatures are then no longer the eigenvalues)"),
    # curvature: the top Hessian eigenvalues by Lanczos (lossfilm.training.curvature.lanczos)
    Option("hessian_tol", Number(0.0, 1.0, above=True, below=True), 1e-3,
           "Lanczos' relative residual for the Hessian plane and the sharpness"),
    Option("sharpness", Count(0, SHARPNESS_MAX), 0, "also measure the top Hessian eigenvalue at N evenly spaced "
           "snapshots (0: none)", metavar="N"),
    Option("resolution", Count(3), 51, "grid nodes per side (odd, so the square has a middle node)"),
    Option("margin", Number(0.0, MAX_MARGIN), 0.3, "room around the path, as a share of its bounding box's "
           "larger side"),
    Option("grid_range", Numbers(Number(), 4, rising=True), None, "explicit grid extent (default: a square "
           "around the path, origin on a node)", optional=True, cli="--range",
           metavar=("A_MIN", "A_MAX", "B_MIN", "B_MAX")),
    # the loss of the built-in MLP
    Option("samples", Count(0), 10000, "evaluate on a seeded subset of this many training samples (0: all)"),
    Option("dtype", Choice(DTYPES), "float32", "the fast grid's arithmetic: float32 is within 1e-5 relative of "
           "float64 and up to twice as fast; the path's own losses are float64 either way"),
    # the path
    Option("max_path", Count(2), 1000, "most path points kept for the film (evenly spaced; PCA uses all)"),
    # the 1-D view: the loss along the straight line from the first to the last snapshot
    Option("line", Count(0, MAX_LINE, skip=(1,), what=f"0 (no line) or a whole number from 2 to {MAX_LINE}"), 0,
           "points along the straight line from the first to the last snapshot (0: none)"),
    Option("line_range", Numbers(Number(), 2, rising=True), RANGE, "the positions t the line spans; 0 is the "
           "first snapshot, 1 the last"),
)
DEFAULTS = defaults(LANDSCAPE_OPTIONS)
# How the grid is computed, not what it holds (so not a setting, and not in the key): threads of the fast path.
GRID_WORKERS = Option("workers", Count(1, 4096), None, "threads for the grid (default: all cores)", optional=True,
                      metavar="N")


@dataclass(frozen=True)
class LandscapeSettings:
    """Everything that decides a landscape's content; recorded in every landscape and hashed into its key.

    Field meanings, ranges and defaults: see ``LANDSCAPE_OPTIONS`` at the top of this module.
    Values are checked on construction; an impossible one raises
    ``ConfigError`` naming the command-line option.
    """

    directions_kind: str = DEFAULTS["directions_kind"]
    anchors: tuple | None = DEFAULTS["anchors"]
    biases: str = DEFAULTS["biases"]
    bias_names: tuple | None = DEFAULTS["bias_names"]
    scaling: str = DEFAULTS["scaling"]
    seed: int = DEFAULTS["seed"]
    filter_normalise: bool = DEFAULTS["filter_normalise"]
    hessian_tol: float = DEFAULTS["hessian_tol"]
    sharpness: int = DEFAULTS["sharpness"]
    resolution: int = DEFAULTS["resolution"]
    margin: float = DEFAULTS["margin"]
    grid_range: tuple | None = DEFAULTS["grid_range"]
    samples: int = DEFAULTS["samples"]
    dtype: str = DEFAULTS["dtype"]
    max_path: int = DEFAULTS["max_path"]
    line: int = DEFAULTS["line"]
    line_range: tuple = DEFAULTS["line_range"]

    def __post_init__(self):
        # frozen: normalise through object.__setattr__ so that to_dict() is stable JSON
        for option in LANDSCAPE_OPTIONS:
            object.__setattr__(self, option.name, option.check(getattr(self, option.name), option.flag))
        kind = self.directions_kind
        if self.scaling != "orthonormal" and kind != "random":
            raise ConfigError("--scaling li needs --directions random (it is how random directions are scaled)")
        if self.anchors is not None and kind != "anchors":
            raise ConfigError("--anchors needs --directions anchors")
        if self.filter_normalise and kind != "hessian":
            raise ConfigError("--filter-normalise needs --directions hessian (random directions always are)")
        if self.line:
            line_positions(self.line, self.line_range)  # checks them
        if self.bias_names is not None:
            object.__setattr__(self, "bias_names", tuple(sorted(self.bias_names)))

    @classmethod
    def of(cls, settings=None, **changes):
        """``settings`` (default: the defaults) with some fields changed; an unknown name is a ConfigError.

        Examples
        --------
        >>> LandscapeSettings.of(resolution=21).resolution
        21
        >>> LandscapeSettings.of(directions="random")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lossfilm.format.errors.ConfigError: unknown landscape setting directions; the settings are directions_kind, ...
        """
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise ConfigError(f"unknown landscape setting {', '.join(unknown)}; the settings are {', '.join(names)}")
        return replace(settings if settings is not None else cls(), **changes)

    def to_dict(self, evaluation):
        """The settings as the landscape records and hashes them (JSON-able), with what evaluated the loss.

        Parameters
        ----------
        evaluation : str
            The evaluation's name (:mod:`lossfilm.training.landscape.evaluation`):
            ``"mlp"``, ``"loss_fn:module.name"`` or ``"exact"``.

        Examples
        --------
        >>> LandscapeSettings().to_dict("mlp")["line"], LandscapeSettings(line=61).to_dict("mlp")["line"]
        (None, {'points': 61, 'range': [-0.25, 1.25]})

        The fast path's ``dtype`` changes the built-in MLP's grid (by up to
        1e-5 relative), so it is recorded, and hashed into the key, for
        ``"mlp"`` only; the other evaluations do not use it.

        >>> "dtype" in LandscapeSettings().to_dict("mlp"), "dtype" in LandscapeSettings().to_dict("exact")
        (True, False)
        """
        explicit = {} if self.bias_names is None else {"bias_names": list(self.bias_names)}  # keys stay as they were
        precision = {"dtype": self.dtype} if evaluation == "mlp" else {}
        return {**explicit, "directions_kind": self.directions_kind,
                "anchors": None if self.anchors is None else list(self.anchors),
                "resolution": self.resolution, "margin": self.margin,
                "range": None if self.grid_range is None else list(self.grid_range),
                "samples": self.samples, "max_path": self.max_path, "seed": self.seed, "biases": self.biases,
                **({"scaling": self.scaling} if self.scaling != "orthonormal" else {}),
                "evaluation": evaluation, **precision,
                "line": {"points": self.line, "range": list(self.line_range)} if self.line else None,
                **self._curvature_dict()}

    def _curvature_dict(self):
        """The curvature settings, recorded only where curvature is computed (other keys stay as they were)."""
        record = {}
        if self.directions_kind == "hessian":
            record["hessian"] = {"tol": self.hessian_tol, "filter_normalise": self.filter_normalise}
        if self.sharpness:
            record["sharpness"] = {"points": self.sharpness, "tol": self.hessian_tol}
        return record
