"""Benchmark: the fast loss grid against the naive per-node forward pass, same dtype, same threads.

Run ``python tests/bench_landscape.py`` (not collected by pytest). On a
784-128-10 MLP with 10,000 samples (MNIST t10k from shared/data/mnist where
present, else random pixels) and realistic He-initialised weights, it
evaluates a 51 x 51 grid on a random filter-normalised plane with the fast
path, and the naive per-node forward pass (form ``W = Wo + a*D + b*E`` for
every layer, run the network: what Li et al.'s code and the loss-landscapes
library do) on an evenly spread subset of the same nodes. Four pairings,
each row naming its dtype and threads: float32 and float64, on one thread
(one fast-path thread, one BLAS thread for the naive pass) and on all cores
(fast-path threads with one BLAS thread each; the naive pass's BLAS on all
cores). Within a pairing the two are timed in alternating rounds, so that
load from other processes falls on both alike. Times are per node, like for
like; the float32 grid must agree with the float64 naive pass to 1e-5
relative, and the fast path must be >= 10x faster.

Usage: python tests/bench_landscape.py [--naive-nodes 16]
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lossfilm.training.landscape.grid import MLPPlaneLoss, evaluate_grid, loss_and_accuracy  # noqa: E402
from lossfilm.format.layout import ParamLayout  # noqa: E402
from lossfilm.training.fit.mlp import init_params  # noqa: E402
from lossfilm.training.landscape.plane import random_plane  # noqa: E402

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
SIZES = [784, 128, 10]
SAMPLES = 10_000
RESOLUTION = 51
ROUNDS = 4


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
    parser.add_argument("--naive-nodes", type=int, default=16, help="nodes timed with the naive pass, per pairing")
    args = parser.parse_args(argv)
    rows = run(args.naive_nodes)
    ok = all(row["error"] <= 1e-5 and row["ratio"] >= 10 for row in rows)
    print("PASS" if ok else "FAIL: need ratio >= 10 and agreement with float64 to 1e-5")
    return 0 if ok else 1


def problem():
    """The benchmark's network, data, plane and grid axes."""
    rng = np.random.default_rng(0)
    X, y, source = load_data(rng)
    params = init_params(SIZES, rng)
    params["b1"] += rng.normal(0.0, 0.1, params["b1"].shape)
    layout = ParamLayout.of(params)
    origin = layout.flatten(params)
    plane = random_plane(layout, origin, seed=1)
    half = 0.5 * float(np.linalg.norm(origin))  # reach half the weights' norm: a real bowl, some dead ReLUs
    axis = np.linspace(-half, half, RESOLUTION)
    return X, y, source, layout, plane, axis


def run(naive_nodes):
    """Every pairing (dtype x threads); prints a line each and returns their figures."""
    X, y, source, layout, plane, axis = problem()
    cores = os.cpu_count() or 1
    print(f"network {'-'.join(map(str, SIZES))}, {len(y)} samples ({source}), "
          f"{RESOLUTION}x{RESOLUTION} grid, {layout.size} parameters, {cores} cores")
    shape = (RESOLUTION, RESOLUTION)
    nodes = np.unique(np.linspace(0, RESOLUTION ** 2 - 1, naive_nodes).round().astype(int))
    reference = None  # the float64 naive losses at those nodes
    rows = []
    for dtype in ("float64", "float32"):
        for threads in sorted({1, cores}):
            row = compare(X, y, layout, plane, axis, nodes, dtype, threads)
            if reference is None:
                reference = row["naive_loss"]
            row["error"] = float(np.max(np.abs(row["fast_loss"][nodes] / reference - 1.0)))
            row["source"] = source
            rows.append(row)
            print(f"{dtype}, {threads} thread{'s' if threads > 1 else ' '}: fast {row['fast_ms']:7.3f} ms/node "
                  f"({row['fast_ms'] * RESOLUTION ** 2 / 1e3:5.1f} s for the grid), naive {row['naive_ms']:7.2f} "
                  f"ms/node  ->  {row['ratio']:5.1f}x; max relative difference from the float64 naive pass "
                  f"{row['error']:.1e}", flush=True)
    return rows


def compare(X, y, layout, plane, axis, nodes, dtype, threads):
    """The fast grid (all nodes) and the naive pass (``nodes``), alternating in rounds; ms per node each."""
    from threadpoolctl import threadpool_limits

    shape = (RESOLUTION, RESOLUTION)
    loss, accuracy = np.full(shape, np.nan), np.full(shape, np.nan)
    Xd = X.astype(dtype)
    o, d1, d2 = (layout.unflatten(v.astype(np.float64)) for v in (plane.origin, *plane.directions))
    naive_loss = np.empty(len(nodes))
    started = time.perf_counter()
    plane_loss = MLPPlaneLoss(plane, layout, X, y, workers=threads, dtype=dtype)  # set-up counts as fast time
    fast = time.perf_counter() - started
    naive = 0.0
    for part_fast, part_naive in zip(np.array_split(np.arange(loss.size), ROUNDS),
                                     np.array_split(np.arange(len(nodes)), ROUNDS)):
        skip = np.ones(shape, bool)
        skip.ravel()[part_fast] = False  # evaluate_grid computes only the nodes not marked done
        started = time.perf_counter()
        evaluate_grid(plane_loss, axis, axis, loss, accuracy, skip)
        fast += time.perf_counter() - started
        with threadpool_limits(threads):
            started = time.perf_counter()
            for n in part_naive:
                i, j = np.unravel_index(nodes[n], shape)
                a, b = axis[i], axis[j]
                weights = {name: (o[name] + a * d1[name] + b * d2[name]).astype(dtype) for name in layout.names}
                naive_loss[n] = loss_and_accuracy(weights, Xd, y)[0]
            naive += time.perf_counter() - started
    assert np.isfinite(loss).all()
    fast_ms, naive_ms = 1e3 * fast / loss.size, 1e3 * naive / len(nodes)
    return {"dtype": dtype, "threads": threads, "fast_ms": fast_ms, "naive_ms": naive_ms,
            "ratio": naive_ms / fast_ms, "fast_loss": loss.ravel(), "naive_loss": naive_loss}


if __name__ == "__main__":
    sys.exit(main())
