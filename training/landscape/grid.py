"""The loss grid: its axes, and the loss and accuracy at every node of a plane.

A :class:`PlaneLoss` is the loss at points of one plane (an evaluation's
``on(plane)``, :mod:`lossfilm.training.landscape.evaluation`):
``at(coords)`` and ``at_params(vectors)`` for a few points,
``evaluate(batches) -> (index, loss, accuracy)`` in completion order for
the grid, which ``evaluate_grid`` drives with a progress bar, periodic
checkpoints and resume. Three live here:

- ``MLPPlaneLoss``, for the built-in MLP, uses that the first layer's
  pre-activation is linear in the plane coordinates::

      X @ W1(a, b).T + b1(a, b) = (X@W1o.T + b1o) + a (X@D1.T + db1) + b (X@E1.T + eb1)

  The three products are computed once (in float64); a node then costs
  O(N*H) for the first layer instead of O(N*D*H), plus the small later
  layers with interpolated weights. That per-node work runs in float32 by
  default (within 1e-5 relative of float64; ``dtype="float64"`` keeps it
  exact to rounding). Samples are chunked to stay in cache and laid out
  last (the later layers are ``(out,in)@(in,k)`` products, and the loss's
  reductions over the classes run along rows of samples), nodes are
  batched (one GEMM with K = 3 builds a whole batch's pre-activations) and
  batches run on threads (NumPy releases the GIL), one BLAS thread each.
  The path's own points go through the same code: ``at(coords)`` for the
  heights under the ball, ``at_params(vectors)`` for the true loss at the
  snapshots (a full forward pass, several snapshots per GEMM).
- ``FunctionPlaneLoss`` calls the user's ``loss_fn(params_dict) -> float``
  node by node, optionally on a ``concurrent.futures`` executor.
- ``AnalyticPlaneLoss`` evaluates a 2-D function ``f(x, y)`` on its own axes,
  the whole grid in one vectorised call.

Examples
--------
>>> import numpy as np
>>> alphas, betas = grid_axes([-1.0, 0.0, 2.0], [0.5, 0.0, -0.5], resolution=5, margin=0.3)
>>> len(alphas), bool(0.0 in alphas and 0.0 in betas)
(5, True)
>>> bool(np.isclose(alphas[1] - alphas[0], betas[1] - betas[0]))
True
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Protocol

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from lossfilm.format.errors import ConfigError, DataError, LossfilmError, UserCodeError
from lossfilm.format.user_code import at_node, call, describe, loss_value, role
from lossfilm.training.fit.mlp import forward, log_softmax


DTYPES = ("float32", "float64")  # the fast path's precisions; LandscapeSettings.dtype chooses


class PlaneLoss(Protocol):
    """The loss and accuracy at points of one plane: what :func:`evaluate_grid` drives.

    Also a PyTorch model's (:class:`lossfilm.torch.TorchPlaneLoss`) and a Dask
    cluster's (:class:`lossfilm.training.grid_cluster.ClusterPlaneLoss`).
    """

    batch_size: int  # nodes per batch of ``evaluate``: one unit of work and of progress

    def at(self, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss and accuracy (m,) each at plane coordinates ``coords`` (m, 2), in order."""
        ...

    def at_params(self, vectors: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Loss and accuracy at each flat parameter vector (P,) of an iterable, in order."""
        ...

    def evaluate(self, batches: list[np.ndarray]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield ``(index, loss (m,), accuracy (m,))`` for each batch of coordinates, in any order."""
        ...

    def for_worker(self) -> PlaneLoss:
        """This plane loss as a cluster's worker runs it: without what only fits here (threads, a local pool).

        A worker's threads already fill it (:mod:`lossfilm.training.grid_cluster`).
        By default the plane loss itself.
        """
        return self


def grid_axes(path_alpha, path_beta, *, resolution, margin=0.0, grid_range=None, min_side=0.0, scale=1.0):
    """Grid coordinates along each direction: a square around the path, the origin on a node.

    The extent is the projected path's bounding box, grown to a square of
    side ``(1 + 2 * margin) * larger side`` about the box centre, so both
    axes have the same scale. The grid is then shifted by at most half a
    spacing so that 0 (the origin, the final snapshot) falls exactly on a
    node; the margin keeps the path in view after that shift (a coarse grid
    with a small margin is widened until it does). The side is
    at least ``min_side``; a path with no extent (one point) and no
    ``min_side`` gets a square of side ``scale``.

    Parameters
    ----------
    path_alpha, path_beta : array_like, shape (T,)
        Coordinates of the projected snapshots.
    resolution : int
        Nodes per side (odd, e.g. 51, puts a node in the middle; any value >= 3 works).
    margin : float
        Extra room on each side, as a share of the box's larger side
        (:class:`lossfilm.training.landscape.settings.LandscapeSettings` has the default).
    grid_range : sequence of 4 floats, optional
        ``(a_min, a_max, b_min, b_max)``: explicit extent, used as given
        (the origin is then a node only if the range makes it one).
    min_side : float
        Smallest side of the square (e.g. so that a random plane, on which
        the path projects to almost nothing, still shows the landscape at
        the scale the training moved).
    scale : float
        Side of the square for a path that is a single point.

    Returns
    -------
    alphas, betas : ndarray, shape (resolution,) each

    Examples
    --------
    >>> a, b = grid_axes([0.0, 1.0], [0.0, 0.0], resolution=3, grid_range=(-1, 1, 0, 4))
    >>> a.tolist(), b.tolist()
    ([-1.0, 0.0, 1.0], [0.0, 2.0, 4.0])
    """
    resolution = int(resolution)
    if resolution < 3:
        raise ConfigError(f"--resolution {resolution}: need at least 3 nodes per side")
    if grid_range is not None:
        a_min, a_max, b_min, b_max = (float(v) for v in grid_range)
        if not (np.isfinite([a_min, a_max, b_min, b_max]).all() and a_min < a_max and b_min < b_max):
            raise ConfigError(f"--range {a_min:g} {a_max:g} {b_min:g} {b_max:g}: "
                              "need A_MIN < A_MAX and B_MIN < B_MAX, all finite")
        return np.linspace(a_min, a_max, resolution), np.linspace(b_min, b_max, resolution)
    if not margin >= 0:
        raise ConfigError(f"--margin {margin}: must be >= 0")
    path_alpha, path_beta = np.asarray(path_alpha, float), np.asarray(path_beta, float)
    lo = np.array([min(path_alpha.min(), 0.0), min(path_beta.min(), 0.0)])
    hi = np.array([max(path_alpha.max(), 0.0), max(path_beta.max(), 0.0)])
    side = max((1.0 + 2.0 * margin) * float((hi - lo).max()), float(min_side))
    if not side > 0:
        side = float(scale) if scale > 0 else 1.0
    step = side / (resolution - 1)
    centre = (lo + hi) / 2
    while True:
        first = np.round((centre - side / 2) / step)  # snapped: node k sits at (first + k) * step
        if (first * step <= lo).all() and ((first + resolution - 1) * step >= hi).all():
            break
        # Only a coarse grid with a small margin gets here: widen until the path fits.
        step *= 1.05
        side = step * (resolution - 1)
    nodes = np.arange(resolution)
    return (first[0] + nodes) * step, (first[1] + nodes) * step


def loss_and_accuracy(params, X, y, chunk=4096):
    """Mean cross-entropy and accuracy of the built-in MLP, by a plain forward pass.

    The reference the fast path is checked against; also used for the
    true loss at each snapshot. Non-finite results come back as NaN.

    Examples
    --------
    >>> from lossfilm.training.fit.mlp import init_params
    >>> rng = np.random.default_rng(0)
    >>> params = init_params([4, 3], rng)
    >>> loss, acc = loss_and_accuracy(params, rng.normal(size=(10, 4)), rng.integers(0, 3, 10))
    >>> bool(loss > 0), 0.0 <= acc <= 1.0
    (True, True)
    """
    total, correct = 0.0, 0
    with np.errstate(all="ignore"):
        for start in range(0, len(y), chunk):
            logits, _ = forward(params, X[start:start + chunk])
            yy = y[start:start + chunk]
            total += float(-log_softmax(logits)[np.arange(len(yy)), yy].sum())
            correct += int((logits.argmax(axis=1) == yy).sum())
    loss = total / len(y)
    if not np.isfinite(loss):
        return np.nan, np.nan
    return loss, correct / len(y)


class MLPPlaneLoss(PlaneLoss):
    """Loss and accuracy of the built-in MLP at points of a plane, fast.

    Parameters
    ----------
    plane : Plane
    layout : ParamLayout
        Must be ``W1, b1, W2, b2, ...`` with ``W`` shaped ``(out, in)``.
    X : ndarray, shape (N, D)
    y : ndarray, shape (N,) int
    workers : int, optional
        Threads over node batches (default: all cores).
    dtype : {"float32", "float64"}
        Precision of the per-node arithmetic. The three first-layer products
        are computed in float64 either way and then stored in ``dtype``;
        losses are summed in float64.

    Notes
    -----
    Holds the three first-layer products, ``3 * N * H1`` numbers (15 MB in
    float32 for 10,000 samples and 128 hidden units), and a copy of them
    chunk by chunk with the samples last, which the grid reads. In float64 the
    results match the plain forward pass to rounding (~1e-15 relative); in
    float32 to about 1e-9 on 10,000 samples (per-sample errors average out;
    ``tests/test_grid.py`` holds it to 1e-5), and up to twice as fast: half
    the bytes through the cache. Three products stacked into one GEMM for
    the second layer (``relu(z) @ [W2; D2; E2].T``) measured slower than
    the per-node product here: 3x the arithmetic for a wider GEMM.

    Examples
    --------
    >>> from lossfilm.training.fit.mlp import init_params
    >>> from lossfilm.format.layout import ParamLayout
    >>> from lossfilm.training.landscape.plane import random_plane
    >>> rng = np.random.default_rng(0)
    >>> params = init_params([4, 5, 3], rng)
    >>> layout = ParamLayout.of(params)
    >>> plane = random_plane(layout, layout.flatten(params))
    >>> X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
    >>> loss, acc = MLPPlaneLoss(plane, layout, X, y).at(np.array([[0.0, 0.0]]))
    >>> bool(np.isclose(loss[0], loss_and_accuracy(layout.unflatten(plane.origin.astype(float)), X, y)[0]))
    True
    """

    batch_size = 16  # nodes per batch: one unit of work and of progress

    def __init__(self, plane, layout, X, y, workers=None, dtype="float32", orientation="out_in"):
        check_mlp_layout(layout, orientation)
        self.orientation = orientation
        if dtype not in DTYPES:
            raise ConfigError(f"--dtype {dtype}: choose one of {', '.join(DTYPES)}")
        self.dtype = np.dtype(dtype)
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        classes, features = (layout.shapes[-2][0], layout.shapes[0][1]) if orientation == "out_in" else \
            (layout.shapes[-2][1], layout.shapes[0][0])
        if X.ndim != 2 or X.shape[1] != features or y.shape != (len(X),):
            raise DataError(f"data X {X.shape}, y {y.shape} do not fit the model's W1 {layout.shapes[0]}")
        if y.size and not (np.issubdtype(y.dtype, np.integer) and 0 <= y.min() and y.max() < classes):
            raise DataError(f"labels must be integers in 0..{classes - 1} for this model's {classes} outputs")
        self.layout, self.X, self.y = layout, X, y.astype(np.int64)
        self.plane, self._data, self._used, self._chunks = plane, None, None, None
        n_layers = len(layout.names) // 2
        origin, d1, d2 = (as_built_in(layout.unflatten(v.astype(np.float64)), orientation)
                          for v in (plane.origin, *plane.directions))
        # Pre-activations of layer 1 at the origin and along each direction: (3,N,H1), made in float64.
        self.basis = np.stack([X @ p["W1"].T + p["b1"] for p in (origin, d1, d2)]).astype(self.dtype)
        # Later layers: (3,in,out) weights and (3,1,out) biases, combined per node batch.
        # They stay float64 (they are small): each node's weights are made in float64, then cast.
        self.layers = [(np.stack([p[f"W{i}"].T for p in (origin, d1, d2)]),
                        np.stack([p[f"b{i}"] for p in (origin, d1, d2)])) for i in range(2, n_layers + 1)]
        hidden = self.basis.shape[2]
        self.batch_size = int(np.clip((1 << 20) // max(1, sum(w[0].size for w, _ in self.layers)), 1, 16))
        self.chunk = int(np.clip((1 << 17) // (self.batch_size * hidden), 8, 2048))  # Z fits in L2 (64 samples: measured)

    def at(self, coords):
        """Loss and accuracy at points ``coords`` (m, 2), batched and threaded, like the grid's nodes.

        These are the path's on-plane losses (the height the ball rides at):
        points of the plane like any node, in the plane loss's dtype (float32
        is within 1e-5 relative of float64, ``tests/training/landscape/test_grid.py``).
        """
        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        batches = [coords[s:s + self.batch_size] for s in range(0, len(coords), self.batch_size)]
        loss, accuracy = np.empty(len(coords)), np.empty(len(coords))
        for i, batch_loss, batch_acc in self.evaluate(batches):
            loss[i * self.batch_size:i * self.batch_size + len(batch_loss)] = batch_loss
            accuracy[i * self.batch_size:i * self.batch_size + len(batch_acc)] = batch_acc
        return loss, accuracy

    def at_params(self, vectors, labels=None):
        """Loss and accuracy at each parameter vector (P,) of an iterable: the snapshots themselves, exactly.

        A full forward pass (no plane involved), in the plane loss's dtype,
        ``SNAPSHOTS_PER_PASS`` snapshots at a time: their first layers side
        by side make one wide GEMM over the data, and the features that are
        0 in every sample are skipped (on the README's MNIST case a snapshot
        costs about half a naive grid node). Batches run on the plane loss's
        threads, one BLAS thread each (BLAS threads on top only contend).
        The iterable is read as the work goes, so a progress bar around it
        moves with the work.
        ``labels`` (where each vector is, for a user function's messages) is not needed here.
        """
        self.data_in_dtype  # noqa: B018  (made once here, not by several threads at once)
        groups = _groups(vectors, SNAPSHOTS_PER_PASS)
        loss, accuracy = [], []
        with threadpool_limits(1), cf.ThreadPoolExecutor(self.workers) as pool:
            for _, group_loss, group_acc in _windowed(pool, self._snapshots, enumerate(groups), 2 * self.workers,
                                                      in_order=True):
                loss.extend(group_loss)
                accuracy.extend(group_acc)
        return np.array(loss, dtype=np.float64), np.array(accuracy, dtype=np.float64)

    def _snapshots(self, vectors):
        """Loss and accuracy (m,) of the network at each of ``m`` parameter vectors, by the plain forward pass."""
        m, dtype = len(vectors), self.dtype
        params = [as_built_in(self.layout.unflatten(np.asarray(v)), self.orientation) for v in vectors]
        used = self.features_used  # a feature that is 0 in every sample adds exactly 0: its weights are skipped
        W1 = np.concatenate([p["W1"][:, used] for p in params]).astype(dtype)  # (m*H, D'): all units in a row
        b1 = np.concatenate([np.reshape(p["b1"], -1) for p in params]).astype(dtype)  # (m*H,)
        H = W1.shape[0] // m
        layers = [(np.stack([p[f"W{i}"] for p in params]).astype(dtype),
                   np.stack([np.reshape(p[f"b{i}"], (-1, 1)) for p in params]).astype(dtype))
                  for i in range(2, len(self.layers) + 2)]  # (m,out,in), (m,out,1)
        Xt, N = self.data_in_dtype.T, len(self.X)  # (D',N): samples last
        chunk = int(np.clip((1 << 20) // (m * H), 64, 4096))  # a (m*H, chunk) block of 4 MB in float32
        total, correct = np.zeros(m), np.zeros(m)
        with np.errstate(all="ignore"):
            for start in range(0, N, chunk):
                z = W1 @ Xt[:, start:start + chunk]  # (m*H,D')@(D',k) -> (m*H,k): one GEMM for m snapshots
                z += b1[:, None]
                part_total, part_correct = _rest_of_network(z.reshape(m, H, -1), layers, self.y[start:start + chunk])
                total += part_total
                correct += part_correct
        return _mean_loss_and_accuracy(total, correct, N)

    @property
    def features_used(self):
        """Indices of the features that are not 0 in every sample (MNIST's border pixels are: 120 of 784)."""
        if self._used is None:
            self._used = np.flatnonzero(self.X.any(axis=0))
        return self._used

    @property
    def data_in_dtype(self):
        """The data ``X`` in the plane loss's dtype, without its all-zero features (made once)."""
        if self._data is None:
            self._data = np.ascontiguousarray(self.X[:, self.features_used], dtype=self.dtype)
        return self._data

    def evaluate(self, batches):
        """Yield ``(index, loss (m,), accuracy (m,))`` for each batch of coordinates, as done."""
        # One BLAS thread per worker: the threads already use every core, and BLAS threads
        # only slow down these small products.
        self._basis_chunks()  # made once here, not by several threads at once
        with threadpool_limits(1), \
                cf.ThreadPoolExecutor(self.workers) as pool:
            yield from _windowed(pool, self._batch, list(enumerate(batches)), 2 * self.workers)

    def for_worker(self):
        """A copy on one thread: the worker's own threads already use its cores, more would only contend."""
        shipped = copy.copy(self)
        shipped.workers = 1
        return shipped

    def _batch(self, coords):
        m, (_, N, H) = len(coords), self.basis.shape
        coef = np.column_stack([np.ones(m), coords])  # (m,3): weights of origin, d1, d2
        with np.errstate(over="ignore"):  # a node too far out for float32 becomes inf, then NaN loss
            layers = [(np.einsum("mk,kio->moi", coef, W).astype(self.dtype),
                       np.einsum("mk,kio->moi", coef, b).astype(self.dtype))
                      for W, b in self.layers]  # (m,out,in), (m,out,1), each node's weights made in float64
            coef = coef.astype(self.dtype)
        total, correct = np.zeros(m), np.zeros(m)
        z_buffer = np.empty((m, H * self.chunk), self.dtype)
        logits, first = [], 0  # the chunks' logits (m,C,k) not yet through the loss, from sample `first` on
        with np.errstate(all="ignore"):
            for start, block in self._basis_chunks():
                k = block.shape[1] // H
                z = z_buffer[:, :H * k]
                np.matmul(coef, block, out=z)  # (m,3)@(3,H*k): every node's first pre-activations
                logits.append(_later_layers(z.reshape(m, H, k), layers))
                if start + k - first >= LOSS_SAMPLES or start + k == N:
                    # The loss's many small steps, over several chunks at once: fewer, larger NumPy calls.
                    part_total, part_correct = _loss_sums(np.concatenate(logits, axis=2), self.y[first:start + k])
                    total += part_total
                    correct += part_correct
                    logits, first = [], start + k
        return _mean_loss_and_accuracy(total, correct, N)

    def _basis_chunks(self):
        """``(start, (3, H*k) block)`` per chunk of samples: the first-layer products, samples last, made once.

        Samples last (each unit's pre-activations over the chunk in a row)
        makes the later layers' products ``(out,in)@(in,k)`` and the loss's
        reductions over the classes run along whole rows of samples.
        """
        if self._chunks is None or self._chunks[0] != self.chunk:
            _, N, H = self.basis.shape
            blocks = [(start, np.ascontiguousarray(self.basis[:, start:start + self.chunk].transpose(0, 2, 1))
                       .reshape(3, -1)) for start in range(0, N, self.chunk)]
            self._chunks = (self.chunk, blocks)
        return self._chunks[1]


SNAPSHOTS_PER_PASS = 8  # snapshots whose first layers share one GEMM in MLPPlaneLoss.at_params


LOSS_SAMPLES = 4096  # samples whose logits go through the loss together in the grid (its steps are small)


def _rest_of_network(h, layers, y):
    """Summed cross-entropy and correct count (m,) of ``m`` networks from their first pre-activations on a chunk.

    ``h`` (m,H,k) is overwritten (samples last); ``layers`` are
    ``(W (m,out,in), b (m,out,1))`` per later layer; ``y`` (k,) the chunk's
    labels. Sums are in float64.
    """
    return _loss_sums(_later_layers(h, layers), y)


def _later_layers(h, layers):
    """Logits (m,C,k), a new array, from the first pre-activations ``h`` (m,H,k) (overwritten by the ReLU)."""
    if not layers:
        return h.copy()  # a one-layer model: its pre-activations are the logits
    for W, b in layers:
        np.maximum(h, 0.0, out=h)  # ReLU on every hidden layer
        h = np.matmul(W, h)  # (m,out,in)@(m,in,k) -> (m,out,k)
        h += b
    return h


def _loss_sums(logits, y):
    """Summed cross-entropy and correct count (m,) from logits (m,C,k) (overwritten) and labels ``y`` (k,).

    A sample counts as correct where its label is the first class of the
    largest logit (``argmax``'s rule). Sums are in float64.
    """
    m, _, k = logits.shape
    top = logits.max(axis=1)  # (m,k)
    label_logit = np.take_along_axis(logits, np.broadcast_to(y, (m, 1, k)), axis=1)[:, 0]  # (m,k)
    correct = label_logit == top
    for c in range(logits.shape[1] - 1):  # an earlier class with the same logit wins the tie, as in argmax
        correct &= ~((logits[:, c] == top) & (c < y))
    logits -= top[:, None]  # max-shift
    np.exp(logits, out=logits)
    return (np.log(logits.sum(axis=1)) - (label_logit - top)).sum(axis=1, dtype=np.float64), correct.sum(axis=1)


def _mean_loss_and_accuracy(total, correct, n):
    """Mean loss and accuracy from sums over ``n`` samples; a non-finite loss makes both NaN."""
    loss = total / n
    finite = np.isfinite(loss)
    return np.where(finite, loss, np.nan), np.where(finite, correct / n, np.nan)


def _groups(items, size):
    """Lists of ``size`` consecutive items of an iterable (the last may be shorter), read lazily."""
    group = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


class FunctionPlaneLoss(PlaneLoss):
    """Loss (and accuracy) of the user's model at points of a plane, node by node.

    Parameters
    ----------
    plane : Plane
    layout : ParamLayout
    loss_fn : callable
        ``loss_fn(params_dict) -> float``; ``params_dict`` maps the
        trajectory's names to float64 arrays of their shapes.
    acc_fn : callable, optional
        ``acc_fn(params_dict) -> float``; accuracy is NaN without it.
    executor : concurrent.futures.Executor, optional
        Where to run the calls (for a process pool, the functions must be
        picklable); by default they run here, one after another.

    Examples
    --------
    >>> from lossfilm.format.layout import ParamLayout
    >>> from lossfilm.training.landscape.plane import Plane
    >>> layout = ParamLayout(("w",), ((2,),))
    >>> plane = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "random")
    >>> plane_loss = FunctionPlaneLoss(plane, layout, lambda p: float((p["w"] ** 2).sum()))
    >>> plane_loss.at(np.array([[3.0, 4.0]]))[0].tolist()
    [25.0]
    """

    batch_size = 1

    def __init__(self, plane, layout, loss_fn, acc_fn=None, executor=None):
        if not callable(loss_fn):
            raise ConfigError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        self.plane, self.layout = plane, layout
        self.loss_fn, self.acc_fn, self.executor = loss_fn, acc_fn, executor

    def at(self, coords):
        """Loss and accuracy at points ``coords`` (m, 2)."""
        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        return self.at_params((self.plane.point(a, b) for a, b in coords),
                              labels=[at_node(a, b, "plane point") for a, b in coords])

    def at_params(self, vectors, labels=None):
        """Loss and accuracy at each parameter vector (P,) of an iterable.

        ``labels[k]`` says where vector ``k`` is (``"at snapshot 12"``), for
        the one line a failing ``loss_fn`` gives.
        """
        loss, accuracy = [], []
        jobs = ((k, (vector, labels[k] if labels is not None else f"at parameter vector {k}"))
                for k, vector in enumerate(vectors))
        for _, batch_loss, batch_acc in self._evaluate_vectors(jobs, in_order=True):
            loss.append(batch_loss[0])
            accuracy.append(batch_acc[0])
        return np.array(loss, dtype=np.float64), np.array(accuracy, dtype=np.float64)

    def evaluate(self, batches):
        """Yield ``(index, loss (m,), accuracy (m,))`` per batch of coordinates, as done."""
        def jobs():
            for i, batch in enumerate(batches):
                for a, b in np.asarray(batch, dtype=np.float64).reshape(-1, 2):
                    yield i, (self.plane.point(a, b), at_node(a, b))
        # batch_size is 1, so each batch is a single node.
        yield from self._evaluate_vectors(jobs())

    def for_worker(self):
        """A copy without the local executor: on a worker the calls run in the worker itself."""
        shipped = copy.copy(self)
        shipped.executor = None
        return shipped

    def _evaluate_vectors(self, jobs, in_order=False):
        """``(index, loss[1], accuracy[1])`` for ``(index, (vector, where))`` jobs, here or on the executor."""
        def params(vector):  # the user's function gets float64 arrays, whatever the snapshots' dtype
            return self.layout.unflatten(np.asarray(vector, dtype=np.float64))
        if self.executor is None:
            for i, (vector, where) in jobs:
                yield (i, *node_values(self.loss_fn, self.acc_fn, params(vector), where))
            return
        items = ((i, (params(vector), where)) for i, (vector, where) in jobs)
        run = _NodeCall(self.loss_fn, self.acc_fn)
        yield from _windowed(self.executor, run, items, 4 * getattr(self.executor, "_max_workers", 2),
                             in_order=in_order)


class _NodeCall:
    """A picklable ``(params, where) -> (loss[1], accuracy[1])`` for process pools."""

    def __init__(self, loss_fn, acc_fn):
        self.loss_fn, self.acc_fn = loss_fn, acc_fn

    def __call__(self, item):
        params, where = item
        return node_values(self.loss_fn, self.acc_fn, params, where)


def node_values(loss_fn, acc_fn, params, where="at one point"):
    """``loss_fn`` (and ``acc_fn``) at one parameter dict, as 1-element arrays; non-finite loss: both NaN.

    This is the boundary with the user's functions (:mod:`lossfilm.format.user_code`): what they raise,
    ``sys.exit()`` included, and a return value that is not a real scalar each give one
    :class:`UserCodeError` line naming the function and ``where`` (``"at grid node (a, b)"``).
    """
    with np.errstate(all="ignore"):
        loss_role = role("loss_fn", loss_fn)
        loss = loss_value(call(loss_fn, params, role=loss_role, where=where), loss_role, where)
        accuracy = np.nan
        if acc_fn is not None:
            acc_role = role("acc_fn", acc_fn)
            accuracy = loss_value(call(acc_fn, params, role=acc_role, where=where), acc_role, where,
                                  what="an accuracy")
    if not np.isfinite(loss):
        loss = accuracy = np.nan
    return np.array([loss]), np.array([accuracy])


class AnalyticPlaneLoss(PlaneLoss):
    """A 2-D function ``f(x, y)`` on its own axes (a plane of kind ``"axes"``), exactly.

    Grid coordinates are ``(x, y)`` themselves: nothing is projected or
    interpolated. Accuracy is NaN; a non-finite value is NaN.

    Parameters
    ----------
    plane : Plane
        Of ``directions_kind == "axes"``.
    function : callable
        ``function(x, y) -> array``, vectorised over arrays.

    Examples
    --------
    >>> from lossfilm.training.landscape.plane import Plane
    >>> plane = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "axes")
    >>> AnalyticPlaneLoss(plane, lambda x, y: x ** 2 + y).at(np.array([[3.0, 1.0], [0.0, np.inf]]))[0].tolist()
    [10.0, nan]
    """

    batch_size = 1 << 20  # nodes per batch: the whole grid in one vectorised call

    def __init__(self, plane, function):
        if plane.directions_kind != "axes":
            raise ConfigError(f"a function f(x, y) is evaluated on its own axes, not on a "
                              f"{plane.directions_kind!r} plane")
        self.function = function

    def at(self, coords):
        """Loss (and NaN accuracy) at points ``coords`` (m, 2), which are ``(x, y)``.

        The function is a user's (a scene file's callable) or lossfilm's own; what it raises, or a result that
        is not real numbers, one per point (or one for all), is one :class:`UserCodeError` line.
        """
        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        where = f"at {len(coords)} points (x from {coords[:, 0].min():.4g} to {coords[:, 0].max():.4g})" \
            if len(coords) else "at no points"
        name = role("function", self.function)
        with np.errstate(all="ignore"):
            value = call(self.function, coords[:, 0], coords[:, 1], role=name, where=where)
            if hasattr(value, "detach") and hasattr(value, "cpu"):
                value = value.detach().cpu().numpy()
            loss = np.asarray(value) if isinstance(value, np.ndarray) or np.isscalar(value) else None
            if loss is None or loss.dtype.kind not in "iuf" or loss.shape not in ((), (len(coords),)):
                raise UserCodeError(f"your {name} returned {describe(value)} {where}; it must return real "
                                    f"numbers, one per point (an array of shape ({len(coords)},))")
            loss = np.broadcast_to(loss.astype(np.float64), (len(coords),))
        return np.where(np.isfinite(loss), loss, np.nan), np.full(len(coords), np.nan)

    def at_params(self, vectors, labels=None):
        """Loss (and NaN accuracy) at each parameter vector ``(x, y)`` of an iterable."""
        return self.at(np.array(list(vectors), dtype=np.float64).reshape(-1, 2))

    def evaluate(self, batches):
        """Yield ``(index, loss (m,), accuracy (m,))`` per batch of coordinates."""
        for i, batch in enumerate(batches):
            yield (i, *self.at(batch))


def _windowed(executor, fn, items, window, in_order=False):
    """Run ``fn(arg)`` for ``(index, arg)`` items, at most ``window`` in flight.

    Yields ``(index, *fn(arg))`` as results arrive (or in order). On any exit
    (including KeyboardInterrupt) pending work is cancelled.
    """
    items = iter(items)
    pending = {}
    done_early = {}
    next_index = None
    try:
        while True:
            while len(pending) < window:
                item = next(items, None)
                if item is None:
                    break
                index, arg = item
                if next_index is None:
                    next_index = index
                pending[executor.submit(fn, arg)] = index
            if not pending:
                return
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                index = pending.pop(future)
                result = future.result()
                if not in_order:
                    yield (index, *result)
                    continue
                done_early[index] = result
                while next_index in done_early:
                    yield (next_index, *done_early.pop(next_index))
                    next_index += 1
    finally:
        for future in pending:
            future.cancel()


def evaluate_grid(plane_loss, alphas, betas, loss, accuracy, computed, *,
                  checkpoint=None, every=5.0, progress=False):
    """Fill ``loss``, ``accuracy`` and ``computed`` (R1, R2) in place at the missing nodes.

    Nodes already marked in ``computed`` are skipped, so a grid restored
    from a checkpoint resumes where it stopped. ``checkpoint()`` is called
    every ``every`` seconds, and once more if the run is interrupted
    (KeyboardInterrupt), so the saved partial grid is as fresh as possible.

    Examples
    --------
    >>> from lossfilm.format.layout import ParamLayout
    >>> from lossfilm.training.landscape.plane import Plane
    >>> plane = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "random")
    >>> plane_loss = FunctionPlaneLoss(plane, ParamLayout(("w",), ((2,),)), lambda p: float(p["w"].sum()))
    >>> a = b = np.array([0.0, 1.0])
    >>> loss, acc, done = np.full((2, 2), np.nan), np.full((2, 2), np.nan), np.zeros((2, 2), bool)
    >>> evaluate_grid(plane_loss, a, b, loss, acc, done)
    >>> loss.tolist(), bool(done.all())
    ([[0.0, 1.0], [1.0, 2.0]], True)
    """
    missing = np.flatnonzero(~computed.ravel())  # row-major node numbers
    if missing.size == 0:
        return
    A, B = np.meshgrid(alphas, betas, indexing="ij")
    coords = np.column_stack([A.ravel()[missing], B.ravel()[missing]])  # (n,2)
    size = plane_loss.batch_size
    batches = [coords[s:s + size] for s in range(0, len(coords), size)]
    flat_loss, flat_acc, flat_done = loss.reshape(-1), accuracy.reshape(-1), computed.reshape(-1)
    bar = tqdm(total=computed.size, initial=computed.size - missing.size, disable=not progress,
               file=sys.stderr, unit="node", desc="loss grid", dynamic_ncols=True)
    last = time.monotonic()
    results = plane_loss.evaluate(batches)
    try:
        for i, batch_loss, batch_acc in results:
            nodes = missing[i * size:i * size + len(batch_loss)]
            flat_loss[nodes], flat_acc[nodes] = batch_loss, batch_acc
            flat_done[nodes] = True
            bar.update(len(nodes))
            if checkpoint is not None and time.monotonic() - last >= every:
                checkpoint()
                last = time.monotonic()
    except (KeyboardInterrupt, LossfilmError):  # Ctrl-C, or a cluster that lost the work: keep what is done
        if checkpoint is not None:
            checkpoint()
        raise
    finally:
        results.close()  # cancels queued work now, not at garbage collection
        bar.close()


def check_mlp_layout(layout, orientation="out_in"):
    """Raise DataError unless ``layout`` is an MLP's ``W1, b1, W2, b2, ...`` with W in ``orientation``.

    ``orientation`` is ``"out_in"`` (W is (out, in), the built-in's) or
    ``"in_out"`` (W is (in, out)); b may be (1, out) or (out,).
    """
    n = len(layout.names) // 2
    expected = tuple(name for i in range(1, n + 1) for name in (f"W{i}", f"b{i}"))
    if n == 0 or layout.names != expected:
        raise DataError(f"parameters {list(layout.names)} are not the built-in MLP's "
                        "W1, b1, W2, b2, ...; pass loss_fn= for your own model")
    shapes = dict(zip(layout.names, layout.shapes))
    for i in range(1, n + 1):
        W, b = shapes[f"W{i}"], shapes[f"b{i}"]
        out, into = (W if orientation == "out_in" else W[::-1]) if len(W) == 2 else (None, None)
        previous = shapes[f"W{i - 1}"] if i > 1 else None
        previous_out = None if previous is None else (previous[0] if orientation == "out_in" else previous[-1])
        if len(W) != 2 or b not in ((1, out), (out,)) or (i > 1 and into != previous_out):
            form = "(out, in)" if orientation == "out_in" else "(in, out)"
            raise DataError(f"W{i} {W} / b{i} {b} do not chain as MLP layers (W is {form}, b is (1, out) or (out,))")


ORIENTATIONS = ("out_in", "in_out")


def mlp_orientation(layout, features, declared=None):
    """How a user's MLP weights are laid out: ``declared``, or the one orientation their shapes allow; never a guess.

    Parameters
    ----------
    layout : ParamLayout
        ``W1, b1, W2, b2, ...``.
    features : int
        Columns of the evaluation data (W1's in-size).
    declared : {"out_in", "in_out"}, optional
        The user's ``layout=``.

    Raises
    ------
    DataError
        When no orientation fits, when the declared one does not, or when
        both fit (every layer square, e.g. 10-10-10) and none is declared.

    Examples
    --------
    >>> from lossfilm.format.layout import ParamLayout
    >>> mlp_orientation(ParamLayout(("W1", "b1"), ((3, 4), (3,))), features=4)
    'out_in'
    >>> mlp_orientation(ParamLayout(("W1", "b1"), ((4, 3), (1, 3))), features=4)
    'in_out'
    """
    if declared is not None and declared not in ORIENTATIONS:
        raise DataError(f"layout={declared!r}: choose 'out_in' (W is (out, in)) or 'in_out' (W is (in, out))")
    fits, problems = [], []
    for orientation in (declared,) if declared else ORIENTATIONS:
        try:
            check_mlp_layout(layout, orientation)
        except DataError as exc:
            problems.append(str(exc))
            continue
        W1 = layout.shapes[0]
        into = W1[1] if orientation == "out_in" else W1[0]
        if into == features:
            fits.append(orientation)
        else:
            problems.append(f"W1 {W1} as {orientation} takes {into} features, the data has {features}")
    if not fits:
        raise DataError(problems[0] if declared else "; ".join(dict.fromkeys(problems)))
    if len(fits) == 2:
        raise DataError(f"weights {', '.join(f'{n} {s}' for n, s in zip(layout.names, layout.shapes))} fit both "
                        "(out, in) and (in, out) (square layers); declare layout='out_in' or layout='in_out'")
    return fits[0]


def as_built_in(params, orientation):
    """``params`` (a user's W1, b1, ...) as the built-in MLP holds them: W (out, in), b (1, out)."""
    if orientation == "out_in" and all(np.ndim(v) == 2 for v in params.values()):
        return params
    return {name: (np.asarray(v).T if name.startswith("W") and orientation == "in_out"
                   else np.asarray(v).reshape(1, -1) if name.startswith("b") else v)
            for name, v in params.items()}
