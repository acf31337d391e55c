"""The evaluation interface: every loss a landscape evaluates plays the named roles, optional parts declared."""

import numpy as np
import pytest

from lossfilm.format.errors import ConfigError
from lossfilm.format.layout import ParamLayout
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.fit.mlp import init_params
from lossfilm.training.landscape.evaluation import (AnalyticEvaluation, Evaluation, EvaluationMaker,
                                                    FunctionEvaluation, MLPEvaluation, NodeCost, evaluation_for)
from lossfilm.training.landscape.grid import PlaneLoss
from lossfilm.training.landscape.pipeline import Landscape, check_grid_cost
from lossfilm.training.landscape.plane import Plane
from lossfilm.training.landscape.settings import LandscapeSettings


def mlp_evaluation(samples=50, hidden=8):
    rng = np.random.default_rng(0)
    layout = ParamLayout.of(init_params([4, hidden, 3], rng))
    return MLPEvaluation(layout, rng.normal(size=(samples, 4)), rng.integers(0, 3, samples))


def test_each_evaluation_is_an_evaluation_and_its_planes_are_plane_losses():
    axes = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "axes")
    plain = Plane(np.zeros(2, np.float32), np.eye(2, dtype=np.float32), "random")
    function = FunctionEvaluation(ParamLayout(("w",), ((2,),)), lambda p: float(p["w"].sum()))
    analytic = AnalyticEvaluation(lambda x, y: x + y)
    for evaluation, plane in ((function, plain), (analytic, axes)):
        assert Evaluation in type(evaluation).__mro__  # declared, not merely shaped alike
        assert PlaneLoss in type(evaluation.on(plane)).__mro__
        assert evaluation.on(plane).for_worker().at(np.array([[1.0, 2.0]]))[0].tolist() == [3.0]


def test_the_optional_parts_have_declared_defaults():
    analytic = AnalyticEvaluation(lambda x, y: x * y)
    assert analytic.cost() == NodeCost() and analytic.hessian_at(np.zeros(2)) is None
    assert analytic.line_plane(None) is None
    mlp = mlp_evaluation()
    hvp = mlp.hessian_at(mlp.layout.flatten(init_params([4, 8, 3], np.random.default_rng(1))).astype(np.float64))
    assert hvp(np.ones(mlp.layout.size)).shape == (mlp.layout.size,)


def test_the_built_in_mlp_knows_its_cost_and_it_grows_with_samples_and_width():
    small, more, wider = mlp_evaluation(50, 8).cost(), mlp_evaluation(100, 8).cost(), mlp_evaluation(50, 16).cost()
    assert small.seconds > 0 and small.fixed_bytes > 0
    assert more.seconds == pytest.approx(2 * small.seconds)  # linear in samples
    assert wider.seconds > small.seconds and wider.fixed_bytes > small.fixed_bytes


class Costly(FunctionEvaluation):
    """A user's evaluation that declares a cost: the size check reads it, whatever the class."""

    def cost(self):
        return NodeCost(seconds=1.0)


def test_the_size_check_reads_the_evaluations_own_cost():
    layout = ParamLayout(("w",), ((2,),))
    check_grid_cost(LandscapeSettings(resolution=101), FunctionEvaluation(layout, lambda p: 0.0))  # unknown: allowed
    with pytest.raises(ConfigError, match="--resolution 101"):  # 10,201 s of nodes: over the hour
        check_grid_cost(LandscapeSettings(resolution=101), Costly(layout, lambda p: 0.0))


def test_a_loss_without_hessian_products_is_refused_in_one_line_by_the_hessian_plane():
    run = Trajectory.from_snapshots([{"w": np.array([1.0, 2.0]) * 0.5 ** t} for t in range(4)])

    class Maker:  # a loss_fn that makes its own evaluation, as TorchLoss does; this one has no curvature
        def evaluation(self, trajectory, *, samples, seed):
            return Plain(trajectory.layout, lambda p: float((p["w"] ** 2).sum()))

    class Plain(FunctionEvaluation):
        def hessian_at(self, theta):
            return None

    assert isinstance(Maker(), EvaluationMaker)
    assert isinstance(evaluation_for(run, loss_fn=Maker(), samples=0, seed=0), Plain)
    with pytest.raises(ConfigError, match="no Hessian-vector products") as info:
        Landscape.from_trajectory(run, loss_fn=Maker(), directions_kind="hessian", resolution=3)
    assert "\n" not in str(info.value)
