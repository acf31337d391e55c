"""Cluster benchmarks: a grid on a 2-worker LocalCluster against one process, what a task sends, and ResNet-56's node.

Run from the repository root with Dask and PyTorch installed
(``pip install -e '.[distributed,torch]'``)::

    python -m tests.bench_cluster

1. Wall time of one loss grid, one process (what a user runs without
   ``--scheduler``: the built-in MLP's fast path on all cores, a
   ``loss_fn`` called node by node) against a ``LocalCluster`` of 2 worker
   processes with 1 thread each (its start-up timed apart), same settings,
   results checked byte-identical;
2. the bytes Dask moves: the plane loss scattered once, and a task;
3. one grid node of a CIFAR ResNet-56 (0.85 M parameters, float32, one
   PyTorch thread, ``TorchLoss`` with one node per call) on 64 32x32
   images, with its multiply-adds counted, for the README's estimate.

Prints markdown tables naming each baseline. Not collected by pytest.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def trajectory(sizes=(64, 64, 10), steps=31):
    """A built-in MLP run on the digits, gradient descent, every step recorded."""
    from lossfilm.format.trajectory import Trajectory
    from lossfilm.training.data.datasets import load_data
    from lossfilm.training.fit.mlp import init_params, loss_and_grads

    data = load_data("digits", seed=0)
    params = init_params(list(sizes), np.random.default_rng(0))
    snapshots = []
    for _ in range(steps):
        snapshots.append({k: v.copy() for k, v in params.items()})
        _, grads = loss_and_grads(params, data.X_train[:500], data.y_train[:500])
        for k in params:
            params[k] -= 0.5 * grads[k]
    traj = Trajectory.from_snapshots(snapshots, settings={"data": data.source})
    traj.model = {"sizes": list(sizes), "activation": "relu"}
    return traj


def numpy_loss(params):
    """A user's loss_fn: the same MLP's cross-entropy on 1000 digits, by a plain forward pass."""
    from lossfilm.training.landscape.grid import loss_and_accuracy

    X, y = _digits()
    return loss_and_accuracy(params, X, y)[0]


_DATA = {}


def _digits():
    if not _DATA:
        from lossfilm.training.data.datasets import load_data

        data = load_data("digits", seed=0)
        _DATA["Xy"] = (data.X_train[:1000], data.y_train[:1000])
    return _DATA["Xy"]


def grid_rows():
    from dask.distributed import Client, LocalCluster

    from lossfilm.training.grid_cluster import TASKS_PER_THREAD
    from tests.helpers import task_bytes
    from lossfilm.training.landscape.evaluation import MLPEvaluation
    from lossfilm.training.landscape.pipeline import Landscape

    traj = trajectory()
    cases = [("built-in MLP 64-64-10, 1000 digits, 101x101", dict(resolution=101, samples=1000, line=0),
              "fast path, 2 threads (all cores)"),
             ("loss_fn (NumPy forward pass, same MLP and data), 41x41",
              dict(loss_fn=numpy_loss, resolution=41, samples=1000, line=0), "node by node")]
    started = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           host="127.0.0.1")
    client = Client(cluster)
    startup = time.perf_counter() - started
    rows = []
    try:
        for name, options, baseline in cases:
            times = {}
            for where, executor in (("here", None), ("cluster", client), ("here", None), ("cluster", client)):
                t0 = time.perf_counter()
                land = Landscape.from_trajectory(traj, executor=executor, max_path=20, **options)
                times.setdefault(where, []).append((time.perf_counter() - t0, land))
            here, there = min(times["here"], key=lambda r: r[0]), min(times["cluster"], key=lambda r: r[0])
            same = here[1].loss.tobytes() == there[1].loss.tobytes()
            rows.append(f"| {name} | 2-worker LocalCluster {there[0]:.2f} s | one process, {baseline}: "
                        f"{here[0]:.2f} s | **{here[0] / there[0]:.2f}x** (grid byte-identical: {same}) |")
        plane_loss = MLPEvaluation.of(traj, samples=1000, seed=0).on(land_plane(traj))
        per_task = int(np.ceil(101 * 101 / plane_loss.batch_size / (TASKS_PER_THREAD * 2)))
        task, scattered = task_bytes(plane_loss, batches_per_task=per_task)
        sizes = (f"MLP 101x101 grid: plane loss scattered once {scattered / 1e3:.0f} kB; each of its tasks "
                 f"{task / 1e3:.1f} kB ({per_task} batches of {plane_loss.batch_size} nodes)")
        rows.append(film_row(client, land))
    finally:
        client.close()
        cluster.close()
    return startup, rows, sizes


def film_row(client, land):
    """A descent film (PNG frames) rendered by one process against the 2-worker cluster; frames compared."""
    import tempfile

    import lossfilm
    from lossfilm.format.landscape import reproducible

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "landscape.npz"
        reproducible(land).save(path)
        options = dict(size=(640, 360), fps=15, seconds=4, progress=False)
        times = {}
        for where, executor in (("here", None), ("cluster", client), ("here", None), ("cluster", client)):
            out = Path(folder) / f"{where}.mp4"
            t0 = time.perf_counter()
            lossfilm.film("descent", path, [out, f"{Path(folder) / where}/"], executor=executor, **options)
            times.setdefault(where, []).append(time.perf_counter() - t0)
        same = all(a.read_bytes() == b.read_bytes() for a, b in
                   zip(sorted((Path(folder) / "here").glob("*.png")), sorted((Path(folder) / "cluster").glob("*.png"))))
        here, there = min(times["here"]), min(times["cluster"])
    return (f"| descent film 640x360, 60 frames, MP4 + PNG frames | 2-worker LocalCluster {there:.2f} s | one "
            f"process (--workers 1): {here:.2f} s | **{here / there:.2f}x** (frames identical: {same}) |")


def land_plane(traj):
    from lossfilm.training.landscape.descent_paths import Run
    from lossfilm.training.landscape.plane import make_plane
    from lossfilm.training.landscape.settings import LandscapeSettings

    return make_plane(Run(traj), LandscapeSettings(), None)


def resnet56():
    """The CIFAR ResNet-56 of He et al. (2016): 3 stages of 9 basic blocks, 16/32/64 channels."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.pad = cout - cin  # option A: identity shortcut, zero-padded channels

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            short = x
            if self.pad or self.conv1.stride[0] != 1:
                short = nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad // 2, self.pad // 2))
            return torch.relu(out + short)

    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(9):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def multiply_adds(model, x):
    """Multiply-adds of one forward pass of ``model`` on ``x`` (convolutions and linear layers)."""
    import torch

    total = [0]

    def conv(module, inputs, output):
        total[0] += output.numel() * module.in_channels // module.groups * int(np.prod(module.kernel_size))

    def linear(module, inputs, output):
        total[0] += output.numel() * module.in_features

    hooks = [m.register_forward_hook(conv if isinstance(m, torch.nn.Conv2d) else linear)
             for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(x)
    for hook in hooks:
        hook.remove()
    return total[0]


def resnet_node():
    """Seconds per grid node of ResNet-56 on 64 CIFAR-sized images, and its multiply-adds per image."""
    import torch

    import lossfilm
    from lossfilm.torch import TorchLoss
    from tests.helpers import task_bytes

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = resnet56()
    n = 64
    X, y = torch.randn(n, 3, 32, 32), torch.randint(0, 10, (n,))
    macs = multiply_adds(model, X[:1])
    snapshots = []
    for _ in range(3):
        snapshots.append({k: v.detach().numpy().copy() for k, v in model.named_parameters()})
        with torch.no_grad():
            for p in model.parameters():
                p += 0.01 * torch.randn_like(p)
    traj = lossfilm.Trajectory.from_snapshots(snapshots)
    loss = TorchLoss(model, (X, y), chunk=n)
    evaluation = loss.evaluation(traj, samples=0, seed=0)
    plane_loss = evaluation.on(land_plane(traj))
    coords = np.zeros((4, 2))
    plane_loss.at(coords[:1])  # warm-up
    t0 = time.perf_counter()
    plane_loss.at(coords)
    per_node = (time.perf_counter() - t0) / len(coords)
    task, scattered = task_bytes(plane_loss)
    params = sum(p.numel() for p in model.parameters())
    return per_node, n, macs, params, task, scattered


def main():
    startup, rows, sizes = grid_rows()
    print(f"LocalCluster start-up (2 worker processes): {startup:.2f} s, not counted below\n")
    print("| grid | contender | baseline | ratio |\n|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{sizes}")
    per_node, n, macs, params, task, scattered = resnet_node()
    print(f"\nResNet-56 ({params:,} parameters), CPU float32, 1 PyTorch thread, TorchLoss 1 node/call: "
          f"{per_node * 1e3:.0f} ms per node on {n} images = {per_node / n * 1e3:.2f} ms per image-forward; "
          f"{macs / 1e6:.1f} M multiply-adds per image -> {2 * macs * n / per_node / 1e9:.1f} GFLOP/s achieved")
    print(f"ResNet-56 on {n} images: plane loss scattered once {scattered / 1e6:.2f} MB; a task of one node "
          f"{task} bytes")
    for samples in (10_000,):
        node = per_node / n * samples
        print(f"scaled to {samples} images: {node:.1f} s per node here; 51x51 = 2601 nodes: "
              f"{2601 * node / 3600:.1f} h on this core")


if __name__ == "__main__":
    main()
