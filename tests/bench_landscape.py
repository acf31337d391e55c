"""Benchmark: the fast loss grid against the naive per-node forward pass.

Run ``python tests/bench_landscape.py`` (not collected by pytest). On a
784-128-10 MLP with 10,000 samples (MNIST t10k from shared/data/mnist where
present, else random pixels) and realistic He-initialised weights, it
evaluates a 51 x 51 grid on a random filter-normalised plane with the fast
path, and the naive per-node forward pass (form ``W = Wo + a*D + b*E`` for
every layer, run the network) on an evenly spread subset of the same nodes,
so the whole run stays under a minute. The two are timed in alternating
rounds, so that load from other processes falls on both alike. Times are
per node, like for like;
results must agree to 1e-5 relative, and the fast path must be >= 8x faster.

Usage: python tests/bench_landscape.py [--naive-nodes 48] [--workers N] [--one-core]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lossfilm.training.grid import MLPEvaluator, evaluate_grid, loss_and_accuracy  # noqa: E402
from lossfilm.format.layout import ParamLayout  # noqa: E402
from lossfilm.training.model import init_params  # noqa: E402
from lossfilm.training.plane import random_plane  # noqa: E402

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
SIZES = [784, 128, 10]
SAMPLES = 10_000
RESOLUTION = 51
ROUNDS = 8


def load_data(rng):
    images, labels = MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz"
    if images.exists() and labels.exists():
        with gzip.open(images) as f:
            X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784) / 255.0
        with gzip.open(labels) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
        return X[:SAMPLES], y[:SAMPLES], "MNIST t10k"
    return rng.random((SAMPLES, 784)), rng.integers(0, 10, SAMPLES), "random pixels"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-nodes", type=int, default=48, help="nodes timed with the naive pass")
    parser.add_argument("--workers", type=int, default=None, help="fast-path threads (default: all cores)")
    parser.add_argument("--one-core", action="store_true",
                        help="both paths on one core (one fast-path thread, one BLAS thread)")
    args = parser.parse_args(argv)
    if args.one_core:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return run(args.naive_nodes, 1, "one core each")
    return run(args.naive_nodes, args.workers, "all cores each")


def run(naive_nodes, workers, cores):

    rng = np.random.default_rng(0)
    X, y, source = load_data(rng)
    params = init_params(SIZES, rng)
    params["b1"] += rng.normal(0.0, 0.1, params["b1"].shape)
    layout = ParamLayout.of(params)
    origin = layout.flatten(params)
    plane = random_plane(layout, origin, seed=1)
    half = 0.5 * float(np.linalg.norm(origin))  # reach half the weights' norm: a real bowl, some dead ReLUs
    alphas = betas = np.linspace(-half, half, RESOLUTION)
    print(f"network {'-'.join(map(str, SIZES))}, {len(y)} samples ({source}), "
          f"{RESOLUTION}x{RESOLUTION} grid, {layout.size} parameters, {cores}")

    # Side by side, interleaved in rounds so that load from other processes hits both alike:
    # each round the fast path finishes its share of the grid (resuming the same arrays),
    # then the naive per-node forward pass runs on its share of an evenly spread subset.
    shape = (RESOLUTION, RESOLUTION)
    loss, accuracy, done = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, bool)
    nodes = np.unique(np.linspace(0, loss.size - 1, naive_nodes).round().astype(int))
    o, d1, d2 = (layout.unflatten(v.astype(np.float64)) for v in (plane.origin, *plane.directions))
    naive_loss, naive_acc = np.empty(len(nodes)), np.empty(len(nodes))
    fast = naive = 0.0
    started = time.perf_counter()
    evaluator = MLPEvaluator(plane, layout, X, y, workers=workers)  # set-up counts as fast time
    fast += time.perf_counter() - started
    fast_parts = np.array_split(np.arange(loss.size), ROUNDS)
    naive_parts = np.array_split(np.arange(len(nodes)), ROUNDS)
    for part_fast, part_naive in zip(fast_parts, naive_parts):
        skip = np.ones(shape, bool)
        skip.ravel()[part_fast] = False  # evaluate_grid computes only the nodes not marked done
        started = time.perf_counter()
        evaluate_grid(evaluator, alphas, betas, loss, accuracy, skip)
        fast += time.perf_counter() - started
        done.ravel()[part_fast] = True
        started = time.perf_counter()
        for n in part_naive:
            i, j = np.unravel_index(nodes[n], shape)
            a, b = alphas[i], betas[j]
            weights = {name: o[name] + a * d1[name] + b * d2[name] for name in layout.names}
            naive_loss[n], naive_acc[n] = loss_and_accuracy(weights, X, y)
        naive += time.perf_counter() - started
    assert done.all() and np.isfinite(loss).all()
    fast /= loss.size
    naive /= len(nodes)

    error = np.max(np.abs(loss.ravel()[nodes] / naive_loss - 1.0))
    same_acc = np.array_equal(accuracy.ravel()[nodes], naive_acc)
    ratio = naive / fast
    print(f"fast  : {fast * 1e3:8.3f} ms/node  ({fast * loss.size:6.2f} s for all {loss.size} nodes)")
    print(f"naive : {naive * 1e3:8.3f} ms/node  ({naive * len(nodes):6.2f} s for {len(nodes)} nodes; "
          f"{naive * loss.size:6.1f} s projected for the grid)")
    print(f"ratio : {ratio:6.1f}x   max relative loss difference {error:.2e}, accuracy identical: {same_acc}")
    print(f"loss over the grid: {np.nanmin(loss):.4g} .. {np.nanmax(loss):.4g}")
    ok = error <= 1e-5 and same_acc and ratio >= 8.0
    print("PASS" if ok else "FAIL: need ratio >= 8 and agreement to 1e-5")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
