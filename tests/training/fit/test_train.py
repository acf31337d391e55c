"""Training end to end on tiny synthetic data, the cache decision, and the `lossfilm train` command."""

import json
from pathlib import Path

import numpy as np
import pytest

from lossfilm.cli import build_parser, main
from lossfilm.format.errors import ConfigError, LossfilmError
from lossfilm.training.fit import mlp
from lossfilm.training.fit.config import DEFAULTS, TrainConfig
from lossfilm.training.data.datasets import Dataset
from lossfilm.format.layout import ParamLayout
from lossfilm.training.fit.optimizers import DEFAULT_LRS, OPTIMIZERS
from lossfilm.training.fit.train import (DIVERGENCE_FACTOR, TrainingDiverged, cache_action, cached_or_train, train,
                            trajectory_key)
from lossfilm.format.trajectory import Trajectory

MNIST = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "mnist"


def blobs(n_train=50, n_test=20, d=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.random((c, d))
    y = np.arange(n_train + n_test) % c
    X = np.clip(centers[y] + rng.normal(0.0, 0.1, size=(len(y), d)), 0.0, 1.0)
    return Dataset("blobs", X[:n_train], y[:n_train], X[n_train:], y[n_train:], c,
                   {"spec": "blobs", "seed": seed, "test_fraction": n_test / (n_train + n_test)})


# 50 images in batches of 16: 4 steps per epoch, 8 steps in 2 epochs
TINY = TrainConfig(hidden=(5,), epochs=2, batch_size=16, lr=0.5)


def replay(config, data):
    """The training loop written out by hand: what every snapshot must hold."""
    rng = np.random.default_rng(config.seed)
    params = mlp.init_params([data.n_features, *config.hidden, data.n_classes], rng, config.init)
    optimizer = config.make_optimizer()
    layout = ParamLayout.of(params)
    rows, losses = [layout.flatten(params)], [mlp.loss(params, data.X_train, data.y_train)]
    for _ in range(config.epochs):
        order = rng.permutation(len(data.y_train))
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            value, grads = mlp.loss_and_grads(params, data.X_train[batch], data.y_train[batch])
            optimizer.step(params, grads)
            rows.append(layout.flatten(params))
            losses.append(value)
    return np.array(rows), np.array(losses), params


def test_every_snapshot_is_the_parameters_after_its_step(tmp_path):
    data = blobs()
    traj = train(TINY, data, tmp_path / "trajectory.npz", progress=False)
    rows, losses, final = replay(TINY, data)

    assert traj.params.shape == (9, 6 * 5 + 5 + 5 * 3 + 3)
    assert np.array_equal(traj.params[0], rows[0])  # the initial parameters
    assert np.array_equal(traj.params[-1], ParamLayout.of(final).flatten(final))  # the final ones
    assert np.array_equal(traj.params, rows)
    assert np.allclose(traj.losses, losses, rtol=1e-12)
    assert traj.steps.tolist() == list(range(9))
    assert np.allclose(traj.epochs, np.arange(9) / 4)
    assert np.isnan(traj.train_losses).all()  # eval_every=0: never
    assert not traj.diverged and sorted(p.name for p in tmp_path.iterdir()) == ["trajectory.npz"]


def test_settings_model_and_key(tmp_path):
    from lossfilm import __version__

    data = blobs()
    traj = train(TINY, data, tmp_path / "trajectory.npz", progress=False)
    s = traj.settings
    assert s["config"] == TINY.to_dict() and s["data"] == data.source and s["seed"] == 0
    assert s["lossfilm_version"] == __version__
    assert s["optimizer"] == {"name": "sgd", "lr": 0.5, "weight_decay": 0.0}
    assert s["history"]["epoch"] == [1, 2] and len(s["history"]["test_accuracy"]) == 2
    final = s["final"]
    assert final["test_accuracy"] == s["history"]["test_accuracy"][-1]
    assert final["train_loss"] == pytest.approx(mlp.loss(traj.snapshot(-1), data.X_train, data.y_train), rel=1e-5)
    assert traj.model == {"sizes": [6, 5, 3], "activation": "relu", "output": "softmax",
                          "loss": "cross_entropy", "init": "he"}
    assert traj.key == trajectory_key(TINY, data.source)
    json.dumps(s, allow_nan=False)  # strict JSON: no NaN slipped into the header


def test_the_demo_defaults_learn_the_digits(tmp_path):
    from lossfilm.training.data.datasets import load_data

    config = TrainConfig()
    traj = train(config, load_data(config.data, config.seed, config.test_fraction),
                 tmp_path / "trajectory.npz", progress=False)
    assert traj.settings["final"]["test_accuracy"] >= 0.95
    assert len(traj) == 1 + config.epochs * 23  # 1,437 training images in batches of 64


def test_same_seed_gives_a_byte_identical_file_and_another_seed_does_not(tmp_path):
    data = blobs()
    paths = [tmp_path / f"{name}.npz" for name in ("a", "b", "c")]
    train(TINY, data, paths[0], progress=False)
    train(TINY, data, paths[1], progress=False)
    other = train(TINY.replace(seed=1), data, paths[2], progress=False)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    first = Trajectory.load(paths[0])
    assert not np.array_equal(first.params, other.params)
    assert first.key != other.key


@pytest.mark.parametrize("record_every, eval_every, steps, evaluated", [
    (1, 0, list(range(9)), []),
    (3, 0, [0, 3, 6, 8], []),
    (3, 2, [0, 3, 6, 8], [0, 2, 3]),
    (4, 1, [0, 4, 8], [0, 1, 2]),
    (5, 4, [0, 5, 8], [0, 2]),
    (100, 0, [0, 8], []),
])
def test_record_every_and_eval_every(tmp_path, record_every, eval_every, steps, evaluated):
    data = blobs()
    config = TINY.replace(record_every=record_every, eval_every=eval_every)
    traj = train(config, data, tmp_path / "trajectory.npz", progress=False)
    rows, losses, _ = replay(TINY, data)
    assert traj.steps.tolist() == steps
    assert np.array_equal(traj.params, rows[steps])
    assert np.allclose(traj.losses, losses[steps])
    assert np.allclose(traj.epochs, np.array(steps) / 4)
    assert np.flatnonzero(np.isfinite(traj.train_losses)).tolist() == evaluated
    for i in evaluated:
        assert traj.train_losses[i] == pytest.approx(mlp.loss(traj.snapshot(i), data.X_train, data.y_train), rel=1e-5)


def test_divergence_saves_the_finite_part_and_says_so(tmp_path):
    out = tmp_path / "trajectory.npz"
    with pytest.raises(TrainingDiverged) as caught:
        train(TINY.replace(lr=100.0, epochs=5), blobs(), out, progress=False)
    exc = caught.value
    traj = Trajectory.load(out)
    assert traj.diverged and len(traj) == len(exc.trajectory) >= 1
    assert np.isfinite(traj.params).all()
    assert traj.steps[-1] < exc.step <= 20
    assert not exc.loss <= DIVERGENCE_FACTOR * traj.losses[0]
    assert f"diverged at step {exc.step}" in str(exc) and "--lr" in str(exc) and str(out) in str(exc)
    assert isinstance(exc, LossfilmError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trajectory.npz"]


def test_cache_decisions(tmp_path):
    data = blobs()
    out = tmp_path / "trajectory.npz"
    key = trajectory_key(TINY, data.source)
    assert cache_action(out, key) == "compute"
    first, action = cached_or_train(TINY, out, data=data, progress=False)
    assert action == "compute" and first.key == key
    assert cache_action(out, key) == "reuse"
    assert cache_action(out, key, force=True) == "update"
    assert cache_action(out, trajectory_key(TINY.replace(epochs=3), data.source)) == "update"
    assert cache_action(out, trajectory_key(TINY, dict(data.source, seed=1))) == "update"
    # lr=None and the same value given explicitly are the same run
    assert trajectory_key(TrainConfig(), data.source) == trajectory_key(
        TrainConfig(lr=DEFAULT_LRS["sgd"]), data.source)

    before = out.stat().st_mtime_ns
    again, action = cached_or_train(TINY, out, data=data, progress=False)
    assert action == "reuse" and out.stat().st_mtime_ns == before and again.key == key

    out.write_bytes(b"not a trajectory")
    assert cache_action(out, key) == "update"
    with pytest.raises(TrainingDiverged):
        cached_or_train(TINY.replace(lr=100.0, epochs=5), out, data=data, progress=False)
    diverged_key = trajectory_key(TINY.replace(lr=100.0, epochs=5), data.source)
    assert cache_action(out, diverged_key) == "update"  # a diverged run is never reused


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    train(TINY, blobs(), tmp_path / "trajectory.npz", progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "8/8" in captured.err and "loss=" in captured.err


def test_config_checks_name_the_option():
    for changes, message in [
        ({"epochs": 0}, "--epochs 0: expected a whole number of at least 1"),
        ({"batch_size": -1}, "--batch-size -1: expected a whole number of at least 1"),
        ({"epochs": 2.5}, "--epochs 2.5: expected a whole number"),
        ({"hidden": (128, 0)}, r"--hidden \[128, 0\]"),
        ({"eval_every": -1}, "--eval-every -1"),
        ({"test_fraction": 1.0}, "--test-fraction 1.0"),
        ({"optimizer": "lion"}, "--optimizer 'lion': expected one of sgd, momentum"),
        ({"init": "zeros"}, "--init 'zeros': expected one of he, xavier, uniform"),
        ({"lr": 0.0}, "--lr 0.0: expected a number above 0"),
        ({"momentum": 1.5, "optimizer": "momentum"}, "--momentum 1.5"),
    ]:
        with pytest.raises(ConfigError, match=message):
            TrainConfig(**changes)
    assert {f: getattr(TrainConfig(), f) for f in DEFAULTS} == DEFAULTS
    assert TrainConfig.from_dict(TrainConfig(hidden=[3, 2]).to_dict()) == TrainConfig(hidden=(3, 2))


def test_cli_options_and_their_defaults():
    from lossfilm.format.declared.options import read_args

    parser = build_parser()

    def parse(argv):  # as lossfilm.cli.main does: argparse, then the declarations read the text
        args = parser.parse_args(argv)
        return read_args(args, args.declared)

    args = parse(["train"])
    assert args.hidden == (128,) and args.lr is None and args.output == "lossfilm-out/cache/trajectory.npz"
    assert parse(["train", "--hidden", "128,64"]).hidden == (128, 64)
    assert parse(["train", "--hidden", "32", "--hidden", "16"]).hidden == (32, 16)
    assert parse(["train", "--lr", "0.05"]).lr == 0.05
    assert parse(["train", "--lr", "auto"]).lr is None
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    help_text = " ".join(train_parser.format_help().split())
    for name, lr in DEFAULT_LRS.items():  # the help lists the optimizers' own defaults
        assert f"{name} {lr:g}" in help_text
    assert "default: 20)" in help_text and "default: 128)" in help_text
    assert "{" + ",".join(OPTIMIZERS) + "}" in help_text  # the choices, from the optimizers' table
    for bad in (["--hidden", "12,x"], ["--lr", "-3"], ["--optimizer", "lion"]):
        with pytest.raises(ConfigError):
            parse(["train", *bad])


def test_cli_trains_into_the_default_cache_and_then_reuses_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--epochs", "1", "--hidden", "16", "--record-every", "5", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "lossfilm-out" / "cache" / "trajectory.npz").is_file()
    assert out.startswith("saved lossfilm-out/cache/trajectory.npz: 6 snapshots x 1,210 parameters,")
    assert "test accuracy" in out and "KB" in out
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("reused lossfilm-out/cache/trajectory.npz (same settings")


def test_cli_refuses_a_missing_output_directory(tmp_path, capsys):
    code = main(["train", "--epochs", "1", "--quiet", "-o", str(tmp_path / "nope" / "t.npz")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "output directory" in err and "does not exist" in err
    assert not (tmp_path / "nope").exists()


def test_cli_divergence_exits_3_with_one_line(tmp_path, capsys):
    out = tmp_path / "t.npz"
    code = main(["train", "--lr", "100", "--quiet", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 3
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("lossfilm train: training diverged at step ")
    assert "smaller --lr than 100" in captured.err and f"saved to {out}" in captured.err
    assert Trajectory.load(out).diverged


@pytest.mark.slow
@pytest.mark.skipif(not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason="shared MNIST data absent")
def test_mnist_t10k_reaches_90_percent(tmp_path):
    from lossfilm.training.data.datasets import load_data

    data = load_data(MNIST, seed=0, test_fraction=0.2)
    assert (len(data.y_train), len(data.y_test), data.n_features) == (8000, 2000, 784)
    config = TrainConfig(data=str(MNIST), hidden=(128,), epochs=3, lr=0.1, record_every=25)
    traj = train(config, data, tmp_path / "trajectory.npz", progress=False)
    assert traj.model["sizes"] == [784, 128, 10] and traj.params.shape[1] == 101_770
    assert traj.settings["final"]["test_accuracy"] >= 0.90
