"""Two runs of the PyTorch CNN on one line: linear mode connectivity, with lossfilm.Landscape.between.

Trains the CNN of ``examples/pytorch_cnn.py`` twice (without BatchNorm: a
trajectory records parameters, not running statistics, so both ends of the
segment are then exactly each model's own loss), from one initialisation
and two orders of the minibatches by default (Frankle et al. 2020's
"stability to SGD noise"; ``--init-seeds 0 1`` starts them apart instead).
Then the loss along the straight segment from run A to run B, a quarter
beyond each end, its barrier (the highest loss on the segment minus the mean
of the two end losses), and both paths on the plane through A, B and A's
initial point:

    land = lossfilm.Landscape.between(run_a, run_b, loss_fn=TorchLoss(model_b, (X_test, y_test)))
    lossfilm.still(land, "line.png", scene="line")      # the segment and its barrier
    lossfilm.still(land, "surface.png", scene="race")   # both paths on one surface

Run it (about a minute on two cores, CPU only): ``python examples/pytorch_mode_connectivity.py``;
from the command line the same is ``lossfilm line A.npz B.npz --loss my_loss.py:LOSS``.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import torch

import lossfilm
import lossfilm.torch


def _cnn_example():
    """examples/pytorch_cnn.py, beside this file: its data, its CNN and its training loop."""
    spec = importlib.util.spec_from_file_location("pytorch_cnn", Path(__file__).with_name("pytorch_cnn.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    """Train two runs, make ``OUT/between.npz``, ``OUT/line.png`` and ``OUT/surface.png``; returns their paths."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4, help="epochs of training per run (43 steps each)")
    parser.add_argument("--init-seeds", type=int, nargs=2, default=[0, 0], metavar=("A", "B"),
                        help="seeds of each run's initial weights (the same: one shared initialisation)")
    parser.add_argument("--order-seeds", type=int, nargs=2, default=[0, 1], metavar=("A", "B"),
                        help="seeds of each run's minibatch order")
    parser.add_argument("--resolution", type=int, default=31, help="surface grid nodes per side")
    parser.add_argument("--samples", type=int, default=450, help="test images the loss averages (of 449: all)")
    parser.add_argument("--size", default="854x480", help="still size WxH")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads")
    parser.add_argument("--out", default="media/pytorch_two_runs", help="output folder (made if missing)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cnn = _cnn_example()
    X_train, y_train, X_test, y_test = cnn.load_digits_tensors()

    runs, models, names = [], [], []
    for label, init, order in zip("AB", args.init_seeds, args.order_seeds):
        torch.manual_seed(init)
        model = cnn.SmallCNN(batchnorm=False)
        optimizer = {"name": "momentum", "lr": 0.05, "momentum": 0.9}
        with lossfilm.Recorder(out / f"{label}.npz", settings={"example": "pytorch_mode_connectivity",
                                                                "optimizer": optimizer, "seed": init}) as rec:
            cnn.train(model, X_train, y_train, rec, epochs=args.epochs, lr=optimizer["lr"], seed=order)
        runs.append(rec.trajectory)
        models.append(model.eval())
        names.append(f"init {init}, order {order}")
        print(f"[{time.perf_counter() - started:5.1f}s] run {label} ({names[-1]}): {len(rec.trajectory)} snapshots")

    loss_fn = lossfilm.torch.TorchLoss(models[1], (X_test, y_test))
    landscape = lossfilm.Landscape.between(runs[0], runs[1], names=names, loss_fn=loss_fn,
                                           resolution=args.resolution, samples=args.samples)
    landscape.save(out / "between.npz")
    print(f"[{time.perf_counter() - started:5.1f}s] landscape {out / 'between.npz'}:")
    print(landscape.summary())
    lossfilm.still(landscape, out / "line.png", scene="line", size=args.size)
    lossfilm.still(landscape, out / "surface.png", scene="race", size=args.size)
    print(f"[{time.perf_counter() - started:5.1f}s] stills {out / 'line.png'}, {out / 'surface.png'}")
    return {"a": out / "A.npz", "b": out / "B.npz", "landscape": out / "between.npz", "line": out / "line.png",
            "surface": out / "surface.png", "barrier": landscape.settings["between"]["barrier"]}


if __name__ == "__main__":
    main()
