"""The PyTorch adapter: a model's loss on a landscape's grid, many nodes per call (``lossfilm.torch``).

A trajectory recorded from an ``nn.Module`` (:class:`lossfilm.Recorder`)
names its parameters as the module does (``conv1.weight``, ``fc.bias``).
:class:`TorchLoss` wraps the module, its data and its criterion; passed as
``loss_fn`` to :meth:`lossfilm.Landscape.from_trajectory` (or named by
``lossfilm landscape --loss module:attr``), it evaluates the grid without
calling the model once per node:

- the parameters at ``m`` nodes are one float32 tensor
  ``origin + a * d1 + b * d2`` of shape (m, P), made on the device;
- ``torch.vmap`` maps ``torch.func.functional_call`` over those m rows, so
  one call runs the model at m nodes on a chunk of samples, under
  ``torch.no_grad()`` and in eval mode (BatchNorm uses its running
  statistics, dropout is off);
- buffers (running statistics) and any parameter the trajectory does not
  hold stay at the module's values, the final ones when you pass the
  trained model: they are never projected.

Data is a ``DataLoader`` or a pair ``(inputs, targets)`` of tensors or
arrays; the landscape's ``samples`` setting draws the same seeded subset as
the NumPy path (:func:`lossfilm.training.landscape.evaluation.subset_rows`). The 1-D
line, PCA, random and anchors planes all work: they only give the
plane loss points. The Hessian plane and the sharpness take exact
Hessian-vector products of the same loss (``hessian_at``,
:mod:`lossfilm.training.adapters.torch_hessian`). A device this PyTorch or
machine cannot use (``"cuda"`` without CUDA, ``"mps"`` without an Apple GPU)
is one line, :func:`_check_device`.

Examples
--------
>>> import torch                                                        # doctest: +SKIP
>>> loss = TorchLoss(model, (X_test, y_test), device="cuda")          # doctest: +SKIP
>>> land = lossfilm.Landscape.from_trajectory(traj, loss_fn=loss, samples=2000)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from lossfilm.format.errors import ConfigError, DataError, UserCodeError
from lossfilm.format.user_code import at_node, raised, role
from lossfilm.training.adapters.torch_hessian import HVP_METHOD, torch_hessian
from lossfilm.training.landscape.evaluation import Evaluation, subset_rows
from lossfilm.training.landscape.grid import PlaneLoss
from lossfilm.training.landscape.segment import line_positions
from lossfilm.training.landscape.plane import Plane

# Grid nodes per vmap call. On CUDA many nodes per call fill the device. On a CPU a forward pass on
# hundreds of samples already keeps the cores busy, and vmap's batched convolutions (grouped, one group
# per node) ran 2-4x slower than one node at a time here (tests/bench_torch.py measures both): one.
NODES_PER_CALL = {"cuda": 16, "cpu": 1}
CHUNK = 1024  # samples per call: nodes per call x CHUNK samples of activations are alive at once


class TorchLoss:
    """A PyTorch model's mean loss (and accuracy) on data, as a landscape's ``loss_fn``.

    Parameters
    ----------
    model : torch.nn.Module
        The model the trajectory was recorded from, in its final state:
        its buffers and any parameter the trajectory lacks are held at
        these values.
    data : DataLoader or (inputs, targets)
        The data the loss averages over (a seeded subset of the landscape's
        ``samples``). A loader's dataset is indexed directly when it has a
        length (its shuffling does not matter), else iterated once.
    criterion : callable, optional
        ``criterion(outputs, targets) -> mean loss over the batch`` (default
        ``torch.nn.functional.cross_entropy``). Accuracy is counted where
        the outputs are (N, C) scores and the targets class indices.
    device : str or torch.device, optional
        Where to evaluate (default: where the model's parameters are).
    nodes_per_call : int, optional
        Grid nodes batched into one ``vmap`` call (default: 16 on CUDA, 1
        on a CPU, see ``NODES_PER_CALL``); halved on CUDA out-of-memory.
    chunk : int
        Samples per call.
    """

    def __init__(self, model, data, *, criterion=None, device=None, nodes_per_call=None, chunk=CHUNK):
        import torch

        if not isinstance(model, torch.nn.Module):
            raise ConfigError(f"TorchLoss: model must be a torch.nn.Module, got {type(model).__name__}")
        first = next(model.parameters(), None)
        self.device = _check_device(device) if device is not None else (
            first.device if first is not None else torch.device("cpu"))
        if nodes_per_call is None:
            nodes_per_call = NODES_PER_CALL.get(self.device.type, 1)
        if int(nodes_per_call) < 1 or int(chunk) < 1:
            raise ConfigError(f"TorchLoss: nodes_per_call {nodes_per_call} and chunk {chunk} must be at least 1")
        self.model, self.data = model, data
        self.criterion = criterion if criterion is not None else torch.nn.functional.cross_entropy
        self.nodes_per_call, self.chunk = int(nodes_per_call), int(chunk)

    def evaluation(self, trajectory, *, samples, seed):
        """The :class:`TorchEvaluation` of ``trajectory`` on a seeded subset of ``samples`` of the data."""
        inputs, targets = _tensors(self.data, samples, seed)
        return TorchEvaluation(self, trajectory.layout, inputs, targets)


class TorchEvaluation(Evaluation):
    """What a landscape evaluates for a PyTorch model (an :class:`lossfilm.training.landscape.evaluation.Evaluation`).

    It has no Hessian-vector products (``hessian_at`` is None) and no cost estimate.

    Parameters
    ----------
    loss : TorchLoss
    layout : ParamLayout
        The trajectory's parameter names and shapes; each must be a
        parameter (or buffer) of the model with that shape.
    inputs, targets : torch.Tensor
        The evaluation data, already subset.
    """

    def __init__(self, loss, layout, inputs, targets):
        import torch

        model = loss.model
        own = dict(model.named_parameters())
        own.update(model.named_buffers())
        for name, shape in zip(layout.names, layout.shapes):
            if name not in own:
                raise DataError(f"trajectory parameter {name!r} is not in the model {type(model).__name__} "
                                f"(its parameters: {', '.join(list(dict(model.named_parameters()))[:6])}...)")
            if tuple(own[name].shape) != tuple(shape):
                raise DataError(f"trajectory parameter {name} has shape {tuple(shape)}, the model's "
                                f"{tuple(own[name].shape)}")
        if len(inputs) != len(targets):
            raise DataError(f"data: {len(inputs)} inputs but {len(targets)} targets")
        if not len(inputs):
            raise DataError("data: no samples to evaluate the loss on")
        self.loss, self.layout = loss, layout
        device = loss.device
        self.inputs = inputs.to(device, torch.float32) if inputs.is_floating_point() else inputs.to(device)
        self.targets = targets.to(device)
        # held at the module's values: buffers, and parameters the trajectory does not hold
        self.fixed = {name: value.detach().to(device) for name, value in own.items() if name not in layout.names}
        kind = type(model)
        criterion = getattr(loss.criterion, "__qualname__", type(loss.criterion).__name__)
        self.name = f"torch:{kind.__module__}.{kind.__qualname__}:{criterion}"
        # The key sees the data and the held values; the architecture only by the class's name.
        self.key_arrays = (_numpy(self.inputs), _numpy(self.targets),
                           *(_numpy(v) for _, v in sorted(self.fixed.items())))
        self.samples = len(self.inputs)
        self.counts_accuracy = not self.targets.is_floating_point() and self.targets.dim() == 1  # class indices

    def on(self, plane):
        return TorchPlaneLoss(self, plane)

    def hessian_at(self, theta, method=HVP_METHOD):
        """``hvp(v) -> H v`` of the mean loss at ``theta`` (P,): exact products by autograd
        (:mod:`lossfilm.training.adapters.torch_hessian`), for the Hessian plane and the sharpness."""
        return torch_hessian(self, theta, method=method)

    def along(self, trajectory, points, t_range):
        """``(t, loss, accuracy)`` along the line from the first to the last snapshot (:mod:`lossfilm.training.landscape.segment`).

        The line is a plane whose second direction is zero: its alpha axis
        is ``t``, in units of the whole step from the first snapshot to the last.
        """
        t = line_positions(points, t_range)
        loss, accuracy = self.on(self.line_plane(trajectory)).at(np.column_stack([t, np.zeros_like(t)]))
        return t, loss, accuracy

    def line_plane(self, trajectory):
        """The line from the first snapshot to the last as a plane (second direction zero): the 1-D view's points.

        A Dask cluster (:mod:`lossfilm.training.grid_cluster`) evaluates them on its workers.
        """
        start = np.asarray(trajectory.params[0], dtype=np.float64)
        step = np.asarray(trajectory.params[-1], dtype=np.float64) - start
        return Plane(start, np.stack([step, np.zeros_like(step)]), "line")


class TorchPlaneLoss(PlaneLoss):
    """Loss and accuracy of a PyTorch model at points of a plane, ``nodes_per_call`` nodes per ``vmap`` call.

    A :class:`lossfilm.training.landscape.grid.PlaneLoss`: ``at``,
    ``at_params``, ``evaluate`` and ``batch_size``; a cluster's worker gets
    it pickled for its own device (``__reduce__``).
    """

    def __init__(self, evaluation, plane):
        import torch

        self.evaluation, self.loss, self.plane = evaluation, evaluation.loss, plane
        device = self.loss.device
        self.origin = torch.tensor(np.asarray(plane.origin, dtype=np.float32), device=device)  # (P,)
        self.directions = torch.tensor(np.asarray(plane.directions, dtype=np.float32), device=device)  # (2,P)
        self.batch_size = self.loss.nodes_per_call
        self._call = _node_call(evaluation)

    def __reduce__(self):
        """Pickled for a cluster's worker (:mod:`lossfilm.training.grid_cluster`): model, criterion, data subset, plane.

        Not the loader the data came from. Tensors travel on the CPU; the
        worker puts them on its own device (CUDA where it has one) and, on a
        device of another kind than here, takes that kind's ``NODES_PER_CALL``.
        """
        import copy

        loss, evaluation = self.loss, self.evaluation
        model = copy.deepcopy(loss.model).to("cpu")
        return (_on_worker, (model, loss.criterion, loss.device.type, loss.nodes_per_call, loss.chunk,
                             evaluation.layout, evaluation.inputs.cpu(), evaluation.targets.cpu(), self.plane))

    def at(self, coords):
        """Loss and accuracy at points ``coords`` (m, 2)."""
        import torch

        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        loss, accuracy = np.empty(len(coords)), np.empty(len(coords))
        for start in range(0, len(coords), self.batch_size):
            batch = torch.as_tensor(coords[start:start + self.batch_size], dtype=torch.float32,
                                    device=self.origin.device)
            flat = self.origin + batch @ self.directions  # (m,2)@(2,P) -> (m,P)
            where = at_node(*coords[start]) if len(batch) == 1 else \
                f"{at_node(*coords[start], 'nodes')} to ({coords[start + len(batch) - 1][0]:.4g}, " \
                f"{coords[start + len(batch) - 1][1]:.4g})"
            loss[start:start + len(batch)], accuracy[start:start + len(batch)] = self._losses(flat, where)
        return loss, accuracy

    def at_params(self, vectors, labels=None):
        """Loss and accuracy at each parameter vector (P,) of an iterable, ``batch_size`` at a time.

        ``labels[k]`` says where vector ``k`` is, for the one line a failing model gives.
        """
        import torch

        loss, accuracy, batch = [], [], []

        def flush():
            flat = torch.as_tensor(np.stack(batch).astype(np.float32), device=self.origin.device)  # (m,P)
            first = len(loss)
            where = labels[first] if labels is not None else f"at parameter vector {first}"
            node_loss, node_acc = self._losses(flat, where)
            loss.extend(node_loss)
            accuracy.extend(node_acc)
            batch.clear()
        for vector in vectors:
            batch.append(np.asarray(vector))
            if len(batch) == self.batch_size:
                flush()
        if batch:
            flush()
        return np.array(loss, dtype=np.float64), np.array(accuracy, dtype=np.float64)

    def evaluate(self, batches):
        """Yield ``(index, loss (m,), accuracy (m,))`` for each batch of coordinates, in order."""
        for i, batch in enumerate(batches):
            yield (i, *self.at(batch))

    def _losses(self, flat, where="at one point"):
        """Mean loss and accuracy (m,) each at the m parameter rows of ``flat`` (m, P); NaN where not finite.

        What the user's model or criterion raises is one :class:`UserCodeError` line naming it and ``where``.
        """
        import torch

        evaluation, model = self.evaluation, self.loss.model
        inputs, targets, chunk = evaluation.inputs, evaluation.targets, self.loss.chunk
        m, n = len(flat), len(inputs)
        while True:
            total = torch.zeros(m, dtype=torch.float64, device=flat.device)
            correct = torch.zeros(m, dtype=torch.float64, device=flat.device)
            was_training = model.training
            model.eval()
            try:
                with torch.no_grad():
                    for start in range(0, n, chunk):
                        x, y = inputs[start:start + chunk], targets[start:start + chunk]
                        for part in range(0, m, self.batch_size):
                            node_loss, node_correct = self._call(flat[part:part + self.batch_size], x, y)
                            total[part:part + len(node_loss)] += node_loss.double() * len(y)
                            correct[part:part + len(node_loss)] += node_correct.double()
                break
            except torch.cuda.OutOfMemoryError:
                if self.batch_size == 1:
                    raise
                self.batch_size //= 2  # fewer nodes per call, for this and every later batch
                torch.cuda.empty_cache()
            except (Exception, SystemExit) as exc:  # the user's model or criterion; Ctrl-C still interrupts
                if isinstance(exc, UserCodeError):  # the criterion's result, checked above: say where
                    raise UserCodeError(f"{exc}, {where}") from exc
                raise UserCodeError(f"your model {type(model).__name__} (or its criterion) raised {raised(exc)} "
                                    f"{where}") from exc
            finally:
                model.train(was_training)
        loss = (total / n).cpu().numpy()
        accuracy = (correct / n).cpu().numpy() if evaluation.counts_accuracy else np.full(m, np.nan)
        finite = np.isfinite(loss)
        return np.where(finite, loss, np.nan), np.where(finite, accuracy, np.nan)


def _on_worker(model, criterion, device_type, nodes_per_call, chunk, layout, inputs, targets, plane):
    """A :class:`TorchPlaneLoss` rebuilt on a cluster's worker, on its device (see ``TorchPlaneLoss.__reduce__``)."""
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type != device_type:
        nodes_per_call = NODES_PER_CALL.get(device.type, 1)
    loss = TorchLoss(model.to(device), None, criterion=criterion, device=device, nodes_per_call=nodes_per_call,
                     chunk=chunk)
    return TorchPlaneLoss(TorchEvaluation(loss, layout, inputs, targets), plane)


def _check_device(device):
    """``device`` as a ``torch.device``; ConfigError in one line where this PyTorch or machine cannot use it.

    Without this, a CUDA or MPS device on a CPU-only build fails deep inside
    PyTorch with an ``AssertionError`` ("Torch not compiled with CUDA enabled").
    """
    import torch

    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ConfigError(f"TorchLoss: device={device!r} is not a PyTorch device ({exc})") from None
    hint = "pass device='cpu', or install a PyTorch build for it (README: installing PyTorch for CPU or GPU)"
    if device.type == "cuda":
        if not torch.backends.cuda.is_built():
            raise ConfigError(f"TorchLoss: device={str(device)!r}, but this PyTorch ({torch.__version__}) was built "
                              f"without CUDA; {hint}")
        if not torch.cuda.is_available():
            raise ConfigError(f"TorchLoss: device={str(device)!r}, but no CUDA GPU is visible to PyTorch; {hint}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"TorchLoss: device={str(device)!r}, but this machine has "
                              f"{torch.cuda.device_count()} CUDA GPU(s), numbered from 0")
    elif device.type == "mps":
        if not torch.backends.mps.is_built():
            raise ConfigError(f"TorchLoss: device='mps', but this PyTorch ({torch.__version__}) was built without "
                              f"MPS (Apple GPUs); {hint}")
        if not torch.backends.mps.is_available():
            raise ConfigError(f"TorchLoss: device='mps', but no Apple GPU is available to PyTorch; {hint}")
    return device


def _node_call(evaluation):
    """``call(flat (m,P), x, y) -> (mean loss (m,), correct count (m,))``: the model at m nodes, one vmap."""
    import torch
    from torch.func import functional_call

    model, criterion, fixed = evaluation.loss.model, evaluation.loss.criterion, evaluation.fixed
    names, shapes, offsets = evaluation.layout.names, evaluation.layout.shapes, evaluation.layout.offsets

    def one_node(flat, x, y):  # flat (P,): one node's parameters
        params = {name: flat[offsets[i]:offsets[i + 1]].view(shapes[i]) for i, name in enumerate(names)}
        outputs = functional_call(model, (params, fixed), (x,))
        loss = criterion(outputs, y)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or loss.is_complex():
            raise UserCodeError(f"your {role('criterion', criterion)} returned {_described(loss)}; it must return "
                                "the batch's mean loss, one real number (reduction='mean')")
        if evaluation.counts_accuracy and outputs.dim() == 2:
            return loss, (outputs.argmax(dim=1) == y).sum()
        return loss, torch.zeros((), dtype=torch.int64, device=outputs.device)

    batched = torch.vmap(one_node, in_dims=(0, None, None))

    def call(flat, x, y):
        if len(flat) == 1:  # one node: the model as it is, without vmap's batching rules
            loss, correct = one_node(flat[0], x, y)
            return loss[None], correct[None]
        return batched(flat, x, y)
    return call


def _tensors(data, samples, seed):
    """``(inputs, targets)`` tensors: a seeded subset of ``samples`` of ``data`` (all if 0 or fewer)."""
    import torch

    dataset = getattr(data, "dataset", None)
    if dataset is not None and hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        rows = subset_rows(len(dataset), samples, seed)
        rows = range(len(dataset)) if rows is None else rows
        collate = getattr(data, "collate_fn", None) or torch.utils.data.default_collate
        batch = collate([dataset[int(i)] for i in rows])
        return _pair(batch, "the DataLoader's dataset")
    if isinstance(data, (tuple, list)) and len(data) == 2:
        inputs, targets = (torch.as_tensor(np.asarray(v)) if not isinstance(v, torch.Tensor) else v for v in data)
    elif hasattr(data, "__iter__"):
        parts = [_pair(batch, "a batch of the data") for batch in data]
        if not parts:
            raise DataError("data: the loader yielded no batches")
        inputs, targets = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    else:
        raise DataError(f"data: expected a DataLoader or (inputs, targets), got {type(data).__name__}")
    if len(inputs) != len(targets):
        raise DataError(f"data: {len(inputs)} inputs but {len(targets)} targets")
    rows = subset_rows(len(inputs), samples, seed)
    if rows is None:
        return inputs, targets
    rows = torch.as_tensor(rows, device=inputs.device)
    return inputs[rows], targets[rows.to(targets.device)]


def _pair(batch, what):
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise DataError(f"data: {what} is not an (inputs, targets) pair")
    return batch[0], batch[1]


def _numpy(tensor):
    return tensor.detach().cpu().numpy()


def _described(value):
    """What a criterion returned, for a message: ``"a tensor of shape (64,)"``."""
    import torch

    if isinstance(value, torch.Tensor):
        kind = " of complex numbers" if value.is_complex() else ""
        return f"a tensor of shape {tuple(value.shape)}{kind}"
    return f"a {type(value).__name__}"
