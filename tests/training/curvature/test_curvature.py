"""Curvature: Hessian-vector products, Lanczos, the Hessian plane, and the sharpness along the path."""

import numpy as np
import pytest

from lossfilm.format.errors import ArtifactError, ConfigError
from lossfilm.format.landscape import Landscape as LandscapeFile
from lossfilm.format.layout import ParamLayout
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.curvature.lanczos import top_eigenpairs
from lossfilm.training.landscape.evaluation import FunctionEvaluation, MLPEvaluation
from lossfilm.training.curvature.hessian import gradient_hessian, mlp_hessian
from lossfilm.training.landscape.pipeline import Landscape
from lossfilm.training.fit.mlp import init_params, loss_and_grads
from lossfilm.training.curvature.sharpness import sharpness_along


def tiny_mlp(seed=0, sizes=(4, 6, 5, 3), samples=30):
    rng = np.random.default_rng(seed)
    params = init_params(list(sizes), rng)
    params["b1"] += 0.05  # no ReLU sits exactly on its kink
    layout = ParamLayout.of(params)
    X, y = rng.normal(size=(samples, sizes[0])), rng.integers(0, sizes[-1], samples)
    return layout, layout.flatten(params, dtype=np.float64), X, y


def flat_gradient(layout, X, y):
    return lambda theta: layout.flatten(loss_and_grads(layout.unflatten(theta), X, y)[1], dtype=np.float64)


def test_the_mlp_hessian_vector_product_matches_a_finite_difference_hessian():
    layout, theta, X, y = tiny_mlp()
    grad, P = flat_gradient(layout, X, y), layout.size
    eps = 1e-5
    columns = [(grad(theta + eps * e) - grad(theta - eps * e)) / (2 * eps) for e in np.eye(P)]
    H_fd = np.array(columns).T  # (P,P) central differences of the analytic gradient
    hvp = mlp_hessian(layout, theta, X, y)
    H = np.array([hvp(e) for e in np.eye(P)]).T
    scale = np.abs(H_fd).max()
    assert np.abs(H - H_fd).max() < 1e-6 * scale
    assert np.abs(H - H.T).max() < 1e-12 * scale  # the exact R-operator is symmetric to rounding
    v = np.random.default_rng(3).normal(size=P)
    np.testing.assert_allclose(hvp(v), H @ v, rtol=1e-9, atol=1e-12 * scale)


def test_the_gradient_difference_product_matches_the_exact_one():
    layout, theta, X, y = tiny_mlp(seed=1)
    exact = mlp_hessian(layout, theta, X, y)
    by_differences = gradient_hessian(flat_gradient(layout, X, y), theta)
    for v in np.random.default_rng(4).normal(size=(3, layout.size)):
        np.testing.assert_allclose(by_differences(v), exact(v), rtol=1e-5, atol=1e-7 * np.abs(exact(v)).max())


def test_lanczos_finds_the_extreme_eigenpairs_of_a_known_spectrum():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(200, 200)))
    spectrum = np.concatenate([[41.3, -30.0, 12.0], rng.uniform(-1, 1, 197)])
    H = (Q * spectrum) @ Q.T
    pairs = top_eigenpairs(lambda v: H @ v, 200, k=2, tol=1e-6)
    assert pairs.converged and pairs.iterations < 100
    np.testing.assert_allclose(pairs.values, [41.3, -30.0], rtol=1e-9)
    for value, vector in zip(pairs.values, pairs.vectors):
        assert np.linalg.norm(H @ vector - value * vector) < 1e-5 * 41.3
    largest = top_eigenpairs(lambda v: H @ v, 200, k=2, tol=1e-6, which="largest")
    np.testing.assert_allclose(largest.values, [41.3, 12.0], rtol=1e-9)
    again = top_eigenpairs(lambda v: H @ v, 200, k=2, tol=1e-6)
    np.testing.assert_array_equal(again.vectors, pairs.vectors)  # seeded: reproducible
    short = top_eigenpairs(lambda v: H @ v, 200, k=2, tol=1e-12, max_iterations=3)
    assert not short.converged and short.iterations == 3  # said, not hidden


def trained_mlp_run(steps=400, lr=0.5, seed=0):
    """A small MLP trained by full-batch gradient descent to near a minimum, every 10th step recorded."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    params = init_params([5, 8, 3], rng)
    snaps = []
    for step in range(steps + 1):
        if step % 10 == 0:
            snaps.append({k: v.copy() for k, v in params.items()})
        _, grads = loss_and_grads(params, X, y)
        for name in params:
            params[name] -= lr * grads[name]
    run = Trajectory.from_snapshots(snaps, steps=np.arange(0, steps + 1, 10),
                                    settings={"optimizer": {"name": "sgd", "lr": lr}})
    return run, X, y


def centre_curvature(land):
    """Second differences of the evaluated grid at its centre node, along each axis."""
    i, j = len(land.alphas) // 2, len(land.betas) // 2
    assert land.alphas[i] == 0 and land.betas[j] == 0
    h = land.alphas[1] - land.alphas[0]
    L = land.loss
    return np.array([(L[i + 1, j] - 2 * L[i, j] + L[i - 1, j]) / h ** 2,
                     (L[i, j + 1] - 2 * L[i, j] + L[i, j - 1]) / h ** 2])


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    """The demo's network, smaller and shorter: 64-32-10 on the bundled digits, 6 epochs of SGD."""
    from lossfilm.training.fit.config import TrainConfig
    from lossfilm.training.data.datasets import load_data
    from lossfilm.training.fit.train import train

    config = TrainConfig(hidden=(32,), epochs=6, record_every=5)
    data = load_data(config.data, seed=config.seed, test_fraction=config.test_fraction)
    path = tmp_path_factory.mktemp("digits") / "trajectory.npz"
    train(config, data, path, progress=False)
    return path


@pytest.fixture(scope="module")
def digits_run(digits_file):
    return Trajectory.load(digits_file)


def test_the_hessian_plane_is_as_curved_as_its_eigenvalues_and_more_than_a_random_plane(digits_run):
    # A step of 0.005 (the fitted grid of the demo has 0.015): small against the quadratic's reach, large
    # against float rounding. On a toy with few samples a ReLU kink within the step adds curvature that the
    # Hessian, a derivative at the point, does not have; over the 1,438 digits the kinks average out.
    near = (-0.01, 0.01, -0.01, 0.01)
    hessian = Landscape.from_trajectory(digits_run, directions_kind="hessian", grid_range=near, resolution=5)
    random = Landscape.from_trajectory(digits_run, directions_kind="random", grid_range=near, resolution=5)
    plane = hessian.settings["plane"]
    assert plane["converged"] and not plane["saddle"]
    curvature = centre_curvature(hessian)
    np.testing.assert_allclose(curvature, plane["eigenvalues"], rtol=0.05)
    assert curvature[0] >= centre_curvature(random).max()
    assert curvature[1] <= curvature[0]
    assert hessian.axis_label(0) == f"Hessian dir. 1 (lambda1 = {plane['eigenvalues'][0]:.3g})"
    assert "converged" in hessian.summary().splitlines()[0]


def test_filter_normalised_hessian_directions_report_their_own_curvature(digits_run):
    run = digits_run
    land = Landscape.from_trajectory(run, directions_kind="hessian", filter_normalise=True,
                                     grid_range=(-0.01, 0.01, -0.01, 0.01), resolution=5)
    D = land.directions.astype(np.float64)
    np.testing.assert_allclose(D @ D.T, np.eye(2), atol=1e-6)
    assert np.abs(D[:, run.layout.offsets[1]:run.layout.offsets[2]]).max() == 0  # biases b1 left put
    plane = land.settings["plane"]
    np.testing.assert_allclose(centre_curvature(land), plane["curvature"], rtol=0.05)
    assert "filter-normalised" in land.axis_label(0) and "not the eigenvalues" in land.summary()
    with pytest.raises(ConfigError, match="--filter-normalise needs --directions hessian"):
        Landscape.from_trajectory(run, directions_kind="pca", filter_normalise=True)


def quadratic(H):
    """``loss_fn`` and ``grad_fn`` of 0.5 theta^T H theta: its Hessian is H everywhere."""
    return (lambda p: float(0.5 * p["w"] @ H @ p["w"]), lambda p: {"w": H @ p["w"]})


def gradient_descent(H, lr, steps=40, seed=0):
    theta = np.random.default_rng(seed).normal(size=len(H))
    snaps = [{"w": theta.copy()}]
    for _ in range(steps):
        theta = theta - lr * H @ theta
        snaps.append({"w": theta.copy()})
    return Trajectory.from_snapshots(snaps, settings={"optimizer": {"name": "sgd", "lr": lr}})


@pytest.mark.parametrize("above", [False, True])
def test_gradient_descent_on_a_quadratic_is_stable_exactly_below_the_2_over_eta_line(above):
    """The edge of stability on a toy problem: lambda_max is exact, and GD diverges once it passes 2/eta."""
    rng = np.random.default_rng(5)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    spectrum = np.array([10.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    H = (Q * spectrum) @ Q.T
    lr = (1.1 if above else 0.9) * 2 / spectrum[0]  # |1 - lr lambda_max| = 1.2 or 0.8
    run = gradient_descent(H, lr)
    loss_fn, grad_fn = quadratic(H)
    land = Landscape.from_trajectory(run, loss_fn, grad_fn=grad_fn, directions_kind="hessian", sharpness=8,
                                     resolution=5)
    np.testing.assert_allclose(land.sharpness, 10.0, rtol=1e-6)  # lambda_max, exact at every snapshot
    assert land.sharpness_steps.tolist() == np.round(np.linspace(0, 40, 8)).astype(int).tolist()
    threshold = land.settings["curvature"]["threshold"]
    assert threshold["value"] == pytest.approx(2 / lr) and threshold["rule"] == "2/eta"
    np.testing.assert_allclose(land.settings["plane"]["eigenvalues"], [10.0, 3.0], rtol=1e-6)
    loss = land.path_loss_true
    growth = loss[-1] / loss[-2]
    if above:  # late in the run the top eigen-direction dominates: the loss grows by (1 - lr lambda_max)^2
        assert growth == pytest.approx((1 - lr * 10.0) ** 2, rel=1e-3)
    else:  # every direction shrinks, the sharpest no slower than by |1 - lr lambda_max| per step
        assert growth < 1 and (np.diff(loss) < 0).all()
    assert (loss[-1] > loss[0]) == above
    final = np.asarray(run.params[-1], dtype=np.float64)
    along_top = abs(final @ land.directions[0].astype(np.float64)) / np.linalg.norm(final)
    assert along_top > 0.99 or not above  # a divergent run blows up along the sharpest direction
    assert f"{8 if above else 0} of 8 above it" in land.summary()


def test_a_saddle_is_reported_as_such():
    H = np.diag([-5.0, 2.0, 1.0, 0.5])
    run = gradient_descent(np.diag([1.0, 1.0, 1.0, 1.0]), 0.1, steps=5)
    loss_fn, grad_fn = quadratic(H)
    land = Landscape.from_trajectory(run, loss_fn, grad_fn=grad_fn, directions_kind="hessian", resolution=5)
    assert land.settings["plane"]["eigenvalues"] == pytest.approx([-5.0, 2.0], rel=1e-6)
    assert "NEGATIVE eigenvalue: the final point is a saddle" in land.summary()
    assert land.axis_label(0) == "Hessian dir. 1 (lambda1 = -5)"


def test_your_own_model_needs_a_gradient_for_curvature():
    run = gradient_descent(np.eye(3), 0.1, steps=3)
    loss_fn, _ = quadratic(np.eye(3))
    with pytest.raises(ConfigError, match="needs its gradient: pass grad_fn"):
        Landscape.from_trajectory(run, loss_fn, directions_kind="hessian", resolution=5)
    with pytest.raises(ConfigError, match="needs its gradient"):
        Landscape.from_trajectory(run, loss_fn, directions_kind="random", sharpness=4, resolution=5)


def test_the_sharpness_costs_one_lanczos_run_per_snapshot():
    run, X, y = trained_mlp_run(steps=200)
    evaluation = MLPEvaluation(run.layout, X, y)
    calls = []
    counted = type("Counted", (), {"hessian_at": lambda self, theta: calls.append(1) or evaluation.hessian_at(theta)})
    for points in (5, 15):
        calls.clear()
        steps, values, record = sharpness_along(run, counted(), points)
        assert len(calls) == len(steps) == len(values) == points
        assert record["converged"] == points and record["products"] < 40 * points
    assert (values > 0).all()


def test_sharpness_arrays_round_trip_and_must_come_in_pairs(tmp_path):
    run = gradient_descent(np.diag([4.0, 1.0]), 0.1, steps=6)
    loss_fn, grad_fn = quadratic(np.diag([4.0, 1.0]))
    land = Landscape.from_trajectory(run, loss_fn, grad_fn=grad_fn, sharpness=3, resolution=5)
    path = tmp_path / "landscape.npz"
    land.save(path)
    back = LandscapeFile.load(path)
    np.testing.assert_array_equal(back.sharpness, land.sharpness)
    np.testing.assert_array_equal(back.sharpness_steps, [0, 3, 6])
    land.sharpness_steps = None
    land.save(path)
    with pytest.raises(ArtifactError, match="sharpness_steps and sharpness must come together"):
        LandscapeFile.load(path)


def test_curvature_settings_leave_other_landscapes_keys_alone():
    from lossfilm.training.landscape.settings import LandscapeSettings

    plain = LandscapeSettings().to_dict("mlp")
    assert "hessian" not in plain and "sharpness" not in plain  # caches made before curvature stay valid
    assert LandscapeSettings(sharpness=30).to_dict("mlp")["sharpness"] == {"points": 30, "tol": 1e-3}


def test_a_function_evaluation_without_grad_fn_is_refused_in_one_line():
    evaluation = FunctionEvaluation(ParamLayout(("w",), ((2,),)), lambda p: 0.0)
    with pytest.raises(ConfigError) as info:
        evaluation.hessian_at(np.zeros(2))
    assert "\n" not in str(info.value)


def test_the_landscape_command_makes_a_hessian_plane_with_the_sharpness(digits_file, tmp_path, capsys):
    from lossfilm.cli import main

    out = tmp_path / "landscape.npz"
    assert main(["landscape", str(digits_file), "-o", str(out), "--directions", "hessian", "--sharpness", "4",
                 "--resolution", "5", "--samples", "300"]) == 0
    printed = capsys.readouterr().out
    assert "plane   top Hessian eigenvectors at the final snapshot: lambda1 = " in printed
    assert "sharp   top Hessian eigenvalue at 4 snapshots" in printed and "stability line 2/eta = " in printed
    land = LandscapeFile.load(out)
    assert land.directions_kind == "hessian" and len(land.sharpness) == 4
    assert land.settings["sharpness"] == {"points": 4, "tol": 1e-3}
