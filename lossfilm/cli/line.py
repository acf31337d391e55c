"""Two models on one line: the loss along the straight segment between two trained networks.

Reads two trajectories (two seeds, two optimizers, before and after
fine-tuning) and evaluates the loss, and the accuracy where known, along
the segment from model A (t = 0) to model B (t = 1), a little beyond both
ends (Frankle et al. 2020's linear mode connectivity). It prints the
barrier: the highest loss on the segment minus the mean of the two end
losses (near 0: one basin, linearly connected). A and B are each run's last
snapshot, or the snapshot of --a-step/--b-step.

It writes a landscape file: the segment, and both runs' paths on one surface,
the plane through A, B and A's initial point (the shared initialisation
when both started there). Film it with the line scene (the segment and its
barrier) or the race scene (both paths on the surface).

Example:
  lossfilm line runA/trajectory.npz runB/trajectory.npz -o between.npz --names "seed 0" "seed 1"
  lossfilm still line --landscape between.npz -o mode_connectivity.png
Your model: lossfilm line a.npz b.npz --loss my_module:LOSS (a loss_fn or a lossfilm.torch.TorchLoss)
"""

_SAID = "%(default).0s"  # stops ArgumentDefaultsHelpFormatter from adding "(default: None)"


def add_arguments(parser):
    from lossfilm.format.declared.options import add_argument
    from lossfilm.training.adapters.user_loss import LOSS
    from lossfilm.training.grid_cluster import ENV, SCHEDULER
    from lossfilm.training.landscape.between import NAMES, RESOLUTION
    from lossfilm.training.landscape.segment import POINTS, RANGE
    from lossfilm.training.landscape.settings import DEFAULTS

    parser.add_argument("a", metavar="A.npz", help="model A's trajectory (lossfilm train or lossfilm.Recorder)")
    parser.add_argument("b", metavar="B.npz", help="model B's trajectory, with the same parameters")
    parser.add_argument("-o", "--output", default=None,
                        help="landscape file to write (default: between.npz beside A)" + _SAID)
    parser.add_argument("--a-step", type=int, default=None, metavar="STEP",
                        help="model A is A's snapshot at this optimizer step (default: its last)" + _SAID)
    parser.add_argument("--b-step", type=int, default=None, metavar="STEP",
                        help="model B is B's snapshot at this optimizer step (default: its last)" + _SAID)
    parser.add_argument("--names", nargs=2, default=list(NAMES), metavar=("NAME_A", "NAME_B"),
                        help="what to call the two models on screen")
    loss = LOSS.but(help="your model's loss: loss_fn(params_dict) -> float, or a lossfilm.torch.TorchLoss "
                         "(default: the built-in MLP's, on A's training data)")
    scheduler = SCHEDULER.but(help=f"evaluate the grid, the paths and the segment on this Dask cluster's workers "
                                   f"(default: ${ENV}, else this process)")
    parser.set_defaults(declared=(loss, scheduler))  # read and checked by their declarations (lossfilm.cli.main)
    add_argument(parser, loss)
    parser.add_argument("--points", type=int, default=POINTS, help="positions along the segment")
    parser.add_argument("--range", nargs=2, type=float, default=list(RANGE), dest="t_range",
                        metavar=("T_MIN", "T_MAX"), help="where the positions run: 0 = A, 1 = B")
    parser.add_argument("--resolution", type=int, default=RESOLUTION, help="surface grid nodes per side")
    parser.add_argument("--samples", type=int, default=DEFAULTS["samples"],
                        help="evaluate on a seeded subset of this many samples (0: all)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed of the sample subset")
    parser.add_argument("--workers", type=int, default=None,
                        help="threads for the built-in MLP's grid (default: all cores)" + _SAID)
    add_argument(parser, scheduler)
    parser.add_argument("--force", action="store_true",
                        help="recompute even if OUT has the same key, and evaluate even a grid the size check "
                             "refuses" + _SAID)
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary" + _SAID)
    return parser


def run(args):
    import sys
    from pathlib import Path

    from lossfilm.format.errors import ConfigError
    from lossfilm.format.trajectory import Trajectory
    from lossfilm.training.grid_cluster import connect, scheduler_address
    from lossfilm.training.landscape.between import cached_between

    a, b = Trajectory.load(args.a), Trajectory.load(args.b)
    out = Path(args.output) if args.output else Path(args.a).with_name("between.npz")
    if out.suffix != ".npz":
        raise ConfigError(f"-o {out}: the landscape file name must end in .npz")
    if out.resolve() in (Path(args.a).resolve(), Path(args.b).resolve()):
        raise ConfigError(f"-o {out}: is one of the trajectories; choose another file name")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: must be at least 1")
    loss_fn = None
    if args.loss is not None:
        from lossfilm.training.adapters.user_loss import load_loss

        loss_fn = load_loss(args.loss)
    elif a.model is None:
        raise ConfigError(f"{args.a}: has no model spec (it was recorded from your own model); "
                          "name your loss function with --loss my_module:loss_fn")
    address = scheduler_address(args.scheduler)
    client = connect(address) if address else None
    try:
        landscape, action = cached_between(
            a, b, out, force=args.force, progress=not args.quiet, names=args.names, a_step=args.a_step,
            b_step=args.b_step, loss_fn=loss_fn, points=args.points, t_range=tuple(args.t_range), executor=client,
            workers=args.workers, resolution=args.resolution, samples=args.samples, seed=args.seed)
    finally:
        if client is not None:
            client.close()
    if not args.quiet:
        state = "reused (same key; --force recomputes)" if action == "reuse" else "written"
        print(f"landscape {out} {state}, key {landscape.key}")
        print(landscape.summary())
    sys.stdout.flush()
    return 0
