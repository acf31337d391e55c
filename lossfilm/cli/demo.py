"""The whole pipeline on the bundled digits data: train, landscape, film.

Trains the default 64-128-10 MLP with SGD on scikit-learn's 8x8 digits,
evaluates the loss on the PCA plane of its path, and renders the descent
scene at 1280x720@30 to OUT/descent.mp4, OUT/descent.gif (one render feeds both), or to the
films named by -o (.mp4, .gif or a folder/ of PNG frames), and the final
state to OUT/descent.png. The trajectory and the landscape are cached
in OUT/cache/ and reused when their settings are unchanged: a second run
with only a new --theme or camera option renders again and recomputes
nothing.

example: lossfilm demo --theme light --option camera=top
"""

from __future__ import annotations

from lossfilm.cli import film_outputs
from lossfilm.cli.render import help_text

DEMO_QUALITY = "medium"  # 1280x720 @ 30: the film a talk or a README shows


def add_arguments(parser):
    from lossfilm.format.declared.options import add_argument
    from lossfilm.training.fit.config import TRAIN_OPTIONS

    seed = next(option for option in TRAIN_OPTIONS if option.name == "seed")
    add_argument(parser, seed)
    film_outputs.add_arguments(parser, stem="descent", gif_by_default=True, option_example="camera=top",
                               quality=DEMO_QUALITY, declared=(seed,))
    parser.add_argument("--force", action="store_true", help=help_text("retrain and recompute the landscape"))


def run(args):
    from lossfilm.training.fit.config import TrainConfig
    from lossfilm.training.landscape.pipeline import cached_or_compute
    from lossfilm.training.fit.train import cached_or_train

    out = film_outputs.FilmOutputs(args, "descent")
    config = TrainConfig(seed=args.seed)
    trajectory, action = cached_or_train(config, out.cache / "trajectory.npz", force=args.force,
                                         progress=out.progress)
    out.step(f"trajectory {out.cache / 'trajectory.npz'}: {_said(action)} ({len(trajectory)} snapshots, "
             f"test accuracy {trajectory.settings.get('final', {}).get('test_accuracy', float('nan')):.1%})")
    landscape, action = cached_or_compute(trajectory, out.cache / "landscape.npz", force=args.force,
                                          progress=out.progress, seed=args.seed)
    out.step(f"landscape {out.cache / 'landscape.npz'}: {_said(action)} "
             f"({len(landscape.alphas)}x{len(landscape.betas)} grid, "
             f"{landscape.axis_label(0)}, {landscape.axis_label(1)})")
    out.render("descent", out.cache / "landscape.npz")
    return 0


def _said(action):
    return {"reuse": "reused (same settings)", "compute": "computed", "update": "recomputed"}[action]
