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

Writes OUT/classic-NAME.mp4 (and .gif with --gif), or the films named by -o
(.mp4, .gif or a folder/ of PNG frames), and the final state as
OUT/classic-NAME.png; the landscape is OUT/cache/classic-NAME.npz, for
`lossfilm render classic --landscape ...`, reused while the function and
settings stay the same.

example: lossfilm classic rosenbrock --optimizers sgd,momentum,adam --lr adam=0.1
"""

from __future__ import annotations

from lossfilm.cli import film_outputs


def add_arguments(parser):
    from lossfilm.format.declared.options import add_argument
    from lossfilm.training.landscape.classic import (CONDITION, DEFAULT_RESOLUTION, DOMAIN, EXPR, FUNCTION, LRS,
                                                     NAME, OPTIMIZERS, START, STEPS)
    from lossfilm.training.landscape.settings import LANDSCAPE_OPTIONS

    RESOLUTION = next(o for o in LANDSCAPE_OPTIONS if o.name == "resolution").but(default=DEFAULT_RESOLUTION)

    declared = (FUNCTION, EXPR, NAME, OPTIMIZERS, STEPS, START, LRS, CONDITION, DOMAIN, RESOLUTION)
    for option in declared:
        add_argument(parser, option)
    parser.add_argument("--scene", default="classic", metavar="SCENE", help="the scene name or a .py scene file")
    film_outputs.add_arguments(parser, stem="classic-NAME", gif_by_default=False, option_example="height=log",
                               declared=declared)
    # argparse takes "-2,2,-1,3" for an option (only "-2" or "-1.5" look like numbers to it); let
    # comma-separated numbers through so that --domain -2,2,-1,3 and --start -1.5,2 work without "=".
    import re

    parser._negative_number_matcher = re.compile(r"^-\.?\d[\d.,eE+-]*$")


def run(args):
    from lossfilm.cli.render import check_scene
    from lossfilm.training.fit.config import check_racers
    from lossfilm.training.landscape.classic import cached_classic_landscape, from_expression, get_function

    optimizers, lrs = check_racers(args.optimizers, args.lrs, cli=True)  # each read by its declaration; --lr races
    function = _function(args, get_function, from_expression)
    check_scene(args.scene)
    start = args.start
    stem = f"classic-{function.name}"
    out = film_outputs.FilmOutputs(args, stem)

    landscape_path = out.cache / f"{stem}.npz"
    landscape, action = cached_classic_landscape(function, landscape_path, optimizers=optimizers, steps=args.steps,
                                                 lrs=lrs, start=start, resolution=args.resolution)
    out.step(f"{function.formula}: {len(optimizers)} optimizers x {args.steps} steps from "
             f"({landscape.settings['start'][0]:g}, {landscape.settings['start'][1]:g}); landscape {landscape_path}"
             + (" (reused: same function and settings)" if action == "reuse" else ""))
    stopped = landscape.settings["stopped"]
    for name, index in landscape.path_slices().items():
        last = index[-1]
        lr = landscape.settings["optimizers"][name]["lr"]
        out.step(f"  {name:9s} lr {lr:<8g} ends at ({landscape.path_alpha[last]:.4g}, "
                 f"{landscape.path_beta[last]:.4g}), f = {landscape.path_loss_true[last]:.4g}"
                 + (f"; {stopped[name]}" if name in stopped else ""))
    out.render(args.scene, landscape_path)
    return 0


def _function(args, get_function, from_expression):
    """The function the arguments name: a built-in one, or --expr with --domain."""
    from dataclasses import replace

    from lossfilm.format.errors import ConfigError

    if (args.function is None) == (args.expr is None):
        raise ConfigError("give a FUNCTION (rosenbrock, himmelblau, ...) or --expr EXPR, not both or neither")
    if args.expr is not None:
        if args.domain is None:
            raise ConfigError("--expr needs --domain X_MIN,X_MAX,Y_MIN,Y_MAX (where to draw it)")
        return from_expression(args.expr, domain=args.domain, name=args.name, start=args.start)
    function = get_function(args.function, condition=args.condition)
    return function if args.domain is None else replace(function, domain=args.domain)
