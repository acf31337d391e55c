"""An optimizer race: the same network trained from the same start by several optimizers, on one surface.

Each optimizer in --optimizers trains the MLP from the same initial weights,
seeing the minibatches in the same order (one --seed draws both), with its own
learning rate (the documented defaults of training.optimizers, all of which
converge on the digits data; --lr changes one). Every path is then projected
on ONE plane: its origin is the shared initial point, so every ball starts at
(0, 0), and its directions are the two leading principal directions of all
paths' snapshots together. One loss grid covers all paths, and the race scene
rolls a ball per optimizer down it on one clock of optimizer steps.

Writes OUT/race.mp4 (and OUT/race.gif with --gif) and the final state as
OUT/race.png. Each optimizer's trajectory is cached in OUT/cache/race/NAME.npz
and the common landscape in OUT/cache/race-landscape.npz: adding an optimizer
trains only that one (the plane and grid, which depend on every path, are
recomputed), and a new --theme or --option only renders again.

example: lossfilm race --optimizers sgd,momentum,rmsprop,adam --lr adam=0.002 --gif
"""

from __future__ import annotations

from lossfilm.commands.render import help_text
from render.quality import DEFAULT_QUALITY, GIF_FPS, GIF_WIDTH, QUALITIES

STILL_SIZE = "1280x720"


def add_arguments(parser):
    from render.theme import THEMES
    from training.race import PLANES, RACE_OPTIMIZERS

    presets = ", ".join(f"{q.name} {q.width}x{q.height}@{q.fps}" for q in QUALITIES.values())
    parser.add_argument("--optimizers", default=",".join(RACE_OPTIMIZERS), metavar="A,B,...",
                        help="the racers, comma-separated, from sgd, momentum, nesterov, rmsprop, adam")
    parser.add_argument("--lr", action="append", default=[], metavar="NAME=VALUE",
                        help=help_text("one racer's learning rate, e.g. --lr adam=0.002 (repeatable; "
                                       "default: each optimizer's own, see training/optimizers.py)"))
    parser.add_argument("--data", default="digits", metavar="DATA",
                        help="digits (bundled), mnist, or a directory of MNIST idx files")
    parser.add_argument("--epochs", type=int, default=20, help="epochs each optimizer trains")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, the shared initial weights and the shared shuffling")
    parser.add_argument("--plane", choices=list(PLANES), default="pca",
                        help="pca: principal plane of all paths, origin at the shared start; anchors: the "
                             "plane through the start and the first two optimizers' final points")
    parser.add_argument("--resolution", type=int, default=51, help="grid nodes per side")
    parser.add_argument("--out-dir", default="media", metavar="DIR",
                        help="where the film, GIF and still go (made if missing); the cache is DIR/cache")
    parser.add_argument("--scene", default="race", metavar="SCENE", help="the scene name or a .py scene file")
    parser.add_argument("--quality", choices=list(QUALITIES), default=DEFAULT_QUALITY,
                        help=f"film preset ({presets})")
    parser.add_argument("--theme", choices=list(THEMES), default="dark", help="colours and lights")
    parser.add_argument("--seconds", type=float, help=help_text("film length (default: the scene's own)"))
    parser.add_argument("--still-size", default=STILL_SIZE, metavar="WxH", help="size of the PNG still")
    parser.add_argument("--gif", action="store_true", help=help_text("also write OUT/race.gif"))
    parser.add_argument("--gif-width", type=int, default=GIF_WIDTH, metavar="PX", help="width of the GIF")
    parser.add_argument("--gif-fps", type=int, default=GIF_FPS, help="frame rate of the GIF")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="render in N processes")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help=help_text("a scene option, e.g. --option clock=linear (repeatable; default: none)"))
    parser.add_argument("--force", action="store_true", help=help_text("retrain every racer, recompute the landscape"))
    parser.add_argument("--quiet", action="store_true", help=help_text("no progress bars"))


def run(args):
    import time
    from pathlib import Path

    from lossfilm.commands.render import check_output, check_scene, parse_options
    from lossfilm.errors import ConfigError
    from render.film import FilmSpec
    from render.output import render_film, render_still
    from render.quality import parse_size
    from training.data import load_data
    from training.race import cached_race_landscape, parse_lrs, parse_optimizers, racer_config, train_racers

    started = time.perf_counter()
    optimizers = parse_optimizers(args.optimizers)
    lrs = parse_lrs(args.lr, optimizers)
    if args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: must be at least 1")
    if args.seconds is not None and not args.seconds > 0:
        raise ConfigError(f"--seconds {args.seconds}: must be positive")
    for name in optimizers:  # every racer's settings are checked before any trains
        racer_config(name, data=args.data, epochs=args.epochs, seed=args.seed, lr=lrs.get(name))
    check_scene(args.scene)
    still_size = parse_size(args.still_size, even=False, option="--still-size")
    options = parse_options(args.option)
    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():
        check_output(out_dir)  # its parent must exist and be writable
        out_dir.mkdir()
    check_output(out_dir / "race.mp4")
    cache = out_dir / "cache"
    cache.mkdir(exist_ok=True)
    progress = not args.quiet

    def step(text):
        print(f"[{time.perf_counter() - started:5.1f}s] {text}", flush=True)

    config = racer_config(optimizers[0], data=args.data, seed=args.seed)
    dataset = load_data(config.data, seed=config.seed, test_fraction=config.test_fraction)

    def report(name, trajectory, action, note):
        final = (trajectory.settings.get("final") or {}).get("test_accuracy")
        lr = (trajectory.settings.get("optimizer") or {}).get("lr")
        said = {"reuse": "reused (same settings)", "compute": "trained", "update": "retrained"}[action]
        accuracy = f", test accuracy {final:.1%}" if final is not None else ""
        step(f"{name:9s} lr {lr:g}: {said} ({len(trajectory)} snapshots{accuracy})" + (f"; {note}" if note else ""))

    racers = train_racers(optimizers, cache / "race", data=args.data, epochs=args.epochs, seed=args.seed, lrs=lrs,
                          dataset=dataset, force=args.force, progress=progress, report=report)
    landscape_path = cache / "race-landscape.npz"
    landscape, action = cached_race_landscape(racers, landscape_path, force=args.force, progress=progress,
                                              plane=args.plane, resolution=args.resolution, seed=args.seed)
    stats = landscape.settings["stats"]
    said = {"reuse": "reused (same paths and settings)", "compute": "computed", "update": "recomputed"}[action]
    step(f"landscape {landscape_path}: {said} ({len(landscape.alphas)}x{len(landscape.betas)} grid, "
         f"{landscape.axis_label(0)}, {landscape.axis_label(1)}; the plane holds {stats['captured']:.1%} of the "
         f"paths' squared distance from the start)")

    quality = QUALITIES[args.quality]
    spec = FilmSpec(scene=args.scene, landscape=str(landscape_path), size=quality.size, fps=quality.fps,
                    seconds=args.seconds, theme=args.theme, options=options)
    films = [out_dir / "race.mp4"] + ([out_dir / "race.gif"] if args.gif else [])
    for summary in render_film(spec, films, workers=args.workers, progress=progress, quality=args.quality,
                               gif_width=args.gif_width, gif_fps=args.gif_fps):
        step(str(summary))
    still = FilmSpec(scene=args.scene, landscape=spec.landscape, size=still_size, fps=spec.fps,
                     seconds=args.seconds, theme=args.theme, options=options)
    render_still(still, out_dir / "race.png")
    step(f"{out_dir / 'race.png'}: final state, {still_size[0]}x{still_size[1]}")
    return 0
