"""Classic 2-D test functions, and the optimizers racing on them, exactly.

The textbook surfaces on which optimizers are compared: Rosenbrock's
banana valley, Himmelblau's four minima, Rastrigin's egg box, Beale's
flat plateau and sharp corners, a saddle, and a quadratic bowl of a chosen
condition number. Each :class:`ClassicFunction` carries its value
(vectorised over arrays), its analytic gradient, a plotting domain, a start
point that shows the optimizers' differences, its known minima and
per-optimizer learning rates that behave well on it.

The optimizers are the ones that train the network
(:mod:`lossfilm.training.fit.optimizers`), stepping ``{"xy": array([x, y])}`` with the
analytic gradient, so the behaviour matches training. Nothing is
projected: :func:`classic_landscape` stores the function on its own axes
(``directions_kind="axes"``, evaluated exactly) and the iterates themselves
as the paths, through the same pipeline as a network's landscape
(:func:`lossfilm.training.landscape.pipeline.build_landscape`).

A user's own function comes in as an expression (:func:`from_expression`,
parsed safely: numbers, ``x``, ``y``, arithmetic and NumPy functions only)
or as a Python callable (:func:`from_callable`); its gradient is taken by
central differences.

Examples
--------
>>> rosen = get_function("rosenbrock")
>>> float(rosen(1.0, 1.0)), [abs(g) for g in rosen.gradient(1.0, 1.0)]
(0.0, [0.0, 0.0])
>>> land = classic_landscape(rosen, optimizers=("sgd", "adam"), steps=50, resolution=21)
>>> land.path_names, land.loss.shape, land.directions_kind
(('sgd', 'adam'), (21, 21), 'axes')
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field, replace

import numpy as np

from lossfilm.format.budget import Cost, check_cost
from lossfilm.format.errors import ConfigError
from lossfilm.format.declared.options import Option
from lossfilm.format.declared.values import Choice, Count, Formula, Number, Numbers, Text, refuse
from lossfilm.training.landscape.evaluation import AnalyticEvaluation
from lossfilm.training.landscape.pipeline import build_landscape, cached_landscape, landscape_key
from lossfilm.training.fit.config import RACER_LRS, RACERS, check_racers
from lossfilm.training.fit.optimizers import DEFAULT_LRS, make_optimizer
from lossfilm.training.landscape.descent_paths import Iterates
from lossfilm.training.landscape.settings import LandscapeSettings

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
DEFAULT_STEPS = 200
DEFAULT_RESOLUTION = 101
DEFAULT_CONDITION = 10.0
MAX_CONDITION = 1e12  # beyond it float64 cannot draw the bowl's narrow side

# lossfilm classic's own options, declared once (lossfilm.format.declared.options); the grid's resolution is the
# landscape's (LANDSCAPE_OPTIONS), with this command's default.
STEPS = Option("steps", Count(1), DEFAULT_STEPS, "optimizer steps of each racer")
ANY_FINITE = Number(-sys.float_info.max, sys.float_info.max)  # a function's domain may be anything drawable
DOMAIN = Option("domain", Numbers(ANY_FINITE, 4, rising=True), None, "the plotted square, X_MIN,X_MAX,Y_MIN,Y_MAX "
                "(default: the function's own)", optional=True, metavar="X0,X1,Y0,Y1")
START = Option("start", Numbers(ANY_FINITE, 2), None, "the start of every racer (default: the function's own)",
               optional=True, metavar="X,Y")
CONDITION = Option("condition", Number(1.0, MAX_CONDITION), DEFAULT_CONDITION,
                   "condition number of the bowl (ratio of its curvatures)")


@dataclass(frozen=True)
class ClassicFunction:
    """A function of two variables to race optimizers on.

    Attributes
    ----------
    name : str
        Short name, used in file names (``classic-<name>.mp4``).
    formula : str
        The formula in words, for titles.
    value : callable
        ``value(x, y) -> array``, vectorised over arrays of any shape.
    gradient : callable
        ``gradient(x, y) -> (df/dx, df/dy)`` at scalars.
    domain : tuple of 4 float
        ``(x_min, x_max, y_min, y_max)`` of the plot.
    start : tuple of 2 float
        The default start of every optimizer.
    minima : tuple of (x, y)
        Known minima from the literature (all of them for Himmelblau).
    critical : tuple of (x, y, kind)
        Other points to mark, e.g. ``(0, 0, "saddle")``.
    lrs : dict
        Learning rate per optimizer name; others use their training default.
    log_z : bool
        Recommended log-scaled heights (a deep, narrow valley or huge walls).
    """

    name: str
    formula: str
    value: object
    gradient: object
    domain: tuple
    start: tuple
    minima: tuple = ()
    critical: tuple = ()
    lrs: dict = field(default_factory=dict)
    log_z: bool = False

    def __call__(self, x, y):
        with np.errstate(all="ignore"):
            return np.asarray(self.value(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)),
                              dtype=np.float64)

    def lr(self, optimizer):
        """The learning rate of ``optimizer`` here: this function's own, else the training default."""
        if optimizer not in DEFAULT_LRS:
            raise ConfigError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(DEFAULT_LRS)}")
        return float(self.lrs.get(optimizer, DEFAULT_LRS[optimizer]))

    def minima_values(self):
        """``[[x, y, f(x, y)], ...]`` of the known minima (JSON-able)."""
        return [[float(x), float(y), float(self(x, y))] for x, y in self.minima]


# ---- the catalogue ---------------------------------------------------------------------------------------

def _rosenbrock():
    def value(x, y):
        return (1.0 - x) ** 2 + 100.0 * (y - x ** 2) ** 2

    def gradient(x, y):
        return -2.0 * (1.0 - x) - 400.0 * x * (y - x ** 2), 200.0 * (y - x ** 2)

    # Rosenbrock's own start (-1.2, 1). Plain SGD must stay below ~2/curvature across the valley
    # (~1e3 here), so it crawls along the floor; in 200 steps momentum gets within 0.4 of (1, 1),
    # Adam within 0.8, RMSprop 1.2, SGD 1.7.
    return ClassicFunction("rosenbrock", "f(x, y) = (1 - x)^2 + 100 (y - x^2)^2", value, gradient,
                           domain=(-2.0, 2.0, -1.0, 3.0), start=(-1.2, 1.0), minima=((1.0, 1.0),),
                           lrs={"sgd": 2e-3, "momentum": 1e-3, "nesterov": 1e-3, "rmsprop": 0.05, "adam": 0.2},
                           log_z=True)


# Himmelblau's four minima, to double precision (Newton from the usual six-digit values).
HIMMELBLAU_MINIMA = ((3.0, 2.0), (-2.805118086952745, 3.131312518250573),
                     (-3.779310253377747, -3.283185991286170), (3.584428340330492, -1.848126526964404))


def _himmelblau():
    def value(x, y):
        return (x ** 2 + y - 11.0) ** 2 + (x + y ** 2 - 7.0) ** 2

    def gradient(x, y):
        a, b = x ** 2 + y - 11.0, x + y ** 2 - 7.0
        return 4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b

    # From near the local maximum at (-0.27, -0.92) the optimizers fall into different basins.
    return ClassicFunction("himmelblau", "f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2", value, gradient,
                           domain=(-5.0, 5.0, -5.0, 5.0), start=(-0.1, -0.9), minima=HIMMELBLAU_MINIMA,
                           critical=((-0.270845, -0.923039, "maximum"),),
                           lrs={"sgd": 0.01, "momentum": 2e-3, "nesterov": 2e-3, "rmsprop": 0.05, "adam": 0.1})


def _rastrigin():
    def value(x, y):
        return 20.0 + x ** 2 - 10.0 * np.cos(2 * np.pi * x) + y ** 2 - 10.0 * np.cos(2 * np.pi * y)

    def gradient(x, y):
        return 2.0 * x + 20.0 * np.pi * np.sin(2 * np.pi * x), 2.0 * y + 20.0 * np.pi * np.sin(2 * np.pi * y)

    # Every lattice point is a local minimum: which one an optimizer settles in is the story.
    # From (3.2, -2.4) they all stop in the nearest egg cup but momentum, which carries over a ridge.
    return ClassicFunction("rastrigin", "f(x, y) = 20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)", value,
                           gradient, domain=(-5.12, 5.12, -5.12, 5.12), start=(3.2, -2.4), minima=((0.0, 0.0),),
                           lrs={"sgd": 2e-3, "momentum": 5e-3, "nesterov": 3e-3, "rmsprop": 0.1, "adam": 0.3})


def _beale():
    def value(x, y):
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2

    def gradient(x, y):
        u1, u2, u3 = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
        dx = 2.0 * (u1 * (y - 1.0) + u2 * (y ** 2 - 1.0) + u3 * (y ** 3 - 1.0))
        dy = 2.0 * x * (u1 + 2.0 * u2 * y + 3.0 * u3 * y ** 2)
        return dx, dy

    return ClassicFunction("beale", "f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
                           value, gradient, domain=(-4.5, 4.5, -4.5, 4.5), start=(1.0, 1.5), minima=((3.0, 0.5),),
                           lrs={"sgd": 5e-3, "momentum": 1e-3, "nesterov": 1e-3, "rmsprop": 0.03, "adam": 0.1},
                           log_z=True)


def _saddle():
    def value(x, y):
        return x ** 2 - y ** 2

    def gradient(x, y):
        return 2.0 * x, -2.0 * y

    # No minimum: f falls without bound along y. Starting just off the ridge y = 0, the
    # optimizers first slide into the saddle point, then must escape it.
    return ClassicFunction("saddle", "f(x, y) = x^2 - y^2", value, gradient, domain=(-2.0, 2.0, -2.0, 2.0),
                           start=(-1.8, 0.01), minima=(), critical=((0.0, 0.0, "saddle"),),
                           lrs={"sgd": 0.02, "momentum": 0.005, "nesterov": 0.005, "rmsprop": 0.02, "adam": 0.05})


def _bowl(condition=DEFAULT_CONDITION):
    condition = CONDITION.check(condition, CONDITION.flag)

    def value(x, y):
        return 0.5 * (x ** 2 / condition + y ** 2)

    def gradient(x, y):
        return x / condition, y

    # Curvature 1 across the valley and 1/condition along it: plain SGD's step is capped by the
    # steep direction (lr < 2) and crawls along the flat one, the picture momentum was made for.
    return ClassicFunction("bowl", f"f(x, y) = (x^2 / {condition:g} + y^2) / 2  (condition number {condition:g})",
                           value, gradient, domain=(-3.0, 3.0, -3.0, 3.0), start=(-2.8, 2.4), minima=((0.0, 0.0),),
                           lrs={"sgd": 1.6, "momentum": 0.2, "nesterov": 0.2, "rmsprop": 0.05, "adam": 0.1})


FUNCTIONS = {"rosenbrock": _rosenbrock, "himmelblau": _himmelblau, "rastrigin": _rastrigin, "beale": _beale,
             "saddle": _saddle, "bowl": _bowl}
FUNCTION = Option("function", Choice(tuple(FUNCTIONS)), None, "the function to race on (or give --expr)",
                  optional=True, cli="function", metavar="FUNCTION")


def get_function(name, *, condition=DEFAULT_CONDITION):
    """A classic function by name; ``condition`` sets the bowl's condition number.

    Examples
    --------
    >>> get_function("bowl", condition=100).formula
    'f(x, y) = (x^2 / 100 + y^2) / 2  (condition number 100)'
    """
    if name not in FUNCTIONS:
        raise ConfigError(f"unknown function {name!r}; choose one of {', '.join(FUNCTIONS)} or pass --expr")
    return FUNCTIONS[name](condition) if name == "bowl" else FUNCTIONS[name]()


# ---- a user's own function -------------------------------------------------------------------------------

# What an expression may call or name: NumPy's elementwise maths, nothing that touches files or objects.
_NUMPY_NAMES = ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh",
                "arcsinh", "arccosh", "arctanh", "exp", "expm1", "exp2", "log", "log1p", "log2", "log10",
                "sqrt", "cbrt", "square", "abs", "absolute", "fabs", "sign", "hypot", "power", "minimum",
                "maximum", "fmin", "fmax", "floor", "ceil", "round", "clip", "where", "heaviside", "sinc",
                "deg2rad", "rad2deg", "pi", "e")



def _arity(name):
    """The argument counts NumPy's ``name`` takes in a formula: a ufunc its inputs (a further one would be ``out``)."""
    function = getattr(np, name)
    if isinstance(function, np.ufunc):
        return (function.nin,)
    return {"where": (3,), "clip": (3,), "round": (1,), "sinc": (1,)}.get(name, ())  # pi and e: not called


# lossfilm classic's own function and racers, declared once: the formula's grammar is the declaration's check.
EXPR = Option("expr", Formula(("x", "y"), _NUMPY_NAMES, arity=tuple((name, _arity(name)) for name in _NUMPY_NAMES)),
              None, "your own f(x, y), e.g. \"(1-x)**2 + "
              "100*(y-x**2)**2\" (needs --domain)", optional=True, metavar="EXPR")
NAME = Option("name", Text(64, pattern=r"[A-Za-z0-9_.-]+", what="a name of letters, digits, '_', '-' and '.'"),
              "custom", "the name of an --expr function (it names the files and the title)")
OPTIMIZERS = RACERS.but(default=DEFAULT_OPTIMIZERS)
LRS = RACER_LRS.but(help="one racer's learning rate, e.g. --lr adam=0.05 (repeat it for more; default: the "
                         "function's own, see training/landscape/classic.py)")


def parse_expression(text):
    """Compile a formula in ``x`` and ``y`` into a vectorised ``f(x, y)``, safely.

    Allowed: numbers, ``x``, ``y``, ``+ - * / // % **``, comparisons (for
    ``where``), and the NumPy functions and constants in ``_NUMPY_NAMES``,
    bare (``sin(x)``) or as ``np.sin`` / ``numpy.sin``. Anything else
    (other names, attributes, strings, subscripts, lambdas, keyword
    arguments) is refused by the declaration :data:`EXPR` before anything
    evaluates it, and the expression is evaluated without builtins, on
    NumPy floats (an overflow is inf, not an exception).

    Raises
    ------
    ConfigError
        One line naming what is not allowed, or why it does not evaluate.

    Examples
    --------
    >>> f = parse_expression("(1 - x)**2 + 100*(y - x**2)**2")
    >>> float(f(1.0, 1.0)), f(np.zeros(3), np.ones(3)).tolist()
    (0.0, [101.0, 101.0, 101.0])
    >>> parse_expression("__import__('os')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lossfilm.format.errors.ConfigError: --expr __import__('os'): expected a formula in x and y ...; the name '__import__' is not allowed
    """
    text = EXPR.check(text, EXPR.flag)
    # Whole numbers become floats: 9**9**9 on Python ints would compute for ever; as floats it overflows.
    tree = ast.fix_missing_locations(_FloatConstants().visit(ast.parse(text, mode="eval")))
    code = compile(tree, "<--expr>", "eval")
    functions = {name: getattr(np, name) for name in _NUMPY_NAMES}
    namespace = {"__builtins__": {}, **functions, "np": _Namespace(functions), "numpy": _Namespace(functions)}

    def value(x, y):
        # NumPy floats, never Python's: x**1e10 or 1e200*x*x is inf (ignored below), not an OverflowError. Copies:
        # the caller's arrays stay as they were, whatever the formula does.
        x, y = np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
        with np.errstate(all="ignore"):
            result = eval(code, namespace, {"x": x, "y": y})  # checked by EXPR: only maths on x and y
        return np.broadcast_to(np.asarray(result, dtype=np.float64), np.broadcast(x, y).shape)

    try:
        value(np.linspace(-1.0, 1.0, 3), np.linspace(1.0, -1.0, 3))
    except Exception as exc:  # e.g. sin(x, y, 3), or 1e308**2 among constants: the user's mistake, in one line
        raise refuse(EXPR.flag, text, EXPR.takes(), as_typed=True,
                     because=f"it does not evaluate ({type(exc).__name__}: {exc})") from None
    return value


class _FloatConstants(ast.NodeTransformer):
    def visit_Constant(self, node):
        return ast.copy_location(ast.Constant(float(node.value)), node) if isinstance(node.value, int) else node


class _Namespace:
    """``np`` inside an expression: only the allowed functions, as attributes."""

    def __init__(self, functions):
        self.__dict__.update(functions)


def numerical_gradient(value, x, y, *, scale=1.0):
    """Central differences of ``value(x, y)`` at one point: ``(df/dx, df/dy)``.

    The step is ``6e-6 * max(|x|, scale)`` (about the cube root of the
    float64 epsilon, which balances truncation and rounding error).

    Examples
    --------
    >>> gx, gy = numerical_gradient(lambda x, y: x ** 2 + 3 * y, 2.0, 0.0)
    >>> round(gx, 6), round(gy, 6)
    (4.0, 3.0)
    """
    hx, hy = 6e-6 * max(abs(x), scale), 6e-6 * max(abs(y), scale)
    with np.errstate(all="ignore"):
        gx = (float(value(x + hx, y)) - float(value(x - hx, y))) / (2 * hx)
        gy = (float(value(x, y + hy)) - float(value(x, y - hy))) / (2 * hy)
    return gx, gy


def from_callable(function, *, domain, start=None, name="custom", formula=None, gradient=None, minima=(),
                  lrs=None, log_z=False):
    """A :class:`ClassicFunction` from a Python callable ``f(x, y)`` (e.g. in a scene file).

    Parameters
    ----------
    function : callable
        ``f(x, y)``; it should accept NumPy arrays (it is called on the
        whole grid at once), else it is called point by point.
    domain : sequence of 4 float
        ``(x_min, x_max, y_min, y_max)``.
    start : sequence of 2 float, optional
        Default: a quarter of the way in from the domain's lower left corner.
    gradient : callable, optional
        ``gradient(x, y) -> (df/dx, df/dy)``; default central differences.
    lrs : dict, optional
        Learning rate per optimizer; default :func:`suggested_lrs`.

    Examples
    --------
    >>> fn = from_callable(lambda x, y: x ** 2 + y ** 2, domain=(-1, 1, -1, 1), name="sphere")
    >>> fn.start, [round(g, 6) for g in fn.gradient(0.5, 0.0)]
    ((-0.5, -0.5), [1.0, 0.0])
    """
    if not callable(function):
        raise ConfigError(f"function must be callable f(x, y), got {type(function).__name__}")
    domain = check_domain(domain)
    if start is None:
        start = (domain[0] + 0.25 * (domain[1] - domain[0]), domain[2] + 0.25 * (domain[3] - domain[2]))
    start = check_point(start, "--start")
    scale = max(domain[1] - domain[0], domain[3] - domain[2]) / 100.0

    def value(x, y):
        shape = np.broadcast(x, y).shape
        try:
            result = np.asarray(function(x, y), dtype=np.float64)
        except (TypeError, ValueError):  # e.g. math.sin or float() on an array
            result = None
        if result is None or result.shape != shape:  # a scalar-only function: call it point by point
            result = np.vectorize(lambda a, b: float(function(a, b)), otypes=[np.float64])(x, y)
        return result

    if gradient is None:
        def gradient(x, y):
            return numerical_gradient(value, x, y, scale=scale)
    text = formula or getattr(function, "__name__", "f")
    if lrs is None:
        lrs = suggested_lrs(value, gradient, start, domain)
    return ClassicFunction(name, text, value, gradient, domain=domain, start=start,
                           minima=tuple(tuple(float(v) for v in m) for m in minima), lrs=dict(lrs),
                           log_z=log_z)


def from_expression(text, *, domain, start=None, name="custom", lrs=None, log_z=None):
    """A :class:`ClassicFunction` from a formula in ``x`` and ``y`` (see :func:`parse_expression`).

    ``log_z=None`` recommends log heights when the function is non-negative
    over the domain and its maximum there is over ten times its median (a
    narrow valley among high walls, as Rosenbrock's and Beale's).

    Examples
    --------
    >>> fn = from_expression("(1-x)**2 + 100*(y-x**2)**2", domain=(-2, 2, -1, 3), start=(-1.5, 2))
    >>> fn.log_z, [round(g, 3) for g in fn.gradient(1.0, 1.0)]
    (True, [0.0, 0.0])
    """
    fn = from_callable(parse_expression(text), domain=domain, start=start, name=name, formula=f"f(x, y) = {text}",
                       lrs=lrs)
    if log_z is None:
        xs, ys = np.meshgrid(np.linspace(*fn.domain[:2], 41), np.linspace(*fn.domain[2:], 41), indexing="ij")
        grid = fn(xs, ys)
        finite = grid[np.isfinite(grid)]
        log_z = bool(finite.size and finite.min() >= 0 and finite.max() > 10 * np.median(finite))
    return replace(fn, log_z=log_z)


def check_domain(domain):
    """``(x_min, x_max, y_min, y_max)`` as floats, each pair increasing, or a ConfigError (the ranges' wording)."""
    return DOMAIN.check(_numbers(domain), DOMAIN.flag)


def check_point(point, option):
    """``(x, y)`` as floats, or a ConfigError naming ``option``."""
    return START.check(_numbers(point), option)


def _numbers(values):
    """A NumPy array or any sequence as a tuple (the declarations take sequences, not arrays' truth values)."""
    return tuple(np.asarray(values).tolist()) if isinstance(values, np.ndarray) else values


# ---- the optimizers on the function ----------------------------------------------------------------------

@dataclass(frozen=True)
class Descent:
    """One optimizer's iterates on a function.

    Attributes
    ----------
    name : str
        The optimizer.
    hparams : dict
        Its hyper-parameters in effect.
    points : ndarray, shape (n + 1, 2)
        The start and every iterate kept (all finite, inside the domain);
        for a run that left the domain, the last point is where its last
        step crossed the edge.
    stopped : str
        ``""`` if it ran every step, else why it stopped early, in words.
    """

    name: str
    hparams: dict
    points: np.ndarray
    stopped: str = ""


def descend(function, optimizer, *, lr=None, start=None, steps=DEFAULT_STEPS, domain=None, **hparams):
    """Run ``optimizer`` on ``function`` from ``start`` for ``steps`` steps.

    The parameters are ``{"xy": array([x, y])}`` and the gradient is the
    function's own, so the update is exactly the one training uses. The run
    stops early when an iterate is not finite (divergence: the path ends at
    the last finite point) or leaves ``domain`` (it could not be drawn: the
    path ends where the last step crosses the domain's edge).

    Examples
    --------
    >>> run = descend(get_function("bowl"), "sgd", steps=100)
    >>> run.points.shape, run.stopped, bool(np.abs(run.points[-1]).max() < 0.01)
    ((101, 2), '', True)
    """
    lr = function.lr(optimizer) if lr is None else float(lr)
    opt = make_optimizer(optimizer, lr=lr, **hparams)
    start = check_point(function.start if start is None else start, "--start")
    domain = check_domain(function.domain if domain is None else domain)
    steps = STEPS.check(steps, STEPS.flag)
    params = {"xy": np.array(start, dtype=np.float64)}
    points = [params["xy"].copy()]
    stopped = ""
    with np.errstate(all="ignore"):
        for step in range(1, steps + 1):
            gx, gy = function.gradient(*params["xy"])
            grad = np.array([gx, gy], dtype=np.float64)
            if not np.isfinite(grad).all():
                stopped = f"stopped at step {step - 1}: the gradient is not finite there"
                break
            opt.step(params, {"xy": grad})
            x, y = params["xy"]
            if not (np.isfinite(x) and np.isfinite(y) and np.isfinite(function(x, y))):
                stopped = f"diverged at step {step} (lr {lr:g}); the path ends at the last finite point"
                break
            if not (domain[0] <= x <= domain[1] and domain[2] <= y <= domain[3]):
                points.append(_edge_crossing(points[-1], params["xy"], domain))
                stopped = f"left the domain at step {step}; the path ends where it crossed the edge"
                break
            points.append(params["xy"].copy())
    return Descent(optimizer, opt.hparams, np.array(points), stopped)


def _edge_crossing(inside, outside, domain):
    """Where the segment from ``inside`` to ``outside`` (or towards it, if not finite) leaves ``domain``."""
    inside = np.asarray(inside, dtype=np.float64)
    direction = np.asarray(outside, dtype=np.float64) - inside
    fractions = [1.0]
    for axis, (lo, hi) in enumerate((domain[:2], domain[2:])):
        if direction[axis] > 0:
            fractions.append((hi - inside[axis]) / direction[axis])
        elif direction[axis] < 0:
            fractions.append((lo - inside[axis]) / direction[axis])
    point = inside + min(fractions) * direction
    return np.clip(point, [domain[0], domain[2]], [domain[1], domain[3]])  # rounding stays on the edge


def suggested_lrs(value, gradient, start, domain):
    """Learning rates for a function that has none of its own, from its shape at the start.

    Adaptive methods (RMSprop, Adam) step about ``lr`` per coordinate, so
    theirs is 1/100 of the domain's larger side. Gradient methods are
    limited by the curvature ``L`` (the Hessian's largest absolute
    eigenvalue at the start, by central differences): SGD gets ``1 / L``,
    momentum and Nesterov ``0.1 / L`` (the same effective step with
    momentum 0.9). The curvature elsewhere may be larger: lower them if a
    path diverges.

    Examples
    --------
    >>> lrs = suggested_lrs(lambda x, y: x ** 2 + 10 * y ** 2, None, (1.0, 1.0), (-2, 2, -2, 2))
    >>> round(lrs["sgd"], 3), lrs["adam"]
    (0.05, 0.04)
    """
    x, y = (float(v) for v in start)
    span = np.float64(max(domain[1] - domain[0], domain[3] - domain[2]))
    h = np.float64(1e-4) * span
    # NumPy floats throughout: a square of 1e154 or of 1e-300 overflows or underflows to inf or 0, never an
    # OverflowError or a ZeroDivisionError (Hypothesis found both); what is left is checked below.
    with np.errstate(all="ignore"):
        f = np.array([[float(value(x + i * h, y + j * h)) for j in (-1, 0, 1)] for i in (-1, 0, 1)])
        h2 = h * h
        fxx = (f[2, 1] - 2 * f[1, 1] + f[0, 1]) / h2
        fyy = (f[1, 2] - 2 * f[1, 1] + f[1, 0]) / h2
        fxy = (f[2, 2] - f[2, 0] - f[0, 2] + f[0, 0]) / (4 * h2)
        flat = np.float64(1e-3) / (span * span)  # a flat start: steps of a tenth of the domain or so
        hessian = np.array([[fxx, fxy], [fxy, fyy]])
        curvature = float(np.abs(np.linalg.eigvalsh(hessian)).max()) if np.isfinite(hessian).all() else 0.0
        curvature = max(curvature, float(flat)) if np.isfinite(flat) else curvature
        lrs = {"sgd": 1.0 / np.float64(curvature), "momentum": 0.1 / np.float64(curvature),
               "nesterov": 0.1 / np.float64(curvature), "rmsprop": span / 100.0, "adam": span / 100.0}
    if not all(np.isfinite(lr) and lr > 0 for lr in lrs.values()):
        raise ConfigError(f"domain {[float(v) for v in domain]}: no learning rate can be suggested on a square this "
                          "large or this small; give each optimizer's with --lr NAME=VALUE")
    return {name: float(lr) for name, lr in lrs.items()}


def classic_landscape(function, *, optimizers=DEFAULT_OPTIMIZERS, steps=DEFAULT_STEPS, lrs=None, start=None,
                      domain=None, resolution=DEFAULT_RESOLUTION):
    """The function on its own axes, with every optimizer's iterates as a path: a race, exactly.

    Parameters
    ----------
    function : ClassicFunction or str
        A function or the name of one in :data:`FUNCTIONS`.
    optimizers : sequence of str
        Names from :mod:`lossfilm.training.fit.optimizers`; each gets one path.
    steps : int
        Optimizer steps of each.
    lrs : dict, optional
        ``{optimizer: lr}`` overriding the function's own learning rates.
    start : sequence of 2 float, optional
        Default: the function's start.
    domain : sequence of 4 float, optional
        Default: the function's domain. Paths stop where they leave it.
    resolution : int
        Grid nodes per side.

    Returns
    -------
    Landscape
        ``directions_kind="axes"``, origin 0 and directions the identity, so
        ``(alpha, beta)`` is ``(x, y)``; ``loss`` is ``f`` on the grid;
        ``path_loss_plane == path_loss_true == f`` at the iterates,
        residuals 0. ``settings`` holds ``function`` (name, formula,
        domain), ``minima`` (``[[x, y, f], ...]``), ``critical_points``
        (``[[x, y, f, kind], ...]``), ``axis_names``, ``log_z`` (the
        recommended height scale) and ``log_floor`` (the smallest positive
        value on the grid: clip there before a logarithm, since minima
        have f = 0), ``optimizers`` (hyper-parameters), ``start``, ``steps``
        and ``stopped`` (why a path ended early, per optimizer).

    Examples
    --------
    >>> land = classic_landscape("himmelblau", optimizers=("adam",), steps=20, resolution=11)
    >>> land.settings["function"]["name"], len(land.settings["minima"])
    ('himmelblau', 4)
    """
    iterates, settings, evaluation = _race(function, optimizers, steps, lrs, start, domain, resolution)
    return _with_log_floor(build_landscape(iterates, settings, evaluation))


def cached_classic_landscape(function, out_path, *, force=False, **options):
    """Reuse the landscape at ``out_path`` if it has the same key, else make it and save it there.

    The key covers the function (its name, formula and domain), the
    settings, every optimizer's hyper-parameters and their iterates.

    Parameters
    ----------
    function : ClassicFunction or str
    out_path : path-like
    force : bool
        Make it again even if the key matches.
    **options
        The options of :func:`classic_landscape` (optimizers, steps, ...).

    Returns
    -------
    landscape : Landscape
    action : {"compute", "reuse", "update"}
    """
    iterates, settings, evaluation = _race(function, force=force, **options)
    key = landscape_key(iterates, settings, evaluation.name)
    return cached_landscape(out_path, key, lambda _: _with_log_floor(build_landscape(iterates, settings, evaluation,
                                                                                     force=force)),
                            force=force)


STEP_SECONDS = 4e-5  # one optimizer step on a 2-D function and its exact path loss (measured 1.7e-5 + the loss)
STEP_BYTES = 200  # one iterate: its point, losses, steps and what the film keeps of it


def _race(function, optimizers=DEFAULT_OPTIMIZERS, steps=DEFAULT_STEPS, lrs=None, start=None, domain=None,
          resolution=DEFAULT_RESOLUTION, force=False):
    """Check the options, run every optimizer: the paths, settings and evaluation of the landscape."""
    if isinstance(function, str):
        function = get_function(function)
    optimizers, lrs = check_racers(optimizers, lrs)
    domain = check_domain(function.domain if domain is None else domain)
    start = check_point(function.start if start is None else start, "--start")
    if not (domain[0] <= start[0] <= domain[1] and domain[2] <= start[1] <= domain[3]):
        raise ConfigError(f"--start {start[0]:g},{start[1]:g}: lies outside the domain "
                          f"{','.join(f'{v:g}' for v in domain)}")
    if not np.isfinite(function(*start)):
        raise ConfigError(f"--start {start[0]:g},{start[1]:g}: the function is not finite there")
    runners = len(optimizers)
    check_cost("--steps", int(steps), lambda n: Cost(memory=STEP_BYTES * n * runners,
                                                     seconds=STEP_SECONDS * n * runners), force=force)
    # The grid is the domain itself, and every iterate is kept (a run has at most steps + 1 points).
    settings = LandscapeSettings(directions_kind="axes", resolution=resolution, grid_range=domain,
                                 max_path=max(2, int(steps) + 1))
    runs = [descend(function, name, lr=lrs.get(name), start=start, steps=steps, domain=domain)
            for name in optimizers]
    record = {
        "function": {"name": function.name, "formula": function.formula, "domain": list(domain)},
        "minima": function.minima_values(),
        "critical_points": [[float(x), float(y), float(function(x, y)), kind] for x, y, kind in function.critical],
        "axis_names": ["x", "y"],
        "log_z": bool(function.log_z),
        "optimizers": {run.name: run.hparams for run in runs},
        "start": list(start),
        "steps": int(steps),
        "resolution": settings.resolution,
        "stopped": {run.name: run.stopped for run in runs if run.stopped},
        "evaluation": AnalyticEvaluation.name,
    }
    iterates = Iterates([run.name for run in runs], [run.points for run in runs], record)
    return iterates, settings, AnalyticEvaluation(function)


def _with_log_floor(land):
    """Record the smallest positive value on the grid: clip there before a logarithm (minima have f = 0)."""
    positive = land.loss[np.isfinite(land.loss) & (land.loss > 0)]
    land.settings["log_floor"] = float(positive.min()) if positive.size else None
    return land
