"""PyTorch benchmarks: the recorder's cost per snapshot, and the adapter's grid against what a user would write.

Run from the repository root with PyTorch installed (``pip install -e '.[torch]'``)::

    python -m tests.bench_torch [--threads 1]

Measured side by side in one run, each figure the best of three rounds
(rounds alternate between the contenders, so a busy machine slows both):

1. ``lossfilm.Recorder.record`` on a 784-128-10 MLP (101,770 parameters): a
   loop of SGD steps on minibatches of 64 with and without recording the
   ``nn.Module`` each step, and a record of a dict of float64 arrays alone;
2. the adapter's grid (:class:`lossfilm.torch.TorchLoss`, one node per call
   and 16 per ``vmap`` call) against the straightforward user loop
   (``model.load_state_dict`` of each node, one forward pass on the same
   samples), on the CNN of ``examples/pytorch_cnn.py`` and the digits;
3. the built-in NumPy MLP fast path (float64) against the adapter (float32)
   on the same 64-128-10 network and the same samples;
4. the adapter's Hessian-vector products (:mod:`lossfilm.training.adapters.torch_hessian`)
   by double backward and by forward-over-reverse (``jvp`` of ``grad``),
   on the CNN and on that MLP: products per second, and how far apart.

Prints a markdown table naming the baselines, dtype and threads. Not
collected by pytest; tests/bench.py runs it as its last part.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NODES = 64  # grid nodes timed per contender and round
ROUNDS = 3


def best(*contenders):
    """The best of ROUNDS timings (seconds) of each zero-argument callable, rounds interleaved."""
    times = [[] for _ in contenders]
    for _ in range(ROUNDS):
        for run, spent in zip(contenders, times):
            started = time.perf_counter()
            run()
            spent.append(time.perf_counter() - started)
    return [min(spent) for spent in times]


def recorder_overhead():
    """Microseconds of a training step of a 784-128-10 MLP (minibatch 64) without and with a record of the module."""
    import torch

    import lossfilm

    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    arrays = {name: value.detach().double().numpy().copy() for name, value in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
    steps = 200

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    with tempfile.TemporaryDirectory() as folder:
        with lossfilm.Recorder(Path(folder) / "a.npz") as numpy_rec, \
                lossfilm.Recorder(Path(folder) / "m.npz") as module_rec:
            numpy_rec.record(arrays)
            module_rec.record(model)
            plain, recorded, numpy_only = best(lambda: [step() for _ in range(steps)],
                                               lambda: [(step(), module_rec.record(model)) for _ in range(steps)],
                                               lambda: [numpy_rec.record(arrays) for _ in range(steps)])
    return {"step_us": plain / steps * 1e6, "record_us": (recorded - plain) / steps * 1e6,
            "numpy_us": numpy_only / steps * 1e6, "params": sum(v.size for v in arrays.values())}


def _example():
    spec = importlib.util.spec_from_file_location("pytorch_cnn", REPO / "examples" / "pytorch_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _trajectory(model, folder):
    """Two snapshots of ``model`` (before and after a nudge): enough for a plane's layout and origin."""
    import torch

    import lossfilm

    with lossfilm.Recorder(Path(folder) / "t.npz") as rec:
        rec.record(model)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(0.99)
        rec.record(model)
    return rec.trajectory


def plain_loop(model, trajectory, plane, coords, X, y):
    """The straightforward user loop: load each node's state into the model, one forward pass on all samples."""
    import torch

    final = {name: value.clone() for name, value in model.state_dict().items()}
    model.eval()
    losses = []
    with torch.no_grad():
        for a, b in coords:
            point = trajectory.layout.unflatten(plane.point(a, b).astype(np.float32))
            model.load_state_dict(dict(final, **{k: torch.from_numpy(v.copy()) for k, v in point.items()}))
            losses.append(torch.nn.functional.cross_entropy(model(X), y).item())
    model.load_state_dict(final)
    return np.array(losses)


def adapter_vs_loop(samples):
    """Nodes per second: the adapter (1 and 16 nodes per call) vs the plain loop, the example's CNN."""
    import torch

    from lossfilm.torch import TorchLoss
    from lossfilm.training.landscape.plane import random_plane

    example = _example()
    X_train, y_train, X_test, y_test = example.load_digits_tensors()
    X, y = torch.cat([X_train, X_test])[:samples], torch.cat([y_train, y_test])[:samples]
    torch.manual_seed(0)
    model = example.SmallCNN()
    with tempfile.TemporaryDirectory() as folder:
        trajectory = _trajectory(model, folder)
    plane = random_plane(trajectory.layout, np.asarray(trajectory.params[-1]), seed=0)
    coords = np.random.default_rng(0).uniform(-1, 1, size=(NODES, 2))
    single = TorchLoss(model, (X, y), nodes_per_call=1).evaluation(trajectory, samples=0, seed=0).on(plane)
    batched = TorchLoss(model, (X, y), nodes_per_call=16).evaluation(trajectory, samples=0, seed=0).on(plane)
    reference = plain_loop(model, trajectory, plane, coords, X, y)
    error = max(np.abs(single.at(coords)[0] - reference).max(), np.abs(batched.at(coords)[0] - reference).max())
    loop_s, single_s, batched_s = best(lambda: plain_loop(model, trajectory, plane, coords, X, y),
                                       lambda: single.at(coords), lambda: batched.at(coords))
    return {"loop": NODES / loop_s, "single": NODES / single_s, "vmap16": NODES / batched_s,
            "error": float(error / np.abs(reference).max()), "samples": len(y)}


def numpy_fast_path_vs_adapter(samples):
    """Nodes per second: the built-in MLP fast path (float64, 1 worker) vs the adapter, same 64-128-10 MLP."""
    import torch

    from lossfilm.format.layout import ParamLayout
    from lossfilm.torch import TorchLoss
    from lossfilm.training.data.datasets import load_data
    from lossfilm.training.landscape.grid import MLPPlaneLoss
    from lossfilm.training.fit.mlp import init_params
    from lossfilm.training.landscape.plane import random_plane

    data = load_data("digits", seed=0)
    X, y = data.X_train[:samples], data.y_train[:samples]
    params = init_params([64, 128, 10], np.random.default_rng(0))  # W (out, in), b (1, out)
    layout = ParamLayout.of(params)
    plane = random_plane(layout, layout.flatten(params), seed=0)
    coords = np.random.default_rng(1).uniform(-1, 1, size=(NODES, 2))
    fast = MLPPlaneLoss(plane, layout, X, y, workers=1)

    class MLP(torch.nn.Module):  # the same network, with the built-in MLP's names and shapes
        def __init__(self):
            super().__init__()
            for name, value in params.items():
                self.register_parameter(name, torch.nn.Parameter(torch.tensor(value, dtype=torch.float32)))

        def forward(self, x):
            return torch.relu(x @ self.W1.T + self.b1) @ self.W2.T + self.b2

    class Run:  # the evaluation only reads the layout
        pass
    Run.layout = layout
    tensors = (torch.tensor(X, dtype=torch.float32), torch.tensor(y))
    model = MLP()
    single = TorchLoss(model, tensors, nodes_per_call=1).evaluation(Run, samples=0, seed=0).on(plane)
    batched = TorchLoss(model, tensors, nodes_per_call=16).evaluation(Run, samples=0, seed=0).on(plane)
    expected = fast.at(coords)[0]
    error = np.abs(batched.at(coords)[0] - expected).max() / np.abs(expected).max()
    fast_s, single_s, batched_s = best(lambda: fast.at(coords), lambda: single.at(coords),
                                       lambda: batched.at(coords))
    return {"fast": NODES / fast_s, "single": NODES / single_s, "vmap16": NODES / batched_s, "error": float(error),
            "samples": len(y)}


def _digits_mlp(params):
    """A torch module computing the built-in MLP (``W1, b1, W2, b2``, W as (out, in)) at ``params``."""
    import torch

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for name, value in params.items():
                self.register_parameter(name, torch.nn.Parameter(torch.tensor(value, dtype=torch.float32)))

        def forward(self, x):
            return torch.relu(x @ self.W1.T + self.b1) @ self.W2.T + self.b2
    return MLP()


def hvp_methods(samples, products=8):
    """Hessian-vector products per second by each method of torch_hessian, on the example CNN and a small MLP."""
    import torch

    from lossfilm.format.layout import ParamLayout
    from lossfilm.torch import TorchLoss
    from lossfilm.training.adapters.torch_hessian import HVP_METHODS, torch_hessian
    from lossfilm.training.data.datasets import load_data
    from lossfilm.training.fit.mlp import init_params

    example = _example()
    X_train, y_train, _, _ = example.load_digits_tensors()
    torch.manual_seed(0)
    cnn = example.SmallCNN()
    with tempfile.TemporaryDirectory() as folder:
        cnn_run = _trajectory(cnn, folder)
    data = load_data("digits", seed=0)
    params = init_params([64, 128, 10], np.random.default_rng(0))

    class Run:  # the evaluation only reads the layout
        layout = ParamLayout.of(params)
    cases = {"CNN": (cnn, (X_train[:samples], y_train[:samples]), cnn_run),
             "MLP": (_digits_mlp(params), (torch.tensor(data.X_train[:samples], dtype=torch.float32),
                                           torch.tensor(data.y_train[:samples])), Run)}
    results = {}
    for name, (model, tensors, run) in cases.items():
        evaluation = TorchLoss(model, tensors).evaluation(run, samples=0, seed=0)
        theta = run.layout.flatten({k: v.detach().numpy() for k, v in model.named_parameters()}, dtype=np.float64)
        vectors = np.random.default_rng(0).standard_normal((products, theta.size))
        hvps = [torch_hessian(evaluation, theta, method=method) for method in HVP_METHODS]
        first, second = (np.stack([hvp(v) for v in vectors]) for hvp in hvps)
        spent = best(*(lambda hvp=hvp: [hvp(v) for v in vectors] for hvp in hvps))
        results[name] = {"params": theta.size, "samples": len(tensors[1]),
                         **{method: products / s for method, s in zip(HVP_METHODS, spent)},
                         "difference": float(np.abs(first - second).max() / np.abs(first).max())}
    return results


def rows(threads, samples):
    """Run everything; the markdown rows (without a header)."""
    import torch

    torch.set_num_threads(threads)
    where = f"CPU, float32, {threads} PyTorch thread{'s' if threads > 1 else ''}"
    record = recorder_overhead()
    print(f"  recorder: {record}", flush=True)
    cnn = adapter_vs_loop(samples)
    print(f"  adapter vs loop, CNN: {cnn}", flush=True)
    mlp = numpy_fast_path_vs_adapter(samples)
    print(f"  NumPy fast path vs adapter, MLP: {mlp}", flush=True)
    hvps = hvp_methods(samples)
    print(f"  Hessian-vector products: {hvps}", flush=True)
    return [
        f"| `Recorder.record` in a loop, 784-128-10 MLP ({record['params']:,} parameters) | nn.Module: "
        f"+{record['record_us']:.0f} us per step; dict of float64 arrays alone {record['numpy_us']:.0f} us "
        f"| the SGD step alone, minibatch 64 ({where}): {record['step_us']:.0f} us "
        f"| **+{record['record_us'] / record['step_us']:.0%}** per recorded step |",
        f"| adapter grid, example CNN (1,914 parameters), {cnn['samples']} digits, {where} "
        f"| 1 node/call {cnn['single']:.0f} nodes/s; vmap 16 nodes/call {cnn['vmap16']:.0f} nodes/s "
        f"| user loop: load_state_dict + one forward pass per node, {cnn['loop']:.0f} nodes/s "
        f"| **{cnn['single'] / cnn['loop']:.2f}x** / **{cnn['vmap16'] / cnn['loop']:.2f}x** "
        f"(max rel. diff {cnn['error']:.1e}) |",
        f"| 64-128-10 MLP on {mlp['samples']} digits: built-in NumPy fast path (float64, 1 worker) vs adapter "
        f"({where}) | fast path {mlp['fast']:.0f} nodes/s | adapter 1 node/call {mlp['single']:.0f}, vmap 16 "
        f"{mlp['vmap16']:.0f} nodes/s | fast path **{mlp['fast'] / max(mlp['single'], mlp['vmap16']):.1f}x** "
        f"(max rel. diff {mlp['error']:.1e}) |",
        *(f"| Hessian-vector products, {name} ({h['params']:,} parameters, {h['samples']} digits, {where}) "
          f"| double backward {h['double-backward']:.1f} products/s "
          f"| forward-over-reverse (jvp of grad) {h['forward-over-reverse']:.1f} products/s "
          f"| **{h['double-backward'] / h['forward-over-reverse']:.2f}x** (max rel. diff {h['difference']:.1e}) |"
          for name, h in hvps.items()),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.bench_torch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads")
    parser.add_argument("--samples", type=int, default=1000, help="samples the loss averages")
    args = parser.parse_args(argv)
    print("| benchmark | lossfilm | baseline | ratio |\n|---|---|---|---|\n" + "\n".join(rows(args.threads, args.samples)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
