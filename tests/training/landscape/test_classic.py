"""Classic 2-D test functions: gradients, minima, the optimizers on them, the exact landscape, --expr."""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.training.landscape.pipeline import Landscape
from lossfilm.training.landscape.classic import (FUNCTIONS, HIMMELBLAU_MINIMA, cached_classic_landscape, classic_landscape,
                                       descend, from_callable, from_expression, get_function, numerical_gradient,
                                       parse_expression)

ALL = [get_function(name) for name in FUNCTIONS] + [get_function("bowl", condition=100)]
LITERATURE_MINIMA = {  # (x, y) -> f there
    "rosenbrock": {(1.0, 1.0): 0.0},
    "beale": {(3.0, 0.5): 0.0},
    "rastrigin": {(0.0, 0.0): 0.0},
    "himmelblau": {(3.0, 2.0): 0.0, (-2.805118, 3.131312): 0.0, (-3.779310, -3.283186): 0.0,
                   (3.584428, -1.848126): 0.0},
    "bowl": {(0.0, 0.0): 0.0},
    "saddle": {},
}


def _id(fn):
    return f"bowl-{fn.formula.split('number ')[1][:-1]}" if fn.name == "bowl" else fn.name


@pytest.mark.parametrize("fn", ALL, ids=_id)
def test_the_analytic_gradient_matches_central_differences(fn):
    rng = np.random.default_rng(0)
    x0, x1, y0, y1 = fn.domain
    points = np.column_stack([rng.uniform(x0, x1, 8), rng.uniform(y0, y1, 8)])
    for x, y in [*points, fn.start]:
        analytic = np.array(fn.gradient(x, y), dtype=float)
        h = 1e-6
        numeric = np.array([(fn(x + h, y) - fn(x - h, y)) / (2 * h), (fn(x, y + h) - fn(x, y - h)) / (2 * h)])
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-5 * (1 + np.abs(analytic).max()))


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_the_minima_are_where_the_literature_puts_them(name):
    fn = get_function(name)
    expected = LITERATURE_MINIMA[name]
    assert len(fn.minima) == len(expected)
    for (x, y), (ex, ey) in zip(sorted(fn.minima), sorted(expected)):
        assert abs(x - ex) < 1e-5 and abs(y - ey) < 1e-5  # the literature's (six-digit) values
        assert fn(x, y) == pytest.approx(expected[(ex, ey)], abs=1e-12)
        assert np.hypot(*fn.gradient(x, y)) < 1e-9
        ring = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        for r in (1e-3, 1e-2):
            assert (fn(x + r * np.cos(ring), y + r * np.sin(ring)) >= fn(x, y)).all()
    assert [m[:2] for m in fn.minima_values()] == [list(m) for m in fn.minima]


def test_the_saddle_has_no_minimum_but_a_marked_critical_point():
    saddle = get_function("saddle")
    assert saddle.minima == () and saddle.critical == ((0.0, 0.0, "saddle"),)
    assert saddle.gradient(0.0, 0.0) == (0.0, 0.0)
    assert saddle(1e-2, 0.0) > saddle(0.0, 0.0) > saddle(0.0, 1e-2)  # up along x, down along y
    land = classic_landscape(saddle, optimizers=("adam",), resolution=11)
    assert land.settings["minima"] == [] and land.settings["critical_points"] == [[0.0, 0.0, 0.0, "saddle"]]
    assert "left the domain" in land.settings["stopped"]["adam"]  # f has no bottom: it flies off the edge
    last = land.path_slices()["adam"][-1]
    assert abs(land.path_beta[last]) == pytest.approx(2.0)  # ends on the edge it crossed


@pytest.mark.parametrize("name", ["bowl", "rosenbrock"])
def test_every_optimizer_descends_from_the_default_start(name):
    fn = get_function(name)
    for optimizer in ("sgd", "momentum", "nesterov", "rmsprop", "adam"):
        run = descend(fn, optimizer)
        assert run.stopped == "" and len(run.points) == 201
        f_start, f_end = fn(*fn.start), fn(*run.points[-1])
        assert f_end < 0.2 * f_start, (optimizer, f_start, f_end)
        if name == "bowl":
            assert f_end < 1e-3 * f_start


def test_the_bowl_has_the_condition_number_asked_for():
    for condition in (10.0, 100.0):
        fn = get_function("bowl", condition=condition)
        h = 1e-3
        fxx = (fn(h, 0) - 2 * fn(0, 0) + fn(-h, 0)) / h ** 2
        fyy = (fn(0, h) - 2 * fn(0, 0) + fn(0, -h)) / h ** 2
        assert fyy / fxx == pytest.approx(condition, rel=1e-6)
    with pytest.raises(ConfigError, match="--condition"):
        get_function("bowl", condition=0.5)


def test_the_landscape_is_the_function_itself_and_the_paths_lie_on_it(tmp_path):
    fn = get_function("himmelblau")
    land = classic_landscape(fn, optimizers=("sgd", "momentum", "adam"), steps=60, resolution=21)
    land.save(tmp_path / "classic.npz")
    land = Landscape.load(tmp_path / "classic.npz")
    assert land.directions_kind == "axes" and land.axis_label(0) == "x" and land.axis_label(1) == "y"
    np.testing.assert_array_equal(land.origin, np.zeros(2))
    np.testing.assert_array_equal(land.directions, np.eye(2))
    assert np.isnan(land.explained_variance).all() and not land.residuals.any()
    # the grid value at a node is f there, exactly
    i, j = 7, 13
    assert land.loss[i, j] == fn(land.alphas[i], land.betas[j])
    assert land.alphas[0] == fn.domain[0] and land.betas[-1] == fn.domain[3] and land.computed.all()
    # the path is the iterates, and its losses are f at them: the ball rides the surface exactly
    np.testing.assert_array_equal(land.path_loss_true, fn(land.path_alpha, land.path_beta))
    np.testing.assert_array_equal(land.path_loss_plane, land.path_loss_true)
    assert land.path_names == ("sgd", "momentum", "adam")
    for name, index in land.path_slices().items():
        assert len(index) == 61 and land.path_steps[index].tolist() == list(range(61))
        run = descend(fn, name, steps=60)
        np.testing.assert_array_equal(np.column_stack([land.path_alpha[index], land.path_beta[index]]), run.points)
    assert [m[:2] for m in land.settings["minima"]] == [list(m) for m in HIMMELBLAU_MINIMA]
    assert land.settings["function"]["name"] == "himmelblau" and land.settings["axis_names"] == ["x", "y"]
    assert land.settings["optimizers"]["adam"]["lr"] == fn.lr("adam")
    assert get_function("rosenbrock").log_z and get_function("beale").log_z and not get_function("bowl").log_z


def test_the_landscape_is_cached_on_the_function_and_its_settings(tmp_path):
    out = tmp_path / "classic-bowl.npz"
    options = dict(optimizers=("sgd", "adam"), steps=40, resolution=11)
    land, action = cached_classic_landscape("bowl", out, **options)
    assert action == "compute" and "time_s" not in Landscape.load(out).settings  # the file is reproducible
    written = out.read_bytes()
    again, action = cached_classic_landscape("bowl", out, **options)
    assert action == "reuse" and again.key == land.key and out.read_bytes() == written
    np.testing.assert_array_equal(again.loss, classic_landscape("bowl", **options).loss)
    for changed in (dict(options, steps=41), dict(options, lrs={"adam": 0.2})):
        _, action = cached_classic_landscape("bowl", out, **changed)
        assert action == "update"
    _, action = cached_classic_landscape(get_function("bowl", condition=100), out, **options)
    assert action == "update"  # another function: the formula says so
    _, action = cached_classic_landscape(get_function("bowl", condition=100), out, force=True, **options)
    assert action == "update"


def test_a_diverging_optimizer_ends_at_its_last_good_point():
    fn = get_function("bowl")
    land = classic_landscape(fn, optimizers=("sgd", "adam"), lrs={"adam": 1e6, "sgd": 2.5}, steps=200,
                             resolution=11)
    stopped = land.settings["stopped"]
    assert "left the domain at step 1" in stopped["adam"] and "sgd" in stopped  # lr 2.5 > 2/curvature: it grows
    assert np.isfinite(land.path_alpha).all() and np.isfinite(land.path_loss_plane).all()
    adam = land.path_slices()["adam"]
    assert len(adam) == 2  # the start, and where its first step crossed the edge
    x, y = land.path_alpha[adam[-1]], land.path_beta[adam[-1]]
    assert fn.domain[0] <= x <= fn.domain[1] and fn.domain[2] <= y <= fn.domain[3]
    assert x in fn.domain[:2] or y in fn.domain[2:]
    # overflow to inf: the path ends at the last finite point
    quartic = from_callable(lambda x, y: x ** 4 + y ** 2, gradient=lambda x, y: (4 * x ** 3, 2 * y),
                            domain=(-1e300, 1e300, -1e300, 1e300), start=(1.0, 0.0), lrs={"sgd": 1.0})
    run = descend(quartic, "sgd")  # 1, -3, 105, -4.6e6, ...: f overflows within ten steps
    assert run.stopped.startswith("diverged at step") and 3 < len(run.points) < 10
    assert np.isfinite(run.points).all() and np.isfinite(quartic(*run.points[-1]))


def test_an_expression_becomes_a_function_with_a_numerical_gradient():
    text = "(1-x)**2 + 100*(y-x**2)**2"
    mine = from_expression(text, domain=(-2, 2, -1, 3), start=(-1.5, 2))
    rosen = get_function("rosenbrock")
    xs = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(mine(xs, xs[::-1]), rosen(xs, xs[::-1]))
    for point in [(-1.5, 2.0), (0.3, -0.7), (1.0, 1.0)]:
        np.testing.assert_allclose(mine.gradient(*point), rosen.gradient(*point), rtol=1e-6, atol=1e-6)
    assert mine.log_z and mine.formula == f"f(x, y) = {text}" and mine.start == (-1.5, 2.0)
    assert parse_expression("np.sin(x) * numpy.cos(y) + pi")(0.0, 0.0) == pytest.approx(np.pi)
    assert parse_expression("where(x > 0, x, -x)")(np.array([-2.0, 3.0]), 0.0).tolist() == [2.0, 3.0]
    assert parse_expression("3")(np.zeros((2, 2)), 0.0).shape == (2, 2)  # a constant fills the grid


@pytest.mark.parametrize("text", [
    "__import__('os')", "x.__class__", "open('/etc/passwd')", "().__class__.__bases__", "np.load('x')",
    "lambda: 1", "'abc' * 3", "[x for x in y]", "x[0]", "exec('1')", "sin(x=1)", "globals()", "y if x else 0",
])
def test_unsafe_or_unknown_expressions_are_refused_with_one_line(text):
    with pytest.raises(ConfigError) as info:
        parse_expression(text)
    message = str(info.value)
    assert "\n" not in message and message.startswith("--expr") and "not allowed" in message


def test_expressions_that_do_not_evaluate_are_a_config_error():
    for text in ("", "x +", "sin(x, y, x, y)", "9**9**9**9", "np"):
        with pytest.raises(ConfigError, match="--expr"):
            parse_expression(text)


def test_a_callable_in_python():
    fn = from_callable(lambda x, y: (x - 1) ** 2 + (y + 2) ** 2, domain=(-3, 3, -4, 2), name="sphere",
                       minima=[(1, -2)])
    gx, gy = numerical_gradient(fn, 0.0, 0.0)
    assert gx == pytest.approx(-2.0, abs=1e-6) and gy == pytest.approx(4.0, abs=1e-6)
    land = classic_landscape(fn, optimizers=("sgd", "adam"), steps=100, resolution=9)
    assert land.settings["minima"] == [[1.0, -2.0, 0.0]]
    for index in land.path_slices().values():
        assert land.path_loss_true[index][-1] < 0.05 * land.path_loss_true[index][0]  # its suggested lrs work
    scalar_only = from_callable(lambda x, y: float(x) ** 2 + float(y) ** 2, domain=(-1, 1, -1, 1))
    assert scalar_only(np.zeros((3, 3)), np.ones((3, 3))).tolist() == [[1.0] * 3] * 3


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="unknown function"):
        get_function("nope")
    with pytest.raises(ConfigError, match="--start"):
        classic_landscape("bowl", start=(10.0, 0.0))
    with pytest.raises(ConfigError, match="--domain"):
        classic_landscape("bowl", domain=(1, 0, 0, 1))
    with pytest.raises(ConfigError, match="not racing"):
        classic_landscape("bowl", optimizers=("sgd",), lrs={"adam": 0.1})
    with pytest.raises(ConfigError, match="optimizers .*: expected 1 to 5 .*; 'lbfgs' is not"):
        classic_landscape("bowl", optimizers=("sgd", "lbfgs"))


@pytest.mark.slow  # renders a short film (~4 s)
def test_the_classic_command_films_a_diverging_race_and_refuses_unsafe_input(tmp_path, capsys):
    pytest.importorskip("pyvista")
    import imageio.v3 as iio

    from lossfilm.cli import main as cli

    out = tmp_path / "media"
    assert cli(["classic", "bowl", "--optimizers", "sgd,adam", "--lr", "adam=1e6", "--steps", "30",
                "--resolution", "21", "--seconds", "1", "--still-size", "160x120", "--out-dir", str(out),
                "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "adam" in said and "left the domain at step 1" in said
    assert iio.imread(out / "classic-bowl.png").shape == (120, 160, 3)
    assert (out / "classic-bowl.mp4").stat().st_size > 0
    assert Landscape.load(out / "cache" / "classic-bowl.npz").path_names == ("sgd", "adam")

    assert cli(["classic", "--expr", "__import__('os').system('true')", "--domain", "-1,1,-1,1",
                "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not allowed" in err and err.startswith("lossfilm classic: error: --expr")
    assert cli(["classic", "--expr", "x**2 + y**2", "--out-dir", str(out)]) == 2
    assert "needs --domain" in capsys.readouterr().err
    assert cli(["classic", "rosenbrock", "--expr", "x", "--domain", "-1,1,-1,1", "--out-dir", str(out)]) == 2
    assert "not both" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["cache", "classic-bowl.mp4", "classic-bowl.png"]


@pytest.mark.parametrize("domain", [(-1.0, 0.0, 0.0, 1.3407807929942597e+158), (-1.0, 0.0, 0.0, 1.3407807929942597e+154),
                                    (0.0, 1e-300, 0.0, 1e-300)])
def test_a_square_too_large_or_too_small_for_suggested_learning_rates_is_one_line(domain):
    """Found by Hypothesis in the hostile command-line fuzz: OverflowError (h ** 2, span ** 2) and, for a tiny
    square, a division by zero, where the suggested learning rates are computed."""
    from lossfilm.format.errors import ConfigError
    from lossfilm.training.landscape.classic import from_expression

    with pytest.raises(ConfigError, match="no learning rate can be suggested"):
        from_expression("x**1e10", domain=domain)
