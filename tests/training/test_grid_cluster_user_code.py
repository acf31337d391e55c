"""A user's loss_fn that misbehaves on a Dask cluster's worker gives the same one line as in one process.

What the function returns or raises on a worker comes back as the UserCodeError the one-process
evaluation gives: naming the function, what it did, and the snapshot or
grid node.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("distributed", reason="the cluster needs Dask (pip install 'lossfilm[distributed]')")

from dask.distributed import Client, LocalCluster  # noqa: E402

from lossfilm.format.errors import UserCodeError  # noqa: E402
from lossfilm.format.trajectory import Trajectory  # noqa: E402
from lossfilm.training.landscape.pipeline import Landscape  # noqa: E402

pytestmark = pytest.mark.slow  # starts a cluster (seconds)
T = 4


class Hostile:
    """A loss that is fine at the path's snapshots, and returns or raises ``what`` anywhere else."""

    __name__ = "hostile_loss"

    def __init__(self, what, snapshots):
        self.what, self.snapshots = what, np.asarray(snapshots, dtype=np.float64)

    def __call__(self, params):
        if np.isclose(params["w"], self.snapshots).all(axis=1).any():
            return float((params["w"] ** 2).sum())
        if self.what == "exit":
            sys.exit(0)
        if self.what == "raise":
            raise RuntimeError("no GPU on this worker")
        return self.what


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      host="127.0.0.1") as cluster, Client(cluster, set_as_default=False) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def traj():
    rng = np.random.default_rng(0)
    return Trajectory.from_snapshots([{"w": rng.normal(size=3)} for _ in range(T)])


@pytest.mark.parametrize("what, fragment", [
    ("exit", "raised SystemExit(0) (sys.exit() inside it)"),
    ("raise", "raised RuntimeError: no GPU on this worker"),
    ("0.5", "returned the str '0.5'"),
    (None, "returned None"),
])
def test_the_cluster_gives_the_same_line(client, traj, what, fragment):
    lines = []
    for executor in (None, client):
        loss_fn = Hostile(what, traj.params)
        with pytest.raises(UserCodeError) as info:
            Landscape.from_trajectory(traj, loss_fn=loss_fn, executor=executor, resolution=3, line=0, max_path=T)
        lines.append(str(info.value))
    here, there = lines
    assert fragment in there and "\n" not in there
    assert there.startswith("your loss_fn hostile_loss ")
    assert there.split(" at ")[0] == here.split(" at ")[0]
    assert " at plane point (" in there or " at grid node (" in there


def test_a_failing_snapshot_is_named_on_the_cluster(client, traj):
    def always(params):
        return None
    with pytest.raises(UserCodeError, match=r"returned None at snapshot \d \(step \d\); a loss must be"):
        Landscape.from_trajectory(traj, loss_fn=always, executor=client, resolution=3, line=0)
