"""Optimizers racing on a classic 2-D test function, or on your own formula.

The functions: rosenbrock, himmelblau, rastrigin, beale, saddle (x^2 - y^2)
and bowl (a quadratic of --condition number). Each optimizer runs on the
function itself, with the same update code as training and the function's
analytic gradient, from one start (each function has a default that shows
their differences) with a learning rate that suits it (--lr changes one).
The paths are exact, not projections. A run that diverges, or leaves the
drawn domain, ends at its last good point and is reported.

Your own function: --expr with x and y, arithmetic and NumPy functions
(sin, exp, sqrt, ...), e.g. --expr "(1-x)**2 + 100*(y-x**2)**2"
--domain -2,2,-1,3 --start -1.5,2; its gradient is taken by central
differences. Nothing else is evaluated: names, attributes and calls outside
that list are refused.

Writes OUT/classic-NAME.mp4 (and .gif with --gif) and the final state as
OUT/classic-NAME.png; the landscape is OUT/cache/classic-NAME.npz, for
`lossfilm render classic --landscape ...`.

example: lossfilm classic rosenbrock --optimizers sgd,momentum,adam --lr adam=0.1
"""

from __future__ import annotations

from lossfilm.commands.render import help_text
from render.quality import DEFAULT_QUALITY, GIF_FPS, GIF_WIDTH, QUALITIES

STILL_SIZE = "1280x720"


def add_arguments(parser):
    from render.theme import THEMES
    from training.surfaces import (DEFAULT_CONDITION, DEFAULT_OPTIMIZERS, DEFAULT_RESOLUTION, DEFAULT_STEPS,
                                   FUNCTIONS)

    presets = ", ".join(f"{q.name} {q.width}x{q.height}@{q.fps}" for q in QUALITIES.values())
    parser.add_argument("function", nargs="?", metavar="FUNCTION",
                        help=help_text(f"one of {', '.join(FUNCTIONS)} (or give --expr)"))
    parser.add_argument("--expr", metavar="EXPR",
                        help=help_text("your own f(x, y), e.g. \"(1-x)**2 + 100*(y-x**2)**2\" (needs --domain)"))
    parser.add_argument("--name", default="custom", help="the name of an --expr function (file names, title)")
    parser.add_argument("--optimizers", default=",".join(DEFAULT_OPTIMIZERS), metavar="A,B,...",
                        help="the racers, comma-separated, from sgd, momentum, nesterov, rmsprop, adam")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="optimizer steps of each racer")
    parser.add_argument("--start", metavar="X,Y", help=help_text("the start of every racer (default: the "
                                                                   "function's own)"))
    parser.add_argument("--lr", action="append", default=[], metavar="NAME=VALUE",
                        help=help_text("one racer's learning rate, e.g. --lr adam=0.05 (repeatable; "
                                       "default: the function's own, see training/surfaces.py)"))
    parser.add_argument("--condition", type=float, default=DEFAULT_CONDITION,
                        help="condition number of the bowl (ratio of its curvatures)")
    parser.add_argument("--domain", metavar="X0,X1,Y0,Y1",
                        help=help_text("the plotted square, X_MIN,X_MAX,Y_MIN,Y_MAX (default: the function's own)"))
    parser.add_argument("--resolution", type=int, default=DEFAULT_RESOLUTION, help="grid nodes per side")
    parser.add_argument("--out-dir", default="media", metavar="DIR",
                        help="where the film, GIF and still go (made if missing); the landscape goes in DIR/cache")
    parser.add_argument("--scene", default="classic", metavar="SCENE", help="the scene name or a .py scene file")
    parser.add_argument("--quality", choices=list(QUALITIES), default=DEFAULT_QUALITY,
                        help=f"film preset ({presets})")
    parser.add_argument("--theme", choices=list(THEMES), default="dark", help="colours and lights")
    parser.add_argument("--seconds", type=float, help=help_text("film length (default: the scene's own)"))
    parser.add_argument("--still-size", default=STILL_SIZE, metavar="WxH", help="size of the PNG still")
    parser.add_argument("--gif", action="store_true", help=help_text("also write the GIF"))
    parser.add_argument("--gif-width", type=int, default=GIF_WIDTH, metavar="PX", help="width of the GIF")
    parser.add_argument("--gif-fps", type=int, default=GIF_FPS, help="frame rate of the GIF")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="render in N processes")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help=help_text("a scene option, e.g. --option height=log (repeatable; default: none)"))
    parser.add_argument("--quiet", action="store_true", help=help_text("no progress bars"))
    # argparse takes "-2,2,-1,3" for an option (only "-2" or "-1.5" look like numbers to it); let
    # comma-separated numbers through so that --domain -2,2,-1,3 and --start -1.5,2 work without "=".
    import re

    parser._negative_number_matcher = re.compile(r"^-\.?\d[\d.,eE+-]*$")


def run(args):
    import re
    import time
    from pathlib import Path

    from lossfilm.commands.render import check_output, check_scene, parse_options
    from lossfilm.errors import ConfigError
    from render.film import FilmSpec
    from render.output import render_film, render_still
    from render.quality import parse_size
    from training.race import parse_lrs, parse_optimizers
    from training.surfaces import classic_landscape, from_expression, get_function

    started = time.perf_counter()
    function = _function(args, get_function, from_expression)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", function.name):
        raise ConfigError(f"--name {function.name!r}: use letters, digits, '_', '-' or '.' (it names files)")
    optimizers = parse_optimizers(args.optimizers)
    lrs = parse_lrs(args.lr, optimizers)
    if args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: must be at least 1")
    if args.seconds is not None and not args.seconds > 0:
        raise ConfigError(f"--seconds {args.seconds}: must be positive")
    check_scene(args.scene)
    still_size = parse_size(args.still_size, even=False, option="--still-size")
    options = parse_options(args.option)
    start = _numbers(args.start, 2, "--start", "X,Y") if args.start else None

    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():
        check_output(out_dir)
        out_dir.mkdir()
    stem = f"classic-{function.name}"
    check_output(out_dir / f"{stem}.mp4")
    cache = out_dir / "cache"
    cache.mkdir(exist_ok=True)

    def step(text):
        print(f"[{time.perf_counter() - started:5.1f}s] {text}", flush=True)

    landscape = classic_landscape(function, optimizers=optimizers, steps=args.steps, lrs=lrs, start=start,
                                  resolution=args.resolution)
    landscape_path = cache / f"{stem}.npz"
    landscape.save(landscape_path)
    step(f"{function.formula}: {len(optimizers)} optimizers x {args.steps} steps from "
         f"({landscape.settings['start'][0]:g}, {landscape.settings['start'][1]:g}); landscape {landscape_path}")
    stopped = landscape.settings["stopped"]
    for name, index in landscape.path_slices().items():
        last = index[-1]
        lr = landscape.settings["optimizers"][name]["lr"]
        step(f"  {name:9s} lr {lr:<8g} ends at ({landscape.path_alpha[last]:.4g}, {landscape.path_beta[last]:.4g}), "
             f"f = {landscape.path_loss_true[last]:.4g}" + (f"; {stopped[name]}" if name in stopped else ""))

    quality = QUALITIES[args.quality]
    spec = FilmSpec(scene=args.scene, landscape=str(landscape_path), size=quality.size, fps=quality.fps,
                    seconds=args.seconds, theme=args.theme, options=options)
    films = [out_dir / f"{stem}.mp4"] + ([out_dir / f"{stem}.gif"] if args.gif else [])
    for summary in render_film(spec, films, workers=args.workers, progress=not args.quiet, quality=args.quality,
                               gif_width=args.gif_width, gif_fps=args.gif_fps):
        step(str(summary))
    still = FilmSpec(scene=args.scene, landscape=spec.landscape, size=still_size, fps=spec.fps,
                     seconds=args.seconds, theme=args.theme, options=options)
    render_still(still, out_dir / f"{stem}.png")
    step(f"{out_dir / (stem + '.png')}: final state, {still_size[0]}x{still_size[1]}")
    return 0


def _function(args, get_function, from_expression):
    """The function the arguments name: a built-in one, or --expr with --domain."""
    from lossfilm.errors import ConfigError

    if (args.function is None) == (args.expr is None):
        raise ConfigError("give a FUNCTION (rosenbrock, himmelblau, ...) or --expr EXPR, not both or neither")
    if args.expr is not None:
        if not args.domain:
            raise ConfigError("--expr needs --domain X_MIN,X_MAX,Y_MIN,Y_MAX (where to draw it)")
        domain = _numbers(args.domain, 4, "--domain", "X_MIN,X_MAX,Y_MIN,Y_MAX")
        return from_expression(args.expr, domain=domain, name=args.name,
                               start=_numbers(args.start, 2, "--start", "X,Y") if args.start else None)
    function = get_function(args.function, condition=args.condition)
    if args.domain:
        from dataclasses import replace

        from training.surfaces import check_domain

        function = replace(function, domain=check_domain(_numbers(args.domain, 4, "--domain",
                                                                  "X_MIN,X_MAX,Y_MIN,Y_MAX")))
    return function


def _numbers(text, count, option, form):
    """``"-2,2,-1,3"`` -> ``(-2.0, 2.0, -1.0, 3.0)``, or a ConfigError naming ``option``."""
    from lossfilm.errors import ConfigError

    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise ConfigError(f"{option} {text}: expected {count} comma-separated numbers {form}")
    return values
