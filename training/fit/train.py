"""Training: minibatch descent of the MLP, every snapshot streamed into a trajectory.

One seed drives everything: ``rng = np.random.default_rng(config.seed)``
draws the initial weights, then the shuffle of every epoch, so the same
config and data give a byte-identical ``trajectory.npz``.

A trajectory's key hashes the config and the data's source, computed before
training; :func:`cache_action` decides from it whether an existing file can
be reused and :func:`cached_or_train` does the work (the pooch pattern).

Examples
--------
>>> import os, tempfile
>>> from lossfilm.training.fit.config import TrainConfig
>>> from lossfilm.training.data.datasets import load_data
>>> config = TrainConfig(epochs=1, record_every=5)
>>> data = load_data("digits", seed=config.seed)
>>> out = os.path.join(tempfile.mkdtemp(), "trajectory.npz")
>>> traj = train(config, data, out, progress=False)
>>> len(traj), traj.model["sizes"], int(traj.steps[-1])
(6, [64, 128, 10], 23)
>>> cache_action(out, trajectory_key(config, data.source))
'reuse'
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from lossfilm.format import artifact
from lossfilm.format.artifact import content_key
from lossfilm.format.budget import FLOPS, Cost, check_cost, free_disk
from lossfilm.format.errors import LossfilmError
from lossfilm.format.version import CODE_VERSIONS, __version__
from lossfilm.training.fit import mlp
from lossfilm.training.data.datasets import load_data
from lossfilm.training.fit.recorder import Recorder
from lossfilm.format.trajectory import KIND, SCHEMA_VERSION, Trajectory


# A run has diverged when a minibatch loss is NaN or inf, or above this many times the
# initial loss. NaN alone almost never comes: the log-softmax is stable and a too-large
# step kills the ReLUs, leaving a finite loss of 40 to 10^6. Healthy digits runs stay
# under 5x; every run we tried that went over 10x ended far below 90% test accuracy.
DIVERGENCE_FACTOR = 10.0


class TrainingDiverged(LossfilmError):
    """The loss blew up (see ``DIVERGENCE_FACTOR``); the finite part was saved.

    Attributes: ``step`` (the optimizer step where it happened), ``loss``,
    ``trajectory`` (the saved partial trajectory, ``diverged=True``),
    ``path``, ``lr``.
    """

    def __init__(self, step, loss, trajectory, path, lr):
        self.step, self.loss, self.trajectory, self.path, self.lr = step, loss, trajectory, Path(path), lr
        what = f"minibatch loss {loss:.3g}" if math.isfinite(loss) else "NaN or inf"
        super().__init__(
            f"training diverged at step {step} ({what}); try a smaller --lr "
            f"than {lr:g}; the partial trajectory ({len(trajectory)} snapshots) was saved to {path}")


def trajectory_key(config, source):
    """The content key of a run: its config (with the learning rate resolved) and data source."""
    lr = config.make_optimizer().lr  # lr=None and an explicit default lr make the same run
    settings = {"config": config.replace(lr=lr).to_dict(), "data": source,
                "schema_version": SCHEMA_VERSION, "code_version": CODE_VERSIONS["trajectory"]}
    return content_key(settings)


def cache_action(out_path, key, force=False):
    """Decide what to do about ``out_path``: ``"compute"``, ``"reuse"`` or ``"update"``.

    ``"reuse"`` only for a readable trajectory with the same key that did not
    diverge; ``"update"`` (train and overwrite) for anything else that exists,
    or when ``force``; ``"compute"`` when there is no file.

    >>> cache_action("no/such/trajectory.npz", "0123")
    'compute'
    """
    return artifact.cache_action(out_path, kind=KIND, schema_version=SCHEMA_VERSION, key=key, force=force,
                                 usable=_not_diverged)


def _not_diverged(header):
    """A diverged trajectory is never reused: the same settings would diverge again, so train anew."""
    return not header.get("diverged", False)


def cached_or_train(config, out_path, data=None, force=False, progress=True):
    """Reuse the trajectory at ``out_path`` if it has this run's key, else train.

    Parameters
    ----------
    config : TrainConfig
    out_path : path-like
    data : Dataset, optional
        Loaded from ``config`` when not given.
    force : bool
        Train even if the file could be reused.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    trajectory : Trajectory
    action : {"compute", "reuse", "update"}
    """
    if data is None:
        data = load_data(config.data, seed=config.seed, test_fraction=config.test_fraction)
    trajectory, action = artifact.reuse(out_path, Trajectory.load, kind=KIND, schema_version=SCHEMA_VERSION,
                                        key=trajectory_key(config, data.source), force=force, usable=_not_diverged)
    if trajectory is not None:
        return trajectory, action
    return train(config, data, out_path, progress=progress, force=force), action


STEP_SECONDS = 2e-3  # one small optimizer step with its recording (digits: 461 steps in 1.2 s)


def snapshot_count(total_steps, record_every):
    """How many snapshots a run of ``total_steps`` records: the initial one, every Nth step, and the final one.

    >>> snapshot_count(10, 1), snapshot_count(10, 3), snapshot_count(9, 3)
    (11, 5, 4)
    """
    return 1 + total_steps // record_every + (1 if total_steps % record_every else 0)


def check_training_cost(config, data, out_path, *, force=False):
    """Refuse, in one line, layer widths or an epoch count this machine cannot train or record in an hour.

    ``--hidden``: the parameters, gradients and optimizer state must fit in
    memory. ``--epochs``: the trajectory (4 bytes per parameter per
    snapshot, twice over while it is written) must fit on the output's disk,
    and the run must take less than an hour.
    """
    n_train = len(data.y_train)
    steps_per_epoch = math.ceil(n_train / config.batch_size)

    def parameters(hidden):
        sizes = [data.n_features, *hidden, data.n_classes]
        return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))

    def run_cost(hidden, epochs):
        P = parameters(hidden)
        snapshots = snapshot_count(epochs * steps_per_epoch, config.record_every)
        memory = 48 * P + 32 * config.batch_size * (data.n_features + sum(hidden) + data.n_classes)
        seconds = epochs * (6.0 * n_train * P / FLOPS + steps_per_epoch * STEP_SECONDS)
        return Cost(memory=memory, disk=8.0 * P * snapshots, seconds=seconds)

    widest = max(config.hidden)
    check_cost("--hidden", widest, lambda w: run_cost([min(h, w) for h in config.hidden], 1), force=force,
               seconds=float("inf"))
    disk = free_disk(out_path)
    check_cost("--epochs", config.epochs, lambda e: run_cost(config.hidden, e), force=force, disk=disk,
               hint=" (or fewer snapshots: --record-every)")


def train(config, data, out_path, progress=True, force=False):
    """Train the MLP on ``data`` and save its trajectory to ``out_path``.

    Parameters
    ----------
    config : TrainConfig
    data : Dataset
    out_path : path-like
        The ``trajectory.npz`` to write; its directory must exist.
    progress : bool
        Show a tqdm bar with ETA on stderr (loss, test accuracy).
    force : bool
        Train even what :func:`check_training_cost` refuses.

    Returns
    -------
    Trajectory
        The saved trajectory (``params`` memory-mapped from ``out_path``).

    Raises
    ------
    TrainingDiverged
        If a minibatch loss became NaN, inf or over ``DIVERGENCE_FACTOR``
        times the initial loss, or the parameters overflowed; the finite
        snapshots are saved first, marked ``diverged``.
    """
    check_training_cost(config, data, out_path, force=force)
    key = trajectory_key(config, data.source)  # before training: the cache can be checked without it
    rng = np.random.default_rng(config.seed)
    sizes = [data.n_features, *config.hidden, data.n_classes]
    params = mlp.init_params(sizes, rng, config.init)
    optimizer = config.make_optimizer()
    n_train = len(data.y_train)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    history = {name: [] for name in ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy")}

    def full_train_loss():
        return mlp.loss(params, data.X_train, data.y_train)

    def wants_eval(index):
        return config.eval_every > 0 and index % config.eval_every == 0

    step, diverged_at, last_recorded, batch_loss = 0, None, 0, full_train_loss()
    loss_ceiling = DIVERGENCE_FACTOR * batch_loss
    bar = tqdm(total=total_steps, desc="train", unit="step", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    model = {"sizes": sizes, "activation": "relu", "output": "softmax", "loss": "cross_entropy",
             "init": config.init}
    # what is known before training goes in now: an interrupted run's partial trajectory has it too
    known = {"config": config.to_dict(), "data": data.source, "seed": config.seed, "lossfilm_version": __version__}
    with Recorder(out_path, settings=known, model=model) as recorder, \
            bar, _one_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # the initial point's "minibatch loss" is its full-train loss: no step produced it
        recorder.record(params, step=0, epoch=0.0, loss=batch_loss,
                        train_loss=batch_loss if wants_eval(0) else np.nan)
        for epoch in range(config.epochs):
            order = rng.permutation(n_train)
            for start in range(0, n_train, config.batch_size):
                batch = order[start:start + config.batch_size]
                value, grads = mlp.loss_and_grads(params, data.X_train[batch], data.y_train[batch])
                if not value <= loss_ceiling:  # NaN fails too
                    diverged_at, bad_loss = step + 1, value
                    break
                optimizer.step(params, grads)
                step, batch_loss = step + 1, value
                bar.update(1)
                if progress:
                    bar.set_postfix_str(_postfix(batch_loss, history), refresh=False)
                if step % config.record_every and step != total_steps:
                    continue
                index = len(recorder)
                train_loss = full_train_loss() if wants_eval(index) else np.nan
                if not recorder.record(params, step=step, epoch=step / steps_per_epoch, loss=batch_loss,
                                       train_loss=train_loss):
                    diverged_at, bad_loss = step, np.nan  # the parameters overflowed
                    break
                last_recorded = step
            if diverged_at is not None:
                break
            _evaluate(params, data, epoch + 1, history)
            if progress:
                bar.set_postfix_str(_postfix(batch_loss, history))
        if diverged_at is not None and last_recorded != step:
            # the last point before the blow-up ends the film (refused if it is not finite)
            recorder.record(params, step=step, epoch=step / steps_per_epoch, loss=batch_loss)
        if config.eval_every > 0 and np.isnan(recorder.train_losses[-1]):
            recorder.set_train_loss(len(recorder) - 1, full_train_loss())
        settings = {  # added to what the recorder was given up front
            "optimizer": {"name": optimizer.name, **optimizer.hparams},
            "steps_per_epoch": steps_per_epoch,
            "steps": step,
            "final": _final(params, data, step, steps_per_epoch, history, diverged_at is not None),
            "history": history,
        }
        trajectory = recorder.finish(settings, key, diverged=diverged_at is not None)
    if diverged_at is not None:
        raise TrainingDiverged(diverged_at, bad_loss, trajectory, out_path, optimizer.lr)
    return trajectory


def _one_blas_thread():
    """Limit BLAS to one thread while training.

    A minibatch's matrices are small: threads cost more in hand-offs than they
    save, and on a busy machine OpenBLAS's spinning threads made runs 3-7x
    slower.
    """
    return threadpool_limits(limits=1, user_api="blas")


def _evaluate(params, data, epoch, history):
    """Append the end-of-epoch loss and accuracy on the train and test sets."""
    history["epoch"].append(epoch)
    for split, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test)):
        logits, _ = mlp.forward(params, X)  # (N, C)
        logp = mlp.log_softmax(logits)
        history[f"{split}_loss"].append(_finite(-logp[np.arange(len(y)), y].mean()))
        history[f"{split}_accuracy"].append(float((logits.argmax(axis=1) == y).mean()))


def _final(params, data, step, steps_per_epoch, history, diverged):
    """The metrics of the last point: the last epoch's, or measured now if the run was cut short."""
    if diverged or not history["epoch"]:
        history = {name: [] for name in history}
        _evaluate(params, data, step / steps_per_epoch, history)
    return {name: values[-1] for name, values in history.items()}


def _finite(value):
    """A float for JSON: NaN and inf become None (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _postfix(batch_loss, history):
    text = f"loss={batch_loss:.3f}"
    if history["test_accuracy"]:
        text += f", test acc={history['test_accuracy'][-1]:.1%}"
    return text
