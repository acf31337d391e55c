"""Small landscapes made up for the viewer's tests and bench (deterministic, no training; not a test)."""

from __future__ import annotations

import dataclasses

import numpy as np

from lossfilm.format.landscape import Landscape


def bowl(*, resolution=31, snapshots=80, accuracy=True, sharpness=False):
    """An anisotropic bowl with a path spiralling into its minimum, as the film's tests use."""
    alphas = np.linspace(-1.0, 1.0, resolution)
    betas = np.linspace(-0.8, 0.8, resolution)
    A, B = np.meshgrid(alphas, betas, indexing="ij")  # (R1, R2)

    def loss_at(a, b):
        return 0.05 + 1.6 * (a - 0.1) ** 2 + 4.0 * (b + 0.05) ** 2

    loss = loss_at(A, B)
    t = np.linspace(0.0, 1.0, snapshots)
    radius = 0.85 * (1 - t) ** 1.5
    angle = 5.0 * t
    path_alpha = 0.1 + radius * np.cos(angle)
    path_beta = -0.05 + 0.7 * radius * np.sin(angle)
    plane = loss_at(path_alpha, path_beta)
    steps = np.round(2000 * t ** 2).astype(np.int64) + np.arange(snapshots)  # increasing, denser early
    extra = {}
    if sharpness:
        extra = {"sharpness_steps": steps[::10], "sharpness": 2.0 + np.linspace(0, 8, len(steps[::10]))}
    return Landscape(
        alphas=alphas, betas=betas, loss=loss,
        accuracy=1.0 - loss / 10 if accuracy else np.full(loss.shape, np.nan),
        computed=np.ones(loss.shape, bool), origin=np.zeros(4, np.float32), directions=np.eye(2, 4, dtype=np.float32),
        path_alpha=path_alpha, path_beta=path_beta, path_loss_plane=plane, path_loss_true=1.1 * plane,
        path_accuracy=(1.0 - plane / 10) if accuracy else np.full(snapshots, np.nan), residuals=np.zeros(snapshots),
        path_steps=steps, path_epochs=steps / 64.0, explained_variance=np.array([0.712, 0.2]),
        settings={"optimizer": "sgd", "lr": 0.1, "data": "digits", "hidden": [32]}, **extra)


def race(*, resolution=41, snapshots=60):
    """Two racers on the bowl: "sgd" every step, "adam" every other step, from one start."""
    land = bowl(resolution=resolution, snapshots=snapshots)
    second = bowl(resolution=resolution, snapshots=snapshots // 2)
    second_alpha = 0.1 + (second.path_alpha - 0.1) * 0.6
    joined = {}
    for name in ("path_alpha", "path_beta", "path_loss_plane", "path_loss_true", "path_accuracy", "residuals",
                 "path_steps", "path_epochs"):
        joined[name] = np.concatenate([getattr(land, name), getattr(second, name)])
    joined["path_alpha"][snapshots:] = second_alpha
    joined["path_steps"][snapshots:] = land.path_steps[::2][:snapshots // 2]
    owner = np.r_[np.zeros(snapshots, np.int64), np.ones(snapshots // 2, np.int64)]
    return dataclasses.replace(land, **joined, path_owner=owner, path_names=("sgd", "adam"))


def without_path(resolution=31):
    land = bowl(resolution=resolution)
    empty = {name: getattr(land, name)[:0] for name in (
        "path_alpha", "path_beta", "path_loss_plane", "path_loss_true", "path_accuracy", "residuals", "path_steps",
        "path_epochs")}
    return dataclasses.replace(land, **empty, path_owner=np.zeros(0, np.int64))


def with_holes(resolution=41):
    """NaN nodes where the loss exploded: a corner and a hole in the middle of a slope."""
    land = bowl(resolution=resolution)
    loss = land.loss.copy()
    loss[-8:, -8:] = np.nan
    loss[5:9, 20:26] = np.nan
    return dataclasses.replace(land, loss=loss)


def flat(resolution=21):
    land = bowl(resolution=resolution)
    return dataclasses.replace(land, loss=np.full_like(land.loss, 0.7), path_loss_plane=np.full(80, 0.7),
                               path_loss_true=np.full(80, 0.7))
