"""What Trajectory.from_snapshots and Recorder accept: hostile snapshots give one DataError line naming key and snapshot.

Table rows for each kind of bad value, the aliasing mistake of hand-written
loops, steps and losses, a Recorder used after its block closed and a
folder given as its output; then Hypothesis-generated hostile snapshots,
whose only allowed outcomes are a trajectory or a LossfilmError.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossfilm.format.errors import DataError, LossfilmError, LossfilmWarning
from lossfilm.format.trajectory import Trajectory
from lossfilm.training.fit.recorder import Recorder


def history(T=3, seed=0):
    rng = np.random.default_rng(seed)
    return [{"W": rng.normal(size=(2, 3)), "b": rng.normal(size=2)} for _ in range(T)]


def with_value(index, key, value):
    snaps = history()
    snaps[index][key] = value
    return snaps


BAD = [  # (snapshots, expected message)
    (with_value(1, "W", None), "snapshot 1: W is None, not an array of numbers"),
    (with_value(2, "b", "abc"), "snapshot 2: b is the str 'abc', not an array of numbers"),
    (with_value(1, "W", [[1, 2, 3], [4, 5]]), "snapshot 1: W is a ragged list (its rows have different lengths)"),
    ([{"W": np.zeros((2, 0))} for _ in range(3)], "snapshot 0: W is empty (shape (2, 0))"),
    (with_value(1, "b", np.array([1 + 1j, 2])), "snapshot 1: b holds complex numbers, not real numbers"),
    (with_value(1, "b", np.array([True, False])), "snapshot 1: b holds booleans"),
    (with_value(0, "b", np.array([1, None])), "snapshot 0: b holds Python objects"),
    (with_value(1, "b", np.array([1e39, 0.0])), "snapshot 1: b holds 1e+39, beyond float32's range"),
    (with_value(2, "W", np.full((2, 3), np.nan)), "snapshot 2: W contains NaN or inf"),
    (with_value(1, "b", np.zeros(3)), "snapshot 1: b has shape (3,), expected (2,)"),
    ([{3: np.zeros(2)}, {3: np.zeros(2)}], "snapshot 0: key 3 is of type int; parameter names must be strings"),
    ([[1.0, 2.0]], "snapshot 0: expected a dict of named arrays, got list"),
    ("W", "snapshots: expected a list (or any iterable) of dicts of named arrays, got a str"),
    ({"W": np.zeros(2)}, "snapshots: expected a list (or any iterable) of dicts of named arrays, got a dict"),
    ([], "snapshots: the list is empty"),
]


@pytest.mark.parametrize("snapshots, message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_snapshots_are_one_line(snapshots, message):
    with pytest.raises(DataError) as info:
        Trajectory.from_snapshots(snapshots)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_appending_the_same_dict_is_named_in_python_terms():
    params, snaps = {"W": np.zeros((2, 3)), "b": np.zeros(2)}, []
    for _ in range(4):
        params["W"] += 1.0  # the training step changes params in place
        snaps.append(params)
    with pytest.raises(DataError, match=r"all 4 snapshots are the same dict object; your loop appended `params` "
                                        r"itself.*history.append\(\{k: v.copy\(\) for k, v in params.items\(\)\}\)"):
        Trajectory.from_snapshots(snaps)


def test_a_shallow_copy_sharing_arrays_is_named_too():
    params, snaps = {"W": np.zeros((2, 3)), "b": np.zeros(2)}, []
    for _ in range(3):
        params["W"] -= 0.1
        params["b"] *= 0.5
        snaps.append(dict(params))
    with pytest.raises(DataError, match=r"all 3 snapshots hold the same array objects \(W, b\); `dict\(params\)` "):
        Trajectory.from_snapshots(snaps)


def test_some_keys_shared_in_every_snapshot_is_a_warning():
    """A loop that changes W in place but rebinds b: W shows its final value everywhere (a frozen layer warns too)."""
    params, snaps = {"W": np.zeros((2, 3)), "b": np.zeros(2)}, []
    for _ in range(3):
        params["W"] -= 0.1
        params["b"] = params["b"] - 0.1
        snaps.append(dict(params))
    with pytest.warns(LossfilmWarning, match=r"snapshots: W is the same array object in all 3 snapshots: if your "
                                             r"loop changes it in place"):
        traj = Trajectory.from_snapshots(snaps)
    assert len(traj) == 3


def test_a_generator_of_one_changing_dict_is_fine():
    """A generator yields each state as it is read: the same dict, changed between yields, is a real path."""
    def run():
        params = {"w": np.zeros(2)}
        for _ in range(3):
            params["w"] += 1.0
            yield params
    assert Trajectory.from_snapshots(run()).params[:, 0].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("steps, message", [
    ([0, 1.5, 2], "steps[1]: 1.5 is not a whole number"),
    (["0", "1", "2"], "steps[0]: '0' is a str, not a whole number"),
    ([0, True, 2], "steps[1]: True is a bool"),
    ([0, 1, 2 ** 63], "steps[2]: 9223372036854775808 is beyond 9,007,199,254,740,992"),  # found by Hypothesis
    ([0, 1, 1e300], "steps[2]: 1e+300 is beyond"),
    ([0, 1], "steps: has 2 entries for 3 snapshots"),
    (7, "steps: expected one value per snapshot"),
])
def test_steps_are_whole_numbers(steps, message):
    with pytest.raises(DataError) as info:
        Trajectory.from_snapshots(history(), steps=steps)
    assert str(info.value).startswith(message)


def test_whole_float_steps_and_nan_losses_are_fine():
    traj = Trajectory.from_snapshots(history(), steps=[0.0, 10.0, 20.0], losses=[np.nan, 1.0, np.array([0.5])])
    assert traj.steps.tolist() == [0, 10, 20] and traj.losses[2] == 0.5


@pytest.mark.parametrize("losses, message", [
    (["high", 1.0, 2.0], "losses[0]: got the str 'high'"),
    ([1.0, None, 2.0], "losses[1]: got None"),
    ([1.0, 2.0, 1j], "losses[2]: got the complex number 1j"),
])
def test_losses_are_real_numbers(losses, message):
    with pytest.raises(DataError) as info:
        Trajectory.from_snapshots(history(), losses=losses)
    assert str(info.value).startswith(message)


def test_summary():
    traj = Trajectory.from_snapshots(history(), losses=[3.0, 2.0, 1.0], steps=[0, 5, 10])
    text = traj.summary()
    assert text.splitlines()[0] == "trajectory  3 snapshots x 8 parameters (W (2, 3), b (2,)), float32, 96 bytes"
    assert "steps       0 to 10" in text and "loss        3 -> 1" in text


# The Recorder

def test_recorder_refuses_a_folder_before_training(tmp_path):
    (tmp_path / "runs").mkdir()
    for path in (tmp_path / "runs", f"{tmp_path}/runs/", f"{tmp_path}/new/"):
        with pytest.raises(LossfilmError, match="not a file; give a file name, e.g. .*trajectory.npz"):
            Recorder(path)
    assert os.listdir(tmp_path / "runs") == []


def test_recorder_checks_each_record(tmp_path):
    with Recorder(tmp_path / "t.npz") as rec:
        rec.record(history()[0], loss=1.0)
        bad = [(dict(step=1.5), "Recorder.record step: 1.5 is not a whole number"),
               (dict(step="3"), "Recorder.record step: '3' is a str"),
               (dict(step=2 ** 63), "Recorder.record step: 9223372036854775808 is beyond"),  # was an OverflowError
               (dict(loss="low"), "Recorder.record loss: got the str 'low'"),
               (dict(loss=np.zeros(3)), "Recorder.record loss: got an array of shape (3,)"),
               (dict(epoch=1j), "Recorder.record epoch: got the complex number 1j")]
        for kwargs, message in bad:
            with pytest.raises(DataError) as info:
                rec.record(history()[1], **kwargs)
            assert str(info.value).startswith(message)
        for value, message in [(None, "W is None"), ("x", "W is the str 'x'"), ([[1, 2, 3], [4]], "ragged")]:
            with pytest.raises(DataError, match=f"Recorder.record at step 1: .*{re.escape(message)}"):
                rec.record(dict(history()[1], W=value))
        # Beyond float32, as a diverging run's parameters get: not kept (the trainer stops there), and said.
        with pytest.warns(LossfilmWarning, match=r"Recorder.record at step 1: W holds 1e\+39, beyond float32's "
                                                 r"range .*; this snapshot is not kept"):
            assert rec.record(dict(history()[1], W=np.full((2, 3), 1e39))) is False
        assert rec.record(dict(history()[1], W=np.full((2, 3), np.nan))) is False  # a diverged step: not kept
        rec.record(history()[2], loss=0.5)
    assert len(rec.trajectory) == 2 and rec.trajectory.steps.tolist() == [0, 3]  # refused calls are no step
    with pytest.raises(LossfilmError, match=r"the recording of .*t.npz has ended \(its with block closed"):
        rec.record(history()[0])
    assert rec.finish() is rec.trajectory  # finishing twice is harmless


def test_lossfilm_train_refuses_a_folder_before_training(tmp_path, capsys):
    from lossfilm.cli import main

    (tmp_path / "out").mkdir()
    assert main(["train", "--epochs", "1", "-o", f"{tmp_path}/out/"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"lossfilm train: error: -o {tmp_path}/out/: expected a trajectory file to write; it is a folder, "
                   f"e.g. {tmp_path}/out/trajectory.npz"]


# Hostile snapshots, generated: a trajectory or one LossfilmError line, never another exception.
VALUES = st.one_of(
    st.none(), st.text(max_size=4), st.booleans(), st.complex_numbers(max_magnitude=10),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**40, 10**40),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
    st.lists(st.lists(st.floats(-1e3, 1e3), max_size=3), max_size=3),  # ragged often
    st.builds(lambda n, v: np.full(n, v), st.integers(0, 3), st.floats(-1e40, 1e40)),
    st.sampled_from([np.zeros((0, 2)), np.array(["a"]), np.array([1 + 2j]), np.array([object()]),
                     np.array([1e39], np.float64), np.ones(2, bool), np.int64(3), np.float16(2)]),
)
SNAPSHOT = st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 3)), VALUES, min_size=0, max_size=3)


@settings(max_examples=150, deadline=None)
@given(snapshots=st.lists(SNAPSHOT, max_size=4), steps=st.one_of(st.none(), st.lists(VALUES, max_size=4)),
       losses=st.one_of(st.none(), st.lists(VALUES, max_size=4)))
def test_fuzz_hostile_snapshots(snapshots, steps, losses):
    try:
        traj = Trajectory.from_snapshots(snapshots, steps=steps, losses=losses)
    except LossfilmError as exc:
        assert "\n" not in str(exc)
        return
    assert np.isfinite(traj.params).all() and traj.params.dtype == np.float32


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(SNAPSHOT, VALUES, VALUES), min_size=1, max_size=4))
def test_fuzz_hostile_records(tmp_path, records):
    path = tmp_path / "fuzz.npz"
    try:
        with Recorder(path) as rec:
            for snapshot, loss, step in records:
                rec.record(snapshot, loss=loss, step=step)
    except LossfilmError as exc:
        assert "\n" not in str(exc)
        return
    assert np.isfinite(rec.trajectory.params).all()
