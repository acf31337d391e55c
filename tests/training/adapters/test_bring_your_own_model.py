"""The README's "bring your own model" path: a user's own NumPy network, snapshots and loss -> film and still."""

import imageio.v3 as iio
import numpy as np

from lossfilm.render.filming.film import FilmSpec

from lossfilm.scenes import scene_class
from lossfilm.render.filming.deliver import render_film, render_still
from lossfilm.training.landscape.pipeline import Landscape
from lossfilm.format.trajectory import Trajectory


def _users_training_run():
    """Written the way a user writes it: their own forward pass, their own names, a list of dicts."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)

    def forward(p, X):
        hidden = np.maximum(X @ p["W1"].T + p["b1"], 0)
        scores = hidden @ p["W2"].T + p["b2"]
        scores -= scores.max(axis=1, keepdims=True)
        return hidden, np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)

    def loss_fn(p):
        return float(-np.log(forward(p, X)[1][np.arange(len(y)), y]).mean())

    p = {"W1": rng.normal(0, 0.5, (8, 5)), "b1": np.zeros((1, 8)),
         "W2": rng.normal(0, 0.5, (2, 8)), "b2": np.zeros((1, 2))}
    history, losses = [], []
    for _ in range(80):
        history.append({k: v.copy() for k, v in p.items()})
        losses.append(loss_fn(p))
        hidden, probs = forward(p, X)
        d = probs.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        dh = (d @ p["W2"]) * (hidden > 0)
        grads = {"W2": d.T @ hidden, "b2": d.sum(0, keepdims=True), "W1": dh.T @ X, "b1": dh.sum(0, keepdims=True)}
        for k in p:
            p[k] -= 0.5 * grads[k]
    return history, losses, loss_fn


def test_users_snapshots_become_a_film_and_a_still(tmp_path):
    history, losses, loss_fn = _users_training_run()
    trajectory = Trajectory.from_snapshots(history, losses=losses)
    landscape = Landscape.from_trajectory(trajectory, loss_fn=loss_fn, resolution=11, progress=False)
    landscape.save(tmp_path / "landscape.npz")

    # the ball rides the surface: on-plane losses are the user's loss at the projected parameters
    last = landscape.plane.point(landscape.path_alpha[-1], landscape.path_beta[-1])
    assert np.isclose(landscape.path_loss_plane[-1], loss_fn(trajectory.layout.unflatten(last)), rtol=1e-4)
    assert landscape.path_loss_plane[-1] < landscape.path_loss_plane[0]

    # 320x240: in a smaller frame the on-screen labels' placement searches several times longer
    spec = FilmSpec(scene_class("descent"), str(tmp_path / "landscape.npz"), size=(320, 240), fps=5, seconds=2, supersample=1.0)
    render_film(spec, tmp_path / "film.mp4", progress=False)
    render_still(spec, tmp_path / "still.png")
    assert iio.imread(tmp_path / "film.mp4", plugin="FFMPEG").shape == (10, 240, 320, 3)
    still = iio.imread(tmp_path / "still.png")
    assert still.shape == (240, 320, 3) and still.std() > 10  # a picture, not a blank frame
