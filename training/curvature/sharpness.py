"""Sharpness along the path: the top Hessian eigenvalue lambda_max at evenly spaced snapshots.

Cohen et al. (2021) found that full-batch gradient descent with step size
eta drives lambda_max up until it reaches 2/eta, the largest curvature at
which a step of that size is still stable on a quadratic, and then hovers
there: the edge of stability. :func:`sharpness_along` measures lambda_max
(the largest eigenvalue, by Lanczos, :mod:`lossfilm.training.curvature.lanczos`) at N
snapshots of a run, one Lanczos run each, started from the previous
snapshot's eigenvector, so its cost is linear in N;
:func:`stability_threshold` reads the threshold off the run's optimizer
settings. The landscape keeps both (``sharpness_steps``, ``sharpness``,
``settings["curvature"]``) and the renderer draws them.

Examples
--------
>>> stability_threshold({"optimizer": {"name": "sgd", "lr": 0.1}})["value"]
20.0
>>> stability_threshold({"optimizer": {"name": "adam", "lr": 0.001}}) is None
True
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm

from lossfilm.format.errors import ConfigError
from lossfilm.training.curvature.lanczos import top_eigenpairs
from lossfilm.training.landscape.plane import subsample_indices

POINTS = 30  # snapshots of the sharpness curve when asked without a number


def sharpness_along(trajectory, evaluation, points=POINTS, *, tol=1e-3, seed=0, progress=False):
    """lambda_max at ``points`` evenly spaced snapshots of ``trajectory`` (the first and last among them).

    Parameters
    ----------
    trajectory : Trajectory
    evaluation : Evaluation
        One whose ``hessian_at`` gives products (:mod:`lossfilm.training.landscape.evaluation`).
    points : int
        Snapshots (all of them if the trajectory has fewer).
    tol : float
        Lanczos' relative residual.
    seed : int
        Seeds the first Lanczos start.
    progress : bool
        A progress bar with ETA on stderr.

    Returns
    -------
    steps : ndarray, shape (n,) int64
        The optimizer step of each measured snapshot.
    values : ndarray, shape (n,) float64
        lambda_max there.
    record : dict
        JSON-able: products spent, how many converged, and the run's
        stability threshold (:func:`stability_threshold`, or None).

    Examples
    --------
    >>> from lossfilm.format.trajectory import Trajectory
    >>> from lossfilm.format.layout import ParamLayout
    >>> from lossfilm.training.landscape.evaluation import FunctionEvaluation
    >>> H = np.diag([4.0, 1.0])
    >>> run = Trajectory.from_snapshots([{"w": np.array([1.0, 1.0]) * 0.5 ** t} for t in range(5)])
    >>> quadratic = FunctionEvaluation(run.layout, lambda p: 0.5 * p["w"] @ H @ p["w"], grad_fn=lambda p: {"w": H @ p["w"]})
    >>> steps, values, _ = sharpness_along(run, quadratic, points=3)
    >>> steps.tolist(), values.round(4).tolist()
    ([0, 2, 4], [4.0, 4.0, 4.0])
    """
    keep = subsample_indices(len(trajectory), max(2, int(points)))
    values, products, converged, start = [], 0, 0, None
    bar = tqdm(keep, total=len(keep), disable=not progress, file=sys.stderr, unit="snapshot", desc="sharpness",
               dynamic_ncols=True)
    for t in bar:
        theta = np.asarray(trajectory.params[t], dtype=np.float64)
        hvp = evaluation.hessian_at(theta)
        if hvp is None:
            bar.close()
            raise ConfigError("sharpness: this loss has no Hessian-vector products (a 2-D function has no path "
                              "to measure it along)")
        pairs = top_eigenpairs(hvp, theta.size, k=1, tol=tol, which="largest",
                               seed=seed, start=start)
        values.append(float(pairs.values[0]))
        start = pairs.vectors[0]
        products += pairs.iterations
        converged += pairs.converged
    record = {"points": len(keep), "tol": float(tol), "products": int(products), "converged": int(converged),
              "threshold": stability_threshold(trajectory.settings)}
    return np.asarray(trajectory.steps)[keep].astype(np.int64), np.array(values), record


def stability_threshold(settings):
    """The largest lambda_max at which the run's optimizer is stable on a quadratic, or None where unknown.

    ``{"value": 2 / lr, "rule": "2/eta", ...}`` for SGD; heavy-ball momentum
    beta: ``(2 + 2 beta) / lr``; Nesterov: ``(2 + 2 beta) / ((1 + 2 beta) lr)``
    (Cohen et al. 2021, appendix). Adaptive optimizers (Adam, RMSprop) have
    no such fixed line (their preconditioned sharpness is what meets it), so
    None. The measured Hessian is of the loss alone: a run's weight decay
    ``wd`` adds ``wd`` to every eigenvalue of the objective it trained on.

    Examples
    --------
    >>> round(stability_threshold({"optimizer": {"name": "momentum", "lr": 0.05, "momentum": 0.9}})["value"], 9)
    76.0
    """
    optimizer = (settings or {}).get("optimizer")
    if not isinstance(optimizer, dict) or not optimizer.get("lr"):
        return None
    name, lr, beta = optimizer.get("name"), float(optimizer["lr"]), float(optimizer.get("momentum", 0.0))
    rules = {"sgd": (2.0 / lr, "2/eta"),
             "momentum": ((2.0 + 2.0 * beta) / lr, "(2+2 beta)/eta"),
             "nesterov": ((2.0 + 2.0 * beta) / ((1.0 + 2.0 * beta) * lr), "(2+2 beta)/((1+2 beta) eta)")}
    if name not in rules:
        return None
    value, rule = rules[name]
    return {"value": float(value), "rule": rule, "optimizer": name, "lr": lr,
            **({"momentum": beta} if name != "sgd" else {}),
            "weight_decay": float(optimizer.get("weight_decay", 0.0))}
