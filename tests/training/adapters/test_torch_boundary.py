"""A PyTorch model at the boundary: a device this torch cannot use, a model that raises, a criterion that is not a mean.

Each is one LossfilmError line (TorchLoss's device choice, or a
UserCodeError naming the model or criterion and the grid node), never a
raw traceback from deep inside torch.
"""

from __future__ import annotations

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError, UserCodeError
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.landscape.pipeline import Landscape

torch = pytest.importorskip("torch")
from lossfilm.torch import TorchLoss  # noqa: E402  (after the skip: it needs torch)


def small():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    data = (torch.randn(20, 4), torch.randint(0, 3, (20,)))
    snaps = []
    for _ in range(4):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
        snaps.append({k: v.detach().numpy().copy() for k, v in model.named_parameters()})
    return model, data, Trajectory.from_snapshots(snaps)


# Devices this torch cannot use: tests/training/adapters/test_torch_device.py.


def test_a_model_that_raises_names_itself_and_the_node():
    model, data, traj = small()

    class Broken(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, x):
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    broken = Broken()
    renamed = Trajectory.from_snapshots([{f"inner.{k}": v for k, v in traj.snapshot(t).items()}
                                         for t in range(len(traj))])
    with pytest.raises(UserCodeError) as info:
        Landscape.from_trajectory(renamed, loss_fn=TorchLoss(broken, data), resolution=3, line=0)
    assert str(info.value) == ("your model Broken (or its criterion) raised RuntimeError: mat1 and mat2 shapes cannot "
                               "be multiplied at snapshot 0 (step 0)")


def test_a_criterion_that_is_not_a_mean_is_one_line():
    model, data, traj = small()

    def per_sample(outputs, targets):
        return torch.nn.functional.cross_entropy(outputs, targets, reduction="none")

    with pytest.raises(UserCodeError, match=r"your criterion per_sample returned a tensor of shape \(20,\); it must "
                                            r"return the batch's mean loss, one real number \(reduction='mean'\), "
                                            r"at snapshot 0 \(step 0\)"):
        Landscape.from_trajectory(traj, loss_fn=TorchLoss(model, data, criterion=per_sample), resolution=3, line=0)


def test_a_grid_node_is_named_by_its_coordinates():
    model, data, traj = small()
    calls = [0]

    def late(outputs, targets):
        calls[0] += 1
        if calls[0] > 2 * len(traj):  # the path's points are fine, the grid is not
            raise ValueError("labels out of range")
        return torch.nn.functional.cross_entropy(outputs, targets)

    with pytest.raises(UserCodeError, match=r"raised ValueError: labels out of range at grid node \(-?[\d.e+-]+, "):
        Landscape.from_trajectory(traj, loss_fn=TorchLoss(model, data, criterion=late), resolution=3, line=0)


def test_a_good_model_still_works():
    model, data, traj = small()
    land = Landscape.from_trajectory(traj, loss_fn=TorchLoss(model, data, device="cpu"), resolution=3, line=5)
    assert np.isfinite(land.loss).all()
