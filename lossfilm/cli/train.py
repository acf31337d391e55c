"""Train the from-scratch MLP and record its parameter trajectory.

Every optimizer step's parameters go into one trajectory.npz (4 bytes per
parameter per snapshot: use --record-every on big runs). A file made with
the same settings and data is reused unless --force is given.
Exit status 3 means the run diverged; the finite part is still saved.
"""

import argparse
from pathlib import Path

from lossfilm.format.declared.options import Option, add_argument
from lossfilm.format.declared.values import Path as PathKind
from lossfilm.training.fit.config import TRAIN_OPTIONS

DEFAULT_OUTPUT = "lossfilm-out/cache/trajectory.npz"  # lossfilm.cli.render.OUT_DIR: generated, not committed
DIVERGED = 3  # exit status of a run whose loss blew up
OUTPUT = Option("output", PathKind("a trajectory file to write", role="write", example="trajectory.npz"), DEFAULT_OUTPUT,
                "trajectory file to write", cli="-o", metavar="NPZ")
# rho, beta1, beta2 and eps are the Python API's (TrainConfig); the command line keeps each optimizer's usual value.
DECLARED = tuple(option for option in TRAIN_OPTIONS if option.name not in ("rho", "beta1", "beta2", "eps")) + (OUTPUT,)


def add_arguments(parser):
    for option in DECLARED:
        if option.name == "hidden":
            add_argument(parser, option, action=_AppendWidths, default=",".join(map(str, option.default)))
        elif option is OUTPUT:
            add_argument(parser, option, flags=("-o", "--output"))
        else:
            add_argument(parser, option)
    parser.add_argument("--force", action="store_true",
                        help="train even if the output has the same settings, and even a run the size check "
                             "refuses (over an hour, or more memory or disk than there is)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    import os
    import sys
    import time

    from lossfilm.format.safe_write import check_distinct, check_file_target
    from lossfilm.training.fit.config import TrainConfig
    from lossfilm.training.data.datasets import load_data
    from lossfilm.training.fit.train import TrainingDiverged, cached_or_train

    started = time.perf_counter()
    config = TrainConfig(
        data=args.data, hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
        init=args.init, record_every=args.record_every, eval_every=args.eval_every, seed=args.seed,
        test_fraction=args.test_fraction)
    output = Path(args.output)
    if output == Path(DEFAULT_OUTPUT):
        output.parent.mkdir(parents=True, exist_ok=True)  # our cache; a user's own directory must exist
    check_file_target(args.output, example="trajectory.npz")  # before the data loads and the run trains, not after
    # The trajectory and its broken-off sidecar are written; neither may be the data file read.
    check_distinct([output, output.with_name(f"{output.stem}.partial.npz")],
                   inputs=[args.data] if os.path.exists(args.data) else [])
    data = load_data(config.data, seed=config.seed, test_fraction=config.test_fraction)
    try:
        trajectory, action = cached_or_train(config, output, data=data, force=args.force,
                                             progress=not args.quiet)
    except TrainingDiverged as exc:
        print(f"lossfilm train: {exc}", file=sys.stderr)
        return DIVERGED
    print(_summary(trajectory, output, action, time.perf_counter() - started))
    return 0


def _summary(trajectory, output, action, seconds):
    """One line: what was written (or reused), how big, how good, how long."""
    T, P = trajectory.params.shape
    accuracy = trajectory.settings.get("final", {}).get("test_accuracy")
    verb = "reused" if action == "reuse" else "saved"
    hint = " (same settings; --force retrains)" if action == "reuse" else ""
    return (f"{verb} {output}{hint}: {T:,} snapshots x {P:,} parameters, "
            f"{_size(output.stat().st_size)}, test accuracy {accuracy:.1%}, {seconds:.1f} s")


def _size(n_bytes):
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000


class _AppendWidths(argparse.Action):
    """--hidden 128 --hidden 64 == --hidden 128,64; the first use replaces the default (read after parsing)."""

    def __call__(self, parser, namespace, values, option_string=None):
        current = getattr(namespace, self.dest)
        setattr(namespace, self.dest, values if current is self.default else f"{current},{values}")
