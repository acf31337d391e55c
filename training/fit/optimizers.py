"""Optimizers: SGD, momentum, Nesterov, RMSprop and Adam on a dict of named arrays.

Each optimizer keeps its own state (velocities, running averages) keyed by
parameter name and updates the arrays of ``params`` in place with
``step(params, grads)``. Nothing here knows about networks: any dict of
float arrays works, e.g. ``{"xy": np.array([x, y])}`` on a 2-D test function.

Weight decay is the classic L2 penalty added to the gradient
(``g + weight_decay * p``), for Adam too (not the decoupled AdamW form).

Examples
--------
>>> import numpy as np
>>> params = {"xy": np.array([3.0, -2.0])}
>>> opt = make_optimizer("adam", lr=0.1)
>>> for _ in range(200):
...     opt.step(params, {"xy": 2.0 * params["xy"]})  # gradient of x**2 + y**2
>>> bool(np.abs(params["xy"]).max() < 0.05)
True
"""

from __future__ import annotations

import numpy as np

from lossfilm.format.errors import ConfigError


class Optimizer:
    """The shared part: hyper-parameter checks, per-name state, weight decay, the step."""

    name = ""
    default_lr: float | None = None
    hparam_names: tuple[str, ...] = ("lr", "weight_decay")

    def __init__(self, lr=None, weight_decay=0.0):
        self.lr = float(self.default_lr if lr is None else lr)
        self.weight_decay = float(weight_decay)
        _check(self.lr > 0, f"--lr {lr} must be positive")
        _check(self.weight_decay >= 0, f"--weight-decay {weight_decay} must be zero or positive")
        self.state = {}  # parameter name -> dict of arrays shaped like it
        self.t = 0  # steps taken

    @property
    def hparams(self):
        """The hyper-parameters in effect, JSON-able (for the artifact's settings)."""
        return {name: getattr(self, name) for name in self.hparam_names}

    def step(self, params, grads):
        """Update every array of ``params`` in place from ``grads`` (same keys)."""
        self.t += 1
        for name, p in params.items():
            g = grads[name]
            if self.weight_decay:
                g = g + self.weight_decay * p
            p -= self._update(name, p, g)

    def _update(self, name, p, g):
        """The amount to subtract from ``p`` (its state updated in place)."""
        raise NotImplementedError

    def _slot(self, name, slot, like):
        slots = self.state.setdefault(name, {})
        if slot not in slots:
            slots[slot] = np.zeros_like(like, dtype=np.float64)
        return slots[slot]

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hparams.items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain stochastic gradient descent: ``p -= lr * g``."""

    name = "sgd"
    default_lr = 0.2  # digits, batch 64, 20 epochs: 95-97.5% test accuracy over seeds

    def _update(self, name, p, g):
        return self.lr * g


class Momentum(Optimizer):
    """Heavy-ball momentum: ``v = momentum * v + g; p -= lr * v``."""

    name = "momentum"
    default_lr = 0.05  # the effective step is lr / (1 - momentum) = 0.5
    hparam_names = ("lr", "momentum", "weight_decay")

    def __init__(self, lr=None, momentum=0.9, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.momentum = float(momentum)
        _check(0.0 <= self.momentum < 1.0, f"--momentum {momentum} must be in [0, 1)")

    def _update(self, name, p, g):
        v = self._slot(name, "velocity", p)
        v *= self.momentum
        v += g
        return self.lr * v


class Nesterov(Momentum):
    """Nesterov momentum, in the look-ahead form: ``p -= lr * (g + momentum * v)``."""

    name = "nesterov"

    def _update(self, name, p, g):
        v = self._slot(name, "velocity", p)
        v *= self.momentum
        v += g
        return self.lr * (g + self.momentum * v)


class RMSprop(Optimizer):
    """Steps scaled by a running RMS of the gradient: ``p -= lr * g / (sqrt(s) + eps)``."""

    name = "rmsprop"
    default_lr = 0.001
    hparam_names = ("lr", "rho", "eps", "weight_decay")

    def __init__(self, lr=None, rho=0.9, eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.rho, self.eps = float(rho), float(eps)
        _check(0.0 <= self.rho < 1.0, f"--rho {rho} must be in [0, 1)")
        _check(self.eps > 0, f"--eps {eps} must be positive")

    def _update(self, name, p, g):
        s = self._slot(name, "square_avg", p)
        s *= self.rho
        s += (1.0 - self.rho) * g * g
        return self.lr * g / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    """Adam: bias-corrected running mean and RMS of the gradient."""

    name = "adam"
    default_lr = 0.001
    hparam_names = ("lr", "beta1", "beta2", "eps", "weight_decay")

    def __init__(self, lr=None, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        _check(0.0 <= self.beta1 < 1.0, f"--beta1 {beta1} must be in [0, 1)")
        _check(0.0 <= self.beta2 < 1.0, f"--beta2 {beta2} must be in [0, 1)")
        _check(self.eps > 0, f"--eps {eps} must be positive")

    def _update(self, name, p, g):
        m = self._slot(name, "mean", p)
        v = self._slot(name, "square_avg", p)
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * g * g
        m_hat = m / (1.0 - self.beta1 ** self.t)  # bias correction: m, v start at zero
        v_hat = v / (1.0 - self.beta2 ** self.t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, Nesterov, RMSprop, Adam)}
DEFAULT_LRS = {name: cls.default_lr for name, cls in OPTIMIZERS.items()}


def make_optimizer(name, **hparams):
    """An optimizer by name, with its usual defaults for any hyper-parameter not given.

    Parameters
    ----------
    name : {"sgd", "momentum", "nesterov", "rmsprop", "adam"}
    **hparams
        ``lr`` (``None`` = the optimizer's default, see ``DEFAULT_LRS``),
        ``momentum``, ``rho``, ``beta1``, ``beta2``, ``eps``, ``weight_decay``,
        whichever the optimizer has.

    Raises
    ------
    ConfigError
        For an unknown name, a hyper-parameter the optimizer does not have,
        or an impossible value.

    Examples
    --------
    >>> make_optimizer("momentum", momentum=0.5)
    Momentum(lr=0.05, momentum=0.5, weight_decay=0.0)
    """
    if name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    cls = OPTIMIZERS[name]
    unknown = sorted(set(hparams) - set(cls.hparam_names))
    if unknown:
        raise ConfigError(f"optimizer {name!r} has no hyper-parameter {unknown[0]!r} "
                          f"(it has {', '.join(cls.hparam_names)})")
    return cls(**hparams)


def _check(condition, message):
    if not condition:
        raise ConfigError(message)
