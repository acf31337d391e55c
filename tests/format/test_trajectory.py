"""The trajectory contract: building from the user's snapshots, saving, loading, refusing bad input."""

import numpy as np
import pytest

from lossfilm.format.artifact import save_npz
from lossfilm.format.errors import ArtifactError, DataError
from lossfilm.format.trajectory import SCHEMA_VERSION, Trajectory


def snapshots(T=5):
    rng = np.random.default_rng(0)
    return [{"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=(1, 3)), "W2": rng.normal(size=(2, 3))}
            for _ in range(T)]


def test_from_snapshots_round_trips_through_save_and_load(tmp_path):
    history = snapshots()
    traj = Trajectory.from_snapshots(history, losses=[5, 4, 3, 2, 1], steps=[0, 10, 20, 30, 40],
                                     settings={"note": "mine"})
    path = tmp_path / "trajectory.npz"
    traj.save(path)
    loaded = Trajectory.load(path)

    assert loaded.params.shape == (5, 6 + 3 + 6) and loaded.params.dtype == np.float32
    assert isinstance(loaded.params, np.memmap)  # not read into RAM
    assert loaded.layout == traj.layout and loaded.layout.names == ("W1", "b1", "W2")
    assert np.array_equal(loaded.params, traj.params)
    assert loaded.steps.tolist() == [0, 10, 20, 30, 40] and loaded.steps.dtype == np.int64
    assert loaded.losses.tolist() == [5, 4, 3, 2, 1]
    assert np.isnan(loaded.train_losses).all() and np.isnan(loaded.epochs).all()
    assert loaded.settings == {"note": "mine", "source": "snapshots"}
    assert loaded.key == traj.key and loaded.diverged is False
    for i, snap in enumerate(history):
        restored = loaded.snapshot(i)
        for name in snap:  # layout: each array back in its own shape, float32-rounded
            assert restored[name].shape == snap[name].shape
            assert np.allclose(restored[name], snap[name], rtol=1e-6, atol=1e-7)


def test_defaults_and_key():
    traj = Trajectory.from_snapshots(snapshots(3))
    assert traj.steps.tolist() == [0, 1, 2] and np.isnan(traj.losses).all()
    other = snapshots(3)
    other[2]["W1"][0, 0] += 1.0
    assert Trajectory.from_snapshots(other).key != traj.key
    assert Trajectory.from_snapshots(snapshots(3)).key == traj.key


def with_change(change):
    history = snapshots(3)
    change(history)
    return history


@pytest.mark.parametrize("history, message", [
    ([], "the list is empty"),
    (with_change(lambda h: h.__setitem__(1, [1.0, 2.0])), "snapshot 1: expected a dict of named arrays, got list"),
    (with_change(lambda h: h[2].pop("b1")), r"snapshot 2: keys differ .*missing \['b1'\]"),
    (with_change(lambda h: h[1].__setitem__("W3", np.zeros(2))), r"snapshot 1: keys differ .*unexpected \['W3'\]"),
    (with_change(lambda h: h[2].__setitem__("W2", np.zeros((3, 2)))), r"snapshot 2: W2 has shape \(3, 2\), expected \(2, 3\)"),
    (with_change(lambda h: h[1]["b1"].__setitem__((0, 1), np.nan)), "snapshot 1: b1 contains NaN or inf"),
    (with_change(lambda h: h[0]["W1"].__setitem__((0, 0), np.inf)), "snapshot 0: W1 contains NaN or inf"),
    ([{}], "a parameter snapshot is empty"),
], ids=["empty", "not-a-dict", "missing-key", "extra-key", "shape", "nan", "inf", "no-arrays"])
def test_bad_snapshots_are_data_errors(history, message):
    with pytest.raises(DataError, match=message):
        Trajectory.from_snapshots(history)


def test_column_lengths_must_match():
    with pytest.raises(DataError, match="losses: has 2 entries for 3 snapshots"):
        Trajectory.from_snapshots(snapshots(3), losses=[1.0, 2.0])
    with pytest.raises(DataError, match="steps: has 4 entries for 3 snapshots"):
        Trajectory.from_snapshots(snapshots(3), steps=[0, 1, 2, 3])


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "trajectory.npz"
    Trajectory.from_snapshots(snapshots(4)).save(path)
    return path


def test_load_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match="no such file"):
        Trajectory.load(tmp_path / "nope.npz")


def test_load_a_file_that_is_not_an_archive(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("these are not the snapshots you are looking for")
    with pytest.raises(ArtifactError, match="not a lossfilm .npz artifact"):
        Trajectory.load(path)


def test_load_a_truncated_file(saved):
    data = saved.read_bytes()
    for keep in (len(data) // 2, len(data) - 30):
        saved.write_bytes(data[:keep])
        with pytest.raises(ArtifactError, match=str(saved.name)):
            Trajectory.load(saved)


def test_load_another_kind_of_artifact(tmp_path):
    path = tmp_path / "landscape.npz"
    save_npz(path, {"loss": np.zeros((2, 2))}, {"key": "k"}, kind="landscape", schema_version=1)
    with pytest.raises(ArtifactError, match="is a 'landscape' file, expected a 'trajectory' file"):
        Trajectory.load(path)


def test_load_a_future_schema_version(tmp_path):
    path = tmp_path / "future.npz"
    save_npz(path, {"params": np.zeros((1, 2), np.float32)}, {"key": "k"}, kind="trajectory",
             schema_version=SCHEMA_VERSION + 1)
    with pytest.raises(ArtifactError, match=f"schema_version {SCHEMA_VERSION + 1} is not supported"):
        Trajectory.load(path)


def test_load_rejects_params_that_do_not_fit_the_layout(tmp_path):
    traj = Trajectory.from_snapshots(snapshots(2))
    traj.params = np.zeros((2, 4), np.float32)
    path = tmp_path / "bad.npz"
    traj.save(path)
    with pytest.raises(ArtifactError, match=r"params shape \(2, 4\) does not match its layout \(15 parameters\)"):
        Trajectory.load(path)


def test_from_snapshots_streams_a_generator_without_a_list():
    seen = []

    def snapshots():  # yields fresh arrays; each must be read before the next is made
        for t in range(5):
            seen.append(t)
            yield {"W1": np.full((2, 3), float(t)), "b1": np.zeros((1, 2))}

    traj = Trajectory.from_snapshots(snapshots(), losses=[5.0, 4.0, 3.0, 2.0, 1.0])
    reference = Trajectory.from_snapshots(
        [{"W1": np.full((2, 3), float(t)), "b1": np.zeros((1, 2))} for t in range(5)], losses=[5, 4, 3, 2, 1])
    assert seen == list(range(5)) and traj.params.shape == (5, 8)
    np.testing.assert_array_equal(traj.params, reference.params)
    assert traj.key == reference.key
