"""The whole pipeline on the bundled digits data: train, landscape, film.

Trains the default 64-128-10 MLP with SGD on scikit-learn's 8x8 digits,
evaluates the loss on the PCA plane of its path, and renders the descent
scene to OUT/descent.mp4, OUT/descent.gif (one render feeds both) and the
final state to OUT/descent.png. The trajectory and the landscape are cached
in OUT/cache/ and reused when their settings are unchanged: a second run
with only a new --theme or camera option renders again and recomputes
nothing.

example: lossfilm demo --theme light --option camera=top
"""

from __future__ import annotations

from lossfilm.commands.render import help_text
from render.quality import DEFAULT_QUALITY, GIF_FPS, GIF_WIDTH, QUALITIES

STILL_SIZE = "1280x720"


def add_arguments(parser):
    from render.theme import THEMES

    presets = ", ".join(f"{q.name} {q.width}x{q.height}@{q.fps}" for q in QUALITIES.values())
    parser.add_argument("--out-dir", default="media", metavar="DIR",
                        help="where the film, GIF and still go (made if missing); the cache is DIR/cache")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the shuffling")
    parser.add_argument("--quality", choices=list(QUALITIES), default=DEFAULT_QUALITY,
                        help=f"film preset ({presets})")
    parser.add_argument("--theme", choices=list(THEMES), default="dark", help="colours and lights")
    parser.add_argument("--seconds", type=float, help=help_text("film length (default: the scene's own)"))
    parser.add_argument("--still-size", default=STILL_SIZE, metavar="WxH", help="size of the PNG still")
    parser.add_argument("--gif-width", type=int, default=GIF_WIDTH, metavar="PX", help="width of the GIF")
    parser.add_argument("--gif-fps", type=int, default=GIF_FPS, help="frame rate of the GIF")
    parser.add_argument("--no-gif", dest="gif", action="store_false", help=help_text("skip the GIF"))
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="render in N processes")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help=help_text("a scene option, e.g. --option camera=top (repeatable; default: none)"))
    parser.add_argument("--force", action="store_true", help=help_text("retrain and recompute the landscape"))
    parser.add_argument("--quiet", action="store_true", help=help_text("no progress bars"))


def run(args):
    import time
    from pathlib import Path

    from lossfilm.commands.render import check_output, parse_options
    from lossfilm.errors import ConfigError
    from render.film import FilmSpec
    from render.output import render_film, render_still
    from render.quality import parse_size
    from training.config import TrainConfig
    from training.landscape import cached_or_compute
    from training.train import cached_or_train

    started = time.perf_counter()
    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():
        check_output(out_dir)  # its parent must exist and be writable
        out_dir.mkdir()
    check_output(out_dir / "descent.mp4")
    if args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: must be at least 1")
    if args.seconds is not None and not args.seconds > 0:
        raise ConfigError(f"--seconds {args.seconds}: must be positive")
    still_size = parse_size(args.still_size, even=False, option="--still-size")
    options = parse_options(args.option)
    cache = out_dir / "cache"
    cache.mkdir(exist_ok=True)
    progress = not args.quiet

    def step(text):
        print(f"[{time.perf_counter() - started:5.1f}s] {text}", flush=True)

    config = TrainConfig(seed=args.seed)
    trajectory, action = cached_or_train(config, cache / "trajectory.npz", force=args.force, progress=progress)
    step(f"trajectory {cache / 'trajectory.npz'}: {_said(action)} ({len(trajectory)} snapshots, "
         f"test accuracy {trajectory.settings.get('final', {}).get('test_accuracy', float('nan')):.1%})")
    landscape, action = cached_or_compute(trajectory, cache / "landscape.npz", force=args.force,
                                          progress=progress, seed=args.seed)
    step(f"landscape {cache / 'landscape.npz'}: {_said(action)} "
         f"({len(landscape.alphas)}x{len(landscape.betas)} grid, "
         f"{landscape.axis_label(0)}, {landscape.axis_label(1)})")

    quality = QUALITIES[args.quality]
    spec = FilmSpec(scene="descent", landscape=str(cache / "landscape.npz"), size=quality.size, fps=quality.fps,
                    seconds=args.seconds, theme=args.theme, options=options)
    films = [out_dir / "descent.mp4"] + ([out_dir / "descent.gif"] if args.gif else [])
    for summary in render_film(spec, films, workers=args.workers, progress=progress, quality=args.quality,
                               gif_width=args.gif_width, gif_fps=args.gif_fps):
        step(str(summary))
    still = FilmSpec(scene="descent", landscape=spec.landscape, size=still_size, fps=spec.fps,
                     seconds=args.seconds, theme=args.theme, options=options)
    render_still(still, out_dir / "descent.png")
    step(f"{out_dir / 'descent.png'}: final state, {still_size[0]}x{still_size[1]}")
    return 0


def _said(action):
    return {"reuse": "reused (same settings)", "compute": "computed", "update": "recomputed"}[action]
