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


def declared():
    """The line command's options, declared once: its own, and the landscape's it shares (points, range, grid)."""
    from lossfilm.format.declared.options import Option
    from lossfilm.format.declared.values import Count, Numbers, Path, Text
    from lossfilm.training.adapters.user_loss import LOSS
    from lossfilm.training.grid_cluster import ENV, SCHEDULER
    from lossfilm.training.landscape.between import NAMES, RESOLUTION
    from lossfilm.training.landscape.segment import POINTS, RANGE
    from lossfilm.training.landscape.settings import GRID_WORKERS, LANDSCAPE_OPTIONS, MAX_LINE

    landscape = {option.name: option for option in LANDSCAPE_OPTIONS}
    trajectory = Path("a trajectory file to read", role="read")
    step = Count(0, what="an optimizer step of that run, a whole number of at least 0")
    return (
        Option("a", trajectory, None, "model A's trajectory (lossfilm train or lossfilm.Recorder)", cli="a",
               metavar="A.npz"),
        Option("b", trajectory, None, "model B's trajectory, with the same parameters", cli="b", metavar="B.npz"),
        Option("output", Path("a landscape file to write, ending in .npz", role="write", suffixes=(".npz",),
                              example="between.npz"), None,
               "landscape file to write (default: between.npz beside A)", optional=True, cli="-o", metavar="NPZ"),
        Option("a_step", step, None, "model A is A's snapshot at this optimizer step (default: its last)",
               optional=True, metavar="STEP"),
        Option("b_step", step, None, "model B is B's snapshot at this optimizer step (default: its last)",
               optional=True, metavar="STEP"),
        Option("names", Numbers(Text(40, what="a name"), 2), NAMES, "what to call the two models on screen",
               metavar=("NAME_A", "NAME_B")),
        LOSS.but(help="your model's loss: loss_fn(params_dict) -> float, or a lossfilm.torch.TorchLoss "
                      "(default: the built-in MLP's, on A's training data)"),
        landscape["line"].but(name="points", kind=Count(2, MAX_LINE), default=POINTS,
                              help="positions along the segment"),
        landscape["line_range"].but(name="t_range", default=RANGE, cli="--range", metavar=("T_MIN", "T_MAX"),
                                    help="where the positions run: 0 = A, 1 = B"),
        landscape["resolution"].but(default=RESOLUTION, help="surface grid nodes per side"),
        landscape["samples"].but(help="evaluate on a seeded subset of this many samples (0: all)"),
        landscape["seed"].but(help="seed of the sample subset"),
        GRID_WORKERS.but(help="threads for the built-in MLP's grid (default: all cores)"),
        SCHEDULER.but(help=f"evaluate the grid, the paths and the segment on this Dask cluster's workers "
                           f"(default: ${ENV}, else this process)"),
    )


def add_arguments(parser):
    from lossfilm.format.declared.options import add_argument

    options = declared()
    parser.set_defaults(declared=options)  # read and checked by their declarations (lossfilm.cli.main)
    for option in options:
        if option.name == "output":
            add_argument(parser, option, flags=("-o", "--output"))
        elif option.name in ("names", "t_range"):
            add_argument(parser, option, nargs=2)
        else:
            add_argument(parser, option)
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
    if out.resolve() in (Path(args.a).resolve(), Path(args.b).resolve()):
        raise ConfigError(f"-o {out}: is one of the trajectories; choose another file name")
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
