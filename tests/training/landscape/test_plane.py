"""The plane: PCA, random filter-normalised and anchor directions, and projection."""

import numpy as np
import pytest

import lossfilm.training.landscape.pca as pca_module
from lossfilm.format.errors import DataError
from lossfilm.format.layout import ParamLayout
from lossfilm.training.fit.mlp import init_params
from lossfilm.training.landscape.descent_paths import Run
from lossfilm.training.landscape.plane import Plane, anchors_plane, make_plane, pca_plane, random_plane, subsample_indices
from lossfilm.training.landscape.settings import LandscapeSettings
from lossfilm.format.trajectory import Trajectory


def wandering_path(T=60, P=400, seed=0):
    """A path with a dominant direction, a curve and noise, like a training run."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, T)[:, None]
    path = (np.exp(-4 * t) * rng.normal(size=P) + 0.3 * np.sin(6 * t) * rng.normal(size=P)
            + 0.02 * np.cumsum(rng.normal(size=(T, P)), axis=0) / np.sqrt(T) + rng.normal(size=P))
    return path.astype(np.float32)


def mlp_layout_and_params(seed=0):
    params = init_params([6, 5, 3], np.random.default_rng(seed))
    params["b1"] += 0.1
    layout = ParamLayout.of(params)
    return layout, layout.flatten(params)


def svd_reference(params):
    offsets = params.astype(np.float64) - params[-1].astype(np.float64)
    _, sigma, Vt = np.linalg.svd(offsets, full_matrices=False)
    return Vt[:2], sigma[:2] ** 2 / (sigma ** 2).sum()


@pytest.mark.parametrize("kind", ["pca", "random", "anchors"])
def test_directions_are_orthonormal(kind):
    layout, _ = mlp_layout_and_params()
    rng = np.random.default_rng(1)
    params = np.cumsum(rng.normal(size=(12, layout.size)), axis=0).astype(np.float32)
    plane = make_plane(Run(Trajectory.from_snapshots([layout.unflatten(row) for row in params])),
                       LandscapeSettings(directions_kind=kind, seed=3))
    D = plane.directions.astype(np.float64)
    assert plane.directions.dtype == np.float32 and D.shape == (2, layout.size)
    np.testing.assert_allclose(D @ D.T, np.eye(2), atol=1e-6)
    np.testing.assert_array_equal(plane.origin, params[-1])  # every kind sits on the final parameters


def test_a_snapshot_in_the_plane_projects_back_exactly():
    params = wandering_path()
    plane = pca_plane(params)
    inside = plane.point(0.37, -1.25)[None, :]  # float64, on the plane by construction
    alpha, beta, residual = plane.project(inside)
    assert alpha[0] == pytest.approx(0.37, abs=1e-12)
    assert beta[0] == pytest.approx(-1.25, abs=1e-12)
    assert residual[0] < 1e-12 * np.linalg.norm(inside)
    # and one stored as float32 in a trajectory (rounded) comes back to float32 precision
    alpha, beta, residual = plane.project(inside.astype(np.float32))
    assert alpha[0] == pytest.approx(0.37, abs=1e-5) and beta[0] == pytest.approx(-1.25, abs=1e-5)
    assert residual[0] < 1e-6 * np.linalg.norm(inside)


def test_projection_of_the_origin_is_zero_and_residual_is_the_distance_from_the_plane():
    params = wandering_path()
    plane = pca_plane(params)
    off_plane = plane.point(1.0, 2.0) + 0.5 * _unit_orthogonal(plane)
    alpha, beta, residual = plane.project(np.stack([params[-1], off_plane]))
    assert (alpha[0], beta[0], residual[0]) == (0.0, 0.0, 0.0)
    assert (alpha[1], beta[1], residual[1]) == pytest.approx((1.0, 2.0, 0.5), abs=1e-9)


def _unit_orthogonal(plane):
    v = np.random.default_rng(5).normal(size=plane.origin.size)
    D = plane.directions.astype(np.float64)
    v -= np.linalg.lstsq(D.T, v, rcond=None)[0] @ D
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("method", ["gram", "randomized"])
def test_uncentred_pca_matches_svd(method):
    params = wandering_path(T=80, P=300)
    plane = pca_plane(params, method=method, seed=7, centred=False)
    Vt, ratio = svd_reference(params)
    cosines = np.abs(np.einsum("ij,ij->i", plane.directions.astype(np.float64), Vt))
    np.testing.assert_allclose(cosines, 1.0, atol=1e-6)
    np.testing.assert_allclose(plane.explained_variance, ratio, rtol=1e-6)
    assert plane.info["method"] == method
    alpha, beta, _ = plane.project(params[:1])  # signs: the first snapshot is in the positive quadrant
    assert alpha[0] >= 0 and beta[0] >= 0


def test_uncentred_explained_variance_agrees_with_residuals():
    params = wandering_path()
    plane = pca_plane(params, centred=False)
    alpha, beta, residual = plane.project(params)
    distance2 = ((params.astype(np.float64) - params[-1]) ** 2).sum(axis=1)
    captured = 1.0 - (residual ** 2).sum() / distance2.sum()
    assert captured == pytest.approx(plane.explained_variance.sum(), rel=1e-5)


def test_pca_streams_a_memmap_loaded_trajectory(tmp_path, monkeypatch):
    params = wandering_path(T=50, P=257)
    traj = Trajectory.from_snapshots([{"w": row} for row in params])
    traj.save(tmp_path / "trajectory.npz")
    loaded = Trajectory.load(tmp_path / "trajectory.npz")
    assert isinstance(loaded.params, np.memmap)
    monkeypatch.setattr(pca_module, "BLOCK_BYTES", 8 * 257 * 7)  # 7 rows (or 8 x 257 columns) per block
    for method in ("gram", "randomized"):
        streamed = pca_plane(loaded.params, method=method)
        in_memory = pca_plane(params, method="gram")
        cosines = np.abs(np.einsum("ij,ij->i", streamed.directions.astype(float),
                                   in_memory.directions.astype(float)))
        np.testing.assert_allclose(cosines, 1.0, atol=1e-6)
        np.testing.assert_allclose(streamed.explained_variance, in_memory.explained_variance, rtol=1e-6)
    alpha, beta, residual = streamed.project(loaded.params)
    ref = in_memory.project(params)
    np.testing.assert_allclose(np.abs(alpha), np.abs(ref[0]), atol=1e-4)
    np.testing.assert_allclose(residual, ref[2], atol=1e-4)


def test_pca_of_identical_snapshots_or_one_snapshot_is_a_clear_error():
    same = np.tile(np.arange(5, dtype=np.float32), (4, 1))
    with pytest.raises(DataError, match="no PCA plane.*--directions random"):
        pca_plane(same)
    with pytest.raises(DataError, match="no PCA plane.*single snapshot.*--directions random"):
        pca_plane(same[:1])


def test_pca_of_a_straight_path_completes_the_plane():
    layout, origin = mlp_layout_and_params()
    direction = np.random.default_rng(2).normal(size=layout.size)
    params = (origin + np.linspace(1, 0, 10)[:, None] * direction).astype(np.float32)
    plane = pca_plane(params, layout=layout)
    np.testing.assert_allclose(plane.explained_variance, [1.0, 0.0], atol=1e-9)
    assert "straight line" in plane.info["pc2"]
    assert plane.project(params)[2].max() < 1e-5 * np.linalg.norm(direction)


def test_random_directions_are_filter_normalised_seeded_and_leave_biases():
    layout, origin = mlp_layout_and_params()
    plane = random_plane(layout, origin, seed=4)
    d1 = layout.unflatten(plane.directions[0].astype(np.float64))
    weights = layout.unflatten(origin.astype(np.float64))
    # d1 is the filter-normalised draw scaled to unit length: every neuron's row keeps the
    # same ratio to the corresponding row of the weights
    ratios = np.concatenate([np.linalg.norm(d1[n], axis=1) / np.linalg.norm(weights[n], axis=1)
                             for n in ("W1", "W2")])
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-5)
    for name in ("b1", "b2"):
        assert not layout.unflatten(plane.directions[1])[name].any()
    np.testing.assert_array_equal(random_plane(layout, origin, seed=4).directions, plane.directions)
    assert not np.array_equal(random_plane(layout, origin, seed=5).directions, plane.directions)
    filtered = random_plane(layout, origin, seed=4, biases="filter")
    assert layout.unflatten(filtered.directions[0])["b1"].any()


def test_li_scaling_keeps_every_filters_norm_exactly_and_orthonormal_scaling_drifts():
    """A hand-written per-filter check: for each neuron (row of W), ||d_row|| == ||W_row||, in a plain loop."""
    layout, origin = mlp_layout_and_params()
    weights = layout.unflatten(origin.astype(np.float64))

    def worst_filter_error(direction):
        d = layout.unflatten(direction.astype(np.float64))
        worst = 0.0
        for name in ("W1", "W2"):
            for row in range(weights[name].shape[0]):
                want = float(np.sqrt(sum(v * v for v in weights[name][row])))
                got = float(np.sqrt(sum(v * v for v in d[name][row])))
                worst = max(worst, abs(got - want) / want)
        return worst

    li = random_plane(layout, origin, seed=4, scaling="li")
    assert li.info["scaling"] == "li"
    assert worst_filter_error(li.directions[0]) < 1e-6 and worst_filter_error(li.directions[1]) < 1e-6
    for name in ("b1", "b2"):
        assert not layout.unflatten(li.directions[0])[name].any()
    orthonormal = random_plane(layout, origin, seed=4)
    D = orthonormal.directions.astype(np.float64)
    np.testing.assert_allclose(D @ D.T, np.eye(2), atol=1e-6)
    assert worst_filter_error(orthonormal.directions[1] * np.linalg.norm(li.directions[1])) > 1e-3
    # both span nearly the same plane: the first direction is the same up to length
    cos = float(D[0] @ li.directions[0]) / np.linalg.norm(li.directions[0])
    assert cos == pytest.approx(1.0, abs=1e-6)
    run = Run(Trajectory.from_snapshots([layout.unflatten(origin * 0.9), layout.unflatten(origin)]))
    made = make_plane(run, LandscapeSettings(directions_kind="random", scaling="li", seed=4))
    np.testing.assert_array_equal(made.directions, li.directions)  # the setting reaches the builder


def test_random_plane_of_zero_weights_is_an_error():
    layout, origin = mlp_layout_and_params()
    with pytest.raises(DataError, match="no random plane"):
        random_plane(layout, np.zeros_like(origin))


def test_anchors_put_their_three_snapshots_on_the_plane():
    params = wandering_path(T=30)
    for anchors in (None, (3, 17, 25)):
        plane = anchors_plane(params, anchors)
        chosen = plane.info["anchors"]
        assert chosen == ([0, 15, 29] if anchors is None else [3, 17, 25])
        np.testing.assert_array_equal(plane.origin, params[chosen[2]])
        _, _, residual = plane.project(params[chosen])
        scale = np.linalg.norm(params[chosen] - params[chosen[2]], axis=1).max()
        assert residual.max() < 1e-6 * scale
        assert plane.project(params)[2].max() > 1e-3 * scale  # other snapshots are off the plane


def test_anchors_errors():
    params = wandering_path(T=10)
    with pytest.raises(DataError, match="three different snapshots"):
        anchors_plane(params, (1, 1, 9))
    with pytest.raises(DataError, match="indices must lie in 0..9"):
        anchors_plane(params, (0, 5, 10))
    line = np.outer(np.arange(5.0), np.ones(4)).astype(np.float32)
    with pytest.raises(DataError, match="on one line"):
        anchors_plane(line)


def test_subsample_indices_keep_first_and_last_evenly():
    keep = subsample_indices(10_001, 1000)
    assert len(keep) == 1000 and keep[0] == 0 and keep[-1] == 10_000
    gaps = np.diff(keep)
    assert gaps.min() >= 10 and gaps.max() <= 11
    np.testing.assert_array_equal(subsample_indices(7, 1000), np.arange(7))
    np.testing.assert_array_equal(subsample_indices(5, 2), [0, 4])


def test_plane_point_and_project_are_inverse():
    plane = Plane(np.ones(3, np.float32), np.eye(3, dtype=np.float32)[[0, 2]], "random")
    np.testing.assert_array_equal(plane.point(2.0, 3.0), [3.0, 1.0, 4.0])
    alpha, beta, residual = plane.project(plane.point(2.0, 3.0)[None])
    assert (alpha[0], beta[0], residual[0]) == (2.0, 3.0, 0.0)


@pytest.mark.parametrize("kind, labels, summary", [
    ("pca", ["PC1, uncentred (60.0% of sq. offsets)", "PC2, uncentred (30.0% of sq. offsets)"],
     "PCA of 7 snapshots' offsets, origin = final snapshot (uncentred: shares of the offsets' summed squared "),
    ("random", ["random direction 1", "random direction 2"], "random filter-normalised directions (seed 3"),
    ("anchors", ["anchor direction 1", "anchor direction 2"], "through snapshots [0, 3, 6], origin = snapshot 6"),
    ("axes", ["u", "v"], "the function's own axes u, v (exact: nothing is projected)"),
    ("hessian", ["Hessian dir. 1 (lambda1 = 41.3)", "Hessian dir. 2 (lambda2 = 12)"],
     "top Hessian eigenvectors at the final snapshot: lambda1 = 41.3, lambda2 = 12 (Lanczos, 14 Hessian-vector "
     "products, residual 5.0e-04 of |lambda1|: converged)"),
    ("newer", ["direction 1", "direction 2"], "newer directions"),  # a newer lossfilm's kind still reads
])
def test_every_plane_kind_labels_its_axes_and_summarises_its_plane(kind, labels, summary):
    from tests.helpers import bowl_landscape

    land = bowl_landscape(resolution=5, snapshots=7)
    land.directions_kind, land.explained_variance = kind, np.array([0.6, 0.3])
    land.settings = {"plane": {"seed": 3, "biases": "zero", "anchors": [0, 3, 6], "eigenvalues": [41.3, 12.0],
                               "residuals": [1e-4, 5e-4], "iterations": 14, "converged": True},
                     "axis_names": ["u", "v"],
                     "stats": {"snapshots": 7, "path_points": 7, "path_length": 2.0, "plane_path_length": 1.9,
                               "residual_max": 0.1, "residual_median": 0.05, "captured": 0.9}}
    assert [land.axis_label(axis) for axis in (0, 1)] == labels
    assert land.summary().splitlines()[0].startswith(f"plane   {summary}")


def test_every_plane_kind_has_a_builder_and_the_choices_follow_the_table():
    from lossfilm.format.errors import ConfigError
    from lossfilm.format.planes import PLANE_KINDS
    from lossfilm.training.landscape.descent_paths import Iterates, Race
    from lossfilm.training.landscape.plane import DIRECTIONS, plane_builder, race_directions

    from lossfilm.training.landscape.evaluation import MLPEvaluation

    assert DIRECTIONS == ("pca", "pca-uncentred", "random", "anchors", "hessian")
    assert race_directions() == ("pca", "pca-uncentred", "anchors")
    layout, _ = mlp_layout_and_params()
    params = np.cumsum(np.random.default_rng(1).normal(size=(12, layout.size)), axis=0).astype(np.float32)
    run = Run(Trajectory.from_snapshots([layout.unflatten(row) for row in params]))
    iterates = Iterates(["sgd"], [np.array([[1.0, 2.0], [0.5, 1.0]])], {})
    rng = np.random.default_rng(2)
    evaluation = MLPEvaluation(layout, rng.normal(size=(20, 6)), rng.integers(0, 3, 20))  # the hessian plane's loss
    for kind, entry in PLANE_KINDS.items():
        plane = make_plane(run if entry.network else iterates, LandscapeSettings(directions_kind=kind), evaluation)
        assert plane.directions_kind == kind and plane.directions.dtype == np.float32
    with pytest.raises(ConfigError, match="--directions axes: .* 2-D function"):
        make_plane(run, LandscapeSettings(directions_kind="axes"))
    race = Race(["a", "b"], [run.trajectories[0]] * 2)
    with pytest.raises(ConfigError, match="--directions random: a race's plane .* pca, pca-uncentred, anchors"):
        make_plane(race, LandscapeSettings(directions_kind="random"))
    with pytest.raises(ValueError, match="PLANE_KINDS"):
        plane_builder("newer")  # the table entry comes first


@pytest.mark.parametrize("method", ["gram", "randomized"])
def test_pca_is_scikit_learns_pca_of_the_offsets_as_li_et_al(method):
    """Li et al. 2018's code: sklearn PCA(n_components=2) of theta_t - theta_final, path = offsets projected."""
    from sklearn.decomposition import PCA

    params = wandering_path(T=300, P=120)
    offsets = params.astype(np.float64) - params[-1].astype(np.float64)
    reference = PCA(n_components=2, svd_solver="full").fit(offsets)
    plane = pca_plane(params, method=method, seed=3)
    assert plane.directions_kind == "pca" and plane.info["centred"] is True
    cosines = np.abs(np.einsum("ij,ij->i", plane.directions.astype(np.float64), reference.components_))
    np.testing.assert_allclose(cosines, 1.0, atol=1e-6)
    np.testing.assert_allclose(plane.explained_variance, reference.explained_variance_ratio_, rtol=1e-5)
    alpha, beta, _ = plane.project(params)
    signs = np.sign(plane.directions.astype(np.float64) @ reference.components_.T).diagonal()
    expected = offsets @ reference.components_.T * signs  # projections of the offsets, not of centred ones
    np.testing.assert_allclose(np.column_stack([alpha, beta]), expected, atol=1e-5 * np.abs(expected).max())
    assert (alpha[-1], beta[-1]) == (0.0, 0.0)  # the origin stays at the final point


def test_centred_and_uncentred_pca_differ_and_say_so():
    from tests.helpers import bowl_landscape

    params = wandering_path(T=60, P=40)
    centred, uncentred = pca_plane(params), pca_plane(params, centred=False)
    assert uncentred.directions_kind == "pca-uncentred" and uncentred.info["centred"] is False
    assert not np.allclose(centred.explained_variance, uncentred.explained_variance)
    land = bowl_landscape(resolution=5, snapshots=7)
    land.explained_variance = np.array([0.949, 0.035])
    land.settings = {"plane": {"centred": True}, "stats": {
        "snapshots": 7, "path_points": 7, "path_length": 2.0, "plane_path_length": 1.9, "residual_max": 0.1,
        "residual_median": 0.05, "captured": 0.9}}
    assert land.axis_label(0) == "PC1, centred (94.9% of variance)"
    assert "centred, as Li et al. 2018 and scikit-learn" in land.summary()


def test_li_scaled_grid_reaches_as_far_in_parameter_space_as_the_orthonormal_one():
    from lossfilm.training.landscape.pipeline import Landscape

    layout, origin = mlp_layout_and_params()
    rng = np.random.default_rng(3)
    params = (origin + np.cumsum(0.05 * rng.normal(size=(8, layout.size)), axis=0)[::-1]).astype(np.float32)
    trajectory = Trajectory.from_snapshots([layout.unflatten(row) for row in params])

    def loss(p):
        return float(sum((v ** 2).sum() for v in p.values()))

    unit = Landscape.from_trajectory(trajectory, loss_fn=loss, directions_kind="random", resolution=5)
    li = Landscape.from_trajectory(trajectory, loss_fn=loss, directions_kind="random", scaling="li", resolution=5)
    length = np.linalg.norm(li.directions.astype(np.float64), axis=1).mean()
    assert length > 2  # whole filter-normalised directions, far from unit length
    np.testing.assert_allclose(li.alphas * length, unit.alphas, rtol=1e-2)
