"""Two models on one line: the segment between them is exact at both ends, its barrier is what it says,
and both paths lie on one surface; for the built-in MLP, a user's loss_fn and a TorchLoss."""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError, DataError
from lossfilm.format.landscape import Landscape as LandscapeFile
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.landscape.between import barrier, between_landscape, up_to_step
from lossfilm.training.landscape.evaluation import evaluation_data
from lossfilm.training.landscape.grid import loss_and_accuracy
from lossfilm.training.landscape.pipeline import Landscape


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two short digits runs from one initialisation and one data split: SGD and momentum."""
    from lossfilm.training.data.datasets import load_data
    from lossfilm.training.fit.config import TrainConfig
    from lossfilm.training.fit.train import train

    folder = tmp_path_factory.mktemp("between")
    paths = []
    for optimizer in ("sgd", "momentum"):
        config = TrainConfig(hidden=(16,), epochs=2, record_every=10, optimizer=optimizer)
        data = load_data(config.data, seed=config.seed, test_fraction=config.test_fraction)
        paths.append(folder / f"{optimizer}.npz")
        train(config, data, paths[-1], progress=False)
    return paths


def test_the_mlp_segment_ends_at_each_models_own_loss(two_runs):
    a, b = (Trajectory.load(p) for p in two_runs)
    land = Landscape.between(a, b, names=("sgd", "momentum"), resolution=5, samples=300, points=21)
    X, y = evaluation_data(a, samples=300)
    at = {float(v): i for i, v in enumerate(land.line_t)}
    assert land.line_t[0] == -0.25 and land.line_t[-1] == 1.25 and len(land.line_t) == 21
    own_a, acc_a = loss_and_accuracy(a.snapshot(-1), X, y)
    own_b, acc_b = loss_and_accuracy(b.snapshot(-1), X, y)
    assert land.line_loss[at[0.0]] == pytest.approx(own_a, rel=1e-9)
    assert land.line_loss[at[1.0]] == pytest.approx(own_b, rel=1e-9)
    middle = a.layout.unflatten(0.5 * (a.params[-1].astype(float) + b.params[-1].astype(float)))
    assert land.line_loss[at[0.5]] == pytest.approx(loss_and_accuracy(middle, X, y)[0], rel=1e-9)
    between = land.settings["between"]
    assert between["end_accuracies"] == pytest.approx([acc_a, acc_b])
    inside = (land.line_t >= 0) & (land.line_t <= 1)
    assert between["barrier"] == pytest.approx(land.line_loss[inside].max() - (own_a + own_b) / 2, rel=1e-9)
    assert between["names"] == ["sgd", "momentum"] and between["steps"] == [int(a.steps[-1]), int(b.steps[-1])]
    # both paths on one surface: the plane holds A, B and the shared start exactly
    assert land.path_names == ("sgd", "momentum") and land.directions_kind == "anchors"
    residual = land.plane.project(np.stack([a.params[0], a.params[-1], b.params[-1]]))[2]
    assert residual.max() < 1e-4 * np.linalg.norm(a.params[-1])
    ends = [land.path_loss_true[land.path_owner == k][-1] for k in (0, 1)]
    np.testing.assert_allclose(ends, [own_a, own_b], rtol=1e-5)
    assert "barrier" in land.summary() and "from sgd (step" in land.summary()


def test_a_users_loss_fn_gets_exactly_the_two_models():
    start = {"w": np.array([0.0, 2.0])}
    a = Trajectory.from_snapshots([start, {"w": np.array([-1.0, 0.0])}])
    b = Trajectory.from_snapshots([start, {"w": np.array([1.0, 0.5])}])

    def loss_fn(p):
        return float((p["w"][0] ** 2 - 1) ** 2 + p["w"][1] ** 2)
    land = Landscape.between(a, b, loss_fn=loss_fn, acc_fn=lambda p: float(p["w"][1] < 0.25), resolution=5,
                             points=9, t_range=(-0.5, 1.5))
    at = {float(v): i for i, v in enumerate(land.line_t)}
    assert land.line_loss[at[0.0]] == loss_fn(a.snapshot(-1)) and land.line_loss[at[1.0]] == loss_fn(b.snapshot(-1))
    assert land.line_loss[at[0.5]] == loss_fn({"w": np.array([0.0, 0.25])})
    between = land.settings["between"]
    assert between["barrier"] == pytest.approx(1.0625 - (0.0 + 0.25) / 2)
    assert between["peak_t"] == 0.5 and between["end_accuracies"] == [1.0, 0.0]


def test_barrier_reads_only_the_segment():
    t = np.array([-0.25, 0.0, 0.5, 1.0, 1.25])
    # beyond the ends does not count; a monotone segment's barrier is half the ends' difference (Frankle et al.)
    assert barrier(t, np.array([100.0, 1.0, 2.0, 3.0, 50.0])) == (1.0, 1.0, 3.0)
    assert barrier(t, np.array([0.0, 1.0, 5.0, 3.0, 0.0])) == (3.0, 0.5, 5.0)
    assert np.isnan(barrier(t, np.array([0.0, 1.0, np.nan, 3.0, 0.0]))[0])


def test_a_chosen_step_is_the_model_and_an_unknown_one_is_one_line(two_runs):
    a, b = (Trajectory.load(p) for p in two_runs)
    step = int(a.steps[3])
    cut = up_to_step(a, step)
    assert len(cut) == 4 and cut.key != a.key
    np.testing.assert_array_equal(cut.params[-1], a.params[3])
    land = Landscape.between(a, b, a_step=step, resolution=3, samples=200, points=5, loss_fn=None)
    X, y = evaluation_data(a, samples=200)
    assert land.line_loss[list(land.line_t).index(0.0)] == pytest.approx(
        loss_and_accuracy(a.snapshot(3), X, y)[0], rel=1e-9)
    assert land.settings["between"]["steps"][0] == step
    with pytest.raises(DataError, match=r"--b-step 7: model B's trajectory has no snapshot at that step") as info:
        up_to_step(b, 7, name="B")
    assert "\n" not in str(info.value)


def test_other_planes_and_sharpness_are_refused_in_one_line(two_runs):
    a, b = (Trajectory.load(p) for p in two_runs)
    for options in ({"directions_kind": "pca"}, {"sharpness": 3}, {"names": ("only one",)}, {"points": 1},
                    {"t_range": (1.0, 0.0)}):
        with pytest.raises(ConfigError) as info:
            between_landscape(a, b, resolution=3, **options)
        assert "\n" not in str(info.value)


def test_the_line_command_prints_the_barrier_and_reuses_its_landscape(two_runs, tmp_path, capsys):
    from lossfilm.cli import main

    out = tmp_path / "between.npz"
    argv = ["line", str(two_runs[0]), str(two_runs[1]), "-o", str(out), "--names", "sgd", "momentum",
            "--resolution", "5", "--points", "11", "--samples", "200"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    land = LandscapeFile.load(out)
    assert f"barrier {land.settings['between']['barrier']:.4g}" in printed and "from sgd (step" in printed
    assert len(land.line_t) == 11 and land.path_names == ("sgd", "momentum")
    assert main(argv) == 0 and "reused" in capsys.readouterr().out
    assert main(["line", str(two_runs[0]), str(two_runs[1]), "-o", str(two_runs[0])]) == 2
    assert "is one of the trajectories" in capsys.readouterr().err


def test_two_torch_models_on_one_line(tmp_path):
    torch = pytest.importorskip("torch", reason="the PyTorch adapter needs torch (pip install 'lossfilm[torch]')")
    import lossfilm
    from lossfilm.torch import TorchLoss

    X = torch.randn(120, 5, generator=torch.Generator().manual_seed(0))
    y = (X[:, 0] + X[:, 1] > 0).long()
    runs, models = [], []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        with lossfilm.Recorder(tmp_path / f"run{seed}.npz") as rec:
            for step in range(15):
                loss = torch.nn.functional.cross_entropy(model(X), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                rec.record(model, loss=loss.item(), step=step)
        runs.append(rec.trajectory)
        models.append(model)
    land = Landscape.between(*runs, loss_fn=TorchLoss(models[1], (X, y)), resolution=5, points=11, samples=0)
    at = {float(v): i for i, v in enumerate(land.line_t)}
    with torch.no_grad():
        own = [torch.nn.functional.cross_entropy(m(X), y).item() for m in models]
    assert land.line_loss[at[0.0]] == pytest.approx(own[0], rel=1e-5)
    assert land.line_loss[at[1.0]] == pytest.approx(own[1], rel=1e-5)
    assert land.settings["evaluation"].startswith("torch:") and np.isfinite(land.loss).all()
    assert land.settings["between"]["end_accuracies"] is not None


def test_a_torch_model_with_buffers_is_warned_that_one_models_statistics_serve_the_segment():
    torch = pytest.importorskip("torch", reason="the PyTorch adapter needs torch (pip install 'lossfilm[torch]')")
    from lossfilm.format.errors import LossfilmWarning
    from lossfilm.torch import TorchLoss

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    start = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    runs = [Trajectory.from_snapshots([start, {k: v + s for k, v in start.items()}]) for s in (0.1, -0.1)]
    data = (torch.randn(20, 3), torch.randint(0, 2, (20,)))
    with pytest.warns(LossfilmWarning, match=r"buffers \(1.running_mean, 1.running_var\) are held"):
        Landscape.between(*runs, loss_fn=TorchLoss(model, data), resolution=3, points=5)


def test_the_line_command_takes_a_torch_loss_and_a_dask_cluster(tmp_path, capsys, monkeypatch):
    torch = pytest.importorskip("torch", reason="the PyTorch adapter needs torch (pip install 'lossfilm[torch]')")
    distributed = pytest.importorskip("distributed", reason="the cluster needs Dask (pip install 'lossfilm[distributed]')")
    import lossfilm
    from lossfilm.cli import main

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    X, y = torch.randn(60, 4), torch.randint(0, 3, (60,))
    for name, seed in (("a", 1), ("b", 2)):  # from one start, two ways
        rng = np.random.default_rng(seed)
        ways = {k: rng.normal(size=v.shape) for k, v in model.named_parameters()}
        with lossfilm.Recorder(tmp_path / f"{name}.npz") as rec:
            for step in range(3):
                rec.record({k: v.detach().numpy() + 0.1 * step * ways[k] for k, v in model.named_parameters()},
                           step=step)
    torch.save({"X": X, "y": y, "state": model.state_dict()}, tmp_path / "data.pt")
    (tmp_path / "two_loss.py").write_text(
        "import torch\nfrom lossfilm.torch import TorchLoss\n"
        "saved = torch.load('data.pt')\n"
        "model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))\n"
        "model.load_state_dict(saved['state'])\n"
        "LOSS = TorchLoss(model, (saved['X'], saved['y']))\n")
    monkeypatch.chdir(tmp_path)
    argv = ["line", "a.npz", "b.npz", "--loss", "two_loss.py:LOSS", "--resolution", "3", "--points", "5",
            "--samples", "0"]
    assert main([*argv, "-o", "here.npz"]) == 0
    assert "barrier" in capsys.readouterr().out
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert main([*argv, "-o", "there.npz", "--scheduler", cluster.scheduler_address]) == 0
    here, there = (LandscapeFile.load(tmp_path / f"{n}.npz") for n in ("here", "there"))
    np.testing.assert_allclose(there.line_loss, here.line_loss, rtol=1e-6)
    np.testing.assert_allclose(there.loss, here.loss, rtol=1e-6)
    assert here.settings["evaluation"].startswith("torch:")


def test_two_models_on_one_line_with_the_start_are_one_line_saying_so():
    start = {"w": np.zeros(3)}
    a = Trajectory.from_snapshots([start, {"w": np.array([1.0, 0.0, 0.0])}])
    b = Trajectory.from_snapshots([start, {"w": np.array([2.0, 0.0, 0.0])}])
    with pytest.raises(DataError, match="A, B and A's initial point lie on one line") as info:
        Landscape.between(a, b, loss_fn=lambda p: float(p["w"] @ p["w"]), resolution=3)
    assert "\n" not in str(info.value)
