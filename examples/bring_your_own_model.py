"""Bring your own model: your NumPy network, your training loop, lossfilm's film.

Everything above ``main()`` is what you already have: a forward pass, a loss,
a training loop that keeps a copy of the parameters (a dict of arrays, any
names) after every minibatch. lossfilm needs only that list and a function
that returns the loss for one such dict; ``main()`` turns them into a film
and a still in a few lines:

    trajectory = lossfilm.Trajectory.from_snapshots(history, losses=losses)
    landscape = lossfilm.Landscape.from_trajectory(trajectory, loss_fn=loss_fn, line=61)
    landscape.save("lossfilm-out/byom/landscape.npz")
    lossfilm.film("descent", landscape, "lossfilm-out/byom/film.mp4", size=(854, 480), fps=15)
    lossfilm.still(landscape, "lossfilm-out/byom/still.png", size=(854, 480))

The PCA plane uses every snapshot; the film's path keeps at most
``max_path`` of them (evenly spaced), so thousands of snapshots are fine.
``line=61`` adds the 1-D view: the loss along the straight line from the
first to the last snapshot. The saved landscape can be rendered again with
another scene or theme: ``lossfilm render orbit --landscape
lossfilm-out/byom/landscape.npz -o lossfilm-out/byom/orbit.mp4``.

Run it (about 10 s on two cores) after installing lossfilm (``pip install -e .``):
``python examples/bring_your_own_model.py`` (``--help`` for the settings).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import lossfilm


# ---- the user's own code: data, model, loss, training loop --------------------------------------------

def load_digits_data():
    """The 8x8 digits from scikit-learn, scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target


def init_params(rng, n_in, n_hidden, n_out):
    """A two-layer tanh network; the names are the user's choice."""
    return {"hidden.weight": rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_hidden)),
            "hidden.bias": np.zeros(n_hidden),
            "out.weight": rng.normal(0, 1 / np.sqrt(n_hidden), (n_hidden, n_out)),
            "out.bias": np.zeros(n_out)}


def forward(p, X):
    h = np.tanh(X @ p["hidden.weight"] + p["hidden.bias"])  # (N,D)@(D,H) -> (N,H)
    logits = h @ p["out.weight"] + p["out.bias"]  # (N,H)@(H,C) -> (N,C)
    logits = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return h, probs / probs.sum(axis=1, keepdims=True)


def cross_entropy(p, X, y):
    _, probs = forward(p, X)
    return float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())


def gradients(p, X, y):
    h, probs = forward(p, X)
    d_logits = probs.copy()
    d_logits[np.arange(len(y)), y] -= 1.0
    d_logits /= len(y)  # (B,C)
    d_h = (d_logits @ p["out.weight"].T) * (1.0 - h ** 2)  # (B,C)@(C,H) -> (B,H), tanh'
    return {"hidden.weight": X.T @ d_h, "hidden.bias": d_h.sum(axis=0),
            "out.weight": h.T @ d_logits, "out.bias": d_logits.sum(axis=0)}


def train(X, y, *, hidden=32, epochs=10, batch_size=32, lr=0.5, seed=0):
    """Minibatch SGD; a copy of the parameters after every minibatch, and the minibatch loss."""
    rng = np.random.default_rng(seed)
    params = init_params(rng, X.shape[1], hidden, int(y.max()) + 1)
    history = [{k: v.copy() for k, v in params.items()}]
    losses = [cross_entropy(params, X, y)]
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            batch = order[start:start + batch_size]
            grads = gradients(params, X[batch], y[batch])
            for name in params:
                params[name] -= lr * grads[name]
            history.append({k: v.copy() for k, v in params.items()})
            losses.append(cross_entropy(params, X[batch], y[batch]))
    return history, losses


# ---- lossfilm -----------------------------------------------------------------------------------------

def main(argv=None):
    """Train, then make ``OUT/landscape.npz``, ``OUT/film.mp4`` and ``OUT/still.png``; returns their paths."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10, help="epochs of training (23 snapshots each)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units")
    parser.add_argument("--samples", type=int, default=600, help="training images (of 1797)")
    parser.add_argument("--resolution", type=int, default=31, help="loss grid nodes per side")
    parser.add_argument("--size", default="854x480", help="film size WxH")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=6.0, help="film length")
    parser.add_argument("--out", default="lossfilm-out/byom", help="output folder (made if missing)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_digits_data()
    X, y = X[:args.samples], y[:args.samples]
    history, losses = train(X, y, hidden=args.hidden, epochs=args.epochs)
    print(f"[{time.perf_counter() - started:5.1f}s] trained: {len(history)} snapshots, "
          f"final minibatch loss {losses[-1]:.3f}")

    def loss_fn(params):  # lossfilm calls this with a dict like the ones in history
        return cross_entropy(params, X, y)

    def acc_fn(params):
        return float((forward(params, X)[1].argmax(axis=1) == y).mean())

    trajectory = lossfilm.Trajectory.from_snapshots(history, losses=losses)
    landscape = lossfilm.Landscape.from_trajectory(trajectory, loss_fn=loss_fn, acc_fn=acc_fn,
                                                   resolution=args.resolution, line=61)
    landscape.save(out / "landscape.npz")
    print(f"[{time.perf_counter() - started:5.1f}s] landscape {out / 'landscape.npz'}:")
    print(landscape.summary())

    summary = lossfilm.film("descent", landscape, out / "film.mp4", size=args.size, fps=args.fps,
                            seconds=args.seconds, progress=False)
    print(f"[{time.perf_counter() - started:5.1f}s] {summary}")
    lossfilm.still(landscape, out / "still.png", size=args.size, fps=args.fps, seconds=args.seconds)
    print(f"[{time.perf_counter() - started:5.1f}s] still {out / 'still.png'}")
    return {"landscape": out / "landscape.npz", "film": out / "film.mp4", "still": out / "still.png"}


if __name__ == "__main__":
    main()
