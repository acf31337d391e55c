"""The PyTorch adapter: recording an nn.Module, and its grid against a plain per-node forward pass."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch adapter needs torch (pip install 'lossfilm[torch]')")

import lossfilm  # noqa: E402
from lossfilm.format.errors import DataError  # noqa: E402
from lossfilm.training.landscape.evaluation import subset_rows  # noqa: E402
from lossfilm.training.landscape.plane import random_plane  # noqa: E402
from lossfilm.torch import TorchLoss  # noqa: E402


class SmallNet(torch.nn.Module):
    """Conv, BatchNorm, conv, linear on 1x6x6 inputs: every kind of parameter and buffer the adapter meets."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.conv2 = torch.nn.Conv2d(4, 6, 3, padding=1)
        self.fc = torch.nn.Linear(6 * 36, 3)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        return self.fc(x.flatten(1))


@pytest.fixture(scope="module")
def data():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(300, 1, 6, 6, generator=generator)
    y = (X.mean(dim=(1, 2, 3)) > 0).long() + (X[:, 0, 0, 0] > 1).long()  # (300,) classes 0..2
    return X, y


@pytest.fixture(scope="module")
def run(tmp_path_factory, data):
    """A model trained for 40 steps, recorded every step, and its trajectory."""
    torch.manual_seed(0)
    model = SmallNet()
    X, y = data
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    out = tmp_path_factory.mktemp("torch") / "trajectory.npz"
    with lossfilm.Recorder(out) as rec:
        for step in range(40):
            rows = torch.arange(step * 7, step * 7 + 32) % len(X)
            loss = torch.nn.functional.cross_entropy(model(X[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            rec.record(model, loss=loss.item(), step=step)
    return model, rec.trajectory


def plain_losses(model, trajectory, plane, coords, X, y):
    """What a user would write: load each node's state into a copy of the model, one forward pass each."""
    final = {name: value.clone() for name, value in model.state_dict().items()}  # buffers at their final values
    copy = type(model)()
    copy.eval()
    losses = []
    with torch.no_grad():
        for a, b in coords:
            point = trajectory.layout.unflatten(plane.point(a, b).astype(np.float32))
            copy.load_state_dict(dict(final, **{name: torch.from_numpy(v.copy()) for name, v in point.items()}))
            losses.append(torch.nn.functional.cross_entropy(copy(X), y).item())
    return np.array(losses)


def test_the_recorder_takes_the_module_and_drops_its_buffers(run):
    model, trajectory = run
    assert trajectory.layout.names == tuple(name for name, _ in model.named_parameters())
    assert "bn1.running_mean" not in trajectory.layout.names and len(trajectory) == 40
    final = torch.cat([p.detach().ravel() for p in model.parameters()]).numpy()
    np.testing.assert_array_equal(trajectory.params[-1], final)
    assert trajectory.settings["recorded_from"].endswith("SmallNet")


def test_a_state_dict_records_the_same_parameters_without_buffers(tmp_path, run):
    model, trajectory = run
    with lossfilm.Recorder(tmp_path / "t.npz") as rec:
        rec.record(model.state_dict())
    assert rec.trajectory.layout == trajectory.layout
    np.testing.assert_array_equal(rec.trajectory.params[0], trajectory.params[-1])


@pytest.mark.parametrize("nodes_per_call", [1, 4])
def test_the_adapter_grid_matches_a_plain_forward_pass_per_node(run, data, nodes_per_call):
    model, trajectory = run
    X, y = data
    plane = random_plane(trajectory.layout, np.asarray(trajectory.params[-1]), seed=3)
    evaluation = TorchLoss(model, (X, y), nodes_per_call=nodes_per_call, chunk=128).evaluation(
        trajectory, samples=0, seed=0)
    coords = np.array([[0.0, 0.0], [0.5, -0.3], [-1.0, 2.0], [3.0, 1.0], [0.1, 0.1], [-2.0, -2.0]])
    loss, accuracy = evaluation.on(plane).at(coords)
    expected = plain_losses(model, trajectory, plane, coords, X, y)
    np.testing.assert_allclose(loss, expected, rtol=2e-5, atol=1e-6)  # float32 sums in another order
    assert ((0 <= accuracy) & (accuracy <= 1)).all()
    assert model.training  # the user's model is back in the mode it was in


def test_every_plane_kind_and_the_line_work(run, data):
    model, trajectory = run
    loss_fn = TorchLoss(model, data)
    for kind in ("pca", "random", "anchors"):
        land = lossfilm.Landscape.from_trajectory(trajectory, loss_fn=loss_fn, directions_kind=kind, resolution=5,
                                                  samples=100, line=7)
        assert np.isfinite(land.loss).all() and np.isfinite(land.line_loss).all(), kind
        assert land.settings["evaluation"].startswith("torch:") and land.settings["stats"]["samples"] == 100
        np.testing.assert_allclose(land.path_loss_plane[-1], land.path_loss_true[-1], rtol=1e-5)  # the origin


def test_the_random_plane_leaves_biases_batchnorm_and_buffers_put(run):
    _, trajectory = run
    plane = random_plane(trajectory.layout, np.asarray(trajectory.params[-1]), seed=0)
    for name, part in trajectory.layout.unflatten(plane.directions[0]).items():
        moved = bool(np.abs(part).max() > 0)
        assert moved == (name in ("conv1.weight", "conv2.weight", "fc.weight")), name


def test_a_dataloader_and_tensors_draw_the_same_seeded_subset(run, data):
    model, trajectory = run
    X, y = data
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32, shuffle=True)
    from_loader = TorchLoss(model, loader).evaluation(trajectory, samples=50, seed=4)
    from_tensors = TorchLoss(model, (X.numpy(), y.numpy())).evaluation(trajectory, samples=50, seed=4)
    rows = subset_rows(len(X), 50, seed=4)
    torch.testing.assert_close(from_loader.inputs, X[rows])
    torch.testing.assert_close(from_tensors.targets, y[rows])
    assert from_loader.key_arrays[0].tobytes() == from_tensors.key_arrays[0].tobytes()


def test_a_trajectory_of_another_model_is_one_line(run, data):
    model, _ = run
    other = lossfilm.Trajectory.from_snapshots([{"W1": np.ones((2, 2))}, {"W1": np.zeros((2, 2))}])
    with pytest.raises(DataError, match="trajectory parameter 'W1' is not in the model SmallNet"):
        TorchLoss(model, data).evaluation(other, samples=0, seed=0)


LOSS_MODULE = '''
import torch
import lossfilm.torch
from {test_module} import SmallNet

model = SmallNet()
model.load_state_dict(torch.load({state!r}))
inputs, targets = torch.load({data!r})
LOSS = lossfilm.torch.TorchLoss(model, (inputs, targets), chunk=64)
'''


def test_the_command_line_takes_a_torch_loss(tmp_path, run, data):
    from lossfilm.cli import main

    model, trajectory = run
    torch.save(model.state_dict(), tmp_path / "model.pt")
    torch.save(data, tmp_path / "data.pt")
    trajectory.save(tmp_path / "trajectory.npz")
    (tmp_path / "my_loss.py").write_text(LOSS_MODULE.format(test_module=__name__, state=str(tmp_path / "model.pt"),
                                                            data=str(tmp_path / "data.pt")))
    assert main(["landscape", str(tmp_path / "trajectory.npz"), "--loss", f"{tmp_path / 'my_loss.py'}:LOSS",
                 "--resolution", "5", "--samples", "120", "--quiet"]) == 0
    land = lossfilm.Landscape.load(tmp_path / "landscape.npz")
    assert land.settings["evaluation"].startswith("torch:") and land.settings["stats"]["samples"] == 120
    assert np.isfinite(land.loss).all() and len(land.line_t) == 61
