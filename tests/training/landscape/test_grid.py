"""The loss grid: axes, the fast MLP path against the naive one, generic loss_fn, resume."""

import concurrent.futures as cf

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError, DataError
from lossfilm.training.landscape.grid import (FunctionPlaneLoss, MLPPlaneLoss, check_mlp_layout, evaluate_grid, grid_axes,
                           loss_and_accuracy)
from lossfilm.format.layout import ParamLayout
from lossfilm.training.fit.mlp import init_params
from lossfilm.training.landscape.plane import Plane, random_plane


def network(sizes, seed=0, n=150):
    rng = np.random.default_rng(seed)
    params = init_params(sizes, rng)
    for name in params:
        if name.startswith("b"):
            params[name] += rng.normal(0, 0.1, params[name].shape)
    X = rng.random((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    layout = ParamLayout.of(params)
    plane = random_plane(layout, layout.flatten(params), seed=seed + 1, biases="filter")
    return layout, plane, X, y


def naive(layout, plane, X, y, coords):
    """The per-node forward pass: form every layer's weights at (a, b), run the network."""
    out = np.array([loss_and_accuracy(layout.unflatten(plane.point(a, b)), X, y) for a, b in coords])
    return out[:, 0], out[:, 1]


@pytest.mark.parametrize("sizes", [[7, 9, 4], [7, 9, 6, 4], [5, 3]], ids=["1-hidden", "2-hidden", "linear"])
def test_fast_path_equals_naive_path(sizes):
    layout, plane, X, y = network(sizes)
    reach = float(np.linalg.norm(plane.origin))
    coords = np.random.default_rng(9).uniform(-reach, reach, size=(37, 2))  # 37: batches do not divide it
    coords[0] = 0.0
    fast_loss, fast_acc = MLPPlaneLoss(plane, layout, X, y, workers=2, dtype="float64").at(coords)
    slow_loss, slow_acc = naive(layout, plane, X, y, coords)
    np.testing.assert_allclose(fast_loss, slow_loss, rtol=1e-10)
    np.testing.assert_array_equal(fast_acc, slow_acc)
    assert len(np.unique(fast_loss)) == len(coords)  # the nodes really differ


def test_fast_path_chunks_samples_and_batches_nodes_like_one_pass():
    layout, plane, X, y = network([7, 9, 4], n=301)
    plane_loss = MLPPlaneLoss(plane, layout, X, y, workers=1, dtype="float64")
    plane_loss.chunk, plane_loss.batch_size = 16, 3  # many sample chunks and node batches
    coords = np.random.default_rng(1).normal(size=(10, 2))
    np.testing.assert_allclose(plane_loss.at(coords)[0], naive(layout, plane, X, y, coords)[0], rtol=1e-10)


def grid_values(plane_loss, coords):
    """Loss and accuracy at ``coords`` as the grid gets them: through ``evaluate``."""
    loss, accuracy = np.empty(len(coords)), np.empty(len(coords))
    batches = [coords[s:s + plane_loss.batch_size] for s in range(0, len(coords), plane_loss.batch_size)]
    for i, batch_loss, batch_acc in plane_loss.evaluate(batches):
        loss[i * plane_loss.batch_size:][:len(batch_loss)] = batch_loss
        accuracy[i * plane_loss.batch_size:][:len(batch_acc)] = batch_acc
    return loss, accuracy


@pytest.mark.parametrize("sizes", [[784, 128, 10], [64, 32, 16, 10]], ids=["784-128-10", "2-hidden"])
def test_float32_fast_path_is_within_1e_5_of_float64(sizes):
    layout, plane, X, y = network(sizes, n=3000)
    reach = 2.0 * float(np.linalg.norm(plane.origin))  # far enough out that the loss grows several-fold
    axis = np.linspace(-reach, reach, 7)
    coords = np.column_stack([np.repeat(axis, 7), np.tile(axis, 7)])
    loss32, acc32 = grid_values(MLPPlaneLoss(plane, layout, X, y, dtype="float32"), coords)
    loss64, acc64 = grid_values(MLPPlaneLoss(plane, layout, X, y, dtype="float64"), coords)
    assert MLPPlaneLoss(plane, layout, X, y).dtype == np.float32  # the default
    assert loss64.max() > 2 * loss64.min()
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5)
    assert np.abs(acc32 - acc64).max() <= 2 / len(y)  # a near-tie may round the other way
    assert not np.array_equal(loss32, loss64)  # it really ran in float32
    loss_at, _ = MLPPlaneLoss(plane, layout, X, y).at(coords[:3])  # the path's points: like nodes, in float32
    np.testing.assert_allclose(loss_at, loss64[:3], rtol=1e-5)
    assert not np.array_equal(loss_at, loss64[:3])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes", [[784, 128, 10], [64, 32, 16, 10]], ids=["784-128-10", "2-hidden"])
def test_snapshot_losses_batched_are_within_1e_5_of_the_float64_forward_pass(sizes, dtype):
    layout, plane, X, y = network(sizes, n=3000)
    X[:, ::7] = 0.0  # features 0 in every sample (MNIST's borders): their weights are skipped, exactly
    rng = np.random.default_rng(5)
    scale = 0.3 * float(np.linalg.norm(plane.origin)) / np.sqrt(layout.size)
    # 11 snapshots off the plane (not a multiple of the batch), stored in float32 as a trajectory holds them
    snapshots = (plane.origin + rng.normal(0, scale, (11, layout.size))).astype(np.float32)
    plane_loss = MLPPlaneLoss(plane, layout, X, y, workers=2, dtype=dtype)
    loss, accuracy = plane_loss.at_params(iter(snapshots))  # any iterable, read as the work goes
    assert len(plane_loss.features_used) < X.shape[1]
    exact = np.array([loss_and_accuracy(layout.unflatten(v.astype(np.float64)), X, y) for v in snapshots])
    assert len(np.unique(exact[:, 0])) == len(snapshots)
    np.testing.assert_allclose(loss, exact[:, 0], rtol=1e-5 if dtype == "float32" else 1e-12)
    assert np.abs(accuracy - exact[:, 1]).max() <= 2 / len(y)  # a near-tie may round the other way
    assert dtype == "float64" or not np.array_equal(loss, exact[:, 0])  # it really ran in float32


def test_an_unknown_dtype_is_refused():
    layout, plane, X, y = network([7, 9, 4])
    with pytest.raises(ConfigError, match="float16"):
        MLPPlaneLoss(plane, layout, X, y, dtype="float16")


def test_exploding_nodes_become_nan_not_errors():
    layout, plane, X, y = network([7, 9, 4])
    loss, accuracy = MLPPlaneLoss(plane, layout, X, y).at(np.array([[0.0, 0.0], [1e305, 1e305]]))
    assert np.isfinite(loss[0]) and np.isnan(loss[1]) and np.isnan(accuracy[1])


def test_function_plane_loss_serial_and_on_an_executor_agree():
    layout, plane, X, y = network([7, 9, 4])
    loss_fn = lambda p: loss_and_accuracy(p, X, y)[0]  # noqa: E731
    acc_fn = lambda p: loss_and_accuracy(p, X, y)[1]  # noqa: E731
    coords = np.random.default_rng(2).normal(size=(9, 2))
    serial = FunctionPlaneLoss(plane, layout, loss_fn, acc_fn).at(coords)
    with cf.ThreadPoolExecutor(2) as pool:
        pooled = FunctionPlaneLoss(plane, layout, loss_fn, acc_fn, executor=pool).at(coords)
    np.testing.assert_array_equal(serial[0], pooled[0])
    np.testing.assert_array_equal(serial[1], pooled[1])
    np.testing.assert_allclose(serial[0], MLPPlaneLoss(plane, layout, X, y, dtype="float64").at(coords)[0], rtol=1e-10)
    assert np.isnan(FunctionPlaneLoss(plane, layout, loss_fn).at(coords)[1]).all()  # no acc_fn


def test_evaluate_grid_computes_only_missing_nodes():
    plane = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "random")
    calls = []

    def loss_fn(p):
        calls.append(p["w"].copy())
        return float(p["w"][0] + 10 * p["w"][1])

    plane_loss = FunctionPlaneLoss(plane, ParamLayout(("w",), ((2,),)), loss_fn)
    a, b = np.arange(4.0), np.arange(3.0)
    loss, acc, done = np.full((4, 3), np.nan), np.full((4, 3), np.nan), np.zeros((4, 3), bool)
    done[:2] = True
    loss[:2] = -1.0  # already computed: must be kept as it is
    evaluate_grid(plane_loss, a, b, loss, acc, done)
    assert len(calls) == 6 and done.all()
    np.testing.assert_array_equal(loss[:2], -1.0)
    np.testing.assert_array_equal(loss[2:], a[2:, None] + 10 * b[None, :])


def test_evaluate_grid_checkpoints_and_saves_on_interrupt():
    plane = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "random")
    count = {"n": 0}

    def loss_fn(p):
        count["n"] += 1
        if count["n"] == 5:
            raise KeyboardInterrupt
        return 1.0

    saved = []
    loss, acc, done = np.full((3, 3), np.nan), np.full((3, 3), np.nan), np.zeros((3, 3), bool)
    plane_loss = FunctionPlaneLoss(plane, ParamLayout(("w",), ((2,),)), loss_fn)
    with pytest.raises(KeyboardInterrupt):
        evaluate_grid(plane_loss, np.arange(3.0), np.arange(3.0), loss, acc, done,
                      checkpoint=lambda: saved.append(done.sum()), every=1e9)
    assert saved == [4]  # the interrupt saved the four finished nodes


def test_grid_axes_square_origin_on_a_node_path_inside():
    rng = np.random.default_rng(3)
    alpha, beta = rng.uniform(-0.3, 5.0, 40), rng.uniform(-2.0, 0.7, 40)
    alpha[-1] = beta[-1] = 0.0  # the final snapshot is the origin
    for resolution in (51, 40, 3):
        a, b = grid_axes(alpha, beta, resolution=resolution, margin=0.3)
        step = a[1] - a[0]
        np.testing.assert_allclose(np.diff(a), step)
        np.testing.assert_allclose(np.diff(b), step)  # equal scale on both axes
        assert np.abs(a).min() == 0.0 and np.abs(b).min() == 0.0  # the origin is a node
        assert a[0] < alpha.min() and a[-1] > alpha.max() and b[0] < beta.min() and b[-1] > beta.max()
        side, fitted = a[-1] - a[0], 1.6 * max(np.ptp(alpha), np.ptp(beta))
        if resolution > 3:
            assert side == pytest.approx(fitted)
        else:  # too coarse for the margin to absorb the snap: widened until the path fits
            assert fitted < side < 1.5 * fitted


def test_grid_axes_range_floor_and_degenerate_path():
    a, b = grid_axes([0.0, 1.0], [0.0, 1.0], resolution=5, grid_range=(-2, 2, 0, 1))
    np.testing.assert_allclose(a, [-2, -1, 0, 1, 2])
    np.testing.assert_allclose(b, [0, 0.25, 0.5, 0.75, 1])
    a, _ = grid_axes([0.0, 0.1], [0.0, 0.0], resolution=5, min_side=8.0)
    assert a[-1] - a[0] == pytest.approx(8.0)
    a, b = grid_axes([0.0], [0.0], resolution=5, scale=2.0)
    np.testing.assert_allclose(a, [-1, -0.5, 0, 0.5, 1])
    with pytest.raises(ConfigError, match="--range"):
        grid_axes([0.0], [0.0], resolution=5, grid_range=(1, 0, 0, 1))
    with pytest.raises(ConfigError, match="--resolution"):
        grid_axes([0.0], [0.0], resolution=2)


def test_check_mlp_layout_rejects_other_models():
    check_mlp_layout(ParamLayout(("W1", "b1", "W2", "b2"), ((4, 3), (1, 4), (2, 4), (1, 2))))
    with pytest.raises(DataError, match="loss_fn"):
        check_mlp_layout(ParamLayout(("w",), ((3,),)))
    with pytest.raises(DataError, match="do not chain"):
        check_mlp_layout(ParamLayout(("W1", "b1", "W2", "b2"), ((4, 3), (1, 4), (2, 5), (1, 2))))


def _user_mlp_snapshots(sizes, rng, in_out, bias_shape):
    """A user's own MLP snapshots: W stored (in, out) or (out, in), biases (out,) or (1, out)."""
    snapshots = []
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        W = rng.normal(scale=1 / np.sqrt(n_in), size=(n_out, n_in))
        params[f"W{i}"], params[f"b{i}"] = W, rng.normal(scale=0.1, size=n_out)
    for step in range(4):
        snap = {}
        for name, value in params.items():
            value = value * (1 + 0.1 * step)
            if name.startswith("W"):
                snap[name] = (value.T if in_out else value).astype(np.float32)  # as a trajectory stores them
            else:
                snap[name] = value.reshape(bias_shape(len(value))).astype(np.float32)
        snapshots.append(snap)
    return snapshots


def _user_loss(snapshot, X, y, in_out):
    h = X
    n = len(snapshot) // 2
    for i in range(1, n + 1):
        W, b = snapshot[f"W{i}"].astype(np.float64), np.ravel(snapshot[f"b{i}"]).astype(np.float64)
        h = h @ (W if in_out else W.T) + b
        if i < n:
            h = np.maximum(h, 0)
    h = h - h.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(h).sum(axis=1)) - h[np.arange(len(y)), y]))


def test_square_layers_in_in_out_layout_are_refused_unless_declared_then_match_the_users_loss():
    """The issue's 10-10-10 case: W (in, out) on square layers passes every shape check either way."""
    from lossfilm.format.errors import DataError as Refused
    from lossfilm.format.trajectory import Trajectory
    from lossfilm.training.landscape.pipeline import Landscape

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(200, 10)), rng.integers(0, 10, 200)
    snapshots = _user_mlp_snapshots([10, 10, 10], rng, in_out=True, bias_shape=lambda n: (1, n))
    trajectory = Trajectory.from_snapshots(snapshots)
    with pytest.raises(Refused, match=r"fit both \(out, in\) and \(in, out\).*layout='out_in' or layout='in_out'"):
        Landscape.from_trajectory(trajectory, data=(X, y), resolution=3)
    land = Landscape.from_trajectory(trajectory, data=(X, y), layout="in_out", resolution=3, line=0)
    users = [_user_loss(s, X, y, in_out=True) for s in snapshots]
    np.testing.assert_allclose(land.path_loss_true, users, rtol=1e-5)  # float32 forward pass: within 1e-5 of float64
    transposed = Landscape.from_trajectory(trajectory, data=(X, y), layout="out_in", resolution=3)
    assert not np.allclose(transposed.path_loss_true, users, rtol=1e-3)  # what the old guess silently drew
    assert land.key != transposed.key  # the same numbers read the other way are another landscape


def test_out_in_weights_with_1d_biases_are_accepted_and_in_out_is_recognised_from_shapes():
    from lossfilm.format.trajectory import Trajectory
    from lossfilm.training.landscape.pipeline import Landscape

    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(100, 6)), rng.integers(0, 3, 100)
    for in_out in (False, True):
        snapshots = _user_mlp_snapshots([6, 5, 3], rng, in_out=in_out, bias_shape=lambda n: (n,))
        land = Landscape.from_trajectory(Trajectory.from_snapshots(snapshots), data=(X, y), resolution=3, line=5)
        np.testing.assert_allclose(land.path_loss_true, [_user_loss(s, X, y, in_out) for s in snapshots],
                                   rtol=1e-5)  # float32 forward pass: within 1e-5 of float64
        assert np.isfinite(land.line_loss).all()


def test_a_declared_layout_that_does_not_fit_is_named():
    from lossfilm.format.errors import DataError as Refused
    from lossfilm.format.trajectory import Trajectory
    from lossfilm.training.landscape.pipeline import Landscape

    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(50, 6)), rng.integers(0, 3, 50)
    trajectory = Trajectory.from_snapshots(_user_mlp_snapshots([6, 5, 3], rng, in_out=False, bias_shape=lambda n: (n,)))
    with pytest.raises(Refused, match=r"W1 \(5, 6\) / b1 \(5,\) do not chain .*W is \(in, out\)"):
        Landscape.from_trajectory(trajectory, data=(X, y), layout="in_out", resolution=3)
    with pytest.raises(Refused, match="layout='sideways'"):
        Landscape.from_trajectory(trajectory, data=(X, y), layout="sideways", resolution=3)
