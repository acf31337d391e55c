"""The landscape file: a loss grid over a 2D plane, with the training path projected on it.

This is the contract between the landscape stage and the render stage, as
data: no loss is computed here (:mod:`lossfilm.training.landscape.pipeline` does that,
and its ``Landscape`` adds ``from_trajectory`` to this class). Grid index
``[i, j]`` is the point ``origin + alphas[i] * d1 + betas[j] * d2``.
Non-finite losses (exploding regions) are stored as NaN; ``computed`` marks
the nodes already evaluated, so an interrupted grid can resume.

Examples
--------
>>> import numpy as np, os, tempfile
>>> grid = np.add.outer(np.linspace(-1, 1, 3) ** 2, np.linspace(-1, 1, 3) ** 2)
>>> land = Landscape(alphas=np.linspace(-1, 1, 3), betas=np.linspace(-1, 1, 3), loss=grid,
...                  accuracy=np.full((3, 3), np.nan), computed=np.ones((3, 3), bool),
...                  origin=np.zeros(4, np.float32), directions=np.eye(2, 4, dtype=np.float32),
...                  path_alpha=np.array([1.0, 0.0]), path_beta=np.array([1.0, 0.0]),
...                  path_loss_plane=np.array([2.0, 0.0]), path_loss_true=np.array([2.0, 0.0]),
...                  path_accuracy=np.full(2, np.nan), residuals=np.zeros(2), path_steps=np.arange(2),
...                  path_epochs=np.full(2, np.nan), explained_variance=np.array([0.9, 0.1]))
>>> path = os.path.join(tempfile.mkdtemp(), "landscape.npz")
>>> land.save(path)
>>> Landscape.load(path).loss.shape
(3, 3)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from lossfilm.format.artifact import load_npz, save_npz
from lossfilm.format.errors import ArtifactError
from lossfilm.format.planes import plane_kind

KIND = "landscape"
SCHEMA_VERSION = 1

_ARRAYS = ("alphas", "betas", "loss", "accuracy", "computed", "origin", "directions",
           "path_alpha", "path_beta", "path_loss_plane", "path_loss_true", "path_accuracy",
           "residuals", "path_steps", "path_epochs", "explained_variance")
_OPTIONAL = ("path_owner", "line_t", "line_loss", "sharpness_steps", "sharpness")


@dataclass
class Landscape:
    """A loss surface over a plane through parameter space, and the path on it."""

    alphas: np.ndarray  # (R1,) grid coordinates along direction 1
    betas: np.ndarray  # (R2,) grid coordinates along direction 2
    loss: np.ndarray  # (R1, R2) float64, NaN where non-finite or not yet computed
    accuracy: np.ndarray  # (R1, R2) float64, NaN where unknown
    computed: np.ndarray  # (R1, R2) bool, nodes already evaluated
    origin: np.ndarray  # (P,) float32, the plane's origin in parameter space
    directions: np.ndarray  # (2, P) float32, orthonormal unit directions (random with scaling "li": Li et al.'s)
    path_alpha: np.ndarray  # (T,) coordinates of each snapshot in the plane
    path_beta: np.ndarray  # (T,)
    path_loss_plane: np.ndarray  # (T,) loss at the projected point: the ball rides this
    path_loss_true: np.ndarray  # (T,) loss at the snapshot itself
    path_accuracy: np.ndarray  # (T,) accuracy at the snapshot, NaN where unknown
    residuals: np.ndarray  # (T,) distance of each snapshot from the plane
    path_steps: np.ndarray  # (T,) int64 optimizer step of each snapshot
    path_epochs: np.ndarray  # (T,) float64 epoch of each snapshot, NaN where unknown
    explained_variance: np.ndarray  # (2,) variance ratio per direction (NaN if not PCA)
    directions_kind: str = "pca"  # the kind of plane: a key of lossfilm.format.planes.PLANE_KINDS
    settings: dict = field(default_factory=dict)
    trajectory_key: str = ""
    key: str = ""
    # Several paths on one surface (an optimizer race): the path_* arrays hold them one after
    # another, path_owner[t] is the index in path_names of the path that point t belongs to.
    path_owner: np.ndarray | None = None  # (T,) int64; None: all zeros (one path)
    path_names: tuple = ("path",)
    # The 1-D view (Goodfellow et al. 2015): loss at theta_0 + t * (theta_final - theta_0), where known.
    line_t: np.ndarray | None = None  # (L,) positions on the line; 0 = initial, 1 = final parameters
    line_loss: np.ndarray | None = None  # (L,) loss there
    # Sharpness along the path (Cohen et al. 2021): the top Hessian eigenvalue at some snapshots, where
    # measured; settings["curvature"]["threshold"] holds the optimizer's stability line (2/eta for SGD).
    sharpness_steps: np.ndarray | None = None  # (S,) int64 optimizer step of each measured snapshot
    sharpness: np.ndarray | None = None  # (S,) float64 lambda_max there

    def __post_init__(self):
        if self.path_owner is None:
            self.path_owner = np.zeros(len(self.path_alpha), dtype=np.int64)
        self.path_names = tuple(self.path_names)

    def path_slices(self):
        """``{name: index array}`` of each path's points, in path order."""
        return {name: np.flatnonzero(self.path_owner == i) for i, name in enumerate(self.path_names)}

    @property
    def nonfinite(self):
        """Mask of computed nodes whose loss was NaN or inf."""
        return self.computed & ~np.isfinite(self.loss)

    def axis_label(self, axis):
        """What axis 0 or 1 is, in words, as its plane kind says: ``"PC1, centred (71.2% of variance)"``."""
        return plane_kind(self.directions_kind).label(self, axis)

    def save(self, path):
        header = {"directions_kind": self.directions_kind, "settings": self.settings,
                  "trajectory_key": self.trajectory_key, "key": self.key, "path_names": list(self.path_names)}
        arrays = {name: getattr(self, name) for name in _ARRAYS + _OPTIONAL if getattr(self, name) is not None}
        save_npz(path, arrays, header, kind=KIND, schema_version=SCHEMA_VERSION)

    @classmethod
    def load(cls, path):
        arrays, header = load_npz(path, kind=KIND, schema_version=SCHEMA_VERSION)
        missing = [name for name in _ARRAYS if name not in arrays]
        if missing:
            raise ArtifactError(f"{path}: landscape is missing arrays {missing}")
        _check_shapes(path, arrays)
        try:
            land = cls(**arrays, directions_kind=header["directions_kind"], settings=header["settings"],
                       trajectory_key=header["trajectory_key"], key=header["key"],
                       path_names=header.get("path_names", ("path",)))
        except KeyError as exc:
            raise ArtifactError(f"{path}: landscape header is missing {exc}") from None
        except TypeError as exc:
            raise ArtifactError(f"{path}: landscape has unexpected contents ({exc})") from None
        T = len(land.path_alpha)
        if land.path_owner.shape != (T,) or (T and not 0 <= land.path_owner.min() <= land.path_owner.max()
                                               < len(land.path_names)):
            raise ArtifactError(f"{path}: path_owner does not match its {T} path points and "
                                f"{len(land.path_names)} path names")
        return land

    def check_made_from(self, trajectory, where="landscape"):
        """Raise ArtifactError unless this landscape was computed from ``trajectory``.

        Their content keys are compared: a landscape paired with another run's
        trajectory would draw one run's path on another run's surface.

        Parameters
        ----------
        trajectory : Trajectory
        where : str
            How to name the landscape in the message (e.g. its file name).

        Examples
        --------
        >>> from lossfilm.format.trajectory import Trajectory
        >>> traj = Trajectory.from_snapshots([{"w": np.full(3, float(t))} for t in range(4)])
        >>> axes = {name: np.arange(2.0) for name in ("alphas", "betas", "path_alpha", "path_beta", "path_loss_plane",
        ...         "path_loss_true", "path_accuracy", "residuals", "path_steps", "path_epochs", "explained_variance")}
        >>> land = Landscape(loss=np.ones((2, 2)), accuracy=np.ones((2, 2)), computed=np.ones((2, 2), bool),
        ...                  origin=np.zeros(3), directions=np.eye(2, 3), trajectory_key=traj.key, **axes)
        >>> land.check_made_from(traj)
        >>> other = Trajectory.from_snapshots([{"w": np.full(3, -float(t))} for t in range(4)])
        >>> land.check_made_from(other)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lossfilm.format.errors.ArtifactError: landscape was made from trajectory ... not from this trajectory (key ...); ...
        """
        made_from = [self.trajectory_key, *self.settings.get("trajectory_keys", ())]
        if trajectory.key not in made_from:
            raise ArtifactError(
                f"{where} was made from trajectory {self.trajectory_key or '(unknown)'}, not from this "
                f"trajectory (key {trajectory.key or '(none)'}); run `lossfilm landscape` on this trajectory")

    def summary(self):
        """A one-screen account of the landscape, in words (what the CLI prints)."""
        return _summary(self)


# Facts about one computation, not about the landscape: kept in memory (the summary shows them)
# and in the partial sidecar (time adds up over resumes), left out of the finished file so that
# the same trajectory and settings give a byte-identical landscape.npz.
_TRANSIENT_SETTINGS = ("time_s", "resumed_nodes")


def reproducible(landscape):
    """A shallow copy of ``landscape`` without the settings of :data:`_TRANSIENT_SETTINGS`, for saving."""
    settings = {k: v for k, v in landscape.settings.items() if k not in _TRANSIENT_SETTINGS}
    return dataclasses.replace(landscape, settings=settings)


def _check_shapes(path, arrays):
    """Raise ArtifactError unless a landscape file's arrays fit together (before a renderer trips on them)."""
    def fail(problem):
        raise ArtifactError(f"{path}: landscape arrays do not fit together: {problem}")

    for name, array in arrays.items():
        if array.dtype.kind not in "biuf":
            fail(f"{name} holds {array.dtype}, not numbers")
    alphas, betas = arrays["alphas"], arrays["betas"]
    for name, axis in (("alphas", alphas), ("betas", betas)):
        if axis.ndim != 1 or len(axis) < 2 or not np.isfinite(axis).all() or not (np.diff(axis) > 0).all():
            fail(f"{name} is not an increasing axis of at least 2 finite values")
    shape = (len(alphas), len(betas))
    for name in ("loss", "accuracy", "computed"):
        if arrays[name].shape != shape:
            fail(f"{name} grid shape {arrays[name].shape} does not match its axes {shape}")
    origin, directions = arrays["origin"], arrays["directions"]
    if origin.ndim != 1 or directions.shape != (2, origin.size):
        fail(f"directions {directions.shape} do not match the origin {origin.shape} (expected (2, P) and (P,))")
    T = arrays["path_alpha"].shape
    if len(T) != 1:
        fail(f"path_alpha has shape {T}, expected one value per path point")
    for name in ("path_beta", "path_loss_plane", "path_loss_true", "path_accuracy", "residuals",
                 "path_steps", "path_epochs") + (("path_owner",) if "path_owner" in arrays else ()):
        if arrays[name].shape != T:
            fail(f"{name} has shape {arrays[name].shape}, expected {T} like path_alpha")
    if arrays["explained_variance"].shape != (2,):
        fail(f"explained_variance has shape {arrays['explained_variance'].shape}, expected (2,)")
    line = [arrays.get(name) for name in ("line_t", "line_loss")]
    if (line[0] is None) != (line[1] is None) or (line[0] is not None and (
            line[0].ndim != 1 or line[0].shape != line[1].shape)):
        fail("line_t and line_loss must come together, as two arrays of the same length")
    sharp = [arrays.get(name) for name in ("sharpness_steps", "sharpness")]
    if (sharp[0] is None) != (sharp[1] is None) or (sharp[0] is not None and (
            sharp[0].ndim != 1 or sharp[0].shape != sharp[1].shape)):
        fail("sharpness_steps and sharpness must come together, as two arrays of the same length")


def _summary(land):
    stats = land.settings.get("stats", {})
    lines = [f"plane   {plane_kind(land.directions_kind).summary(land)}"]
    if len(land.path_names) > 1:
        lines.append(f"paths   {len(land.path_names)}: " + ", ".join(
            f"{name} ({len(index)} points)" for name, index in land.path_slices().items()))
    a, b = land.alphas, land.betas
    samples = stats.get("samples")
    lines.append(f"grid    {len(a)} x {len(b)} nodes, alpha [{a[0]:.4g}, {a[-1]:.4g}], beta [{b[0]:.4g}, "
                 f"{b[-1]:.4g}], spacing {a[1] - a[0]:.3g}"
                 + (f"; loss and accuracy over {samples} samples" if samples else "; loss from loss_fn"))
    finite = land.computed & np.isfinite(land.loss)
    if finite.any():
        masked = np.where(finite, land.loss, np.nan)
        lo = np.unravel_index(np.nanargmin(masked), masked.shape)
        hi = np.unravel_index(np.nanargmax(masked), masked.shape)
        lines.append(f"loss    min {masked[lo]:.4g} at ({a[lo[0]]:.3g}, {b[lo[1]]:.3g}), "
                     f"max {masked[hi]:.4g} at ({a[hi[0]]:.3g}, {b[hi[1]]:.3g})")
    else:
        lines.append("loss    no finite value on the grid")
    bad, missing = int(land.nonfinite.sum()), int((~land.computed).sum())
    lines.append(f"        non-finite (NaN/inf, masked): {bad} of {land.loss.size} nodes"
                 + (f"; {missing} nodes not computed" if missing else ""))
    if stats:
        length = stats["path_length"]
        rel = f" = {100 * stats['residual_max'] / length:.1f}% of the path length {length:.4g}" if length else ""
        lines.append(f"path    {stats['path_points']} of {stats['snapshots']} snapshots kept; distance from plane: "
                     f"max {stats['residual_max']:.3g}{rel}, median {stats['residual_median']:.3g}")
        lines.append(f"        the plane holds {100 * stats['captured']:.1f}% of the path's squared distance to "
                     f"the origin; in-plane length {stats['plane_path_length']:.4g}")
    gap = np.abs(land.path_loss_true - land.path_loss_plane)
    if np.isfinite(gap).any():
        lines.append(f"        |true loss - on-plane loss| along the path: max {np.nanmax(gap):.3g}, "
                     f"median {np.nanmedian(gap):.3g}")
    between = land.settings.get("between")
    if land.line_t is not None and land.line_loss is not None:
        lines.append(_between_summary(between) if isinstance(between, dict) and "barrier" in between
                     else _line_summary(land.line_t, land.line_loss))
    if land.sharpness is not None and land.sharpness_steps is not None:
        lines.append(_sharpness_summary(land.sharpness_steps, land.sharpness, land.settings.get("curvature", {})))
    if "time_s" in land.settings:
        resumed = land.settings.get("resumed_nodes")
        lines.append(f"time    {land.settings['time_s']:.1f} s"
                     + (f" (resumed an interrupted run with {resumed} nodes done)" if resumed else ""))
    return "\n".join(lines)


def _line_summary(t, loss):
    """The 1-D view in one line: the loss at both ends, and whether it falls all the way."""
    if not np.isfinite(loss).any():
        return "line    from the first to the last snapshot: the loss is NaN or inf all along it"
    inside = (t >= 0) & (t <= 1)
    ends = np.interp([0.0, 1.0], t, loss)
    rises = np.diff(loss[inside])
    rises = rises[np.isfinite(rises)]  # a NaN point breaks the curve; the summary speaks of the rest
    shape = ("falls monotonically" if rises.size and (rises <= 0).all()
             else f"rises by up to {max(float(rises.max()), 0.0):.3g} between steps" if rises.size else "")
    return f"line    from the first to the last snapshot: loss {ends[0]:.4g} -> {ends[1]:.4g}" + \
        (f"; {shape}" if shape else "")


def _between_summary(between):
    """Two models on one line: the end losses (and accuracies), and the barrier between them.

    >>> print(_between_summary({"names": ["A", "B"], "steps": [9, 9], "end_losses": [0.1, 0.2], "barrier": 0.5,
    ...                         "peak_t": 0.5, "peak_loss": 0.65, "end_accuracies": None, "distance": 3.0}))
    line    from A (step 9) to B (step 9), 3 apart: loss 0.1 -> 0.2
            barrier 0.5 (peak loss 0.65 at t = 0.5; the highest loss on the segment minus the ends' mean)
    """
    (a, b), (step_a, step_b), (loss_a, loss_b) = between["names"], between["steps"], between["end_losses"]
    text = (f"line    from {a} (step {step_a:,}) to {b} (step {step_b:,}), {between['distance']:.4g} apart: "
            f"loss {loss_a:.4g} -> {loss_b:.4g}")
    accuracies = between.get("end_accuracies")
    if accuracies:
        text += f", accuracy {100 * accuracies[0]:.1f}% -> {100 * accuracies[1]:.1f}%"
        if between.get("peak_accuracy") is not None:
            text += f" ({100 * between['peak_accuracy']:.1f}% at the peak)"
    return text + (f"\n        barrier {between['barrier']:.4g} (peak loss {between['peak_loss']:.4g} at "
                   f"t = {between['peak_t']:.3g}; the highest loss on the segment minus the ends' mean)")


def _sharpness_summary(steps, values, curvature):
    """The sharpness curve in one or two lines: where it starts and ends, its peak, and the stability line."""
    if not len(values):
        return "sharp   no snapshots measured"
    if not np.isfinite(values).any():
        return f"sharp   top Hessian eigenvalue at {len(values)} snapshots: NaN or inf at every one"
    peak = int(np.nanargmax(np.where(np.isfinite(values), values, np.nan)))
    text = (f"sharp   top Hessian eigenvalue at {len(values)} snapshots: {values[0]:.4g} at step {int(steps[0]):,} -> "
            f"{values[-1]:.4g} at step {int(steps[-1]):,}, peak {values[peak]:.4g} at step {int(steps[peak]):,}")
    converged, products = curvature.get("converged"), curvature.get("products")
    if converged is not None:
        text += f" (Lanczos, {products} products; {converged} of {len(values)} converged)"
    threshold = curvature.get("threshold")
    if threshold:
        above = int((np.asarray(values) > threshold["value"]).sum())
        text += (f"\n        stability line {threshold['rule']} = {threshold['value']:.4g} ({threshold['optimizer']}, "
                 f"lr {threshold['lr']:g}): {above} of {len(values)} above it")
    return text
