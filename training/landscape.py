"""The landscape: a loss grid over a 2D plane, with the training path projected on it.

This is the contract between the landscape stage and the render stage. Grid
index ``[i, j]`` is the point ``origin + alphas[i] * d1 + betas[j] * d2``.
Non-finite losses (exploding regions) are stored as NaN; ``computed`` marks
the nodes already evaluated, so an interrupted grid can resume.

``Landscape.from_trajectory`` makes one: it picks the plane
(``training.plane``), projects the path, evaluates the path losses exactly
and the grid (``training.grid``), checkpointing a partial landscape so an
interrupted run resumes.

Examples
--------
>>> import numpy as np
>>> from training.trajectory import Trajectory
>>> rng = np.random.default_rng(0)
>>> snaps = [{"w": rng.normal(size=3)} for _ in range(4)]
>>> traj = Trajectory.from_snapshots(snaps)
>>> land = Landscape.from_trajectory(traj, loss_fn=lambda p: float((p["w"] ** 2).sum()), resolution=5)
>>> land.loss.shape, bool(land.computed.all())
((5, 5), True)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lossfilm.artifact import check_writable, content_key, load_npz, reuse, save_npz
from lossfilm.errors import ArtifactError, ConfigError, DataError

KIND = "landscape"
SCHEMA_VERSION = 1

_ARRAYS = ("alphas", "betas", "loss", "accuracy", "computed", "origin", "directions",
           "path_alpha", "path_beta", "path_loss_plane", "path_loss_true", "path_accuracy",
           "residuals", "path_steps", "path_epochs", "explained_variance")
_OPTIONAL = ("path_owner", "line_t", "line_loss")


@dataclass
class Landscape:
    """A loss surface over a plane through parameter space, and the path on it."""

    alphas: np.ndarray  # (R1,) grid coordinates along direction 1
    betas: np.ndarray  # (R2,) grid coordinates along direction 2
    loss: np.ndarray  # (R1, R2) float64, NaN where non-finite or not yet computed
    accuracy: np.ndarray  # (R1, R2) float64, NaN where unknown
    computed: np.ndarray  # (R1, R2) bool, nodes already evaluated
    origin: np.ndarray  # (P,) float32, the plane's origin in parameter space
    directions: np.ndarray  # (2, P) float32, orthonormal unit directions
    path_alpha: np.ndarray  # (T,) coordinates of each snapshot in the plane
    path_beta: np.ndarray  # (T,)
    path_loss_plane: np.ndarray  # (T,) loss at the projected point: the ball rides this
    path_loss_true: np.ndarray  # (T,) loss at the snapshot itself
    path_accuracy: np.ndarray  # (T,) accuracy at the snapshot, NaN where unknown
    residuals: np.ndarray  # (T,) distance of each snapshot from the plane
    path_steps: np.ndarray  # (T,) int64 optimizer step of each snapshot
    path_epochs: np.ndarray  # (T,) float64 epoch of each snapshot, NaN where unknown
    explained_variance: np.ndarray  # (2,) variance ratio per direction (NaN if not PCA)
    directions_kind: str = "pca"  # "pca" | "random" | "anchors" | "axes" (a 2-D function's own x, y)
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
        """What axis 0 or 1 is, in words: ``"PC1 (71.2% var.)"``."""
        ratio = self.explained_variance[axis]
        if self.directions_kind == "pca":
            return f"PC{axis + 1} ({100 * ratio:.1f}% var.)"
        if self.directions_kind == "random":
            return f"random direction {axis + 1}"
        if self.directions_kind == "axes":
            return self.settings.get("axis_names", ["x", "y"])[axis]
        return f"anchor direction {axis + 1}"

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
        >>> from training.trajectory import Trajectory
        >>> rng = np.random.default_rng(0)
        >>> traj = Trajectory.from_snapshots([{"w": rng.normal(size=3)} for _ in range(4)])
        >>> land = Landscape.from_trajectory(traj, loss_fn=lambda p: float((p["w"] ** 2).sum()), resolution=3)
        >>> land.check_made_from(traj)
        >>> other = Trajectory.from_snapshots([{"w": rng.normal(size=3)} for _ in range(4)])
        >>> land.check_made_from(other)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lossfilm.errors.ArtifactError: landscape was made from trajectory ... not from this trajectory (key ...); ...
        """
        made_from = [self.trajectory_key, *self.settings.get("trajectory_keys", ())]
        if trajectory.key not in made_from:
            raise ArtifactError(
                f"{where} was made from trajectory {self.trajectory_key or '(unknown)'}, not from this "
                f"trajectory (key {trajectory.key or '(none)'}); run `lossfilm landscape` on this trajectory")

    @property
    def plane(self):
        """The plane as a :class:`training.plane.Plane`."""
        from training.plane import Plane

        return Plane(self.origin, self.directions, self.directions_kind, self.explained_variance,
                     dict(self.settings.get("plane", {})))

    def to_structured_grid(self, log_z=False):
        """The surface as a ``pyvista.StructuredGrid`` (x = alpha, y = beta, z = loss).

        See :func:`render.mesh.structured_grid`; PyVista is imported only here.
        """
        from render.mesh import structured_grid

        return structured_grid(self, log_z=log_z)

    def summary(self):
        """A one-screen account of the landscape, in words (what the CLI prints)."""
        return _summary(self)

    @classmethod
    def from_trajectory(cls, trajectory, loss_fn=None, *, acc_fn=None, data=None, directions="pca",
                        anchors=None, resolution=51, margin=0.3, grid_range=None, samples=10000,
                        max_path=1000, seed=0, biases="zero", executor=None, workers=None,
                        progress=False, checkpoint_path=None, checkpoint_every=5.0,
                        remove_checkpoint=True, line=0, line_range=(-0.25, 1.25)):
        """Choose a plane, project the path on it and evaluate the loss grid.

        Parameters
        ----------
        trajectory : Trajectory
        loss_fn : callable, optional
            ``loss_fn(params_dict) -> float`` for your own model, called once
            per grid node and twice per path point; ``params_dict`` maps the
            trajectory's names to float64 arrays. Not needed for a trajectory
            of the built-in MLP (it knows its model and, through its
            settings, its data), which is evaluated by the fast path.
        acc_fn : callable, optional
            ``acc_fn(params_dict) -> float``; with ``loss_fn`` and without
            this, accuracy is NaN.
        data : tuple (X, y), optional
            Evaluation data for the built-in MLP instead of the run's
            training data.
        directions : {"pca", "random", "anchors"}
        anchors : sequence of 3 int, optional
            Snapshot indices of the anchors plane (default first, middle, last).
        resolution : int
            Grid nodes per side.
        margin : float
            Room around the path, as a share of its bounding box's larger side.
        grid_range : sequence of 4 float, optional
            ``(a_min, a_max, b_min, b_max)`` instead of the fitted extent.
        samples : int
            Evaluate on a seeded subset of this many training samples (all if
            fewer, or if 0). Built-in MLP only.
        max_path : int
            Most path points kept (evenly spaced, first and last included);
            the plane itself uses every snapshot.
        seed : int
            Seed of the random directions, the PCA start and the subset.
        biases : {"zero", "filter"}
            Treatment of biases in random directions.
        executor : concurrent.futures.Executor, optional
            Runs ``loss_fn`` calls (the built-in MLP uses its own threads).
        workers : int, optional
            Threads of the built-in MLP's fast path (default: all cores).
        progress : bool
            Show progress bars with ETA on stderr.
        checkpoint_path : str or Path, optional
            Partial landscape file: saved every ``checkpoint_every`` seconds
            and on Ctrl-C; a matching one is resumed (only its missing nodes
            are computed) and removed at the end unless ``remove_checkpoint``
            is False.
        line : int
            Points of the 1-D view (:mod:`training.line`): the loss along
            the straight line from the first to the last snapshot, stored in
            ``line_t``, ``line_loss``; 0 (the default here): none. ``line=61``
            costs about as much as 61 grid nodes (61 ``loss_fn`` calls).
            :func:`cached_or_compute`, behind the CLI, asks for 61.
        line_range : sequence of 2 float
            The positions ``t`` it spans; 0 is the first snapshot, 1 the last.

        Returns
        -------
        Landscape
            ``key`` hashes the trajectory key and every setting above that
            changes the result; ``settings`` also records the time taken and
            the path statistics.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> from training.trajectory import Trajectory
        >>> traj = Trajectory.from_snapshots([{"w": rng.normal(size=4)} for _ in range(6)])
        >>> land = Landscape.from_trajectory(traj, loss_fn=lambda p: float(np.abs(p["w"]).sum()),
        ...                                  directions="random", resolution=3)
        >>> bool(np.isfinite(land.loss).all()), land.directions_kind
        (True, 'random')
        """
        return _build(cls, trajectory, loss_fn=loss_fn, acc_fn=acc_fn, data=data, directions=directions,
                      anchors=anchors, resolution=resolution, margin=margin, grid_range=grid_range,
                      samples=samples, max_path=max_path, seed=seed, biases=biases, executor=executor,
                      workers=workers, progress=progress, checkpoint_path=checkpoint_path,
                      checkpoint_every=checkpoint_every, remove_checkpoint=remove_checkpoint, line=line,
                      line_range=line_range)


def cached_or_compute(trajectory, out_path, *, force=False, progress=True, workers=None, line=61, **options):
    """Reuse the landscape at ``out_path`` if it has this trajectory's and settings' key, else compute it.

    An interrupted computation leaves its finished nodes in the sidecar
    :func:`checkpoint_path_for` ``(out_path)`` and resumes from it; ``force``
    discards both.

    Parameters
    ----------
    trajectory : Trajectory
        A trajectory of the built-in MLP (``trajectory.model`` set).
    out_path : path-like
        The ``landscape.npz`` to write.
    line : int
        Points of the 1-D view along the line from the first to the last
        snapshot (0: none); see :meth:`Landscape.from_trajectory`.
    **options
        The settings of :func:`landscape_settings` (directions, resolution, ...).

    Returns
    -------
    landscape : Landscape
    action : {"compute", "reuse", "update"}

    Examples
    --------
    >>> land, action = cached_or_compute(traj, "media/cache/landscape.npz")  # doctest: +SKIP
    """
    check_writable(out_path)
    key = landscape_key(trajectory.key, landscape_settings(line=line, **options))
    landscape, action = reuse(out_path, Landscape.load, kind=KIND, schema_version=SCHEMA_VERSION, key=key,
                              force=force)
    if landscape is not None:
        return landscape, action
    sidecar = checkpoint_path_for(out_path)
    if force:
        sidecar.unlink(missing_ok=True)
    landscape = Landscape.from_trajectory(trajectory, progress=progress, workers=workers,
                                          checkpoint_path=sidecar, remove_checkpoint=False, line=line, **options)
    reproducible(landscape).save(out_path)
    sidecar.unlink(missing_ok=True)
    return landscape, action


# Facts about one computation, not about the landscape: kept in memory (the summary shows them)
# and in the partial sidecar (time adds up over resumes), left out of the finished file so that
# the same trajectory and settings give a byte-identical landscape.npz.
_TRANSIENT_SETTINGS = ("time_s", "resumed_nodes")


def reproducible(landscape):
    """A shallow copy of ``landscape`` without the settings of :data:`_TRANSIENT_SETTINGS`, for saving."""
    import dataclasses

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


def landscape_settings(*, directions="pca", anchors=None, resolution=51, margin=0.3, grid_range=None,
                       samples=10000, max_path=1000, seed=0, biases="zero", evaluation="mlp", line=0,
                       line_range=(-0.25, 1.25)):
    """The settings that decide a landscape's content, normalised (JSON-able).

    Examples
    --------
    >>> landscape_settings(grid_range=(0, 1, 0, 1))["range"]
    [0.0, 1.0, 0.0, 1.0]
    >>> landscape_settings()["line"], landscape_settings(line=61)["line"]
    (None, {'points': 61, 'range': [-0.25, 1.25]})
    """
    from training.line import line_positions
    from training.plane import DIRECTIONS

    if directions not in DIRECTIONS:
        raise ConfigError(f"--directions {directions!r}: choose one of {', '.join(DIRECTIONS)}")
    if anchors is not None and directions != "anchors":
        raise ConfigError("--anchors needs --directions anchors")
    if int(resolution) < 3:
        raise ConfigError(f"--resolution {resolution}: need at least 3 nodes per side")
    if not float(margin) >= 0:
        raise ConfigError(f"--margin {margin}: must be >= 0")
    if int(samples) < 0:
        raise ConfigError(f"--samples {samples}: must be >= 0 (0 means all)")
    if int(max_path) < 2:
        raise ConfigError(f"--max-path {max_path}: must be at least 2 (the first and last snapshot)")
    if grid_range is not None and len(grid_range) != 4:
        raise ConfigError("--range: give four numbers A_MIN A_MAX B_MIN B_MAX")
    if int(line) < 0:
        raise ConfigError(f"line {line}: the number of points must be >= 0 (0: no 1-D view)")
    line_range = [float(v) for v in line_range]
    if int(line):
        line_positions(int(line), line_range)  # checks them
    return {"directions": directions, "anchors": None if anchors is None else [int(a) for a in anchors],
            "resolution": int(resolution), "margin": float(margin),
            "range": None if grid_range is None else [float(v) for v in grid_range],
            "samples": int(samples), "max_path": int(max_path), "seed": int(seed), "biases": biases,
            "evaluation": evaluation,
            "line": {"points": int(line), "range": line_range} if int(line) else None}


def landscape_key(trajectory_key, settings, *arrays):
    """Content key of a landscape: the trajectory's key, the settings and any extra data.

    Examples
    --------
    >>> key = landscape_key("0123", landscape_settings())
    >>> key == landscape_key("0123", landscape_settings(resolution=41)), len(key)
    (False, 16)
    """
    return content_key({"trajectory_key": trajectory_key, **settings}, *arrays)


def checkpoint_path_for(path):
    """Where the partial landscape of output ``path`` lives: ``NAME.partial.npz`` beside it.

    Examples
    --------
    >>> checkpoint_path_for("media/cache/landscape.npz").as_posix()
    'media/cache/landscape.partial.npz'
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.partial.npz")


def evaluation_data(trajectory, samples=10000, seed=0):
    """The built-in MLP run's training data, or a seeded subset of ``samples`` of it.

    Rebuilt from ``trajectory.settings["data"]`` with
    :func:`training.data.load_data`; the subset is drawn with
    ``np.random.default_rng(seed)`` and keeps the samples' order.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(settings={"data": {"spec": "digits", "seed": 0, "test_fraction": 0.2}})
    >>> X, y = evaluation_data(run, samples=100)
    >>> X.shape, y.shape
    ((100, 64), (100,))
    """
    from training.data import load_data

    spec = (trajectory.settings or {}).get("data")
    if not isinstance(spec, dict) or "spec" not in spec:
        raise ArtifactError("trajectory settings do not say which data trained it (no data.spec); "
                            "pass data=(X, y)")
    kwargs = {k: spec[k] for k in ("seed", "test_fraction") if k in spec}
    dataset = load_data(spec=spec["spec"], **kwargs)
    return _subset(dataset.X_train, dataset.y_train, samples, seed)


def _subset(X, y, samples, seed):
    """A seeded subset of ``samples`` rows (in their original order); all rows if fewer or 0."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise DataError(f"data: {len(X)} samples but {len(y)} labels")
    if samples == 0 or samples >= len(y):
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(y), size=samples, replace=False))
    return X[rows], y[rows]


def _build(cls, trajectory, *, loss_fn, acc_fn, data, directions, anchors, resolution, margin, grid_range,
           samples, max_path, seed, biases, executor, workers, progress, checkpoint_path, checkpoint_every,
           remove_checkpoint, line, line_range):
    from training.grid import FunctionEvaluator, MLPEvaluator, evaluate_grid
    from training.plane import make_plane

    started = time.perf_counter()
    layout = trajectory.layout
    evaluation = "mlp" if loss_fn is None else \
        f"loss_fn:{getattr(loss_fn, '__module__', '?')}.{getattr(loss_fn, '__qualname__', '?')}"
    settings = landscape_settings(directions=directions, anchors=anchors, resolution=resolution,
                                  margin=margin, grid_range=grid_range, samples=samples, max_path=max_path,
                                  seed=seed, biases=biases, evaluation=evaluation, line=line,
                                  line_range=line_range)
    X = y = None
    extra = ()
    if loss_fn is None:
        X, y = _mlp_data(trajectory, data, samples, seed)
        extra = (X, y) if data is not None else ()  # the run's own data is in its key already
    key = landscape_key(trajectory.key, settings, *extra)

    land = _resume(cls, checkpoint_path, key)
    if land is not None:
        plane = land.plane
        land.settings["resumed_nodes"] = int(land.computed.sum())
    else:
        plane = make_plane(trajectory.params, directions, layout=layout, seed=seed, anchors=anchors,
                           biases=biases)
    if loss_fn is None:
        evaluator = MLPEvaluator(plane, layout, X, y, workers=workers)
    else:
        evaluator = FunctionEvaluator(plane, layout, loss_fn, acc_fn, executor)

    if land is None:
        land = _new_landscape(cls, trajectory, plane, evaluator, settings, key, X, y, progress)
        if settings["line"]:
            _add_line(land, trajectory, settings["line"], loss_fn, acc_fn, X, y, workers)
    spent = float(land.settings.get("time_s", 0.0))

    def checkpoint():
        land.settings["time_s"] = spent + time.perf_counter() - started
        land.save(checkpoint_path)

    if checkpoint_path is not None:
        checkpoint()  # the plane and path are kept even if the grid is interrupted at once
    evaluate_grid(evaluator, land.alphas, land.betas, land.loss, land.accuracy, land.computed,
                  checkpoint=checkpoint if checkpoint_path is not None else None,
                  every=checkpoint_every, progress=progress)
    land.settings["time_s"] = spent + time.perf_counter() - started
    land.settings["stats"]["nonfinite"] = int(land.nonfinite.sum())
    if checkpoint_path is not None and remove_checkpoint:
        _remove(checkpoint_path)
    return land


def _add_line(land, trajectory, line, loss_fn, acc_fn, X, y, workers):
    """Fill in the 1-D view (first to last snapshot), evaluated exactly."""
    from training.line import trajectory_line

    land.line_t, land.line_loss, _ = trajectory_line(trajectory, points=line["points"], t_range=line["range"],
                                                     loss_fn=loss_fn, acc_fn=acc_fn, X=X, y=y, workers=workers)


def _mlp_data(trajectory, data, samples, seed):
    """Evaluation data ``(X, y)`` for the built-in MLP, after checking that it is one."""
    from training.grid import check_mlp_layout

    if trajectory.model is None and data is None:
        raise ConfigError("this trajectory has no model spec (it was made from snapshots); "
                          "pass loss_fn=... (and acc_fn=...) for your model")
    check_mlp_layout(trajectory.layout)
    activation = (trajectory.model or {}).get("activation", "relu")
    if activation != "relu":
        raise ConfigError(f"the built-in fast path knows ReLU MLPs, not {activation!r}; pass loss_fn=...")
    X, y = _subset(*data, samples, seed) if data is not None else evaluation_data(trajectory, samples, seed)
    X, W1 = np.asarray(X, dtype=np.float64), trajectory.layout.shapes[0]
    if X.ndim != 2 or X.shape[1] != W1[1]:
        raise DataError(f"evaluation data has shape {X.shape}; the model's W1 {W1} expects {W1[1]} features")
    return X, np.asarray(y)


def _new_landscape(cls, trajectory, plane, evaluator, settings, key, X, y, progress):
    """Project the path, evaluate its losses exactly, lay out an empty grid."""
    from training.plane import subsample_indices

    alpha, beta, residual = plane.project(trajectory.params)  # (T,) each, every snapshot
    keep = subsample_indices(len(trajectory), settings["max_path"])
    if X is not None:
        true_loss, true_acc = _mlp_snapshot_losses(trajectory, keep, X, y, progress)
    else:
        snapshots = (trajectory.params[t].astype(np.float64) for t in keep)
        true_loss, true_acc = evaluator.at_params(_progress(snapshots, len(keep), progress, "path losses"))
    plane_loss, _ = evaluator.at(np.column_stack([alpha[keep], beta[keep]]))  # exact, not interpolated
    alphas, betas = _grid_axes_for(plane, alpha, beta, residual, settings)
    shape = (len(alphas), len(betas))
    stats = _path_stats(trajectory.params, alpha, beta, residual)
    stats.update(snapshots=len(trajectory), path_points=len(keep), samples=None if X is None else len(X))
    return cls(alphas=alphas, betas=betas, loss=np.full(shape, np.nan), accuracy=np.full(shape, np.nan),
               computed=np.zeros(shape, bool), origin=plane.origin, directions=plane.directions,
               path_alpha=alpha[keep], path_beta=beta[keep], path_loss_plane=plane_loss,
               path_loss_true=true_loss, path_accuracy=true_acc, residuals=residual[keep],
               path_steps=np.asarray(trajectory.steps)[keep].astype(np.int64),
               path_epochs=np.asarray(trajectory.epochs)[keep].astype(np.float64),
               explained_variance=np.asarray(plane.explained_variance, dtype=np.float64),
               directions_kind=plane.kind,
               settings=dict(settings, plane=plane.info, stats=stats, time_s=0.0, run=_run(trajectory)),
               trajectory_key=trajectory.key, key=key)


def _run(trajectory):
    """What trained the path, in a few words for titles: optimizer, lr, data, layer sizes, seed.

    Descriptive only: the key already covers the trajectory through its key.
    """
    settings = trajectory.settings or {}
    optimizer = settings.get("optimizer") if isinstance(settings.get("optimizer"), dict) else {}
    data = settings.get("data") if isinstance(settings.get("data"), dict) else {}
    spec = data.get("spec")
    run = {"optimizer": optimizer.get("name"), "lr": optimizer.get("lr"),
           "data": "mnist" if spec not in (None, "digits") else spec,
           "sizes": (trajectory.model or {}).get("sizes"), "seed": settings.get("seed"),
           "test_accuracy": (settings.get("final") or {}).get("test_accuracy")}
    return {name: value for name, value in run.items() if value is not None}


def _grid_axes_for(plane, alpha, beta, residual, settings):
    """Grid axes around the full projected path, for normalised ``settings``.

    A random plane barely sees the path (it projects to a small knot near
    the origin), so its square is at least twice the farthest snapshot's
    distance from the origin: the surface then spans the distance the
    training actually moved.
    """
    from training.grid import grid_axes

    reach = float(np.sqrt((alpha ** 2 + beta ** 2 + residual ** 2).max()))
    min_side = 2.0 * reach if plane.kind == "random" else 0.0
    scale = float(np.linalg.norm(plane.origin)) or 1.0  # only for a path that is one point
    return grid_axes(alpha, beta, resolution=settings["resolution"], margin=settings["margin"],
                     grid_range=settings["range"], min_side=min_side, scale=scale)


def _resume(cls, checkpoint_path, key):
    """The partial landscape at ``checkpoint_path`` if it belongs to ``key``, else None."""
    if checkpoint_path is None or not os.path.exists(checkpoint_path):
        return None
    try:
        land = cls.load(checkpoint_path)
    except ArtifactError:
        return None  # a stale or broken sidecar is simply recomputed (and overwritten)
    return land if land.key == key else None


def _mlp_snapshot_losses(trajectory, keep, X, y, progress):
    from training.grid import loss_and_accuracy

    loss, accuracy = np.empty(len(keep)), np.empty(len(keep))
    for n, t in enumerate(_progress(keep, len(keep), progress, "path losses")):
        loss[n], accuracy[n] = loss_and_accuracy(trajectory.snapshot(t), X, y)
    return loss, accuracy


def _progress(iterable, total, show, desc):
    import sys

    from tqdm import tqdm

    return tqdm(iterable, total=total, disable=not show, file=sys.stderr, unit="pt", desc=desc,
                dynamic_ncols=True)


def _path_stats(params, alpha, beta, residual):
    """How well the plane holds the path: residuals against the path's own size."""
    from training.plane import _row_blocks

    length, previous = 0.0, None
    for _, block in _row_blocks(params):
        if previous is not None:
            block = np.vstack([previous, block])
        length += float(np.linalg.norm(np.diff(block, axis=0), axis=1).sum())
        previous = block[-1:]
    distance2 = alpha ** 2 + beta ** 2 + residual ** 2  # squared distance from the origin
    in_plane = float(np.hypot(np.diff(alpha), np.diff(beta)).sum())
    return {"residual_max": float(residual.max()), "residual_median": float(np.median(residual)),
            "path_length": length, "plane_path_length": in_plane,
            "captured": float(1.0 - (residual ** 2).sum() / distance2.sum()) if distance2.sum() > 0 else 1.0}


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _summary(land):
    stats = land.settings.get("stats", {})
    lines = []
    kind = land.directions_kind
    plane = land.settings.get("plane", {})
    if kind == "pca":
        ev = land.explained_variance
        lines.append(f"plane   PCA of {stats.get('snapshots', '?')} snapshots, origin = "
                     f"{plane.get('origin', 'final snapshot')}: "
                     f"PC1 {100 * ev[0]:.1f}%, PC2 {100 * ev[1]:.1f}% of variance "
                     f"(together {100 * ev.sum():.1f}%)" + (f"; PC2 {plane['pc2']}" if "pc2" in plane else ""))
    elif kind == "random":
        lines.append(f"plane   random filter-normalised directions (seed {plane.get('seed')}, "
                     f"biases {plane.get('biases')}), origin = final snapshot")
    elif kind == "axes":
        lines.append("plane   the function's own axes " + ", ".join(land.settings.get("axis_names", ["x", "y"]))
                     + " (exact: nothing is projected)")
    elif "origin" in plane:  # several paths: the plane through their start and two final points
        lines.append(f"plane   through {plane.get('anchors')}, origin = {plane['origin']}")
    else:
        lines.append(f"plane   through snapshots {plane.get('anchors')}, origin = snapshot "
                     f"{(plane.get('anchors') or ['?'])[-1]}")
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
    if land.line_t is not None and land.line_loss is not None:
        lines.append(_line_summary(land.line_t, land.line_loss))
    if "time_s" in land.settings:
        resumed = land.settings.get("resumed_nodes")
        lines.append(f"time    {land.settings['time_s']:.1f} s"
                     + (f" (resumed an interrupted run with {resumed} nodes done)" if resumed else ""))
    return "\n".join(lines)


def _line_summary(t, loss):
    """The 1-D view in one line: the loss at both ends, and whether it falls all the way."""
    inside = (t >= 0) & (t <= 1)
    ends = np.interp([0.0, 1.0], t, loss)
    rises = np.diff(loss[inside])
    shape = ("falls monotonically" if rises.size and (rises <= 0).all()
             else f"rises by up to {max(float(np.nanmax(rises)), 0.0):.3g} between steps" if rises.size else "")
    return f"line    from the first to the last snapshot: loss {ends[0]:.4g} -> {ends[1]:.4g}" + \
        (f"; {shape}" if shape else "")
