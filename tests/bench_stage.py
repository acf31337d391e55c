"""Benchmark: ``lossfilm landscape --resolution 51`` end to end against the naive float32 grid of the same nodes.

Run ``python -m tests.bench_stage`` (not collected by pytest). The README's
MNIST case: ``lossfilm train --data DIR --epochs 3 --lr 0.1`` on the t10k
files of ../shared/data/mnist (376 snapshots of a 784-128-10 MLP, 8,000
training samples), then ``lossfilm landscape --resolution 51``, timed as a
whole process (start-up, loading and writing included). The baseline is
what Li et al.'s code and the loss-landscapes library do for the grid
alone: one float32 forward pass per node with the weights formed at
``(a, b)``, on the same data and the same number of threads, timed on
evenly spread nodes of the same plane in rounds that alternate with the
stage, and scaled to the 2,601 nodes.

It also prints the stage's breakdown (loading, PCA, path, grid, writing:
the path's exact losses at the snapshots and under the ball, the projection
and statistics) from a profile of the same computation in this process,
and the calls a user's ``loss_fn`` gets for the same landscape (counted with
a cheap ``loss_fn`` on the same trajectory).

Usage: python -m tests.bench_stage [--rounds 2] [--naive-nodes 8]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MNIST = REPO.parent / "shared" / "data" / "mnist"
RESOLUTION = 51
# The profiled functions of the breakdown: (label, file, function, the caller that counts or None for any).
PARTS = (("loading the trajectory", "trajectory.py", "load", None),
         ("loading the data", "evaluation.py", "evaluation_data", None),
         ("PCA", "plane.py", "make_plane", None),
         ("path: projection", "plane.py", "project", "_new_landscape"),
         ("path: true losses", "grid.py", "at_params", "_new_landscape"),
         ("path: losses under the ball", "grid.py", "at", "_new_landscape"),
         ("path: statistics", "descent_paths.py", "described", None),
         ("1-D line (61 points)", "segment.py", "trajectory_line", None),
         ("grid", "grid.py", "evaluate_grid", None),
         ("writing", "landscape.py", "save", None))


def lossfilm(*args):
    """Run the CLI as its own process; its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lossfilm", *map(str, args)], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def trajectory_of_the_case(folder):
    """The README's MNIST run (trained once into ``folder``)."""
    path = Path(folder) / "trajectory.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        lossfilm("train", "--data", MNIST, "--epochs", 3, "--lr", 0.1, "-o", path)
    return path


def naive_ms(landscape, trajectory, nodes, threads):
    """ms per node of the naive float32 forward pass at ``nodes`` evenly spread grid nodes of ``landscape``."""
    from threadpoolctl import threadpool_limits

    from lossfilm.training.landscape.evaluation import evaluation_data
    from lossfilm.training.landscape.grid import loss_and_accuracy

    X, y = evaluation_data(trajectory, landscape.settings["samples"], landscape.settings["seed"])
    X = X.astype(np.float32)
    layout = trajectory.layout
    o, d1, d2 = (layout.unflatten(v.astype(np.float64)) for v in (landscape.origin, *landscape.directions))
    flat = np.unique(np.linspace(0, RESOLUTION ** 2 - 1, nodes).round().astype(int))
    losses = []
    with threadpool_limits(threads):
        started = time.perf_counter()
        for node in flat:
            i, j = np.unravel_index(node, (RESOLUTION, RESOLUTION))
            a, b = landscape.alphas[i], landscape.betas[j]
            weights = {name: (o[name] + a * d1[name] + b * d2[name]).astype(np.float32) for name in layout.names}
            losses.append(loss_and_accuracy(weights, X, y)[0])
        seconds = time.perf_counter() - started
    error = float(np.max(np.abs(landscape.loss.ravel()[flat] / np.array(losses) - 1.0)))
    return 1e3 * seconds / len(flat), error


def breakdown(trajectory_path, out):
    """Seconds of each part of the stage, from a profile of ``cached_or_compute`` in this process."""
    from lossfilm.format.trajectory import Trajectory
    from lossfilm.training.landscape.pipeline import cached_or_compute
    from lossfilm.training.landscape.segment import POINTS

    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    trajectory = Trajectory.load(trajectory_path)
    cached_or_compute(trajectory, out, force=True, progress=False, line=POINTS, resolution=RESOLUTION)
    profile.disable()
    total = time.perf_counter() - started
    stats = pstats.Stats(profile).stats
    parts = {}
    for label, module, name, caller in PARTS:
        seconds = 0.0
        for (file, _, function), (_, _, _, cumulative, callers) in stats.items():
            if function != name or not file.endswith(module):
                continue
            if caller is None:
                seconds += cumulative
            else:
                seconds += sum(timing[3] for (_, _, by), timing in callers.items() if by == caller)
        parts[label] = seconds
    parts["other (start, key, checks)"] = total - sum(parts.values())
    return total, parts


def loss_fn_calls(trajectory_path, folder):
    """Calls a user's ``loss_fn`` gets for the same landscape, by kind (a cheap function, counted)."""
    from lossfilm.format.trajectory import Trajectory
    from lossfilm.training.landscape.pipeline import cached_or_compute
    from lossfilm.training.landscape.segment import POINTS

    calls = []

    def loss_fn(params):
        calls.append(1)
        return float(sum(float(np.square(v).sum()) for v in params.values()))

    trajectory = Trajectory.load(trajectory_path)
    land, _ = cached_or_compute(trajectory, Path(folder) / "yours.npz", loss_fn=loss_fn, force=True, progress=False,
                                line=POINTS, resolution=RESOLUTION)
    kept = len(land.path_alpha)
    return {"total": len(calls), "snapshots": kept, "on_plane": int((land.residuals == 0).sum()),
            "nodes": land.loss.size, "line": POINTS}


def run(rounds=2, naive_nodes=8, folder=None):
    """The stage against the naive grid, its breakdown and the loss_fn calls; prints a line each, returns them."""
    from lossfilm.format.landscape import Landscape
    from lossfilm.format.trajectory import Trajectory

    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        print(f"no MNIST t10k files in {MNIST}: the stage benchmark is skipped")
        return None
    folder = Path(folder or tempfile.mkdtemp(prefix="lossfilm-stage-"))
    trajectory_path = trajectory_of_the_case(folder)
    trajectory = Trajectory.load(trajectory_path)
    out = folder / "landscape.npz"
    threads = os.cpu_count() or 1
    stage, naive, error = [], [], 0.0
    for round_ in range(rounds):
        stage.append(lossfilm("landscape", trajectory_path, "-o", out, "--resolution", RESOLUTION, "--force",
                              "--quiet"))
        ms, error = naive_ms(Landscape.load(out), trajectory, naive_nodes, threads)
        naive.append(ms)
        print(f"round {round_ + 1}: lossfilm landscape {stage[-1]:.2f} s; naive float32 {ms:.1f} ms/node",
              flush=True)
    land = Landscape.load(out)
    total, parts = breakdown(trajectory_path, folder / "profiled.npz")
    print(f"breakdown (profiled, in-process, {total:.2f} s): "
          + ", ".join(f"{label} {seconds:.2f} s" for label, seconds in parts.items()), flush=True)
    calls = loss_fn_calls(trajectory_path, folder)
    print(f"loss_fn calls: {calls}", flush=True)
    seconds, ms = float(np.median(stage)), float(np.median(naive))
    row = {"stage_s": seconds, "naive_ms": ms, "naive_s": ms * RESOLUTION ** 2 / 1e3, "threads": threads,
           "snapshots": len(trajectory), "samples": land.settings["stats"]["samples"], "error": error, "parts": parts,
           "profiled_s": total, "calls": calls}
    row["ratio"] = row["naive_s"] / seconds
    print(f"lossfilm landscape --resolution 51: {seconds:.2f} s; naive float32 grid of the same {RESOLUTION ** 2} "
          f"nodes, {threads} threads: {row['naive_s']:.1f} s -> {row['ratio']:.1f}x (grid vs naive: max relative "
          f"difference {error:.0e})")
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of the stage and the naive pass")
    parser.add_argument("--naive-nodes", type=int, default=8, help="nodes timed with the naive pass, per round")
    parser.add_argument("--keep", metavar="DIR", help="train into and keep the files in this folder")
    args = parser.parse_args(argv)
    row = run(args.rounds, args.naive_nodes, args.keep)
    return 0 if row is None or row["error"] <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
