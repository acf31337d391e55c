"""The GPU checks of the PyTorch adapter in one go, for a machine with a CUDA GPU.

Run from the repository root (``pip install -e '.[test,torch]'`` with a CUDA
build of PyTorch)::

    python -m tests.gpu_checks [--json OUT.json]

It checks, and prints as a markdown table with the numbers measured:

1. the ``TorchLoss`` grid on CUDA at ``nodes_per_call`` 1, 16 and 64 against
   the CPU's losses (the same to float32 rounding), with nodes per second;
2. the out-of-memory halving: a ``nodes_per_call`` too large for the GPU
   (asked to hold more activations than its memory) halves until it fits,
   and the losses are still right;
3. the Hessian-vector products on CUDA against the CPU's, and products per
   second by both methods;
4. a ResNet-style model (residual blocks with BatchNorm, 32x32x3 inputs,
   about 0.3 M parameters): nodes per second at 1 and 16 nodes per call,
   and the speed-up of vmap over one node per call.

Without CUDA it says so in one line and exits with status 0 (nothing to
check); ``tests/training/adapters/test_torch_gpu.py`` runs the same checks
under pytest and skips them there. Exit status 1 if a check fails.
``--dry-run`` runs the checks but the out-of-memory one on the CPU, on small
sizes, against itself: the script's own test, for a machine without a GPU
(the numbers then say nothing about GPUs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NODES = 64  # grid nodes timed per setting
SIZES = {"samples": 1000, "hvp_samples": 2000, "resnet_nodes": 32}  # --dry-run shrinks them
DEVICE = "cuda"  # --dry-run: "cpu"


def _sync():
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def resnet_style(width=32, blocks=3, classes=10):
    """A small residual network (conv-BN-ReLU-conv-BN plus the skip, ``blocks`` times) for 3x32x32 images."""
    import torch

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(width, width, 3, padding=1, bias=False)
            self.bn1 = torch.nn.BatchNorm2d(width)
            self.conv2 = torch.nn.Conv2d(width, width, 3, padding=1, bias=False)
            self.bn2 = torch.nn.BatchNorm2d(width)

        def forward(self, x):
            return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))

    class ResNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Conv2d(3, width, 3, padding=1, bias=False)
            self.bn = torch.nn.BatchNorm2d(width)
            self.blocks = torch.nn.Sequential(*(Block() for _ in range(blocks)))
            self.fc = torch.nn.Linear(width, classes)

        def forward(self, x):
            x = self.blocks(torch.relu(self.bn(self.stem(x))))
            return self.fc(x.mean(dim=(2, 3)))
    return ResNet()


def small_cnn():
    import torch

    return torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                               torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64, 10))


def trajectory_of(model):
    """Two snapshots of ``model`` (it, and it nudged): a layout and an origin for a plane."""
    import torch

    from lossfilm.format.trajectory import Trajectory

    final = {name: p.detach().cpu().numpy().copy() for name, p in model.named_parameters()}
    return Trajectory.from_snapshots([{k: 1.01 * v for k, v in final.items()}, final])


def _setup(model, X, y):
    from lossfilm.training.landscape.plane import random_plane

    trajectory = trajectory_of(model)
    plane = random_plane(trajectory.layout, np.asarray(trajectory.params[-1]), seed=0)
    coords = np.random.default_rng(0).uniform(-0.5, 0.5, size=(NODES, 2))
    return trajectory, plane, coords


def _timed(evaluator, coords):
    import torch

    evaluator.at(coords[:2])  # warm-up: kernels chosen, memory allocated
    _sync()
    started = time.perf_counter()
    loss, _ = evaluator.at(coords)
    _sync()
    return loss, len(coords) / (time.perf_counter() - started)


def grid_nodes_per_call():
    """The CNN grid on CUDA at 1/16/64 nodes per call, against the CPU."""
    import torch

    from lossfilm.torch import TorchLoss

    torch.manual_seed(0)
    model = small_cnn()
    n = SIZES["samples"]
    X, y = torch.rand(n, 1, 8, 8), torch.randint(0, 10, (n,))
    trajectory, plane, coords = _setup(model, X, y)
    cpu = TorchLoss(model, (X, y), device="cpu", nodes_per_call=1).evaluation(trajectory, samples=0, seed=0)
    reference = cpu.on(plane).at(coords)[0]
    rows = {}
    for nodes in (1, 16, 64):
        gpu = TorchLoss(model, (X, y), device=DEVICE, nodes_per_call=nodes).evaluation(trajectory, samples=0, seed=0)
        loss, rate = _timed(gpu.on(plane), coords)
        rows[nodes] = {"nodes_per_s": rate, "max_rel_diff": float(np.abs(loss - reference).max()
                                                                    / np.abs(reference).max())}
    return rows


def out_of_memory_halving():
    """A nodes_per_call far beyond the GPU's memory: it halves until it fits, and the losses stay right."""
    import torch

    from lossfilm.torch import TorchLoss

    torch.manual_seed(0)
    model = resnet_style(width=64)
    X, y = torch.rand(4096, 3, 32, 32), torch.randint(0, 10, (4096,))
    trajectory, plane, coords = _setup(model, X, y)
    free, _ = torch.cuda.mem_get_info()
    # activations of one node on one chunk of 4096 images: ~ 4096 * 64 * 32 * 32 * 4 bytes * ~10 tensors
    per_node = 4096 * 64 * 32 * 32 * 4 * 10
    asked = int(2 ** np.ceil(np.log2(max(2, 4 * free / per_node))))
    loss = TorchLoss(model, (X, y), device="cuda", nodes_per_call=asked, chunk=4096)
    evaluator = loss.evaluation(trajectory, samples=0, seed=0).on(plane)
    got = evaluator.at(coords[:asked])[0]
    one = TorchLoss(model, (X, y), device="cuda", nodes_per_call=1, chunk=512).evaluation(
        trajectory, samples=0, seed=0).on(plane).at(coords[:4])[0]
    return {"asked": asked, "settled": evaluator.batch_size, "halved": evaluator.batch_size < asked,
            "max_rel_diff": float(np.abs(got[:4] - one).max() / np.abs(one).max())}


def hessian_vector_products():
    """HVPs on CUDA against the CPU's, and products per second by both methods, on the CNN."""
    import torch

    from lossfilm.torch import TorchLoss
    from lossfilm.training.adapters.torch_hessian import HVP_METHODS

    torch.manual_seed(0)
    model = small_cnn()
    n = SIZES["hvp_samples"]
    X, y = torch.rand(n, 1, 8, 8), torch.randint(0, 10, (n,))
    trajectory = trajectory_of(model)
    theta = np.asarray(trajectory.params[-1], dtype=np.float64)
    v = np.random.default_rng(0).standard_normal(theta.size)
    expected = TorchLoss(model, (X, y), device="cpu").evaluation(trajectory, samples=0, seed=0).hessian_at(theta)(v)
    gpu = TorchLoss(model, (X, y), device=DEVICE).evaluation(trajectory, samples=0, seed=0)
    out = {}
    for method in HVP_METHODS:
        hvp = gpu.hessian_at(theta, method=method)
        got = hvp(v)
        _sync()
        started = time.perf_counter()
        for _ in range(10):
            hvp(v)
        _sync()
        out[method] = {"products_per_s": 10 / (time.perf_counter() - started),
                       "max_rel_diff": float(np.abs(got - expected).max() / np.abs(expected).max())}
    return out


def resnet_nodes_per_second():
    """A ResNet-style model's grid on CUDA: nodes per second at 1 and 16 nodes per call."""
    import torch

    from lossfilm.torch import TorchLoss

    torch.manual_seed(0)
    model = resnet_style()
    n = SIZES["samples"]
    X, y = torch.rand(n, 3, 32, 32), torch.randint(0, 10, (n,))
    trajectory, plane, coords = _setup(model, X, y)
    rates = {}
    for nodes in (1, 16):
        evaluation = TorchLoss(model, (X, y), device=DEVICE, nodes_per_call=nodes).evaluation(
            trajectory, samples=0, seed=0)
        rates[nodes] = _timed(evaluation.on(plane), coords[:SIZES["resnet_nodes"]])[1]
    return {"params": trajectory.layout.size, "samples": n, "nodes_per_s": rates,
            "speedup_vmap16": rates[16] / rates[1]}


CHECKS = {"grid": grid_nodes_per_call, "oom": out_of_memory_halving, "hvp": hessian_vector_products,
          "resnet": resnet_nodes_per_second}


def failures(results):
    """What went wrong, in words (empty when every check passed)."""
    wrong = []
    for nodes, row in results.get("grid", {}).items():
        if row["max_rel_diff"] > 1e-4:
            wrong.append(f"grid at {nodes} nodes/call differs from the CPU by {row['max_rel_diff']:.1e}")
    oom = results.get("oom")
    if oom and (not oom["halved"] or oom["max_rel_diff"] > 1e-4):
        wrong.append(f"out-of-memory halving: {oom}")
    for method, row in results.get("hvp", {}).items():
        if row["max_rel_diff"] > 1e-3:
            wrong.append(f"HVP by {method} differs from the CPU by {row['max_rel_diff']:.1e}")
    return wrong


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.gpu_checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    parser.add_argument("--only", choices=list(CHECKS), action="append", help="run only these checks")
    parser.add_argument("--dry-run", action="store_true",
                        help="the checks but the out-of-memory one, on the CPU, small: the script's own test")
    args = parser.parse_args(argv)
    import torch

    global DEVICE
    if args.dry_run:
        DEVICE = "cpu"
        SIZES.update(samples=64, hvp_samples=64, resnet_nodes=4)
        print(f"# dry run on the CPU, PyTorch {torch.__version__}: these numbers say nothing about GPUs")
    elif not torch.cuda.is_available():
        print(f"no CUDA GPU visible to PyTorch {torch.__version__}: nothing to check (untested on GPU)")
        return 0
    else:
        print(f"# {torch.cuda.get_device_name(0)}, PyTorch {torch.__version__}, CUDA {torch.version.cuda}")
    results = {}
    for name in args.only or [name for name in CHECKS if not (args.dry_run and name == "oom")]:
        started = time.perf_counter()
        results[name] = CHECKS[name]()
        print(f"{name} ({time.perf_counter() - started:.1f} s): {json.dumps(results[name], default=str)}",
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    wrong = failures(results)
    for line in wrong:
        print(f"FAILED: {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
