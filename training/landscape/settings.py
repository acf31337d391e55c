"""The landscape settings: one commented block of defaults, parsed into a frozen LandscapeSettings.

These are the settings that decide a landscape's content, for a single run
(:meth:`lossfilm.training.landscape.pipeline.Landscape.from_trajectory`, ``lossfilm
landscape``), a race (:mod:`lossfilm.training.landscape.race`) and a classic 2-D
function (:mod:`lossfilm.training.landscape.classic`) alike. ``lossfilm landscape
--help`` and ``lossfilm race --help`` show the same values: the CLI reads
them from ``DEFAULTS``. How the work is done (threads, progress bars,
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
from lossfilm.format.planes import PLANE_KINDS
from lossfilm.training.landscape.grid import DTYPES
from lossfilm.training.landscape.segment import RANGE, line_positions

SHARPNESS_MAX = 10000  # snapshots of the sharpness curve at most: each costs one Lanczos run

DEFAULTS: dict[str, Any] = dict(
    # the plane (lossfilm.format.planes lists the kinds; lossfilm.training.landscape.plane makes them)
    directions_kind="pca",  # "pca" (of the path), "random" (filter-normalised), "anchors" (three snapshots)
    # or "hessian" (the top two Hessian eigenvectors at the final snapshot)
    anchors=None,  # snapshot indices (i, j, k) of the anchors plane, origin at k; None: first, middle, last
    biases="zero",  # random directions leave the biases put ("zero") or scale them as one filter ("filter")
    scaling="orthonormal",  # random directions made orthonormal after filter normalisation, or "li": kept as
    # Li et al. 2018 scale them (each filter's norm that of the weights' filter; grid units are multiples of them)
    bias_names=None,  # which parameters are bias-like, by name; None: the rule of lossfilm.training.landscape.param_roles
    seed=0,  # seeds the random directions, the randomised PCA's start, Lanczos' start and the sample subset
    filter_normalise=False,  # hessian plane: scale its eigenvectors filter by filter (Li et al.), then orthonormalise
    # curvature: the top Hessian eigenvalues by Lanczos (lossfilm.training.curvature.lanczos)
    hessian_tol=1e-3,  # Lanczos stops when every wanted pair's residual is this share of the top eigenvalue
    sharpness=0,  # the top eigenvalue at this many evenly spaced snapshots (0: none; --sharpness alone: 30)
    # the grid: a square around the path, equal scale on both axes, the origin on a node
    resolution=51,  # nodes per side (odd, so the square has a middle node; any >= 3 works)
    margin=0.3,  # room around the path, as a share of its bounding box's larger side
    grid_range=None,  # (a_min, a_max, b_min, b_max) instead of the fitted square
    # the loss of the built-in MLP
    samples=10000,  # evaluated on a seeded subset of this many training samples; 0: all of them
    dtype="float32",  # the fast path's arithmetic: "float32" (within 1e-5 relative, 2x faster) or "float64"
    # the path
    max_path=1000,  # most path points kept for the film, evenly spaced; the plane uses every snapshot
    # the 1-D view: the loss along the straight line from the first to the last snapshot
    line=0,  # points along it; 0: none (lossfilm landscape asks for lossfilm.training.landscape.segment.POINTS)
    line_range=RANGE,  # the positions t it spans; 0 is the first snapshot, 1 the last
)


@dataclass(frozen=True)
class LandscapeSettings:
    """Everything that decides a landscape's content; recorded in every landscape and hashed into its key.

    Field meanings and defaults: see ``DEFAULTS`` at the top of this module.
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
        kind = self.directions_kind
        if kind not in PLANE_KINDS:
            choices = ", ".join(name for name, plane in PLANE_KINDS.items() if plane.network)
            raise ConfigError(f"--directions {kind!r}: choose one of {choices}")
        if self.scaling not in ("orthonormal", "li"):
            raise ConfigError(f"--scaling {self.scaling!r}: choose orthonormal or li")
        if self.scaling != "orthonormal" and kind != "random":
            raise ConfigError("--scaling li needs --directions random (it is how random directions are scaled)")
        if self.anchors is not None and kind != "anchors":
            raise ConfigError("--anchors needs --directions anchors")
        if self.filter_normalise and kind != "hessian":
            raise ConfigError("--filter-normalise needs --directions hessian (random directions always are)")
        if not 0 < float(self.hessian_tol) < 1:
            raise ConfigError(f"--hessian-tol {self.hessian_tol}: must lie between 0 and 1 (e.g. 1e-3)")
        if not 0 <= int(self.sharpness) <= SHARPNESS_MAX:
            raise ConfigError(f"--sharpness {self.sharpness}: the number of snapshots must lie in 0..{SHARPNESS_MAX}")
        if int(self.resolution) < 3:
            raise ConfigError(f"--resolution {self.resolution}: need at least 3 nodes per side")
        if not float(self.margin) >= 0:
            raise ConfigError(f"--margin {self.margin}: must be >= 0")
        if int(self.samples) < 0:
            raise ConfigError(f"--samples {self.samples}: must be >= 0 (0 means all)")
        if self.dtype not in DTYPES:
            raise ConfigError(f"--dtype {self.dtype}: choose one of {', '.join(DTYPES)}")
        if int(self.max_path) < 2:
            raise ConfigError(f"--max-path {self.max_path}: must be at least 2 (the first and last snapshot)")
        if self.grid_range is not None and len(self.grid_range) != 4:
            raise ConfigError("--range: give four numbers A_MIN A_MAX B_MIN B_MAX")
        if int(self.line) < 0:
            raise ConfigError(f"line {self.line}: the number of points must be >= 0 (0: no 1-D view)")
        if int(self.line):
            line_positions(int(self.line), self.line_range)  # checks them
        # frozen: normalise through object.__setattr__ so that to_dict() is stable JSON
        normal = {"anchors": None if self.anchors is None else tuple(int(a) for a in self.anchors),
                  "bias_names": None if self.bias_names is None else tuple(sorted(map(str, self.bias_names))),
                  "seed": int(self.seed), "resolution": int(self.resolution), "margin": float(self.margin),
                  "grid_range": None if self.grid_range is None else tuple(float(v) for v in self.grid_range),
                  "samples": int(self.samples), "max_path": int(self.max_path), "line": int(self.line),
                  "line_range": tuple(float(v) for v in self.line_range),
                  "filter_normalise": bool(self.filter_normalise), "hessian_tol": float(self.hessian_tol),
                  "sharpness": int(self.sharpness)}
        for name, value in normal.items():
            object.__setattr__(self, name, value)

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
