"""Curvature benchmark: the Hessian plane and the sharpness curve on the demo's digits network.

Run from the repository root (about half a minute on 2 cores)::

    python -m tests.bench_curvature

On the demo's run (64-128-10 MLP, SGD, 20 epochs on the bundled digits,
its 1,438 training samples), it measures, side by side in one process with
the same Hessian-vector products (the exact R-operator, float64, one BLAS
thread):

1. the top two eigenpairs to a relative tolerance of 1e-3 by Lanczos (what
   ``--directions hessian`` runs) against power iteration with deflation,
   the method of PyHessian (Yao et al. 2020), stopped by PyHessian's rule
   (the eigenvalue changes by less than 1e-3, relatively);
2. ``lossfilm landscape --directions hessian`` against the same landscape
   on a random plane (``--directions random``), the best of two runs each:
   what choosing the Hessian plane adds to a landscape;
3. the sharpness curve at N = 10, 20 and 30 snapshots: its cost per snapshot.

Not collected by pytest.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TOL = 1e-3
POINTS = (10, 20, 30)


def power_iteration_deflated(hvp, size, k=2, tol=TOL, max_iterations=100, seed=0):
    """PyHessian's top-k: power iteration, each new vector kept orthogonal to the ones found.

    Stops an eigenvalue when it changes by less than ``tol`` relatively (PyHessian's rule). Returns
    ``(values, products)``.
    """
    rng = np.random.default_rng(seed)
    values, vectors, products = [], [], 0
    for _ in range(k):
        v = rng.standard_normal(size)
        value = None
        for _ in range(max_iterations):
            for u in vectors:
                v -= (u @ v) * u
            v /= np.linalg.norm(v)
            w = hvp(v)
            products += 1
            new = float(v @ w)
            v = w
            if value is not None and abs(new - value) / (abs(value) + 1e-6) < tol:
                value = new
                break
            value = new
        values.append(value)
        vectors.append(v / np.linalg.norm(v))
    return np.array(values), products


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def run(folder):
    """Every figure of the curvature benchmark, as a dict (and printed as it goes)."""
    from lossfilm.training.fit.config import TrainConfig
    from lossfilm.training.curvature.lanczos import top_eigenpairs
    from lossfilm.training.landscape.evaluation import MLPEvaluation
    from lossfilm.training.landscape.pipeline import cached_or_compute
    from lossfilm.training.curvature.sharpness import sharpness_along
    from lossfilm.training.fit.train import cached_or_train

    trajectory, _ = cached_or_train(TrainConfig(), folder / "trajectory.npz", progress=False)
    evaluation = MLPEvaluation.of(trajectory, samples=10000, seed=0)
    theta = np.asarray(trajectory.params[-1], dtype=np.float64)
    hvp = evaluation.hessian_at(theta)
    figures = {"parameters": theta.size, "samples": evaluation.samples}

    lanczos, figures["lanczos_s"] = timed(top_eigenpairs, hvp, theta.size, k=2, tol=TOL)
    (power, products), figures["power_s"] = timed(power_iteration_deflated, hvp, theta.size)
    figures.update(lanczos_products=lanczos.iterations, power_products=products, lanczos_values=lanczos.values,
                   power_values=power, converged=lanczos.converged)
    print(f"  top 2 eigenpairs: Lanczos {figures['lanczos_s']:.2f} s, {lanczos.iterations} products, "
          f"lambda {lanczos.values.round(4).tolist()}; power iteration with deflation {figures['power_s']:.2f} s, "
          f"{products} products, lambda {power.round(4).tolist()}")

    for kind in ("hessian", "random"):  # the best of two: the machine is shared
        seconds = min(timed(cached_or_compute, trajectory, folder / f"{kind}.npz", directions_kind=kind,
                            progress=False, force=True)[1] for _ in range(2))
        figures[f"{kind}_landscape_s"] = seconds
        print(f"  lossfilm landscape --directions {kind}: {seconds:.1f} s")

    for points in POINTS:
        _, seconds = timed(sharpness_along, trajectory, evaluation, points)
        figures[f"sharpness_{points}_s"] = seconds
        print(f"  sharpness at {points} snapshots: {seconds:.2f} s ({seconds / points * 1e3:.0f} ms per snapshot)")
    return figures


def rows(figures):
    """Markdown rows for the benchmark table of tests/bench.py."""
    f = figures
    net = f"demo's 64-128-10 MLP on digits ({f['parameters']:,} parameters, {f['samples']:,} samples)"
    seconds = [f[f"sharpness_{n}_s"] for n in POINTS]
    per = [s / n * 1e3 for s, n in zip(seconds, POINTS)]
    return [
        f"| Hessian plane: top 2 eigenpairs to 1e-3, {net} | Lanczos {f['lanczos_s']:.2f} s "
        f"({f['lanczos_products']} products) | power iteration with deflation (PyHessian's method) "
        f"{f['power_s']:.2f} s ({f['power_products']} products) | **{f['power_s'] / f['lanczos_s']:.1f}x** |",
        f"| `lossfilm landscape --directions hessian`, 51x51, same run | {f['hessian_landscape_s']:.1f} s "
        f"| `--directions random` {f['random_landscape_s']:.1f} s "
        f"| {f['hessian_landscape_s'] / f['random_landscape_s']:.2f}x the time |",
        f"| sharpness curve at N = {', '.join(map(str, POINTS))} snapshots, same run "
        f"| {', '.join(f'{s:.2f}' for s in seconds)} s "
        f"({', '.join(f'{p:.0f}' for p in per)} ms per snapshot) | - | linear in N |",
    ]


def main():
    with tempfile.TemporaryDirectory(prefix="lossfilm-curvature-") as folder:
        figures = run(Path(folder))
    print("\n".join(rows(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
