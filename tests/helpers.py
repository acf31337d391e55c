"""What several test files share: synthetic landscapes, the image comparison, a CLI child process, IDX files.

Tests and the benchmark scripts import these; a test module never imports another test module.
The landscapes are written without training, deterministic, small enough for 320x240 reference images.
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from lossfilm.training.landscape.pipeline import Landscape

REPO = Path(__file__).resolve().parents[1]


# --- landscapes, written without training ---------------------------------------------------------

def bowl_landscape(path=None, *, resolution=31, snapshots=80, nan_corner=False):
    """An anisotropic bowl with a path spiralling into its minimum (deterministic, no training).

    Saved to ``path`` when given (the film loads it from there).
    """
    alphas = np.linspace(-1.0, 1.0, resolution)
    betas = np.linspace(-0.8, 0.8, resolution)
    A, B = np.meshgrid(alphas, betas, indexing="ij")  # (R1, R2)

    def loss_at(a, b):
        return 0.05 + 1.6 * (a - 0.1) ** 2 + 4.0 * (b + 0.05) ** 2

    loss = loss_at(A, B)
    if nan_corner:
        loss[-3:, -3:] = np.nan
    t = np.linspace(0.0, 1.0, snapshots)
    radius = 0.85 * (1 - t) ** 1.5
    angle = 5.0 * t
    path_alpha = 0.1 + radius * np.cos(angle)
    path_beta = -0.05 + 0.7 * radius * np.sin(angle)
    plane = loss_at(path_alpha, path_beta)
    steps = np.round(200 * t ** 2).astype(np.int64)  # most snapshots early, like a log schedule
    land = Landscape(
        alphas=alphas, betas=betas, loss=loss, accuracy=1.0 - loss / 10, computed=np.ones(loss.shape, bool),
        origin=np.zeros(4, np.float32), directions=np.eye(2, 4, dtype=np.float32),
        path_alpha=path_alpha, path_beta=path_beta, path_loss_plane=plane, path_loss_true=1.1 * plane,
        path_accuracy=1.0 - plane / 10, residuals=np.zeros(snapshots), path_steps=steps,
        path_epochs=steps / 20.0, explained_variance=np.array([0.712, 0.2]),
        settings={"optimizer": "sgd", "lr": 0.1, "data": "digits", "hidden": [32]},
    )
    if path is not None:
        land.save(path)
    return land


def rippled_bowl_landscape(path, resolution=61, snapshots=80, seed=0):
    """Write a synthetic landscape: a tilted, rippled bowl and a spiralling descent into it.

    Examples
    --------
    >>> rippled_bowl_landscape("bowl.npz")  # doctest: +SKIP
    """
    rng = np.random.default_rng(seed)
    alphas = np.linspace(-1.0, 1.0, resolution)
    betas = np.linspace(-1.0, 1.0, resolution)

    def loss_at(a, b):
        return 0.05 + 1.5 * a**2 + 0.6 * b**2 + 0.25 * a * b + 0.08 * np.sin(5 * a) * np.cos(4 * b) + 0.1

    grid_a, grid_b = np.meshgrid(alphas, betas, indexing="ij")  # (R, R) each
    progress = np.linspace(0.0, 1.0, snapshots)
    radius = 0.9 * (1 - progress) ** 1.5
    angle = 0.6 + 5.0 * progress
    path_alpha, path_beta = radius * np.cos(angle), radius * np.sin(angle)  # (T,) each
    path_loss = loss_at(path_alpha, path_beta)
    parameters = 50
    directions = np.linalg.qr(rng.normal(size=(parameters, 2)))[0].T.astype(np.float32)  # (2, P) orthonormal
    Landscape(
        alphas=alphas, betas=betas, loss=loss_at(grid_a, grid_b), accuracy=np.full_like(grid_a, np.nan),
        computed=np.ones_like(grid_a, dtype=bool), origin=np.zeros(parameters, np.float32), directions=directions,
        path_alpha=path_alpha, path_beta=path_beta, path_loss_plane=path_loss, path_loss_true=path_loss * 1.02,
        path_accuracy=0.1 + 0.85 * progress, residuals=0.01 * progress, path_steps=np.arange(snapshots) * 25,
        path_epochs=np.arange(snapshots) * 25 / 500, explained_variance=np.array([0.71, 0.18]),
        directions_kind="pca", settings={"synthetic": "bowl"}, key="synthetic-bowl",
    ).save(path)
    return path


def line_landscape(path=None, *, with_line=True):
    """The bowl with a 1-D view: a loss that falls from the initial to the final point and rises beyond."""
    land = bowl_landscape(resolution=21, snapshots=40)
    if with_line:
        t = np.linspace(-0.25, 1.25, 61)  # (L,)
        start, end = land.path_loss_true[0], land.path_loss_true[-1]
        land.line_t = t
        land.line_loss = end + (start - end) * (1 - t) ** 2 + 0.3 * np.sin(np.pi * np.clip(t, 0, 1))
    if path is not None:
        land.save(path)
    return land


def _bowl(a, b):
    return 0.05 + 1.6 * (a - 0.1) ** 2 + 4.0 * (b + 0.05) ** 2


def _bowl_gradient(a, b):
    return np.array([3.2 * (a - 0.1), 8.0 * (b + 0.05)])


def descend(gradient, start, optimizer, steps, **hparams):
    """Iterates (steps+1, 2) of a real optimizer on a 2-D function, from ``start``."""
    from lossfilm.training.fit.optimizers import make_optimizer

    opt = make_optimizer(optimizer, **hparams)
    params = {"xy": np.array(start, dtype=float)}
    points = [params["xy"].copy()]
    for _ in range(steps):
        opt.step(params, {"xy": gradient(*params["xy"])})
        points.append(params["xy"].copy())
    return np.array(points)


def paths_landscape(function, alphas, betas, runs, *, kind="pca", settings=None):
    """A landscape with several paths (name -> (T_k, 2) iterates, one per step) on ``function``'s grid."""
    A, B = np.meshgrid(alphas, betas, indexing="ij")  # (R1, R2)
    loss = function(A, B)
    names = tuple(runs)
    points = np.concatenate([runs[n] for n in names])  # (T, 2)
    owner = np.concatenate([np.full(len(runs[n]), k, dtype=np.int64) for k, n in enumerate(names)])
    steps = np.concatenate([np.arange(len(runs[n]), dtype=np.int64) for n in names])
    values = function(points[:, 0], points[:, 1])  # (T,)
    T = len(points)
    return Landscape(
        alphas=alphas, betas=betas, loss=loss, accuracy=np.full(loss.shape, np.nan),
        computed=np.ones(loss.shape, bool), origin=np.zeros(2, np.float32), directions=np.eye(2, dtype=np.float32),
        path_alpha=points[:, 0].copy(), path_beta=points[:, 1].copy(), path_loss_plane=values,
        path_loss_true=values.copy(), path_accuracy=np.full(T, np.nan), residuals=np.zeros(T), path_steps=steps,
        path_epochs=np.full(T, np.nan), explained_variance=np.array([0.6, 0.3]), directions_kind=kind,
        settings=settings or {}, path_owner=owner, path_names=names)


def race_landscape(path=None, *, resolution=31):
    """Three optimizers from one start on an anisotropic bowl; adam stops first, momentum last."""
    start = (-0.8, 0.6)
    runs = {"sgd": descend(_bowl_gradient, start, "sgd", 60, lr=0.03),
            "momentum": descend(_bowl_gradient, start, "momentum", 100, lr=0.02, momentum=0.85),
            "adam": descend(_bowl_gradient, start, "adam", 30, lr=0.03)}
    land = paths_landscape(_bowl, np.linspace(-1.0, 1.0, resolution), np.linspace(-0.8, 0.8, resolution), runs,
                           settings={"run": {"data": "digits", "sizes": [64, 32, 10]}})
    if path is not None:
        land.save(path)
    return land


HIMMELBLAU = "f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2"


def himmelblau(x, y):
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


def himmelblau_gradient(x, y):
    return np.array([4 * x * (x ** 2 + y - 11) + 2 * (x + y ** 2 - 7),
                     2 * (x ** 2 + y - 11) + 4 * y * (x + y ** 2 - 7)])


def himmelblau_minima():
    """The four minima, from the formula: the grid's local minima, polished by Newton's method."""
    xs = np.linspace(-5, 5, 101)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    F = himmelblau(X, Y)
    inner = F[1:-1, 1:-1]
    lowest = np.ones(inner.shape, bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                lowest &= inner <= F[1 + di:F.shape[0] - 1 + di, 1 + dj:F.shape[1] - 1 + dj]
    minima = []
    for i, j in zip(*np.nonzero(lowest & (inner < 5.0))):
        p = np.array([X[i + 1, j + 1], Y[i + 1, j + 1]])
        for _ in range(20):
            h = 1e-5
            hessian = np.column_stack([(himmelblau_gradient(*(p + e)) - himmelblau_gradient(*(p - e))) / (2 * h)
                                       for e in (np.array([h, 0.0]), np.array([0.0, h]))])
            p = p - np.linalg.solve(hessian, himmelblau_gradient(*p))
        minima.append([float(p[0]), float(p[1]), float(himmelblau(*p))])
    return minima


def himmelblau_landscape(path=None, *, resolution=41):
    start = (0.0, -0.5)
    runs = {"sgd": descend(himmelblau_gradient, start, "sgd", 40, lr=0.01),
            "momentum": descend(himmelblau_gradient, start, "momentum", 80, lr=0.004, momentum=0.9),
            "adam": descend(himmelblau_gradient, start, "adam", 60, lr=0.2)}
    xs = np.linspace(-5.0, 5.0, resolution)
    land = paths_landscape(himmelblau, xs, xs, runs, kind="axes", settings={
        "function": {"name": "himmelblau", "formula": HIMMELBLAU}, "minima": himmelblau_minima(),
        "log_z": False, "axis_names": ["x", "y"]})
    if path is not None:
        land.save(path)
    return land


# --- films at the reference size --------------------------------------------------------------------

SIZE = (320, 240)  # the reference images' size


def film(landscape_file, scene, **kwargs):
    """The bundled ``scene`` on ``landscape_file`` at :data:`SIZE`, 10 frames a second, not supersampled."""
    from lossfilm.render.filming.film import FilmSpec, open_film
    from lossfilm.scenes import scene_class

    kwargs.setdefault("supersample", 1.0)
    return open_film(FilmSpec(scene=scene_class(scene), landscape=landscape_file, size=SIZE, fps=kwargs.pop("fps", 10),
                              **kwargs))


# --- a Dask cluster ----------------------------------------------------------------------------------

def task_bytes(plane_loss, batches_per_task=1):
    """Bytes a task carries (its node coordinates, pickled as Dask sends them) and the scattered plane loss's.

    What moves over the network: the plane loss once per worker, then per
    task only this. Returns ``(task, scattered)``.
    """
    from distributed.protocol import serialize_bytes

    from lossfilm.training.grid_cluster import Shipped

    coords = [np.zeros((plane_loss.batch_size, 2))] * batches_per_task
    return len(serialize_bytes(coords)), len(serialize_bytes(Shipped(plane_loss.for_worker())))


# --- image regression -----------------------------------------------------------------------------

IMAGES = Path(__file__).resolve().parent / "render" / "elements" / "images"


MEAN_TOLERANCE = 2.5  # mean |difference| per channel, of 255


STRONG = 64  # a pixel differs strongly when a channel moves by more than this


STRONG_SHARE = 0.003  # share of strongly different pixels allowed (a displaced ball is ~0.5%)


def check_image(request, name, image):
    """Compare with tests/render/elements/images/NAME.png, or rewrite it under --regen-images."""
    import imageio.v3 as iio

    path = IMAGES / f"{name}.png"
    if request.config.getoption("--regen-images"):
        IMAGES.mkdir(exist_ok=True)
        iio.imwrite(path, image)
        return
    if not path.exists():
        pytest.fail(f"{path} is missing; run this test with --regen-images and look at it")
    reference = iio.imread(path)
    assert reference.shape == image.shape
    diff = np.abs(reference.astype(np.int16) - image.astype(np.int16))
    strong = (diff.max(axis=-1) > STRONG).mean()
    assert diff.mean() < MEAN_TOLERANCE and strong < STRONG_SHARE, (
        f"{name}: mean difference {diff.mean():.2f}, {100 * strong:.2f}% of pixels changed strongly")


def display_point(plotter, point):
    """(column, row) image coordinates of a world point."""
    renderer = plotter.renderer
    renderer.SetWorldPoint(*map(float, point), 1.0)
    renderer.WorldToDisplay()
    x, y, _ = renderer.GetDisplayPoint()
    return x, plotter.window_size[1] - 1 - y


# --- processes: the command line in a child, and what it leaves running ---------------------------

def children(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Cli:
    """``python -m lossfilm ARGS`` in a child process; its stderr collected as it comes."""

    def __init__(self, *args):
        env = dict(os.environ, PYTHONPATH=str(REPO))
        # Python ignores Ctrl-C in a child started with SIGINT ignored (as under `nohup` or `&`): restore it.
        self.process = subprocess.Popen([sys.executable, "-m", "lossfilm", *map(str, args)], env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE,
                                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self._chunks = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while chunk := os.read(self.process.stderr.fileno(), 65536):
            self._chunks.append(chunk)

    @property
    def stderr(self):
        return b"".join(self._chunks).decode(errors="replace")

    def progress(self, desc):
        """``(done, total)`` from the last update of the tqdm bar ``desc``, or (0, 0) before it shows."""
        found = re.findall(rf"{re.escape(desc)}:[^\r\n]*?\|\s*(\d+)/(\d+)", self.stderr)
        return tuple(map(int, found[-1])) if found else (0, 0)

    def wait_for(self, condition, what, timeout=60):
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"exited ({self.process.returncode}) before {what}:\n{self.stderr}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.stderr}"
            time.sleep(0.02)

    def stop(self, signum, timeout=60):
        """Send ``signum``; return the exit status and the whole of stderr."""
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)
        return code, self.stderr


# --- IDX files (MNIST's format), written by hand --------------------------------------------------

NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "t10k_images": "t10k-images-idx3-ubyte",
    "t10k_labels": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array, dtype_code=0x08):
    """Encode a uint8 array as IDX by hand (struct, not the reader's code)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, dtype_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def tiny_images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3, 4), dtype=np.uint8)  # (n,3,4)


def tiny_labels(n, seed=0):
    return np.random.default_rng(seed + 100).integers(0, 10, size=n, dtype=np.uint8)  # (n,)


def write_payload(path, payload, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def write_folder(folder, parts=tuple(NAMES), gz=False, name=lambda base: base, n_train=7, n_test=5):
    """Write the chosen MNIST files; ``name`` maps a base name to its path under ``folder``."""
    arrays = {
        "train_images": tiny_images(n_train, 1), "train_labels": tiny_labels(n_train, 1),
        "t10k_images": tiny_images(n_test, 2), "t10k_labels": tiny_labels(n_test, 2),
    }
    for part in parts:
        suffix = ".gz" if gz else ""
        write_payload(folder / (name(NAMES[part]) + suffix), idx_bytes(arrays[part]), gz=gz)
    return arrays


def refused_in_one_line(capsys, argv, *fragments):
    """Run the CLI on ``argv``: exit 2 and one line on stderr, ``lossfilm CMD: error: ...``, with every fragment."""
    from lossfilm.cli import main

    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"lossfilm {argv[0]}: error: "), err
    for fragment in fragments:
        assert fragment in err, err
    return err
