"""Every fenced ```bash and ```python block of README.md runs, small, or is listed here with why it cannot.

Each block runs in a fresh temporary folder. A block may get a prelude (the
files and names its text assumes: a landscape in ``media/cache/``, a
user's ``history`` and ``my_loss``) and size substitutions (fewer epochs, a
smaller grid and film), kept in ``BLOCKS`` by the block's first line. A
``bash`` block's lines are ``lossfilm`` commands, run through
``lossfilm.cli.main``: each must exit 0. A ``python`` block is executed. A
block that is neither in ``BLOCKS`` nor in ``SKIPPED`` fails the test, so a
new README example needs a decision here. Blocks that render films are
marked slow.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lossfilm.cli import main
from lossfilm.format.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"
# A film of 4 frames: the command runs, quickly. 320x240, not smaller: in a tinier frame the on-screen labels'
# placement searches several times longer a frame.
FILM = ["--size", "320x240", "--fps", "4", "--seconds", "1"]


def readme_blocks(text=None):
    """``[(language, first line, code, line number)]`` of every fenced bash or python block, in order."""
    text = README.read_text() if text is None else text
    blocks = []
    for match in re.finditer(r"^```(bash|python)\n(.*?)^```", text, flags=re.S | re.M):
        code = match.group(2)
        blocks.append((match.group(1), code.splitlines()[0].strip(), code, text[:match.start()].count("\n") + 1))
    return blocks


# The blocks that cannot run here, by first line, and why.
SKIPPED = {
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/lossfilm demo":
        "creates a virtual environment and installs into it; CI does exactly this (.ci/run), and "
        "tests/cli/test_determinism.py runs the demo's pipeline",
    "pip install torch --index-url https://download.pytorch.org/whl/cpu && pip install 'lossfilm[torch]'   # CPU only":
        "downloads from package indexes",
    "dask scheduler --port 8786                                   # on one machine; it prints tcp://HOST:8786":
        "starts a scheduler and workers on several machines (HOST); tests/test_cluster.py runs the same on a "
        "LocalCluster",
    "python examples/pytorch_cnn.py --directions hessian --sharpness 16 --out media/cache/cnn-hessian":
        "trains the example CNN three times at full size (minutes); tests/examples/test_pytorch_example.py runs both "
        "PyTorch examples small",
    ".venv/bin/pip install -e '.[bench]' && .venv/bin/python -m tests.bench":
        "installs the bench extra and runs the benchmarks (minutes): scripts, not tests",
}


def _bowl_landscape(path):
    """A small landscape of a bowl, as `lossfilm landscape` writes it."""
    from tests.helpers import rippled_bowl_landscape as bowl_landscape

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return bowl_landscape(Path(path), resolution=9, snapshots=6)


def _user_run():
    """A user's own NumPy MLP, its data and a training loop, for the bring-your-own-model blocks."""
    return textwrap.dedent("""
        import numpy as np
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)

        def my_loss(params, X, y):
            z = np.maximum(X @ params["W1"].T + params["b1"], 0) @ params["W2"].T + params["b2"]
            z = z - z.max(axis=1, keepdims=True)
            return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))

        params = {"W1": rng.normal(size=(5, 4)), "b1": np.zeros(5), "W2": rng.normal(size=(3, 5)), "b2": np.zeros(3)}
        history, loss_history = [], []
        for step in range(12):
            for key in params:
                params[key] = params[key] - 0.05 * rng.normal(size=params[key].shape)
            history.append({k: v.copy() for k, v in params.items()})
            loss_history.append(my_loss(params, X, y))
    """)


def _torch_run():
    """A small PyTorch model, its loaders and a training loop's names, for the PyTorch block."""
    return textwrap.dedent("""
        import torch
        torch.manual_seed(0)
        X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
        dataset = torch.utils.data.TensorDataset(X, y)
        loader = torch.utils.data.DataLoader(dataset, batch_size=16)
        test_loader = torch.utils.data.DataLoader(dataset, batch_size=32)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = torch.tensor(0.0)
    """)


def _training_step():
    """The ``...`` of the PyTorch block: a real step, so that the recorded path moves."""
    return ("loss = torch.nn.functional.cross_entropy(model(x), y); optimizer.zero_grad(); loss.backward(); "
            "optimizer.step()")


def _recorder_names():
    return textwrap.dedent("""
        import numpy as np
        steps, params, loss = 8, {"w": np.zeros(3)}, 1.0
        def train_step(params):
            return {"w": params["w"] + np.arange(1.0, 4.0) * (1 + params["w"].sum() ** 2) ** -0.5}
    """)


def _loss_module(folder):
    (folder / "my_module.py").write_text("def loss_fn(params):\n    return float((params['w'] ** 2).sum())\n")
    import lossfilm

    with lossfilm.Recorder(folder / "trajectory.npz") as rec:
        for step in range(6):
            rec.record({"w": np.array([3.0, 2.0, 1.0]) * 0.7 ** step + 0.01 * step}, loss=1.0, step=step)


def _cache_folder(folder):
    """The ``media/cache/`` that ``lossfilm demo`` leaves (``lossfilm train -o`` makes no folder but its default's)."""
    (folder / "media" / "cache").mkdir(parents=True)


def _still_with_provenance(folder):
    land = _bowl_landscape(folder / "media" / "cache" / "landscape.npz")
    assert main(["still", "--landscape", str(land), "-o", "media/descent.png", "--size", "160x120"]) == 0


def _two_runs(folder):
    """Two short runs of the built-in MLP from two seeds, where the two-models-on-one-line block reads them."""
    for name, seed in (("runA", "0"), ("runB", "1")):
        (folder / name).mkdir()
        assert main(["train", "--epochs", "1", "--seed", seed, "--quiet", "-o", f"{name}/trajectory.npz"]) == 0


def _view_landscapes(folder):
    """The demo's and a race's landscape files, where the viewer block reads them."""
    from tests.viewer import landscapes

    _bowl_landscape(folder / "lossfilm-out" / "cache" / "landscape.npz")
    landscapes.race().save(folder / "lossfilm-out" / "cache" / "race-landscape.npz")


# Blocks that run: their prelude (Python source, or a function of the folder that makes files) and their
# substitutions (old, new): small sizes, and nothing written outside the temporary folder.
BLOCKS = {
    "lossfilm train --data digits --optimizer adam --epochs 30 -o lossfilm-out/cache/trajectory.npz": dict(
        slow=True, subs=[("--epochs 30", "--epochs 1"), ("--resolution 51", "--resolution 7 --samples 200"),
                         ("--quality high", " ".join(FILM) + " --draft"), ("--size 3840x2160", "--size 320x180")]),
    "lossfilm race --optimizers sgd,momentum,rmsprop,adam --gif": dict(
        slow=True, subs=[("--gif", "--gif --epochs 1 --resolution 7 --seconds 1 --draft --still-size 160x120 "
                          "--gif-width 80 --gif-fps 4")]),
    "lossfilm classic rosenbrock": dict(
        slow=True, subs=[(" rosenbrock", " rosenbrock --resolution 9 --steps 20 --seconds 0.4 --draft "
                          "--still-size 160x120"),
                         ("--lr adam=0.05", "--lr adam=0.05 --resolution 9 --steps 20 --seconds 0.4 --draft "
                          "--still-size 160x120"),
                         ("--name my-rosenbrock", "--name my-rosenbrock --resolution 9 --steps 20 --seconds 0.4 "
                          "--draft --still-size 160x120")]),
    "lossfilm train --batch-size 2000 --lr 1 --epochs 300 -o media/cache/gd.npz   # full-batch GD on digits": dict(
        prelude=_cache_folder, slow=True, subs=[("--epochs 300", "--epochs 4"), ("--sharpness 60", "--sharpness 3 --resolution 7"),
                         ("--frame 100", "--frame 3"), ("--size 1280x720", "--size 320x180")]),
    "lossfilm landscape trajectory.npz --loss my_module:loss_fn          # or --loss path/to/file.py:loss_fn": dict(
        prelude=_loss_module, slow=True, subs=[("-o descent.mp4", "-o descent.mp4 " + " ".join(FILM) + " --draft"),
                                              ("--loss my_module:loss_fn", "--loss my_module:loss_fn --resolution 7")]),
    'lossfilm line runA/trajectory.npz runB/trajectory.npz --names "seed 0" "seed 1" -o between.npz   # + --loss '
    'for your model': dict(
        prelude=_two_runs, slow=True, subs=[("-o between.npz", "-o between.npz --resolution 7 --points 9 --samples 200"),
                                            ("-o mode_connectivity.png", "-o mode_connectivity.png --size 160x120"),
                                            ("-o two_runs.png", "-o two_runs.png --size 160x120")]),
    "lossfilm view --landscape lossfilm-out/cache/landscape.npz -o landscape.html       # --theme light, --log-z, "
    "--title": dict(prelude=_view_landscapes, subs=[]),
    "lossfilm render descent --transparent --fps 60 --quality high -o descent.mov -o descent.webm": dict(
        prelude=lambda folder: _bowl_landscape(folder / "lossfilm-out" / "cache" / "landscape.npz"), slow=True,
        subs=[("--quality high", "--size 320x240 --seconds 0.2 --draft"),
              ("--size 3840x2160", "--size 160x120")]),
    "lossfilm inspect media/descent.png          # prints it (--json for the raw record)": dict(
        prelude=_still_with_provenance, slow=True, subs=[("-o /tmp/again.png", "-o again.png")]),
}

# Python blocks, by their first line that is not `import lossfilm...` or blank.
PYTHON_BLOCKS = {
    'page = lossfilm.view(landscape, "landscape.html")   # a Landscape or the path of its file': dict(
        prelude="import lossfilm\nfrom tests.viewer import landscapes\nlandscape = landscapes.bowl()\n", subs=[]),
    'landscape = lossfilm.Landscape.load("lossfilm-out/cache/landscape.npz")   # or Landscape.from_trajectory(...)': dict(
        prelude=lambda folder: _bowl_landscape(folder / "lossfilm-out" / "cache" / "landscape.npz"), slow=True,
        subs=[('quality="high"', 'size=(320, 240), fps=4, seconds=1, draft=True'),
              ("size=(3840, 2160)", "size=(320, 180)"),
              ("size=(1280, 720)", "size=(320, 240), fps=4, seconds=1, draft=True")]),
    '# history: [{"W1": ..., "b1": ..., "W2": ..., "b2": ...}, ...] saved during your training loop': dict(
        prelude=_user_run(), slow=True, subs=[("resolution=41", "resolution=7"),
                                              ('"descent.mp4")', '"descent.mp4", size=(160, 120), fps=4, '
                                                                'seconds=1, draft=True)')]),
    'with lossfilm.Recorder("trajectory.npz", every=1) as rec:   # every=10 keeps every 10th call (and the last)':
        dict(prelude=_recorder_names(), subs=[]),
    "with lossfilm.Recorder(\"trajectory.npz\") as rec:": dict(
        prelude=_torch_run(), slow=True, cuda=True,
        subs=[("...                                                # your training step", _training_step()),
              ("samples=2000", "samples=40, resolution=5"),
              ('"descent.mp4")', '"descent.mp4", size=(320, 240), fps=4, seconds=1, draft=True)')]),
}


def _key(language, first, code):
    if language == "python" and first.startswith("import lossfilm"):
        rest = [line for line in code.splitlines()[1:] if line.strip()]
        return rest[0].strip() if rest else first
    return first


def _cases():
    cases = []
    for language, first, code, line in readme_blocks():
        key = _key(language, first, code)
        table = PYTHON_BLOCKS if language == "python" else BLOCKS
        spec = table.get(key)
        marks = [pytest.mark.slow] if spec and spec.get("slow") else []
        if first in SKIPPED:
            marks = [pytest.mark.skip(reason=f"README line {line}: {SKIPPED[first]}")]
        cases.append(pytest.param(language, key, code, id=f"line{line}", marks=marks))
    return cases


def _substituted(code, subs):
    for old, new in subs:
        assert old in code, f"the README block no longer contains {old!r}: update tests/test_readme.py"
        code = code.replace(old, new)
    return code


def _commands(code):
    """The block's commands, each as argv (continuation lines joined, comments dropped)."""
    joined = code.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


@pytest.mark.parametrize("language, key, code", _cases())
def test_readme_block(language, key, code, tmp_path, monkeypatch):
    table = PYTHON_BLOCKS if language == "python" else BLOCKS
    assert key in table, (f"README block starting {key!r} is neither run by tests/test_readme.py nor listed in "
                          "its SKIPPED table with a reason")
    spec = table[key]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    prelude = spec.get("prelude")
    if callable(prelude):
        prelude(tmp_path)
    code = _substituted(code, spec.get("subs", []))
    if language == "bash":
        for argv in _commands(code):
            assert argv[0] == "lossfilm", f"the README runs {argv[0]!r}: list the block in SKIPPED or run it here"
            assert main(argv[1:]) == 0, f"README: {shlex.join(argv)} failed"
        return
    source = (prelude if isinstance(prelude, str) else "") + "\n" + code
    if spec.get("cuda"):
        _check_cuda_line(source)
        source = source.replace('device="cuda"', 'device="cpu"')
    exec(compile(source, f"README block {key[:40]}", "exec"), {"__name__": "__readme__"})


def _check_cuda_line(source):
    """On a machine whose torch has no CUDA, the block as written stops at TorchLoss(device="cuda") in one line."""
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        return
    with pytest.raises(ConfigError, match=r"^TorchLoss: device='cuda', but (this PyTorch .* was built without CUDA|no CUDA GPU is visible)") as info:
        exec(compile(source, "README PyTorch block", "exec"), {"__name__": "__readme__"})
    assert "\n" not in str(info.value)


def test_every_block_is_decided():
    """The tables name only blocks the README has (a stale entry is a test that no longer runs anything)."""
    keys = {_key(language, first, code) for language, first, code, _ in readme_blocks()}
    firsts = {first for _, first, _, _ in readme_blocks()}
    stale = [key for key in [*BLOCKS, *PYTHON_BLOCKS] if key not in keys]
    stale += [key for key in SKIPPED if key not in firsts]
    assert not stale, f"tests/test_readme.py lists README blocks that are gone: {stale}"


def test_a_new_block_must_be_decided():
    """A block neither run nor listed fails: the parser finds it, and the tables do not know it."""
    blocks = readme_blocks("text\n```bash\nlossfilm frobnicate --now\n```\n")
    assert blocks == [("bash", "lossfilm frobnicate --now", "lossfilm frobnicate --now\n", 2)]
    assert blocks[0][1] not in BLOCKS and blocks[0][1] not in SKIPPED
