"""A PyTorch CNN on the digits, recorded with lossfilm.Recorder and filmed with lossfilm.torch.

Everything above ``main()`` is ordinary PyTorch: a small CNN (two
convolutions and one linear layer, with BatchNorm), the 8x8 digits bundled
with scikit-learn, an SGD loop. lossfilm adds three lines to the loop and
three after it:

    with lossfilm.Recorder(out / "trajectory.npz") as rec:        # streams to disk, any length
        for step ...:
            ...                                                    # your training step
            rec.record(model, loss=loss.item(), step=step)         # the module itself
    loss_fn = lossfilm.torch.TorchLoss(model, (X_test, y_test))    # the model's loss at any point
    landscape = lossfilm.Landscape.from_trajectory(rec.trajectory, loss_fn=loss_fn, line=61)
    lossfilm.film("descent", landscape, out / "film.mp4")

It also measures the sharpness (the top Hessian eigenvalue, by exact
Hessian-vector products of the model) at ``--sharpness`` snapshots and
draws it beside the optimizer's stability line (``OUT/sharpness.png``).

BatchNorm's running statistics are buffers: not recorded, held at their
final values while the grid is evaluated (in eval mode). The random plane
leaves biases and BatchNorm parameters put, as Li et al.'s
``ignore='biasbn'``. From the command line, ``lossfilm landscape
OUT/trajectory.npz --loss my_loss.py:LOSS`` takes a ``TorchLoss`` that
``my_loss.py`` builds at its top level from the saved model
(``tests/test_torch.py`` has one); here ``main()`` does it in Python.

Run it (under a minute on two cores, CPU only) after ``pip install -e '.[torch]'``:
``python examples/pytorch_cnn.py`` (``--help`` for the settings).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import lossfilm
import lossfilm.torch


# ---- the user's own code: data, model, training loop ----------------------------------------------------

def load_digits_tensors(seed=0, test_fraction=0.25):
    """The 8x8 digits as (N, 1, 8, 8) float32 images in [0, 1] and int64 labels, split train/test."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = torch.tensor(digits.images[:, None] / 16.0, dtype=torch.float32)  # (1797,1,8,8)
    y = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    test = int(len(y) * test_fraction)
    return X[order[test:]], y[order[test:]], X[order[:test]], y[order[:test]]


class SmallCNN(torch.nn.Module):
    """conv(1->8) + BatchNorm + ReLU + pool, conv(8->16) + ReLU + pool, linear(64->10): 1,914 parameters."""

    def __init__(self, batchnorm=True):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8) if batchnorm else torch.nn.Identity()  # Identity: 1,898 parameters
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.fc = torch.nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)  # (N,8,4,4)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)  # (N,16,2,2)
        return self.fc(x.flatten(1))  # (N,10)


def train(model, X, y, rec, *, epochs, batch_size=32, lr=0.05, seed=0):
    """Minibatch SGD with momentum; every step goes to the recorder."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    step = 0
    rec.record(model, loss=torch.nn.functional.cross_entropy(model(X), y).item(), step=0)
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), batch_size):
            batch = order[start:start + batch_size]
            loss = torch.nn.functional.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            rec.record(model, loss=loss.item(), step=step)


# ---- lossfilm -----------------------------------------------------------------------------------------

def main(argv=None):
    """Train and record, then make ``OUT/landscape.npz``, ``OUT/film.mp4`` and ``OUT/still.png``; returns their paths."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4, help="epochs of training (43 steps each)")
    parser.add_argument("--resolution", type=int, default=31, help="loss grid nodes per side")
    parser.add_argument("--samples", type=int, default=450, help="test images the loss averages (of 449: all)")
    parser.add_argument("--directions", default="pca", help="plane: pca, random or anchors")
    parser.add_argument("--sharpness", type=int, default=8,
                        help="snapshots at which to measure the top Hessian eigenvalue (0: none)")
    parser.add_argument("--size", default="854x480", help="film size WxH")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=6.0, help="film length")
    # One thread: these convolutions are small, and on a busy 2-core machine two PyTorch threads waiting
    # for each other made a forward pass 20-30x slower here (16 vs 390 passes/s on 449 digits).
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads")
    parser.add_argument("--out", default="lossfilm-out/pytorch_cnn", help="output folder (made if missing)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X_train, y_train, X_test, y_test = load_digits_tensors()
    model = SmallCNN()
    # the optimizer, recorded in the settings: the sharpness plot draws its stability line from it
    optimizer = {"name": "momentum", "lr": 0.05, "momentum": 0.9}
    with lossfilm.Recorder(out / "trajectory.npz", settings={"example": "pytorch_cnn", "optimizer": optimizer}) as rec:
        train(model, X_train, y_train, rec, epochs=args.epochs, lr=optimizer["lr"])
    trajectory = rec.trajectory
    model.eval()
    with torch.no_grad():
        accuracy = (model(X_test).argmax(1) == y_test).float().mean().item()
    print(f"[{time.perf_counter() - started:5.1f}s] trained and recorded: {len(trajectory)} snapshots of "
          f"{trajectory.layout.size:,} parameters, test accuracy {accuracy:.1%}")

    loss_fn = lossfilm.torch.TorchLoss(model, (X_test, y_test))
    landscape = lossfilm.Landscape.from_trajectory(trajectory, loss_fn=loss_fn, directions_kind=args.directions,
                                                   resolution=args.resolution, samples=args.samples, line=61,
                                                   sharpness=args.sharpness)
    landscape.save(out / "landscape.npz")
    print(f"[{time.perf_counter() - started:5.1f}s] landscape {out / 'landscape.npz'}:")
    print(landscape.summary())

    summary = lossfilm.film("descent", landscape, out / "film.mp4", size=args.size, fps=args.fps,
                            seconds=args.seconds, progress=False)
    print(f"[{time.perf_counter() - started:5.1f}s] {summary}")
    lossfilm.still(landscape, out / "still.png", size=args.size, fps=args.fps, seconds=args.seconds)
    print(f"[{time.perf_counter() - started:5.1f}s] still {out / 'still.png'}")
    outputs = {"trajectory": out / "trajectory.npz", "landscape": out / "landscape.npz", "film": out / "film.mp4",
               "still": out / "still.png", "accuracy": accuracy}
    if args.sharpness:
        # the top Hessian eigenvalue along the run beside SGD-with-momentum's stability line, (2 + 2 beta) / eta
        lossfilm.still(landscape, out / "sharpness.png", scene="line", size=args.size, options={"plot": "sharpness"})
        print(f"[{time.perf_counter() - started:5.1f}s] sharpness still {out / 'sharpness.png'}")
        outputs["sharpness"] = out / "sharpness.png"
    return outputs


if __name__ == "__main__":
    main()
