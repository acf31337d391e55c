"""Curvature of a PyTorch model: exact Hessian-vector products, the Hessian plane and the sharpness for TorchLoss."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch adapter needs torch (pip install 'lossfilm[torch]')")

from lossfilm.format.errors import ConfigError  # noqa: E402
from lossfilm.format.trajectory import Trajectory  # noqa: E402
from lossfilm.torch import TorchLoss  # noqa: E402
from lossfilm.training.adapters.torch_hessian import HVP_METHODS, torch_hessian  # noqa: E402
from lossfilm.training.curvature.lanczos import top_eigenpairs  # noqa: E402
from lossfilm.training.landscape.evaluation import evaluation_data  # noqa: E402
from lossfilm.training.landscape.pipeline import Landscape  # noqa: E402


class TinyNet(torch.nn.Module):
    """Conv, BatchNorm (its running statistics held), tanh, linear: small enough for the full Hessian (83 params)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)
        self.fc = torch.nn.Linear(2 * 2 * 2, 3)

    def forward(self, x):
        return self.fc(torch.tanh(self.bn(self.conv(x))).flatten(1))


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = TinyNet()
    model.train()
    X = torch.randn(40, 1, 4, 4)
    y = torch.randint(0, 3, (40,))
    with torch.no_grad():
        model(X)  # running statistics that differ from a batch's own: eval mode must be used
    trajectory = Trajectory.from_snapshots([{n: p.detach().numpy() * s for n, p in model.named_parameters()}
                                            for s in (1.1, 1.0)])
    return model, X, y, trajectory


def full_hessian(model, trajectory, X, y):
    """The reference: torch.autograd.functional.hessian of the eval-mode mean loss in float64, (P, P)."""
    from torch.func import functional_call

    layout = trajectory.layout
    reference = type(model)().double()
    reference.load_state_dict(model.state_dict())
    reference.eval()
    buffers = dict(reference.named_buffers())

    def loss(flat):
        params = {n: flat[layout.offsets[i]:layout.offsets[i + 1]].view(layout.shapes[i])
                  for i, n in enumerate(layout.names)}
        return torch.nn.functional.cross_entropy(functional_call(reference, (params, buffers), (X.double(),)), y)
    theta = torch.tensor(np.asarray(trajectory.params[-1], dtype=np.float64))
    return torch.autograd.functional.hessian(loss, theta).numpy()


@pytest.mark.parametrize("method", HVP_METHODS)
def test_the_top_eigenvalues_match_the_full_hessian(tiny, method):
    model, X, y, trajectory = tiny
    H = full_hessian(model, trajectory, X, y)
    exact = np.linalg.eigvalsh(H)
    # chunks of 16 samples: the products are summed over the data, weighted by each chunk's share
    evaluation = TorchLoss(model, (X, y), chunk=16).evaluation(trajectory, samples=0, seed=0)
    theta = np.asarray(trajectory.params[-1], dtype=np.float64)
    hvp = evaluation.hessian_at(theta, method=method)
    v = np.random.default_rng(0).standard_normal(theta.size)
    np.testing.assert_allclose(hvp(v), H @ v, rtol=0, atol=1e-5 * np.abs(H @ v).max())
    largest = top_eigenpairs(hvp, theta.size, k=2, which="largest", tol=1e-6)
    np.testing.assert_allclose(largest.values, exact[::-1][:2], rtol=1e-4)
    magnitude = top_eigenpairs(hvp, theta.size, k=2, which="magnitude", tol=1e-6)
    np.testing.assert_allclose(magnitude.values, exact[np.argsort(-np.abs(exact))][:2], rtol=1e-4)
    assert model.training  # the products ran in eval mode and gave the mode back


def test_an_unknown_product_method_is_one_line(tiny):
    model, X, y, trajectory = tiny
    evaluation = TorchLoss(model, (X, y)).evaluation(trajectory, samples=0, seed=0)
    with pytest.raises(ConfigError, match="choose one of"):
        torch_hessian(evaluation, trajectory.params[-1], method="finite-differences")


class DigitsMLP(torch.nn.Module):
    """The built-in MLP written in torch: the same names, shapes (W as (out, in), b as (1, out)) and ReLU."""

    def __init__(self, trajectory):
        super().__init__()
        for name, value in trajectory.snapshot(-1).items():
            self.register_parameter(name, torch.nn.Parameter(torch.tensor(value, dtype=torch.float32)))

    def forward(self, x):
        return torch.relu(x @ self.W1.T + self.b1) @ self.W2.T + self.b2


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """64-32-10 on the bundled digits, 6 epochs of SGD (as tests/training/curvature's), and its data."""
    from lossfilm.training.fit.config import TrainConfig
    from lossfilm.training.data.datasets import load_data
    from lossfilm.training.fit.train import train

    config = TrainConfig(hidden=(32,), epochs=6, record_every=5)
    data = load_data(config.data, seed=config.seed, test_fraction=config.test_fraction)
    path = tmp_path_factory.mktemp("digits") / "trajectory.npz"
    train(config, data, path, progress=False)
    return Trajectory.load(path)


def test_the_numpy_mlp_and_the_same_mlp_in_torch_have_the_same_hessian_plane_and_sharpness(digits_run):
    samples, seed = 400, 0
    X, y = evaluation_data(digits_run, samples=0)  # all the training data: TorchLoss draws the same subset
    loss = TorchLoss(DigitsMLP(digits_run), (torch.tensor(X, dtype=torch.float32), torch.tensor(y)))
    options = dict(directions_kind="hessian", sharpness=5, resolution=5, samples=samples, seed=seed,
                   hessian_tol=1e-5)
    mine = Landscape.from_trajectory(digits_run, **options)
    theirs = Landscape.from_trajectory(digits_run, loss_fn=loss, **options)
    assert theirs.settings["plane"]["converged"] and theirs.settings["evaluation"].startswith("torch:")
    overlap = np.abs(mine.directions.astype(np.float64) @ theirs.directions.astype(np.float64).T)  # (2,2)
    np.testing.assert_allclose(np.diag(overlap), 1.0, atol=1e-3)  # the same directions, up to sign
    np.testing.assert_allclose(theirs.settings["plane"]["eigenvalues"], mine.settings["plane"]["eigenvalues"],
                               rtol=1e-3)
    np.testing.assert_array_equal(theirs.sharpness_steps, mine.sharpness_steps)
    np.testing.assert_allclose(theirs.sharpness, mine.sharpness, rtol=1e-3)
    np.testing.assert_allclose(theirs.loss, mine.loss, rtol=1e-3)


def test_the_filter_normalised_hessian_plane_works_for_torch(digits_run):
    X, y = evaluation_data(digits_run, samples=300)
    loss = TorchLoss(DigitsMLP(digits_run), (torch.tensor(X, dtype=torch.float32), torch.tensor(y)))
    plain = Landscape.from_trajectory(digits_run, loss_fn=loss, directions_kind="hessian", resolution=3,
                                      samples=0)
    normalised = Landscape.from_trajectory(digits_run, loss_fn=loss, directions_kind="hessian", resolution=3,
                                           samples=0, filter_normalise=True)
    assert normalised.settings["plane"]["filter_normalise"] and normalised.key != plain.key
    assert not np.allclose(np.abs(normalised.directions @ plain.directions.T), np.eye(2), atol=1e-2)
    assert np.isfinite(normalised.loss).all()


def test_the_command_line_gives_a_torch_loss_a_hessian_plane_and_sharpness(digits_run, tmp_path, capsys,
                                                                          monkeypatch):
    from lossfilm.cli import main

    digits_run.save(tmp_path / "trajectory.npz")
    (tmp_path / "digits_torch_loss.py").write_text(
        "import torch\n"
        "from lossfilm.format.trajectory import Trajectory\n"
        "from lossfilm.torch import TorchLoss\n"
        "from lossfilm.training.landscape.evaluation import evaluation_data\n"
        f"from {__name__} import DigitsMLP\n"
        "run = Trajectory.load('trajectory.npz')\n"
        "X, y = evaluation_data(run, samples=0)\n"
        "LOSS = TorchLoss(DigitsMLP(run), (torch.tensor(X, dtype=torch.float32), torch.tensor(y)))\n")
    monkeypatch.chdir(tmp_path)
    assert main(["landscape", "trajectory.npz", "--loss", "digits_torch_loss.py:LOSS", "-o", "land.npz",
                 "--directions", "hessian", "--filter-normalise", "--sharpness", "3", "--resolution", "3",
                 "--samples", "200", "--quiet"]) == 0
    land = Landscape.load(tmp_path / "land.npz")
    assert land.directions_kind == "hessian" and land.settings["plane"]["filter_normalise"]
    assert len(land.sharpness) == 3 and np.isfinite(land.sharpness).all()


def test_curvature_of_a_torch_loss_runs_beside_a_dask_cluster(digits_run):
    distributed = pytest.importorskip("distributed", reason="the cluster needs Dask (pip install 'lossfilm[distributed]')")
    X, y = evaluation_data(digits_run, samples=300)
    loss = TorchLoss(DigitsMLP(digits_run), (torch.tensor(X, dtype=torch.float32), torch.tensor(y)))
    options = dict(directions_kind="hessian", sharpness=3, resolution=3, samples=0)
    local = Landscape.from_trajectory(digits_run, loss_fn=loss, **options)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        clustered = Landscape.from_trajectory(digits_run, loss_fn=loss, executor=client, **options)
    np.testing.assert_array_equal(clustered.directions, local.directions)
    np.testing.assert_allclose(clustered.sharpness, local.sharpness)
    np.testing.assert_allclose(clustered.loss, local.loss, rtol=1e-6)
