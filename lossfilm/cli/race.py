"""An optimizer race: the same network trained from the same start by several optimizers, on one surface.

Each optimizer in --optimizers trains the MLP from the same initial weights,
seeing the minibatches in the same order (one --seed draws both), with its own
learning rate (the documented defaults of lossfilm.training.fit.optimizers, all of which
converge on the digits data; --lr changes one). Every path is then projected
on ONE plane: its origin is the shared initial point, so every ball starts at
(0, 0), and its directions are the two leading principal directions of all
paths' offsets from it, uncentred, the plane that holds the most of them
(--directions pca centres them first; --directions anchors: the plane through the start
and the first two optimizers' final points). One loss grid covers all paths,
and the race scene rolls a ball per optimizer down it on one clock of
optimizer steps.

Writes OUT/race.mp4 (and OUT/race.gif with --gif), or the films named by -o
(.mp4, .gif or a folder/ of PNG frames), and the final state as
OUT/race.png. Each optimizer's trajectory is cached in OUT/cache/race/NAME.npz
and the common landscape in OUT/cache/race-landscape.npz: adding an optimizer
trains only that one (the plane and grid, which depend on every path, are
recomputed), and a new --theme or --option only renders again.

example: lossfilm race --optimizers sgd,momentum,rmsprop,adam --lr adam=0.002 --gif
"""

from __future__ import annotations

from lossfilm.cli import film_outputs
from lossfilm.cli.render import help_text


def add_arguments(parser):
    from lossfilm.training.landscape.plane import race_directions
    from lossfilm.training.landscape.race import LRS, OPTIMIZERS_OPTION, RACE_DIRECTIONS
    from lossfilm.format.declared.options import add_argument
    from lossfilm.format.declared.values import Choice
    from lossfilm.training.fit.config import TRAIN_OPTIONS
    from lossfilm.training.landscape.settings import LANDSCAPE_OPTIONS

    train = {option.name: option for option in TRAIN_OPTIONS}
    DATA, EPOCHS = train["data"], train["epochs"].but(help="epochs each optimizer trains")
    SEED = train["seed"].but(help="seed of the split, the shared initial weights and the shared shuffling")
    RESOLUTION = next(option for option in LANDSCAPE_OPTIONS if option.name == "resolution")
    DIRECTIONS = next(option for option in LANDSCAPE_OPTIONS if option.name == "directions_kind").but(
        kind=Choice(race_directions()), default=RACE_DIRECTIONS,
        help="pca-uncentred: principal plane of all paths' offsets from the shared start (the plane that holds the "
             "most of them); pca: the same, centred as Li et al. 2018 do for one run; anchors: the plane through "
             "the start and the first two optimizers' final points")

    declared = (OPTIMIZERS_OPTION, LRS, DATA, EPOCHS, SEED, DIRECTIONS, RESOLUTION)
    for option in declared:
        add_argument(parser, option)
    parser.add_argument("--scene", default="race", metavar="SCENE", help="the scene name or a .py scene file")
    film_outputs.add_arguments(parser, stem="race", gif_by_default=False, option_example="clock=linear",
                               declared=declared)
    parser.add_argument("--force", action="store_true", help=help_text("retrain every racer, recompute the landscape"))


def run(args):
    from lossfilm.cli.render import check_scene
    from lossfilm.training.data.datasets import load_data
    from lossfilm.training.fit.config import check_racers
    from lossfilm.training.landscape.race import cached_race_landscape, racer_config, train_racers

    optimizers, lrs = check_racers(args.optimizers, args.lrs, cli=True)  # each read by its declaration; --lr races
    for name in optimizers:  # every racer's settings are checked before any trains
        racer_config(name, data=args.data, epochs=args.epochs, seed=args.seed, lr=lrs.get(name))
    check_scene(args.scene)
    out = film_outputs.FilmOutputs(args, "race")

    config = racer_config(optimizers[0], data=args.data, seed=args.seed)
    dataset = load_data(config.data, seed=config.seed, test_fraction=config.test_fraction)

    def report(name, trajectory, action, note):
        final = (trajectory.settings.get("final") or {}).get("test_accuracy")
        lr = (trajectory.settings.get("optimizer") or {}).get("lr")
        said = {"reuse": "reused (same settings)", "compute": "trained", "update": "retrained"}[action]
        accuracy = f", test accuracy {final:.1%}" if final is not None else ""
        out.step(f"{name:9s} lr {lr:g}: {said} ({len(trajectory)} snapshots{accuracy})" + (f"; {note}" if note else ""))

    racers = train_racers(optimizers, out.cache / "race", data=args.data, epochs=args.epochs, seed=args.seed,
                          lrs=lrs, dataset=dataset, force=args.force, progress=out.progress, report=report)
    landscape_path = out.cache / "race-landscape.npz"
    landscape, action = cached_race_landscape(racers, landscape_path, force=args.force, progress=out.progress,
                                              directions_kind=args.directions_kind, resolution=args.resolution,
                                              seed=args.seed)
    stats = landscape.settings["stats"]
    said = {"reuse": "reused (same paths and settings)", "compute": "computed", "update": "recomputed"}[action]
    out.step(f"landscape {landscape_path}: {said} ({len(landscape.alphas)}x{len(landscape.betas)} grid, "
             f"{landscape.axis_label(0)}, {landscape.axis_label(1)}; the plane holds {stats['captured']:.1%} of the "
             f"paths' squared distance from the start)")
    out.render(args.scene, landscape_path)
    return 0
