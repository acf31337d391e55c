"""What a landscape evaluates: the built-in MLP on its data, your own model's ``loss_fn``, or a 2-D function.

An :class:`Evaluation` is the loss before any plane is chosen. ``on(plane)``
gives its :class:`lossfilm.training.landscape.grid.PlaneLoss`, the loss at
points of that plane (it also evaluates the snapshots themselves,
``at_params``); ``along(trajectory, points, t_range)`` gives the 1-D view.
``name`` is what the landscape records as ``settings["evaluation"]``,
``key_arrays`` what else goes into its content key, and ``samples`` how
many data samples the loss averages (None where it is not over data).

Its optional parts are declared in the protocol, with what an evaluation
that lacks them answers:

- ``cost()``: what one grid node costs (:class:`NodeCost`), for the size
  check that refuses a grid taking over an hour; unknown by default. The
  built-in MLP's fast path knows its own from its layer sizes and samples.
- ``hessian_at(theta)``: ``hvp(v) -> H v`` at a flat parameter vector, what
  the Hessian plane and the sharpness along the path ask for; None by
  default. The built-in MLP has the exact R-operator; a user's ``loss_fn``
  has it when it also brings ``grad_fn`` (central differences of that
  gradient); a 2-D function has none; a PyTorch evaluation has exact ones by
  autograd (:mod:`lossfilm.training.adapters.torch_hessian`).
- ``line_plane(trajectory)``: the 1-D view as points of a plane (so that a
  cluster evaluates it on its workers), None by default: the PyTorch
  adapter's is one.

A ``loss_fn`` that is an :class:`EvaluationMaker` (``lossfilm.torch.TorchLoss``)
makes its own evaluation; :mod:`lossfilm.training.grid_cluster` wraps any
evaluation so that its planes are evaluated on a Dask cluster.

Examples
--------
>>> import numpy as np
>>> from lossfilm.format.layout import ParamLayout
>>> from lossfilm.training.landscape.plane import Plane
>>> evaluation = FunctionEvaluation(ParamLayout(("w",), ((2,),)), lambda p: float((p["w"] ** 2).sum()))
>>> plane = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "random")
>>> evaluation.name.startswith("loss_fn:"), evaluation.on(plane).at(np.array([[3.0, 4.0]]))[0].tolist()
(True, [25.0])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from lossfilm.format.budget import GRID_FLOPS
from lossfilm.format.errors import ArtifactError, ConfigError, DataError, UserCodeError
from lossfilm.format.user_code import call, describe, role
from lossfilm.training.data.datasets import load_data
from lossfilm.training.landscape.grid import (AnalyticPlaneLoss, FunctionPlaneLoss, MLPPlaneLoss, PlaneLoss,
                                              check_mlp_layout, mlp_orientation)
from lossfilm.training.curvature.hessian import gradient_hessian, mlp_hessian
from lossfilm.training.landscape.segment import trajectory_line
from lossfilm.training.landscape.settings import DEFAULTS


HessianVectorProduct = Callable[[np.ndarray], np.ndarray]  # hvp(v) -> H v, both (P,) float64


@dataclass(frozen=True)
class NodeCost:
    """What one grid node costs: its time, and the memory the plane loss holds whatever the grid's size.

    Zero is unknown (a user's ``loss_fn`` costs what it costs): only the
    grid's own memory is then checked.
    """

    seconds: float = 0.0  # per node, on this machine
    fixed_bytes: int = 0


class Evaluation(Protocol):
    """What a landscape evaluates, before any plane is chosen (see the module's docstring).

    The classes here, :class:`lossfilm.torch.TorchEvaluation` and
    :class:`lossfilm.training.grid_cluster.ClusterEvaluation` play this role;
    they subclass it to take the defaults of its optional parts.
    """

    name: str  # recorded as the landscape's settings["evaluation"] and hashed into its key
    key_arrays: tuple  # arrays the key must cover besides (evaluation data that is not the run's own)
    samples: int | None  # data samples the loss averages; None where it is not over data

    def on(self, plane) -> PlaneLoss:
        """The loss at points of ``plane``."""
        ...

    def along(self, trajectory, points: int, t_range) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(t, loss, accuracy)`` along the line from the first snapshot to the last (the 1-D view)."""
        ...

    def cost(self) -> NodeCost:
        """What one grid node costs; unknown (zero) unless the evaluation knows."""
        return NodeCost()

    def hessian_at(self, theta: np.ndarray) -> HessianVectorProduct | None:
        """``hvp(v) -> H v`` at the flat parameter vector ``theta`` (P,); None where this loss has none."""
        return None

    def line_plane(self, trajectory):
        """The 1-D view as a plane whose second direction is zero, where it is drawn that way; else None."""
        return None


@runtime_checkable
class EvaluationMaker(Protocol):
    """A ``loss_fn`` that makes its own evaluation (:class:`lossfilm.torch.TorchLoss`: many nodes per call)."""

    def evaluation(self, trajectory, *, samples: int, seed: int) -> Evaluation:
        """The evaluation of ``trajectory`` on a seeded subset of ``samples`` of its data."""
        ...


class MLPEvaluation(Evaluation):
    """The built-in MLP's mean cross-entropy and accuracy on data ``X``, ``y``.

    Parameters
    ----------
    layout : ParamLayout
    X : ndarray, shape (N, D)
    y : ndarray, shape (N,)
    workers : int, optional
        Threads of the fast path (default: all cores).
    dtype : {"float32", "float64"}
        The fast path's arithmetic (``LandscapeSettings.dtype``).
    own_data : bool
        The data is the run's own (its trajectory's key covers it); other
        data goes into the landscape's key.
    """

    name = "mlp"

    def __init__(self, layout, X, y, *, workers=None, dtype=DEFAULTS["dtype"], own_data=True, orientation="out_in"):
        self.layout, self.X, self.y, self.workers, self.dtype = layout, X, y, workers, dtype
        self.key_arrays = () if own_data else (X, y)
        self.samples = len(X)
        self.orientation = orientation
        if orientation != "out_in":  # the same numbers read the other way are another model
            self.name = f"mlp:{orientation}"

    @classmethod
    def of(cls, trajectory, data=None, *, samples, seed, workers=None, dtype=DEFAULTS["dtype"], layout=None):
        """The evaluation of a trajectory of the built-in MLP, after checking that it is one.

        A trajectory the built-in trainer made holds W as (out, in). One made
        from a user's snapshots may hold them either way: ``layout``
        (``"out_in"`` or ``"in_out"``) says which, and without it the shapes
        must allow only one (:func:`lossfilm.training.landscape.grid.mlp_orientation`);
        square layers that fit both are refused, never guessed.

        Parameters
        ----------
        trajectory : Trajectory
        data : tuple (X, y), optional
            Instead of the run's own training data (rebuilt from its settings).
        samples, seed : int
            A seeded subset of this many samples (all if fewer, or if 0).
        layout : {"out_in", "in_out"}, optional
            How the user's W arrays are laid out.
        """
        if trajectory.model is None and data is None:
            raise ConfigError("this trajectory has no model spec (it was made from snapshots); "
                              "pass loss_fn=... (and acc_fn=...) for your model")
        if trajectory.model is not None:
            if layout not in (None, "out_in"):
                raise ConfigError(f"layout={layout!r}: a trajectory of the built-in MLP holds W as (out, in)")
            check_mlp_layout(trajectory.layout)
        activation = (trajectory.model or {}).get("activation", "relu")
        if activation != "relu":
            raise ConfigError(f"the built-in fast path knows ReLU MLPs, not {activation!r}; pass loss_fn=...")
        X, y = subset(*data, samples, seed) if data is not None else evaluation_data(trajectory, samples, seed)
        X, W1 = np.asarray(X, dtype=np.float64), trajectory.layout.shapes[0]
        if X.ndim != 2:
            raise DataError(f"evaluation data has shape {X.shape}; expected (samples, features)")
        if trajectory.model is not None:
            orientation = "out_in"
            if X.shape[1] != W1[1]:
                raise DataError(f"evaluation data has shape {X.shape}; the model's W1 {W1} expects {W1[1]} features")
        else:
            orientation = mlp_orientation(trajectory.layout, X.shape[1], layout)
        return cls(trajectory.layout, X, np.asarray(y), workers=workers, dtype=dtype, own_data=data is None,
                   orientation=orientation)

    def on(self, plane):
        return MLPPlaneLoss(plane, self.layout, self.X, self.y, workers=self.workers, dtype=self.dtype,
                            orientation=self.orientation)

    def along(self, trajectory, points, t_range):
        return trajectory_line(trajectory, points=points, t_range=t_range, X=self.X, y=self.y, workers=self.workers,
                               orientation=self.orientation)

    def hessian_at(self, theta):
        """``hvp(v) -> H v`` of the mean cross-entropy on this data at ``theta`` (P,): the exact R-operator."""
        return mlp_hessian(self.layout, theta, self.X, self.y)

    def cost(self):
        """The fast path's time per node (from the layer sizes and samples) and its data and first-layer products.

        The products are held twice (as made, and chunk by chunk with the samples last), and the data twice
        (float64, and in the plane loss's dtype for the snapshots' forward passes); counted in float64, the most.
        """
        shapes = self.layout.shapes
        widths = [min(shape) * max(shape) for shape in shapes[2::2]]  # later layers' in*out
        hidden = shapes[0][1] if self.orientation == "in_out" else shapes[0][0]
        flops = 2.0 * len(self.X) * (3 * hidden + sum(widths))
        return NodeCost(seconds=flops / GRID_FLOPS,
                        fixed_bytes=16 * self.X.size + 48 * len(self.X) * hidden)  # X and basis (3,N,H1), twice


class FunctionEvaluation(Evaluation):
    """Your own model's ``loss_fn(params_dict) -> float`` (and ``acc_fn``), called point by point.

    Parameters
    ----------
    layout : ParamLayout
    loss_fn, acc_fn : callable
        See :class:`lossfilm.training.landscape.grid.FunctionPlaneLoss`.
    executor : concurrent.futures.Executor, optional
        Runs the grid's calls.
    grad_fn : callable, optional
        ``grad_fn(params_dict) -> dict`` of arrays shaped like the
        parameters: the gradient of ``loss_fn``. Only curvature needs it
        (``--directions hessian``, the sharpness along the path).
    """

    key_arrays = ()
    samples = None

    def __init__(self, layout, loss_fn, acc_fn=None, executor=None, grad_fn=None):
        if not callable(loss_fn):
            raise ConfigError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        if grad_fn is not None and not callable(grad_fn):
            raise ConfigError(f"grad_fn must be callable, got {type(grad_fn).__name__}")
        self.layout, self.loss_fn, self.acc_fn, self.executor = layout, loss_fn, acc_fn, executor
        self.grad_fn = grad_fn
        # The function by name: the key cannot see inside it (a changed loss_fn needs a new name or --force).
        self.name = f"loss_fn:{getattr(loss_fn, '__module__', '?')}.{getattr(loss_fn, '__qualname__', '?')}"

    def on(self, plane):
        return FunctionPlaneLoss(plane, self.layout, self.loss_fn, self.acc_fn, self.executor)

    def along(self, trajectory, points, t_range):
        return trajectory_line(trajectory, points=points, t_range=t_range, loss_fn=self.loss_fn, acc_fn=self.acc_fn)

    def hessian_at(self, theta):
        """``hvp(v) -> H v`` at ``theta`` (P,), by central differences of ``grad_fn`` (see :mod:`lossfilm.training.curvature.hessian`)."""
        if self.grad_fn is None:
            raise ConfigError("curvature (the Hessian plane, the sharpness) of your own model needs its gradient: "
                              "pass grad_fn=... (params dict -> dict of gradient arrays) beside loss_fn")
        layout, grad_fn = self.layout, self.grad_fn
        name, where = role("grad_fn", grad_fn), "beside the point where the Hessian is measured"

        def grad(vector):
            return gradient_vector(call(grad_fn, layout.unflatten(vector), role=name, where=where), layout, name,
                                   where)
        return gradient_hessian(grad, theta)


class AnalyticEvaluation(Evaluation):
    """A 2-D function ``f(x, y)``, vectorised, on its own axes: exact, no data.

    Examples
    --------
    >>> from lossfilm.training.landscape.plane import Plane
    >>> axes = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "axes")
    >>> AnalyticEvaluation(lambda x, y: x * y).on(axes).at_params([np.array([2.0, 3.0])])[0].tolist()
    [6.0]
    """

    name = "exact"
    key_arrays = ()
    samples = None

    def __init__(self, function):
        self.function = function

    def on(self, plane):
        return AnalyticPlaneLoss(plane, self.function)

    def along(self, trajectory, points, t_range):
        raise ConfigError("a 2-D function's landscape has no 1-D view; its paths are exact already")


def gradient_vector(gradient, layout, name, where):
    """A ``grad_fn``'s result as one float64 vector (P,), after checking it: a dict of real, finite arrays shaped
    like the parameters; anything else is one :class:`UserCodeError` line.

    >>> from lossfilm.format.layout import ParamLayout
    >>> gradient_vector({"w": [1, 2]}, ParamLayout(("w",), ((2,),)), "grad_fn g", "here").tolist()
    [1.0, 2.0]
    """
    if not isinstance(gradient, Mapping):
        raise UserCodeError(f"your {name} returned {describe(gradient)} {where}; it must return a dict of "
                            "gradient arrays, one per parameter name")
    try:
        layout.check(gradient, where=f"your {name}'s result {where}")
    except DataError as exc:
        raise UserCodeError(str(exc)) from None
    arrays = {}
    for key in layout.names:
        value = gradient[key]
        value = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if value.dtype.kind not in "iuf":
            raise UserCodeError(f"your {name} returned {describe(value)} for {key} {where}; a gradient holds "
                                "real numbers")
        if not np.isfinite(value).all():
            raise UserCodeError(f"your {name} returned NaN or inf in {key} {where}")
        arrays[key] = value
    return layout.flatten(arrays, dtype=np.float64)


def evaluation_for(trajectory, *, loss_fn=None, acc_fn=None, data=None, samples, seed, executor=None, workers=None,
                   grad_fn=None, dtype=DEFAULTS["dtype"], layout=None):
    """The built-in MLP's evaluation without ``loss_fn``, else the user's (see the classes above).

    A ``loss_fn`` that is an :class:`EvaluationMaker` makes its own
    evaluation: :class:`lossfilm.torch.TorchLoss` evaluates many grid nodes
    per call that way.
    """
    if loss_fn is None:
        if grad_fn is not None:
            raise ConfigError("grad_fn goes with loss_fn; the built-in MLP has its own exact gradient")
        return MLPEvaluation.of(trajectory, data, samples=samples, seed=seed, workers=workers, dtype=dtype,
                                layout=layout)
    if layout is not None:
        raise ConfigError("layout= tells the built-in MLP's fast path how W is laid out; with loss_fn= your "
                          "function reads the arrays itself")
    if isinstance(loss_fn, EvaluationMaker):
        if grad_fn is not None:
            raise ConfigError("grad_fn goes with a plain loss_fn; this loss_fn makes its own evaluation")
        return loss_fn.evaluation(trajectory, samples=samples, seed=seed)
    return FunctionEvaluation(trajectory.layout, loss_fn, acc_fn, executor, grad_fn=grad_fn)


def evaluation_data(trajectory, samples=DEFAULTS["samples"], seed=DEFAULTS["seed"]):
    """The built-in MLP run's training data, or a seeded subset of ``samples`` of it.

    Rebuilt from ``trajectory.settings["data"]`` with
    :func:`lossfilm.training.data.datasets.load_data`; the subset is drawn with
    ``np.random.default_rng(seed)`` and keeps the samples' order.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(settings={"data": {"spec": "digits", "seed": 0, "test_fraction": 0.2}})
    >>> X, y = evaluation_data(run, samples=100)
    >>> X.shape, y.shape
    ((100, 64), (100,))
    """
    spec = (trajectory.settings or {}).get("data")
    if not isinstance(spec, dict) or "spec" not in spec:
        raise ArtifactError("trajectory settings do not say which data trained it (no data.spec); "
                            "pass data=(X, y)")
    kwargs = {k: spec[k] for k in ("seed", "test_fraction") if k in spec}
    dataset = load_data(spec=spec["spec"], **kwargs)
    return subset(dataset.X_train, dataset.y_train, samples, seed)


def subset(X, y, samples, seed):
    """A seeded subset of ``samples`` rows (in their original order); all rows if fewer or 0."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise DataError(f"data: {len(X)} samples but {len(y)} labels")
    rows = subset_rows(len(y), samples, seed)
    return (X, y) if rows is None else (X[rows], y[rows])


def subset_rows(n, samples, seed):
    """The sorted row numbers of a seeded subset of ``samples`` of ``n`` rows; None for all (fewer, or 0).

    >>> subset_rows(10, 3, seed=0).tolist(), subset_rows(10, 0, seed=0)
    ([5, 6, 9], None)
    """
    if samples == 0 or samples >= n:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=samples, replace=False))
