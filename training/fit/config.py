"""The training settings: one commented block of defaults, parsed into a frozen TrainConfig.

The defaults are the demo run: the bundled 8x8 digits, one hidden layer of
128, plain SGD. They reach >= 95% test accuracy in a few seconds and record
every step, so the film shows the whole path. Each option is declared once
in ``TRAIN_OPTIONS``; ``lossfilm train --help`` is built from the same
declarations.

Examples
--------
>>> config = TrainConfig(hidden=[128, 64], optimizer="adam")
>>> config.hidden, config.epochs, config.to_dict()["hidden"]
((128, 64), 20, [128, 64])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from lossfilm.format.errors import ConfigError
from lossfilm.format.declared.options import Option, defaults
from lossfilm.format.declared.values import MAX_WHOLE, Choice, Count, Many, Number, Pairs, Text
from lossfilm.training.fit.mlp import INITS
from lossfilm.training.fit.optimizers import DEFAULT_LRS, OPTIMIZERS, make_optimizer

MAX_WIDTH = MAX_WHOLE  # a hidden layer's width: the size check (lossfilm.format.budget) says in words what fits

# The training options, declared once (lossfilm.format.declared.options): ``lossfilm train`` builds its arguments from
# them and TrainConfig checks its fields with them. The defaults are the demo run; 20 epochs of SGD reach 95-97%
# test accuracy on digits, across seeds. Recording every step makes the smoothest film (file size: 4 bytes x
# params x snapshots).
TRAIN_OPTIONS = (
    # what to learn
    Option("data", Text(4096, what="'digits', 'mnist' or a folder of MNIST idx files"), "digits",
           "data set: 'digits' (bundled 8x8), 'mnist', or a directory of MNIST idx files"),
    Option("test_fraction", Number(0.0, 1.0, above=True, below=True), 0.2, "share of the images held out for testing"),
    # the network: [n_features, *hidden, n_classes], ReLU, softmax
    Option("hidden", Many(Count(1, MAX_WIDTH)), (128,), "hidden layer widths: a comma list (128,64) or the option "
                                                        "repeated", metavar="WIDTHS"),
    Option("init", Choice(INITS), "he", "weight initialisation"),
    # how to learn
    Option("epochs", Count(1), 20, "passes over the training set"),
    Option("batch_size", Count(1), 64, "images per step"),
    Option("optimizer", Choice(tuple(OPTIMIZERS)), "sgd", "update rule"),
    Option("lr", Number(0.0, above=True), None, "learning rate; 'auto' is the optimizer's own default ("
           + ", ".join(f"{name} {lr:g}" for name, lr in DEFAULT_LRS.items()) + ")", optional=True),
    Option("momentum", Number(0.0, 1.0, below=True), 0.9, "momentum of the momentum and nesterov optimizers"),
    Option("rho", Number(0.0, 1.0, below=True), 0.9, "rmsprop: decay of the squared-gradient average"),
    Option("beta1", Number(0.0, 1.0, below=True), 0.9, "adam: decay of the gradient average"),
    Option("beta2", Number(0.0, 1.0, below=True), 0.999, "adam: decay of the squared-gradient average"),
    Option("eps", Number(0.0, 1.0, above=True), 1e-8, "rmsprop, adam: added to the root in the denominator"),
    Option("weight_decay", Number(0.0), 0.0, "L2 penalty added to every gradient"),
    # what to record
    Option("record_every", Count(1), 1, "a snapshot every N steps (plus the first and the last)"),
    Option("eval_every", Count(0), 0, "full-train loss at every Nth snapshot (plus the first and the last); 0: never"),
    Option("seed", Count(0), 0, "seed of the split, the initial weights and the shuffling"),
)
DEFAULTS = defaults(TRAIN_OPTIONS)

# A race's racers and each one's learning rate (lossfilm race, lossfilm classic and their Python functions), declared
# once beside the learning rate's own declaration; each command gives its own default racers.
_LR = next(option for option in TRAIN_OPTIONS if option.name == "lr")
RACERS = Option("optimizers", Many(Choice(tuple(OPTIMIZERS)), 1, len(OPTIMIZERS), unique=True), ("sgd", "adam"),
                "the racers, comma-separated", metavar="A,B,...")
RACER_LRS = Option("lrs", Pairs(Choice(tuple(OPTIMIZERS)), _LR.kind, "OPTIMIZER", "LR"), {},
                   "one racer's learning rate, e.g. --lr adam=0.002 (repeat it for more; default: each optimizer's "
                   "own)", cli="--lr", metavar="OPTIMIZER=LR")


def check_racers(optimizers, lrs, *, cli=False):
    """``(optimizers, lrs)`` checked by :data:`RACERS` and :data:`RACER_LRS`, and every ``lrs`` name racing.

    ``cli``: the messages name the flags (``--lr``), else the Python keywords (``lrs``).

    Examples
    --------
    >>> check_racers(["sgd", "adam"], {"adam": 0.01})
    (('sgd', 'adam'), {'adam': 0.01})
    >>> check_racers(["sgd"], {"adam": 0.01})
    Traceback (most recent call last):
    ...
    lossfilm.format.errors.ConfigError: lrs adam=0.01: adam is not racing (optimizers sgd)
    """
    racers_label, lrs_label = (RACERS.flag, RACER_LRS.flag) if cli else (RACERS.name, RACER_LRS.name)
    optimizers = RACERS.check(optimizers, racers_label)
    lrs = RACER_LRS.check({} if lrs is None else lrs, lrs_label)
    for name, lr in lrs.items():
        if name not in optimizers:
            raise ConfigError(f"{lrs_label} {name}={lr:g}: {name} is not racing ({racers_label} "
                              f"{','.join(optimizers)})")
    return optimizers, lrs


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; saved into every trajectory.

    Field meanings, ranges and defaults: see ``TRAIN_OPTIONS`` at the top of this module.
    Values are checked on construction; an impossible one raises
    ``ConfigError`` naming the command-line option.
    """

    data: str = DEFAULTS["data"]
    test_fraction: float = DEFAULTS["test_fraction"]
    hidden: tuple = DEFAULTS["hidden"]
    init: str = DEFAULTS["init"]
    epochs: int = DEFAULTS["epochs"]
    batch_size: int = DEFAULTS["batch_size"]
    optimizer: str = DEFAULTS["optimizer"]
    lr: float | None = DEFAULTS["lr"]
    momentum: float = DEFAULTS["momentum"]
    rho: float = DEFAULTS["rho"]
    beta1: float = DEFAULTS["beta1"]
    beta2: float = DEFAULTS["beta2"]
    eps: float = DEFAULTS["eps"]
    weight_decay: float = DEFAULTS["weight_decay"]
    record_every: int = DEFAULTS["record_every"]
    eval_every: int = DEFAULTS["eval_every"]
    seed: int = DEFAULTS["seed"]

    def __post_init__(self):
        # frozen: normalise through object.__setattr__ so that to_dict() is stable JSON
        for option in TRAIN_OPTIONS:
            object.__setattr__(self, option.name, option.check(getattr(self, option.name), option.flag))
        self.make_optimizer()  # checks the hyper-parameters the optimizer uses

    def make_optimizer(self):
        """A fresh optimizer with this config's hyper-parameters (the ones it has)."""
        names = OPTIMIZERS[self.optimizer].hparam_names
        return make_optimizer(self.optimizer, **{name: getattr(self, name) for name in names})

    def replace(self, **changes):
        """A copy with some fields changed (checked again)."""
        return replace(self, **changes)

    def to_dict(self):
        """JSON-able, with the fields in declaration order."""
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data):
        """The inverse of :meth:`to_dict`; unknown keys are a ConfigError."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown training setting(s) {', '.join(unknown)}")
        return cls(**data)
