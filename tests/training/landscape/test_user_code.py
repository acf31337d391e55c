"""The boundary with user code: a loss_fn, acc_fn, grad_fn or 2-D function that raises or returns nonsense.

Each hostile function must give one UserCodeError line naming the function,
what it raised or returned, and where (a grid node's coordinates, a
snapshot); never another exception, never a silent exit (``sys.exit()``
inside a loss function), while Ctrl-C still interrupts. A 0-d array and a
one-element array are losses; NaN and inf are holes in the grid.
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossfilm.format.errors import LossfilmError, LossfilmWarning, UserCodeError
from lossfilm.format.layout import ParamLayout
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.landscape.grid import AnalyticPlaneLoss, FunctionPlaneLoss
from lossfilm.training.landscape.pipeline import Landscape
from lossfilm.training.landscape.plane import Plane

T = 4  # snapshots: with line=0 the first 2T calls are the path's own points, the grid comes after


@pytest.fixture(scope="module")
def trajectory():
    rng = np.random.default_rng(0)
    return Trajectory.from_snapshots([{"w": rng.normal(size=3)} for _ in range(T)])


def after(calls, value):
    """A loss that is fine for ``calls`` calls, then returns (or raises) ``value``: it fails at a grid node."""
    count = [0]

    def loss_fn(params):
        count[0] += 1
        if count[0] <= calls:
            return float((params["w"] ** 2).sum())
        if isinstance(value, BaseException):
            raise value
        return value() if callable(value) else value
    return loss_fn


def leave():
    sys.exit(0)


HOSTILE = [  # (returned or raised, fragment of the message)
    ("1.5", "returned the str '1.5'"),
    (None, "returned None"),
    (np.zeros(3), "returned an array of shape (3,)"),
    (1 + 2j, "returned the complex number (1+2j)"),
    (np.array([1 + 0j]), "returned an array of shape (1,) of complex128"),
    (True, "returned the bool True"),
    ({"loss": 1.0}, "returned a dict of 1 items"),
    (RuntimeError("CUDA went away"), "raised RuntimeError: CUDA went away"),
    (ZeroDivisionError("division by zero"), "raised ZeroDivisionError: division by zero"),
    (leave, "raised SystemExit(0) (sys.exit() inside it)"),
    (SystemExit(3), "raised SystemExit(3)"),
]


@pytest.mark.parametrize("value, fragment", HOSTILE, ids=[f[1][:24] for f in HOSTILE])
def test_a_hostile_loss_is_one_line_at_its_grid_node(trajectory, value, fragment):
    loss_fn = after(2 * T, value)
    with pytest.raises(UserCodeError) as info:
        Landscape.from_trajectory(trajectory, loss_fn=loss_fn, resolution=3, line=0)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("your loss_fn loss_fn ")
    assert fragment in message
    assert " at grid node (" in message


@pytest.mark.parametrize("value, fragment", HOSTILE[:4], ids=[f[1][:24] for f in HOSTILE[:4]])
def test_a_hostile_loss_at_the_path_names_the_snapshot(trajectory, value, fragment):
    with pytest.raises(UserCodeError, match=r"at snapshot 0 \(step 0\)"):
        Landscape.from_trajectory(trajectory, loss_fn=after(0, value), resolution=3, line=0)


def test_the_line_names_its_position(trajectory):
    with pytest.raises(UserCodeError, match=r"at t = -?[0-9.]+ of the line from the first snapshot to the last"):
        Landscape.from_trajectory(trajectory, loss_fn=after(2 * T, None), resolution=3, line=5)


def test_the_users_traceback_is_the_cause(trajectory):
    """``lossfilm --debug`` shows the user's traceback: it is the error's cause."""
    error = RuntimeError("inside")
    with pytest.raises(UserCodeError) as info:
        Landscape.from_trajectory(trajectory, loss_fn=after(0, error), resolution=3, line=0)
    assert info.value.__cause__ is error


def test_ctrl_c_inside_the_loss_still_interrupts(trajectory):
    with pytest.raises(KeyboardInterrupt):
        Landscape.from_trajectory(trajectory, loss_fn=after(2 * T, KeyboardInterrupt()), resolution=3, line=0)


@pytest.mark.parametrize("value", [np.array(2.0), np.array([2.0]), np.array([[2.0]]), np.float32(2.0), 2, np.int64(2)],
                         ids=["0-d", "1-element", "1x1", "float32", "int", "int64"])
def test_a_scalar_array_or_number_is_a_loss(trajectory, value):
    land = Landscape.from_trajectory(trajectory, loss_fn=lambda p: value, resolution=3, line=0)
    assert (land.loss == 2.0).all()


def test_nan_and_inf_stay_holes(trajectory):
    def loss_fn(params):
        return np.inf if params["w"][0] > 0 else np.nan if params["w"][1] > 0 else 1.0
    land = Landscape.from_trajectory(trajectory, loss_fn=loss_fn, resolution=5, line=0)
    assert land.computed.all() and np.isnan(land.loss).any() and not np.isinf(land.loss).any()


def test_an_accuracy_is_checked_too(trajectory):
    with pytest.raises(UserCodeError, match=r"your acc_fn \(a lambda\) returned the str 'high' at snapshot 0 "
                                            r"\(step 0\); an accuracy must be a real number"):
        Landscape.from_trajectory(trajectory, loss_fn=lambda p: 1.0, acc_fn=lambda p: "high", resolution=3, line=0)


@pytest.mark.parametrize("pool", [cf.ThreadPoolExecutor, cf.ProcessPoolExecutor])
def test_on_an_executor_the_same_line(trajectory, pool):
    with pool(2) as executor:
        with pytest.raises(UserCodeError, match=r"your loss_fn leave raised SystemExit\(0\).* "
                                                r"at snapshot \d \(step \d\)$"):
            Landscape.from_trajectory(trajectory, loss_fn=_leave_with_params, resolution=3, line=0,
                                      executor=executor)


def _leave_with_params(params):  # module level: a process pool pickles it
    sys.exit(0)


_leave_with_params.__name__ = "leave"


@pytest.mark.parametrize("gradient, fragment", [
    (None, "returned None"),
    ({"w": np.zeros(2)}, "w has shape (2,), expected (3,)"),
    ({"v": np.zeros(3)}, "keys differ"),
    ({"w": np.array([np.nan, 0.0, 0.0])}, "returned NaN or inf in w"),
    ({"w": np.array(["a", "b", "c"])}, "an array of shape (3,)"),
    (RuntimeError("no autograd here"), "raised RuntimeError: no autograd here"),
])
def test_a_hostile_gradient_is_one_line(trajectory, gradient, fragment):
    def grad_fn(params):
        if isinstance(gradient, BaseException):
            raise gradient
        return gradient
    with pytest.raises(UserCodeError) as info:
        Landscape.from_trajectory(trajectory, loss_fn=lambda p: float((p["w"] ** 2).sum()), grad_fn=grad_fn,
                                  directions_kind="hessian", resolution=3, line=0)
    assert "grad_fn grad_fn" in str(info.value) and fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("result, fragment", [
    (lambda x, y: "bowl", "returned the str 'bowl'"),
    (lambda x, y: np.zeros(3), "returned an array of shape (3,)"),
    (lambda x, y: x + 1j * y, "of complex128"),
    (lambda x, y: 1 / 0, "raised ZeroDivisionError"),
])
def test_a_hostile_2d_function_is_one_line(result, fragment):
    plane = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "axes")
    with pytest.raises(UserCodeError, match="your function") as info:
        AnalyticPlaneLoss(plane, result).at(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert fragment in str(info.value)


def test_a_scalar_2d_function_fills_the_grid():
    plane = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "axes")
    loss, _ = AnalyticPlaneLoss(plane, lambda x, y: 2.0).at(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert loss.tolist() == [2.0, 2.0]


def test_a_grid_with_no_surface_is_said_at_the_landscape_step(trajectory):
    with pytest.warns(LossfilmWarning, match="every grid node is NaN, inf or not computed: there is no surface"):
        Landscape.from_trajectory(trajectory, loss_fn=lambda p: np.nan, resolution=3, line=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the summary leaks no NumPy warning
        land = Landscape.from_trajectory(trajectory, loss_fn=lambda p: np.nan, resolution=3, line=5)
        assert "no finite value" in land.summary() and "NaN or inf all along it" in land.summary()


# Hostile return values, generated: whatever comes back, the result is a grid or one UserCodeError line.
RETURNS = st.one_of(
    st.none(), st.booleans(), st.text(max_size=5), st.binary(max_size=3),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
    st.complex_numbers(max_magnitude=1e6),
    st.lists(st.floats(-1e3, 1e3), max_size=3), st.dictionaries(st.text(max_size=2), st.floats(), max_size=2),
    st.builds(np.array, st.lists(st.floats(-1e3, 1e3), min_size=0, max_size=3)),
    st.sampled_from([np.float32(1.0), np.array("x"), np.array([None]), np.array([[1.0, 2.0]]), object(),
                     RuntimeError("r"), SystemExit(0), SystemExit("bye"), ValueError("v"), MemoryError()]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=RETURNS, at=st.sampled_from([0, 2 * T]))
def test_fuzz_hostile_losses_give_one_line(trajectory, value, at):
    try:
        land = Landscape.from_trajectory(trajectory, loss_fn=after(at, value), resolution=3, line=0)
    except UserCodeError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("your loss_fn")
        return
    assert land.loss.shape == (3, 3)  # a real number came back everywhere (NaN and inf are holes)


def test_function_evaluator_names_the_node_directly():
    plane = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "random")
    evaluator = FunctionPlaneLoss(plane, ParamLayout(("w",), ((2,),)), lambda p: [1.0, 2.0])
    with pytest.raises(LossfilmError, match=r"returned a list of 2 items at grid node \(0\.5, -2\)"):
        list(evaluator.evaluate([np.array([[0.5, -2.0]])]))
