"""Project a trajectory on a plane and evaluate the loss grid around its path.

Reads a trajectory made by ``lossfilm train`` (or recorded from your own
loop with ``lossfilm.Recorder``: then ``--loss`` names your loss function),
picks a plane through the final parameters (PCA of the path by default),
evaluates the loss and accuracy on a square grid over it and along the path,
and writes a landscape file. A landscape with the same key (same trajectory
and settings) is reused, so re-rendering never recomputes the grid. An
interrupted run keeps its finished nodes in OUT's ``.partial.npz`` sidecar
and resumes from it.

With --directions hessian the plane is that of the two sharpest directions
at the final point (the top Hessian eigenvectors); --sharpness adds the top
eigenvalue along the path, for the line scene and the descent inset.

Example: lossfilm landscape lossfilm-out/cache/trajectory.npz -o lossfilm-out/cache/landscape.npz --vts
Your model: lossfilm landscape trajectory.npz --loss my_module:loss_fn
On a Dask cluster: lossfilm landscape trajectory.npz --scheduler tcp://HOST:8786
"""


from lossfilm.format.declared.options import Option, add_argument
from lossfilm.format.declared.values import Choice, Path
from lossfilm.training.adapters.user_loss import LOSS
from lossfilm.training.grid_cluster import ENV, SCHEDULER
from lossfilm.training.landscape.plane import DIRECTIONS
from lossfilm.training.landscape.settings import GRID_WORKERS, LANDSCAPE_OPTIONS

# The settings the command line sets (the others are the Python API's), by their declarations; --directions
# offers the planes of a network (a race's and a 2-D function's are made by their own commands).
SETTINGS = tuple(option.but(kind=Choice(DIRECTIONS)) if option.name == "directions_kind" else option
                 for option in LANDSCAPE_OPTIONS if option.name not in ("biases", "bias_names", "line", "line_range"))
WORKERS = GRID_WORKERS
# The files it reads and writes, and the code and cluster it uses, declared once (a missing trajectory is said where
# it is read).
TRAJECTORY = Option("trajectory", Path("a trajectory file to read", role="read"), None,
                    "trajectory file written by 'lossfilm train' or lossfilm.Recorder", cli="trajectory",
                    metavar="TRAJECTORY")
OUTPUT = Option("output", Path("a landscape file to write, ending in .npz", role="write", suffixes=(".npz",),
                                 example="landscape.npz"), None,
                "landscape file to write (default: landscape.npz beside the trajectory)", optional=True, cli="-o",
                metavar="NPZ")
SCHEDULER_OPTION = SCHEDULER.but(help=f"evaluate the grid on this Dask cluster's workers (pip install "
                                      f"'lossfilm[distributed]'; default: ${ENV}, else this process)")
DECLARED = SETTINGS + (WORKERS, TRAJECTORY, OUTPUT, LOSS, SCHEDULER_OPTION)

# "%(default).0s" prints nothing; its presence stops ArgumentDefaultsHelpFormatter from
# appending "(default: None)" where the help already says what the default is.
_SAID = "%(default).0s"


def add_arguments(parser):
    from lossfilm.training.curvature.sharpness import POINTS as SHARPNESS_POINTS

    add_argument(parser, TRAJECTORY)
    add_argument(parser, LOSS)
    add_argument(parser, OUTPUT, flags=("-o", "--output"))
    for option in SETTINGS:
        if option.name == "anchors":
            add_argument(parser, option, nargs=3)
        elif option.name == "grid_range":
            add_argument(parser, option, nargs=4)
        elif option.name == "sharpness":
            add_argument(parser, option, nargs="?", const=str(SHARPNESS_POINTS),
                         help=f"{option.help}; N {SHARPNESS_POINTS} if not given ({option.takes()})" + _SAID)
        else:
            add_argument(parser, option)
    add_argument(parser, WORKERS)
    add_argument(parser, SCHEDULER_OPTION)
    parser.add_argument("--vts", action="store_true", help="also write OUT.vts (ParaView)" + _SAID)
    parser.add_argument("--obj", action="store_true", help="also write OUT.obj (the visible surface)" + _SAID)
    parser.add_argument("--log-z", action="store_true", help="exported heights are log10(loss)" + _SAID)
    parser.add_argument("--force", action="store_true",
                        help="recompute even if OUT has the same key, and evaluate even a grid the size check "
                             "refuses (over an hour, or more memory than there is)" + _SAID)
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary" + _SAID)
    return parser


def run(args):
    import sys
    import time
    from pathlib import Path

    from lossfilm.format.errors import ConfigError, DataError
    from lossfilm.format.safe_write import check_distinct
    from lossfilm.training.grid_cluster import connect, scheduler_address
    from lossfilm.training.landscape.pipeline import cached_or_compute, checkpoint_path_for
    from lossfilm.format.trajectory import Trajectory

    started = time.time()
    out = Path(args.output) if args.output else Path(args.trajectory).with_name("landscape.npz")
    # The landscape, its unfinished-nodes sidecar and the exports are written; none may be the trajectory.
    writes = [out, checkpoint_path_for(out)] + [out.with_suffix(s) for s, on in ((".vts", args.vts),
                                                                                 (".obj", args.obj)) if on]
    check_distinct(writes, inputs=[args.trajectory])
    trajectory = Trajectory.load(args.trajectory)
    loss_fn = None
    if args.loss is not None:
        from lossfilm.training.adapters.user_loss import load_loss

        loss_fn = load_loss(args.loss)
    elif trajectory.model is None:
        raise ConfigError(f"{args.trajectory}: has no model spec (it was recorded from your own model); "
                          "name your loss function with --loss my_module:loss_fn")
    earlier = _made_from(out)
    address = scheduler_address(args.scheduler)
    client = connect(address) if address else None
    try:
        landscape, action = cached_or_compute(
            trajectory, out, loss_fn=loss_fn, force=args.force, progress=not args.quiet, workers=args.workers,
            executor=client, **{option.name: getattr(args, option.name) for option in SETTINGS})
    except DataError as exc:
        # The plane's complaints (one snapshot, no variance, NaN) are about this trajectory: name it.
        if str(args.trajectory) in str(exc):
            raise
        raise DataError(f"{args.trajectory}: {exc}") from exc
    except KeyboardInterrupt as exc:
        kept = _nodes_kept(checkpoint_path_for(out), since=started)
        raise type(exc)(kept or str(exc)) from None
    finally:
        if client is not None:
            client.close()
    reused = action == "reuse"
    exports = []
    if args.vts or args.obj:
        from lossfilm.render.elements.mesh import export_obj, export_vts

        if args.vts:
            export_vts(landscape, out.with_suffix(".vts"), log_z=args.log_z)
            exports.append(out.with_suffix(".vts"))
        if args.obj:
            export_obj(landscape, out.with_suffix(".obj"), log_z=args.log_z)
            exports.append(out.with_suffix(".obj"))
    if not args.quiet:
        state = "reused (same key; --force recomputes)" if reused else "written"
        if earlier is not None and earlier != trajectory.key:
            # Never silently: the file there was another run's surface, and is replaced.
            state = f"recomputed and replaced (the earlier {out.name} was made from another trajectory)"
        print(f"landscape {out} {state}, key {landscape.key}")
        print(landscape.summary())
        for path in exports:
            print(f"export  {path}")
    sys.stdout.flush()
    return 0


def _made_from(path):
    """The trajectory key of the landscape already at ``path``, or None (no readable landscape there)."""
    from lossfilm.format.artifact import read_header
    from lossfilm.format.errors import ArtifactError

    try:
        header = read_header(path)
    except ArtifactError:
        return None
    return header.get("trajectory_key") if header.get("kind") == "landscape" else None


def _nodes_kept(sidecar, since):
    """``"N of M grid nodes are kept in SIDECAR; ..."`` if this run saved its partial grid there, else ""."""
    from lossfilm.format.errors import ArtifactError
    from lossfilm.training.landscape.pipeline import Landscape

    try:
        if sidecar.stat().st_mtime < since:
            return ""  # an older run's sidecar: this one was interrupted before its grid began
        partial = Landscape.load(sidecar)
    except (OSError, ArtifactError):
        return ""
    return (f"{int(partial.computed.sum())} of {partial.computed.size} grid nodes are kept in {sidecar}; "
            "the same command resumes from there")
