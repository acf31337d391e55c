"""The grid and the film on a Dask cluster (loopback only): identical to one process; a dead worker loses nothing.

A 2-process LocalCluster serves most tests; the command-line ones start a real ``dask scheduler`` and two
``dask worker`` processes on 127.0.0.1. Clusters and the film's frames are made once per module where the tests
leave them as they found them; a test that kills a worker or the scheduler gets a cluster of its own.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed", reason="the cluster needs Dask (pip install 'lossfilm[distributed]')")

from dask.distributed import Client, LocalCluster  # noqa: E402

from lossfilm.cli import main as cli  # noqa: E402
from lossfilm.format.trajectory import Trajectory  # noqa: E402
from lossfilm.training.grid_cluster import ClusterPlaneLoss  # noqa: E402
from tests.helpers import task_bytes  # noqa: E402
from lossfilm.training.data.datasets import load_data  # noqa: E402
from lossfilm.training.landscape.evaluation import MLPEvaluation  # noqa: E402
from lossfilm.training.landscape.pipeline import Landscape, checkpoint_path_for  # noqa: E402
from lossfilm.training.fit.mlp import init_params, loss_and_grads  # noqa: E402

SIZES = [64, 12, 10]
SMALL = dict(resolution=9, samples=200, max_path=10)
ARRAYS = ("loss", "accuracy", "computed", "alphas", "betas", "path_loss_true", "path_loss_plane", "path_accuracy")


@pytest.fixture(scope="module")
def client():
    """One 2-process LocalCluster for the whole module (starting one costs seconds)."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      host="127.0.0.1") as cluster, Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture
def spare():
    """A 2-process LocalCluster of its own for a test that kills a worker (the shared one keeps both)."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      host="127.0.0.1") as cluster, Client(cluster, set_as_default=False) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    """A saved trajectory of the built-in MLP: 21 snapshots of gradient descent on digits."""
    data = load_data("digits", seed=0)
    params = init_params(SIZES, np.random.default_rng(0))
    X, y = data.X_train[:300], data.y_train[:300]
    snapshots = []
    for _ in range(21):
        snapshots.append({k: v.copy() for k, v in params.items()})
        _, grads = loss_and_grads(params, X, y)
        for k in params:
            params[k] -= 0.5 * grads[k]
    traj = Trajectory.from_snapshots(snapshots, settings={"data": data.source})
    traj.model = {"sizes": SIZES, "activation": "relu"}
    path = tmp_path_factory.mktemp("cluster") / "trajectory.npz"
    traj.save(path)
    return path


@pytest.fixture(scope="module")
def traj(run_file):
    return Trajectory.load(run_file)


@pytest.fixture(scope="module")
def local(traj):
    return Landscape.from_trajectory(traj, **SMALL)


def assert_identical(a, b):
    for name in ARRAYS:
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name


def quadratic_loss(params):
    """A user's loss_fn, pickled to the workers by Dask."""
    return float(sum((v ** 2).sum() for v in params.values()))


def test_the_mlp_grid_on_the_cluster_is_byte_identical(client, traj, local):
    remote = Landscape.from_trajectory(traj, executor=client, **SMALL)
    assert_identical(local, remote)
    assert remote.key == local.key and remote.computed.all()


def test_a_users_loss_fn_runs_on_the_workers(client, traj):
    options = dict(resolution=5, max_path=6, line=0)
    here = Landscape.from_trajectory(traj, loss_fn=quadratic_loss, **options)
    there = Landscape.from_trajectory(traj, loss_fn=NotIn(os.getpid()), executor=client, **options)
    assert_identical(here, there)


class NotIn:
    """``quadratic_loss`` that refuses to run in process ``pid``: every call must happen on a worker."""

    def __init__(self, pid):
        self.pid = pid

    def __call__(self, params):
        assert os.getpid() != self.pid, "a grid node was evaluated in the client, not on a worker"
        return quadratic_loss(params)


def test_a_task_carries_coordinates_only(traj, local):
    plane_loss = MLPEvaluation.of(traj, samples=200, seed=0).on(local.plane)
    task, scattered = task_bytes(plane_loss, batches_per_task=4)
    nodes = 4 * plane_loss.batch_size
    assert task < 16 * nodes + 2048  # 16 bytes a node plus framing
    assert scattered > plane_loss.X.nbytes > 50 * task  # the data and the basis went once, not per task


def test_a_client_killed_midway_resumes_on_the_cluster(client, traj, local, tmp_path):
    sidecar = tmp_path / "landscape.partial.npz"
    partial = Landscape.from_trajectory(traj, **SMALL)
    partial.computed[4:] = False  # as if the client had died with only the first rows done
    partial.loss[4:] = partial.accuracy[4:] = np.nan
    partial.save(sidecar)
    resumed = Landscape.from_trajectory(traj, executor=client, checkpoint_path=sidecar, **SMALL)
    assert resumed.settings["resumed_nodes"] == 4 * 9
    assert_identical(local, resumed)
    assert not sidecar.exists()


def test_the_pytorch_adapter_runs_on_the_workers(client):
    torch = pytest.importorskip("torch")
    import lossfilm
    from lossfilm.torch import TorchLoss

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    X = torch.randn(120, 5, generator=torch.Generator().manual_seed(1))
    y = (X[:, 0] > 0).long() + (X[:, 1] > 1).long()
    snapshots = []
    for step in range(12):
        snapshots.append({k: v.detach().numpy().copy() for k, v in model.named_parameters()})
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.05 * torch.randn_like(p)
    traj = lossfilm.Trajectory.from_snapshots(snapshots)
    options = dict(resolution=5, max_path=6, line=9, samples=100)
    here = Landscape.from_trajectory(traj, loss_fn=TorchLoss(model, (X, y)), **options)
    elsewhere = copy.deepcopy(model)
    elsewhere.register_forward_pre_hook(functools.partial(refuse_in, os.getpid()))  # grid, path, line: on workers
    there = Landscape.from_trajectory(traj, loss_fn=TorchLoss(elsewhere, (X, y)), executor=client, **options)
    assert_identical(here, there)
    assert here.line_loss.tobytes() == there.line_loss.tobytes() and len(there.line_t) == 9
    assert np.isfinite(there.loss).all()


def refuse_in(pid, module, inputs):
    """A forward pre-hook: the model must not run in process ``pid``."""
    assert os.getpid() != pid, "the model ran in the client, not on a worker"


def test_a_worker_killed_mid_grid_is_retried_and_nothing_is_lost(spare, traj, tmp_path):
    """One worker process is SIGKILLed while it computes a grid node; Dask reruns its tasks elsewhere."""
    marker = tmp_path / "killed"
    loss_fn = DiesOnce(marker, after=15)
    options = dict(resolution=7, max_path=4, line=0)
    here = Landscape.from_trajectory(traj, loss_fn=quadratic_loss, **options)
    pids_before = set(spare.run(os.getpid).values())
    there = Landscape.from_trajectory(traj, loss_fn=loss_fn, executor=spare, **options)
    assert marker.exists()  # a worker did die mid-grid
    victim = int(marker.read_text())
    assert victim in pids_before
    assert_identical(here, there)


def test_a_plane_loss_lost_with_the_only_worker_holding_it_is_scattered_again(spare, traj, local):
    """Dask keeps one copy of scattered data; when its worker dies the plane loss is scattered again."""
    from lossfilm.training.grid_cluster import Shipped
    from lossfilm.training.landscape.evaluation import FunctionEvaluation

    plane_loss = FunctionEvaluation(traj.layout, quadratic_loss).on(local.plane)
    coords = np.column_stack([np.linspace(-1, 1, 20), np.linspace(1, -1, 20)])
    batches = [coords[i:i + 1] for i in range(len(coords))]
    expected = {i: loss.tobytes() for i, loss, _ in plane_loss.evaluate(batches)}
    on_cluster = ClusterPlaneLoss(plane_loss, spare)
    victim = sorted(spare.nthreads())[0]
    pid = spare.run(os.getpid, workers=[victim])[victim]
    on_cluster._scattered = spare.scatter(Shipped(plane_loss), workers=[victim], hash=False)  # the only copy
    os.kill(pid, signal.SIGKILL)
    got = {i: loss.tobytes() for i, loss, _ in on_cluster.evaluate(batches)}
    assert got == expected


def test_scattering_right_after_a_worker_died_waits_for_the_scheduler_to_notice(spare):
    """Dask's own scatter fails at once while the scheduler still lists the dead worker; lossfilm's waits."""
    from lossfilm.boundary.dask_scatter import scatter_to_every_worker

    victim = sorted(spare.nthreads())[0]
    os.kill(spare.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
    scattered = scatter_to_every_worker(spare, b"grid" * 1000, lost=AssertionError)
    assert spare.submit(len, scattered, pure=False).result() == 4000


class DiesOnce:
    """``quadratic_loss`` that kills its own worker process (SIGKILL, no clean-up) at its ``after``-th grid call.

    Only the first process to get there dies: the marker file records it.
    """

    def __init__(self, marker, after):
        self.marker, self.after, self.calls = str(marker), after, 0

    def __call__(self, params):
        self.calls += 1
        if self.calls == self.after and not os.path.exists(self.marker):
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return quadratic_loss(params)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.01)  # long enough that the other worker is busy too
        return quadratic_loss(params)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaskProcesses(str):
    """The scheduler's address, with its process."""

    def __new__(cls, address, scheduler):
        self = super().__new__(cls, address)
        self.scheduler = scheduler
        return self


@contextlib.contextmanager
def started_dask_processes(folder, *, gently=True):
    """A real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, run in ``folder``; stopped after.

    ``gently=False`` kills them (SIGKILL) instead: workers whose scheduler is gone spend seconds closing.
    """
    dask = str(Path(sys.executable).with_name("dask"))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = dict(cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard", "--no-show"], **common)]
    try:
        for _ in range(2):
            processes.append(subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                               "--no-dashboard", "--no-nanny"], **common))
        with Client(address, timeout="30s") as probe:
            probe.wait_for_workers(2, timeout=60)
        yield DaskProcesses(address, processes[0])
    finally:
        for process in reversed(processes):  # the workers first: one at a time, each closes at once
            process.terminate() if gently else process.kill()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory):
    """One real scheduler and two workers for the tests that leave them running (starting them costs seconds)."""
    with started_dask_processes(tmp_path_factory.mktemp("dask")) as address:
        yield address


@pytest.fixture
def own_dask_processes(tmp_path):
    """A real scheduler and two workers of its own, for a test that kills the scheduler."""
    with started_dask_processes(tmp_path, gently=False) as address:
        yield address


def test_the_command_line_on_a_real_scheduler_and_two_workers(dask_processes, run_file, tmp_path, capsys):
    args = ["landscape", str(run_file), "--resolution", "7", "--samples", "200", "--max-path", "8", "--quiet"]
    assert cli(args + ["-o", str(tmp_path / "here.npz")]) == 0
    assert cli(args + ["-o", str(tmp_path / "there.npz"), "--scheduler", dask_processes]) == 0
    here, there = Landscape.load(tmp_path / "here.npz"), Landscape.load(tmp_path / "there.npz")
    assert_identical(here, there)
    assert (tmp_path / "here.npz").read_bytes() == (tmp_path / "there.npz").read_bytes()


def test_an_unreachable_scheduler_is_one_line_and_keeps_what_was_written(run_file, tmp_path, capsys, monkeypatch):
    out = tmp_path / "landscape.npz"
    assert cli(["landscape", str(run_file), "--resolution", "5", "--samples", "100", "--quiet", "-o", str(out)]) == 0
    before = out.read_bytes()
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("LOSSFILM_SCHEDULER", address)  # the environment names it, not --scheduler
    monkeypatch.setenv("LOSSFILM_SCHEDULER_TIMEOUT", "2")
    capsys.readouterr()
    started = time.monotonic()
    assert cli(["landscape", str(run_file), "--resolution", "5", "--samples", "100", "--quiet", "--force",
                "-o", str(out)]) == 2
    assert time.monotonic() - started < 15
    err = capsys.readouterr().err.strip()
    assert address in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert out.read_bytes() == before
    assert not checkpoint_path_for(out).exists()


SLOW_LOSS = '''
import time


def loss_fn(params):
    time.sleep(0.01)
    return float(sum((v ** 2).sum() for v in params.values()))
'''


def test_a_client_killed_mid_grid_resumes_on_the_cluster(dask_processes, run_file, tmp_path):
    """``lossfilm landscape --scheduler`` with a loss from a file the workers cannot import: SIGTERM, then resume."""
    from tests.helpers import Cli

    mine = tmp_path / "mine"  # not on the workers' path: the module travels by value
    mine.mkdir()
    (mine / "slow_loss.py").write_text(SLOW_LOSS)
    out = tmp_path / "landscape.npz"
    args = ["landscape", str(run_file), "--loss", f"{mine / 'slow_loss.py'}:loss_fn", "--resolution", "15",
            "--max-path", "6", "-o", str(out)]
    client = Cli(*args, "--scheduler", dask_processes)
    client.wait_for(lambda: client.progress("loss grid")[0] >= 40, "40 grid nodes done on the cluster")
    client.process.send_signal(signal.SIGTERM)
    assert client.process.wait(timeout=60) == 143, client.stderr
    kept = int(Landscape.load(checkpoint_path_for(out)).computed.sum())
    assert 40 <= kept < 15 * 15
    assert cli(args + ["--scheduler", dask_processes, "--quiet"]) == 0
    assert cli(args[:-1] + [str(tmp_path / "here.npz"), "--quiet"]) == 0  # one process, from scratch
    assert_identical(Landscape.load(tmp_path / "here.npz"), Landscape.load(out))
    assert not checkpoint_path_for(out).exists()


# Film frames on the cluster.

# 12 frames: several blocks on each worker. 320x240, not smaller: the on-screen labels' placement searches far
# longer in a tiny frame (about 0.35 s a frame at 160x96, 0.06 s at 320x240, on a busy 2-core machine).
FILM = dict(size=(320, 240), fps=10, seconds=1.2)


@pytest.fixture(scope="module")
def landscape_file(local, tmp_path_factory):
    from lossfilm.format.landscape import reproducible

    path = tmp_path_factory.mktemp("film") / "landscape.npz"
    reproducible(local).save(path)
    return path


@pytest.fixture(scope="module")
def frames_alone(landscape_file):
    """The film's frames rendered in this process, once, for the tests that kill a worker mid-film."""
    from lossfilm.api import film_spec
    from lossfilm.render.filming.workers import render_frames

    with render_frames(film_spec("descent", landscape_file, **FILM), 1) as frames:
        return [frame.tobytes() for frame in frames]


def png_frames(folder):
    import imageio.v3 as iio

    return [iio.imread(path) for path in sorted(Path(folder).glob("*.png"))]


def mp4_frames(path):
    import imageio.v3 as iio

    return list(iio.imiter(path))


def test_a_film_rendered_on_the_cluster_is_the_same_film(client, landscape_file, tmp_path, capsys):
    import lossfilm

    here = [tmp_path / "here.mp4", f"{tmp_path / 'here'}/"]
    lossfilm.film("descent", landscape_file, here, progress=False, **FILM)
    capsys.readouterr()
    assert cli(["render", "descent", "--landscape", str(landscape_file), "--size", "320x240", "--fps", "10",
                "--seconds", "1.2", "-o", str(tmp_path / "there.mp4"), "-o", f"{tmp_path / 'there'}/", "--quiet",
                "--scheduler", client.scheduler.address]) == 0
    alone, together = png_frames(tmp_path / "here"), png_frames(tmp_path / "there")
    assert len(alone) == len(together) == 12
    for index, (a, b) in enumerate(zip(alone, together)):
        assert a.tobytes() == b.tobytes(), f"frame {index}"
    assert not np.array_equal(alone[0], alone[-1])
    encoded_here, encoded_there = mp4_frames(here[0]), mp4_frames(tmp_path / "there.mp4")
    assert len(encoded_here) == len(encoded_there) == 12
    assert all(a.tobytes() == b.tobytes() for a, b in zip(encoded_here, encoded_there))


def test_a_worker_killed_mid_film_is_retried_and_no_frame_is_lost(spare, landscape_file, frames_alone):
    from lossfilm.api import film_spec
    from lossfilm.render.filming.frames_cluster import cluster_frames

    spec = film_spec("descent", landscape_file, **FILM)
    alone = frames_alone
    victim = next(iter(spare.run(os.getpid).values()))
    together = []
    with cluster_frames(spec, spare, block=2) as frames:
        for index, frame in enumerate(frames):
            if index == 2:  # blocks are in flight on both workers
                os.kill(victim, signal.SIGKILL)
            together.append(frame)
    assert len(together) == len(alone) == 12
    for index, (a, b) in enumerate(zip(alone, together)):
        assert a == b.tobytes(), f"frame {index}"


def test_a_film_shipment_lost_with_the_only_worker_holding_it_is_scattered_again(spare, landscape_file,
                                                                                   frames_alone):
    from lossfilm.api import film_spec
    from lossfilm.render.filming.frames_cluster import FilmShipment, cluster_frames

    spec = film_spec("descent", landscape_file, **FILM)
    victim = sorted(spare.nthreads())[0]
    pid = spare.run(os.getpid, workers=[victim])[victim]
    with cluster_frames(spec, spare) as frames:
        frames._shipment = spare.scatter(FilmShipment(spec), workers=[victim], hash=False)  # the only copy
        os.kill(pid, signal.SIGKILL)
        together = [frame.tobytes() for frame in frames]
    assert together == frames_alone


def test_a_worker_without_an_off_screen_back_end_says_so(client, landscape_file, tmp_path):
    import lossfilm
    from lossfilm.format.errors import RenderError
    from lossfilm.render.filming.backend import PROBE_ENV, VERIFIED_ENV, WINDOW_ENV

    def break_backend():
        for name in (VERIFIED_ENV, WINDOW_ENV):
            os.environ.pop(name, None)
        os.environ[PROBE_ENV] = "false"  # every candidate's probe fails, as on a worker without EGL or OSMesa

    def mend_backend():
        os.environ.pop(PROBE_ENV, None)

    client.run(break_backend)
    try:
        with pytest.raises(RenderError, match=r"Dask worker tcp://127\.0\.0\.1:\d+: no off-screen OpenGL"):
            lossfilm.film("descent", landscape_file, tmp_path / "film.mp4", progress=False, executor=client, **FILM)
    finally:
        client.run(mend_backend)
    assert not (tmp_path / "film.mp4").exists()


def test_a_scheduler_lost_mid_grid_is_one_line_and_keeps_the_finished_nodes(own_dask_processes, run_file,
                                                                             tmp_path):
    from tests.helpers import Cli

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "slow_loss.py").write_text(SLOW_LOSS)
    out = tmp_path / "landscape.npz"
    client = Cli("landscape", run_file, "--loss", f"{mine / 'slow_loss.py'}:loss_fn", "--resolution", "25",
                 "--max-path", "6", "-o", out, "--scheduler", own_dask_processes)
    client.wait_for(lambda: client.progress("loss grid")[0] >= 40, "40 grid nodes done on the cluster")
    own_dask_processes.scheduler.kill()
    assert client.process.wait(timeout=60) == 2, client.stderr
    last = client.stderr.strip().splitlines()[-1]
    assert last.startswith("lossfilm landscape: error: the Dask cluster at ") and "stopped answering" in last
    assert "Traceback" not in client.stderr
    assert 40 <= int(Landscape.load(checkpoint_path_for(out)).computed.sum()) < 25 * 25
    assert not out.exists()
