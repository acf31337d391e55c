"""Every bad input a user can give, and the one line it must produce.

The table below is run through the real command line (``lossfilm.cli.main``):
each row must exit with status 2, print exactly one line on stderr that
starts with ``lossfilm CMD: error:`` and contains every expected fragment
(the input's name and the problem), and never a traceback; with
``--debug`` the same row raises its LossfilmError (the traceback). Rows
that are Python calls (the bring-your-own-model API) check the error type
and message. The artifact loaders are fuzzed with hypothesis: random bytes
and damaged valid files may only raise ArtifactError or DataError. (The IDX
reader's own fuzz is in test_idx.py.)
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossfilm.format.artifact import save_npz
import lossfilm
from lossfilm.cli import main
from lossfilm.format.errors import ArtifactError, ConfigError, DataError, LossfilmError
from tests.helpers import rippled_bowl_landscape
from tests.helpers import NAMES, idx_bytes, tiny_images, tiny_labels, write_folder
from lossfilm.training.landscape.pipeline import Landscape
from lossfilm.training.landscape.settings import LandscapeSettings
from lossfilm.training.fit.mlp import init_params
from lossfilm.format.trajectory import SCHEMA_VERSION, Trajectory

REPO = Path(__file__).resolve().parents[2]
SIZES = [12, 4, 10]  # write_folder's 3x4 images, a tiny hidden layer, 10 classes


def mlp_trajectory(folder, params=None, T=6, seed=0):
    """A trajectory of the built-in MLP trained on the IDX ``folder`` (a random walk is enough here)."""
    rng = np.random.default_rng(seed)
    start = init_params(SIZES, rng)
    history = []
    for _ in range(T):
        history.append({k: v.copy() for k, v in start.items()})
        for value in start.values():
            value += 0.05 * rng.normal(size=value.shape)
    traj = Trajectory.from_snapshots(history, settings={"data": {"spec": str(folder), "seed": 0,
                                                                 "test_fraction": 0.2}})
    if params is not None:
        traj = Trajectory(params=np.asarray(params, np.float32), layout=traj.layout,
                          steps=np.arange(len(params)), epochs=np.zeros(len(params)),
                          losses=np.zeros(len(params)), train_losses=np.zeros(len(params)),
                          settings=traj.settings, key=f"crafted-{len(params)}")
    traj.model = {"sizes": SIZES, "activation": "relu"}
    return traj


def idx_folder(root, name, replace=None, payload=b""):
    """A valid MNIST folder of tiny files, with the file ``replace`` (a NAMES key) swapped for ``payload``."""
    folder = root / name
    write_folder(folder)
    if replace is not None:
        (folder / NAMES[replace]).write_bytes(payload)
    return folder


@pytest.fixture(scope="module")
def f(tmp_path_factory):
    """Every bad (and a few good) input files, made once."""
    root = tmp_path_factory.mktemp("bad")
    data = idx_folder(root, "data")
    good = mlp_trajectory(data)
    ns = SimpleNamespace(root=root, data=data)
    ns.traj = root / "trajectory.npz"
    good.save(ns.traj)
    ns.other_traj = root / "other_trajectory.npz"
    mlp_trajectory(data, seed=1).save(ns.other_traj)

    # IDX folders, each with one broken file
    images = idx_bytes(tiny_images(7, 1))
    ns.idx_magic = idx_folder(root, "idx_magic", "train_images", b"\x01\x02\x03\x04" + images[4:])
    ns.idx_header = idx_folder(root, "idx_header", "train_images", images[:10])
    ns.idx_body = idx_folder(root, "idx_body", "train_images", images[:-5])
    ns.idx_extra = idx_folder(root, "idx_extra", "train_images", images + b"\x00\x00")
    ns.idx_count = idx_folder(root, "idx_count", "train_labels", idx_bytes(tiny_labels(5, 1)))
    ns.idx_gzip = idx_folder(root, "idx_gzip")
    os.remove(ns.idx_gzip / NAMES["t10k_images"])
    (ns.idx_gzip / (NAMES["t10k_images"] + ".gz")).write_bytes(gzip.compress(images)[:-12])
    ns.idx_label = idx_folder(root, "idx_label", "t10k_labels", idx_bytes(np.array([12, 1, 2, 3, 4])))
    ns.idx_random = idx_folder(root, "idx_random", "t10k_labels",
                               np.random.default_rng(5).integers(0, 256, 40, dtype=np.uint8).tobytes())
    ns.idx_empty = root / "idx_empty"
    ns.idx_empty.mkdir()

    # trajectory files
    for version in (SCHEMA_VERSION + 1, SCHEMA_VERSION - 1):
        path = root / f"trajectory_v{version}.npz"
        save_npz(path, {"params": np.zeros((2, 3), np.float32)}, {"key": "k"}, kind="trajectory",
                 schema_version=version)
    ns.traj_newer, ns.traj_older = root / f"trajectory_v{SCHEMA_VERSION + 1}.npz", root / f"trajectory_v{SCHEMA_VERSION - 1}.npz"
    ns.traj_truncated = root / "truncated.npz"
    ns.traj_truncated.write_bytes(ns.traj.read_bytes()[: ns.traj.stat().st_size // 2])
    ns.traj_text = root / "notes.npz"
    ns.traj_text.write_text("these are not the snapshots you are looking for\n")
    ns.traj_layout = root / "layout.npz"
    bad = mlp_trajectory(data)
    bad.params = np.zeros((6, 7), np.float32)
    bad.save(ns.traj_layout)
    P = good.params.shape[1]
    ns.traj_one = root / "one.npz"
    mlp_trajectory(data, params=np.asarray(good.params[:1])).save(ns.traj_one)
    ns.traj_same = root / "same.npz"
    mlp_trajectory(data, params=np.repeat(np.asarray(good.params[:1]), 4, axis=0)).save(ns.traj_same)
    nan = np.array(good.params)
    nan[2, P // 2] = np.nan
    ns.traj_nan = root / "nan.npz"
    mlp_trajectory(data, params=nan).save(ns.traj_nan)
    ns.traj_snapshots = root / "snapshots.npz"
    Trajectory.from_snapshots([{"w": np.arange(3.0) + t} for t in range(3)]).save(ns.traj_snapshots)

    # landscape files
    ns.land = rippled_bowl_landscape(root / "landscape.npz", resolution=9, snapshots=6)
    land = Landscape.load(ns.land)
    ns.land_newer = root / "landscape_newer.npz"
    save_npz(ns.land_newer, {"loss": np.zeros((2, 2))}, {"key": "k"}, kind="landscape",
             schema_version=SCHEMA_VERSION + 1)
    ns.land_truncated = root / "landscape_truncated.npz"
    ns.land_truncated.write_bytes(ns.land.read_bytes()[:-100])
    ns.land_text = root / "landscape.txt.npz"
    ns.land_text.write_text("alpha,beta,loss\n0,0,1\n")
    ns.land_paths = root / "landscape_paths.npz"
    land.path_beta = land.path_beta[:-1]
    land.save(ns.land_paths)

    ns.land_allnan = root / "landscape_allnan.npz"
    nan_land = Landscape.load(ns.land)
    nan_land.loss = np.full_like(nan_land.loss, np.nan)
    nan_land.save(ns.land_allnan)

    # outputs that say (or fail to say) how they were made
    import imageio.v3 as iio

    from lossfilm.format.provenance import KEYWORD, png_with_text, to_text

    plain = iio.imwrite("<bytes>", np.zeros((4, 4, 3), np.uint8), extension=".png")
    ns.plain_png = root / "plain.png"
    ns.plain_png.write_bytes(plain)
    ns.plain_gif = root / "plain.gif"
    iio.imwrite(ns.plain_gif, np.stack([np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 99, np.uint8)]))
    ns.garbled_png = root / "garbled.png"
    ns.garbled_png.write_bytes(png_with_text(plain, KEYWORD, "{not json"))
    made = {"lossfilm": "0.2.0", "call": "still", "scene": "descent", "command": "lossfilm still ...",
            "settings": {"size": [64, 48]}, "landscape": {"path": "gone.npz", "key": "0123"}}
    ns.orphan_png = root / "orphan.png"
    ns.orphan_png.write_bytes(png_with_text(plain, KEYWORD, to_text(made)))
    made["landscape"] = {"path": os.path.relpath(ns.land, root), "key": "abcdef0123"}
    ns.stale_png = root / "stale.png"
    ns.stale_png.write_bytes(png_with_text(plain, KEYWORD, to_text(made)))
    made["landscape"], made["call"] = {"path": os.path.relpath(ns.land, root), "key": land.key}, "sculpture"
    ns.odd_call_png = root / "odd_call.png"
    ns.odd_call_png.write_bytes(png_with_text(plain, KEYWORD, to_text(made)))

    # scene files
    ns.scene_raises = root / "raises.py"
    ns.scene_raises.write_text("from lossfilm.render.framework.scene import Scene\nraise RuntimeError('boom')\n")
    ns.scene_syntax = root / "syntax.py"
    ns.scene_syntax.write_text("from lossfilm.render.framework.scene import Scene\n\nclass Broken(Scene:\n    pass\n")
    ns.scene_empty = root / "empty_scene.py"
    ns.scene_empty.write_text("x = 1\n")

    # outputs
    ns.a_file = root / "file.txt"
    ns.a_file.write_text("a regular file, not a folder")
    ns.out = root / "out"
    ns.out.mkdir()
    return ns


# ---------------------------------------------------------------------------------------------------
# The table: (id, argv, expected fragments of the one line, the error type --debug raises)
# argv and fragments are format strings over the fixture `f`.

TRAIN = ["train", "--epochs", "1", "--quiet"]
LAND = ["landscape", "--quiet", "--resolution", "5", "--samples", "0"]
RENDER = ["render", "descent", "--landscape", "{f.land}", "-o", "{f.out}/film.mp4", "--size", "64x48"]
STILL = ["still", "descent", "--landscape", "{f.land}", "-o", "{f.out}/still.png", "--size", "64x48"]

CASES = [
    # IDX data sets (`lossfilm train --data DIR`)
    ("idx-wrong-magic", TRAIN + ["--data", "{f.idx_magic}", "-o", "{f.out}/t.npz"],
     ["{f.idx_magic}/train-images-idx3-ubyte", "wrong magic number 0x01020304; not an IDX file"], DataError),
    ("idx-truncated-header", TRAIN + ["--data", "{f.idx_header}", "-o", "{f.out}/t.npz"],
     ["{f.idx_header}/train-images-idx3-ubyte", "truncated header (10 bytes; 3 dimensions need 16)"], DataError),
    ("idx-truncated-body", TRAIN + ["--data", "{f.idx_body}", "-o", "{f.out}/t.npz"],
     ["{f.idx_body}/train-images-idx3-ubyte", "truncated body (79 data bytes; shape 7x3x4 needs 84)"], DataError),
    ("idx-extra-bytes", TRAIN + ["--data", "{f.idx_extra}", "-o", "{f.out}/t.npz"],
     ["{f.idx_extra}/train-images-idx3-ubyte", "2 unexpected bytes after the data"], DataError),
    ("idx-count-mismatch", TRAIN + ["--data", "{f.idx_count}", "-o", "{f.out}/t.npz"],
     ["count mismatch", "train-images-idx3-ubyte has 7 images", "train-labels-idx1-ubyte has 5 labels"], DataError),
    ("idx-corrupt-gzip", TRAIN + ["--data", "{f.idx_gzip}", "-o", "{f.out}/t.npz"],
     ["{f.idx_gzip}/t10k-images-idx3-ubyte.gz", "corrupt or truncated gzip data"], DataError),
    ("idx-label-out-of-range", TRAIN + ["--data", "{f.idx_label}", "-o", "{f.out}/t.npz"],
     ["t10k-labels-idx1-ubyte", "label value 12 at index 0 is out of range 0..9"], DataError),
    ("idx-random-bytes", TRAIN + ["--data", "{f.idx_random}", "-o", "{f.out}/t.npz"],
     ["{f.idx_random}/t10k-labels-idx1-ubyte"], DataError),
    ("data-folder-empty", TRAIN + ["--data", "{f.idx_empty}", "-o", "{f.out}/t.npz"],
     ["{f.idx_empty}", "no MNIST files found"], DataError),
    ("data-unknown", TRAIN + ["--data", "{f.root}/no_such_folder", "-o", "{f.out}/t.npz"],
     ["unknown data '{f.root}/no_such_folder'", "'digits', 'mnist' or a folder"], ConfigError),
    ("train-output-missing-dir", TRAIN + ["--data", "{f.data}", "-o", "{f.root}/no/t.npz"],
     ["{f.root}/no/t.npz: output directory {f.root}/no does not exist"], LossfilmError),
    ("train-output-under-a-file", TRAIN + ["--data", "{f.data}", "-o", "{f.a_file}/t.npz"],
     ["{f.a_file}/t.npz: output directory {f.a_file} is a file, not a folder"], LossfilmError),
    ("train-zero-epochs", ["train", "--epochs", "0", "--data", "{f.data}", "-o", "{f.out}/t.npz"],
     ["--epochs 0: expected a whole number of at least 1"], ConfigError),

    # trajectory files (`lossfilm landscape TRAJ`)
    ("trajectory-newer-schema", LAND + ["{f.traj_newer}", "-o", "{f.out}/l.npz"],
     ["{f.traj_newer}: schema_version 2 is not supported (this lossfilm reads version 1)",
      "written by a newer lossfilm"], ArtifactError),
    ("trajectory-older-schema", LAND + ["{f.traj_older}", "-o", "{f.out}/l.npz"],
     ["{f.traj_older}: schema_version 0 is not supported", "re-create the file"], ArtifactError),
    ("trajectory-truncated", LAND + ["{f.traj_truncated}", "-o", "{f.out}/l.npz"],
     ["{f.traj_truncated}: not a lossfilm .npz artifact (truncated or another format)"], ArtifactError),
    ("trajectory-not-npz", LAND + ["{f.traj_text}", "-o", "{f.out}/l.npz"],
     ["{f.traj_text}: not a lossfilm .npz artifact"], ArtifactError),
    ("trajectory-is-a-landscape", LAND + ["{f.land}", "-o", "{f.out}/l.npz"],
     ["{f.land}: is a 'landscape' file, expected a 'trajectory' file"], ArtifactError),
    ("trajectory-missing", LAND + ["{f.root}/none.npz", "-o", "{f.out}/l.npz"],
     ["{f.root}/none.npz: no such file"], ArtifactError),
    ("trajectory-params-not-its-layout", LAND + ["{f.traj_layout}", "-o", "{f.out}/l.npz"],
     ["{f.traj_layout}: params shape (6, 7) does not match its layout (102 parameters)"], ArtifactError),
    ("trajectory-one-snapshot", LAND + ["{f.traj_one}", "-o", "{f.out}/l.npz"],
     ["{f.traj_one}: no PCA plane: the trajectory has a single snapshot; use --directions random"], DataError),
    ("trajectory-identical-snapshots", LAND + ["{f.traj_same}", "-o", "{f.out}/l.npz"],
     ["{f.traj_same}: no PCA plane: all 4 snapshots are identical", "use --directions random"], DataError),
    ("trajectory-identical-anchors", LAND + ["{f.traj_same}", "-o", "{f.out}/l.npz", "--directions", "anchors"],
     ["{f.traj_same}: no anchors plane", "identical or on one line"], DataError),
    ("trajectory-nan-pca", LAND + ["{f.traj_nan}", "-o", "{f.out}/l.npz"],
     ["{f.traj_nan}: no PCA plane: the snapshots contain NaN or inf"], DataError),
    ("trajectory-nan-random", LAND + ["{f.traj_nan}", "-o", "{f.out}/l.npz", "--directions", "random"],
     ["{f.traj_nan}: snapshot 2: parameters contain NaN or inf"], DataError),
    ("trajectory-without-model", LAND + ["{f.traj_snapshots}", "-o", "{f.out}/l.npz"],
     ["{f.traj_snapshots}: has no model spec", "loss_fn"], ConfigError),
    ("landscape-output-missing-dir", LAND + ["{f.traj}", "-o", "{f.root}/no/l.npz"],
     ["{f.root}/no/l.npz: output directory {f.root}/no does not exist"], LossfilmError),
    ("landscape-output-under-a-file", LAND + ["{f.traj}", "-o", "{f.a_file}/l.npz"],
     ["{f.a_file}/l.npz: output directory {f.a_file} is a file, not a folder"], LossfilmError),
    ("landscape-output-not-npz", LAND + ["{f.traj}", "-o", "{f.out}/l.csv"],
     ["-o {f.out}/l.csv: expected a landscape file to write, ending in .npz"], ConfigError),
    ("landscape-resolution", LAND[:2] + ["{f.traj}", "-o", "{f.out}/l.npz", "--resolution", "2"],
     ["--resolution 2: expected a whole number of at least 3"], ConfigError),
    ("landscape-anchors-out-of-range", LAND + ["{f.traj}", "-o", "{f.out}/l.npz", "--directions", "anchors",
                                               "--anchors", "0", "1", "99"],
     ["--anchors [0, 1, 99]: indices must lie in 0..5"], DataError),
    ("landscape-filter-normalise-not-hessian", LAND + ["{f.traj}", "-o", "{f.out}/l.npz", "--filter-normalise"],
     ["--filter-normalise needs --directions hessian"], ConfigError),
    ("landscape-sharpness-negative", LAND + ["{f.traj}", "-o", "{f.out}/l.npz", "--sharpness", "-1"],
     ["--sharpness -1: expected a whole number from 0 to 10000"], ConfigError),
    ("landscape-hessian-tol", LAND + ["{f.traj}", "-o", "{f.out}/l.npz", "--directions", "hessian",
                                      "--hessian-tol", "2"],
     ["--hessian-tol 2.0: expected a number above 0 and below 1"], ConfigError),

    # landscape files (`lossfilm render` / `lossfilm still` --landscape)
    ("landscape-newer-schema", RENDER[:2] + ["--landscape", "{f.land_newer}", "-o", "{f.out}/film.mp4"],
     ["{f.land_newer}: schema_version 2 is not supported", "upgrade lossfilm"], ArtifactError),
    ("landscape-truncated", STILL[:2] + ["--landscape", "{f.land_truncated}", "-o", "{f.out}/s.png"],
     ["{f.land_truncated}: not a lossfilm .npz artifact (truncated or another format)"], ArtifactError),
    ("landscape-not-npz", RENDER[:2] + ["--landscape", "{f.land_text}", "-o", "{f.out}/film.mp4"],
     ["{f.land_text}: not a lossfilm .npz artifact"], ArtifactError),
    ("landscape-is-a-trajectory", RENDER[:2] + ["--landscape", "{f.traj}", "-o", "{f.out}/film.mp4"],
     ["{f.traj}: is a 'trajectory' file, expected a 'landscape' file"], ArtifactError),
    ("landscape-missing", RENDER[:2] + ["--landscape", "{f.root}/none.npz", "-o", "{f.out}/film.mp4"],
     ["{f.root}/none.npz: no such landscape file", "lossfilm landscape"], ArtifactError),
    ("landscape-arrays-disagree", STILL[:2] + ["--landscape", "{f.land_paths}", "-o", "{f.out}/s.png"],
     ["{f.land_paths}: landscape arrays do not fit together: path_beta has shape (5,), expected (6,)"],
     ArtifactError),

    # sizes, scenes, options, outputs (`lossfilm render`, `still`, `demo`)
    ("size-odd-for-mp4", RENDER + ["--size", "641x480"],
     ["--size 641x480: MP4 and GIF need even width and height; use 642x480"], ConfigError),
    ("size-zero", STILL + ["--size", "0x480"], ["--size 0x480: expected WIDTHxHEIGHT in pixels, each side from 16 to 8192"], ConfigError),
    ("size-absurd-still", STILL + ["--size", "100000x100000"],
     ["--size 100000x100000: expected WIDTHxHEIGHT in pixels, each side from 16 to 8192"], ConfigError),
    ("size-absurd-film", RENDER + ["--size", "100000x100000"],
     ["--size 100000x100000: expected WIDTHxHEIGHT in pixels, each side from 16 to 8192"], ConfigError),
    ("size-not-a-size", RENDER + ["--size", "big"], ["--size big: expected WIDTHxHEIGHT"], ConfigError),
    ("size-demo-still", ["demo", "--out-dir", "{f.out}/demo", "--still-size", "0x0", "--quiet"],
     ["--still-size 0x0: expected WIDTHxHEIGHT in pixels, each side from 16 to 8192"], ConfigError),
    ("fps-zero", RENDER + ["--fps", "0"], ["--fps 0: expected a whole number of frames per second from 1 to 240"], ConfigError),
    ("seconds-negative", RENDER + ["--seconds", "-1"], ["--seconds -1.0: expected a number of seconds above 0 and at most 86400"], ConfigError),
    ("workers-zero", RENDER + ["--workers", "0"], ["--workers 0: expected a whole number from 1 to 256"], ConfigError),
    ("scene-unknown", ["render", "nope", "--landscape", "{f.land}", "-o", "{f.out}/film.mp4"],
     ["scene 'nope' is unknown; choose one of", "descent", "orbit"], ConfigError),
    ("scene-file-raises", ["render", "{f.scene_raises}", "--landscape", "{f.land}", "-o", "{f.out}/film.mp4"],
     ["scene file {f.scene_raises}, line 2: fails on import (RuntimeError: boom)"], ConfigError),
    ("scene-file-syntax-error", ["still", "{f.scene_syntax}", "--landscape", "{f.land}", "-o", "{f.out}/s.png"],
     ["scene file {f.scene_syntax}, line 3: fails on import (SyntaxError"], ConfigError),
    ("scene-file-without-scene", ["render", "{f.scene_empty}", "--landscape", "{f.land}", "-o", "{f.out}/f.mp4"],
     ["scene file {f.scene_empty}: defines no Scene subclass"], ConfigError),
    ("scene-file-missing", ["render", "{f.root}/none.py", "--landscape", "{f.land}", "-o", "{f.out}/film.mp4"],
     ["scene file {f.root}/none.py: no such file"], ConfigError),
    ("option-unknown-key", RENDER + ["--option", "no_such_option=1"],
     ["option 'no_such_option' is unknown to Descent; it takes", "camera"], ConfigError),
    ("option-unknown-key-still", STILL + ["--option", "wobble=1"], ["option 'wobble' is unknown"], ConfigError),
    ("option-bad-value", RENDER + ["--option", "orbit=maybe"], ["option orbit='maybe': expected true or false"],
     ConfigError),
    ("option-not-key-value", RENDER + ["--option", "novalue"], ["--option novalue: expected KEY=VALUE"],
     ConfigError),
    # found by the option fuzzing (tests/cli/test_options_fuzz.py): text the declarations refuse, in one line
    ("value-with-a-newline", RENDER + ["--fps", "3\n0"],
     ["--fps '3\\n0': expected a whole number of frames per second from 1 to 240"], ConfigError),
    ("gif-width-not-a-number", RENDER + ["--gif-width", "wide"],
     ["--gif-width wide: expected a whole number of pixels from 16 to 8192"], ConfigError),
    ("fps-not-whole", STILL + ["--fps", "29.97"],
     ["--fps 29.97: expected a whole number of frames per second from 1 to 240"], ConfigError),
    ("seconds-nan", RENDER + ["--seconds", "nan"], ["--seconds nan: expected a number of seconds above 0"],
     ConfigError),
    ("frame-not-a-number", STILL + ["--frame", "last"], ["--frame last: expected a whole number"], ConfigError),
    # scene options with impossible values: refused by their declaration, not deep in the animation
    ("option-nan-duration", RENDER + ["--option", "hold=nan"],
     ["option hold=nan: expected a number of seconds from 0 to 86400"], ConfigError),
    ("option-negative-duration", STILL + ["--option", "roll=-1"],
     ["option roll=-1.0: expected a number of seconds above 0 and at most 86400"], ConfigError),
    ("option-infinite-sweep", RENDER + ["--option", "sweep=inf"],
     ["option sweep=inf: expected a number of degrees from -3600 to 3600"], ConfigError),
    ("option-huge-smoothing", STILL + ["--option", "smooth=1e300"],
     ["option smooth=1e+300: expected a number of snapshots from 0 to 10000"], ConfigError),
    ("option-unknown-choice", STILL + ["--option", "camera=up"],
     ["option camera='up': expected one of three-quarter, top, side"], ConfigError),
    ("option-of-another-scene", ["render", "orbit", "--landscape", "{f.land}", "-o", "{f.out}/film.mp4",
                                 "--option", "sweep=90"],
     ["option 'sweep' is unknown to Orbit; it takes", "degrees"], ConfigError),
    ("render-output-missing-dir", RENDER[:4] + ["-o", "{f.root}/no/film.mp4"],
     ["{f.root}/no/film.mp4: output directory {f.root}/no does not exist"], LossfilmError),
    ("render-output-under-a-file", RENDER[:4] + ["-o", "{f.a_file}/film.mp4"],
     ["{f.a_file}/film.mp4: output directory {f.a_file} is a file, not a folder"], LossfilmError),
    ("render-output-format", RENDER[:4] + ["-o", "{f.out}/film.avi"],
     ["{f.out}/film.avi: unknown output format '.avi'"], ConfigError),
    ("still-output-not-png", STILL[:4] + ["-o", "{f.out}/still.jpg"],
     ["-o {f.out}/still.jpg: expected a .png file to write (a still is written as PNG)"], ConfigError),
    ("still-output-under-a-file", STILL[:4] + ["-o", "{f.a_file}/still.png"],
     ["{f.a_file}/still.png: output directory {f.a_file} is a file, not a folder"], LossfilmError),
    # absurd sizes: refused before any work, with the estimate, the largest that fits and --force
    ("train-epochs-absurd", TRAIN[:1] + ["--data", "{f.data}", "--epochs", "100000000", "-o", "{f.out}/t.npz"],
     ["--epochs 100000000: needs about", "of work", "the largest that fits is --epochs", "add --force"],
     ConfigError),
    ("train-hidden-absurd", TRAIN + ["--data", "{f.data}", "--hidden", "3000000000", "-o", "{f.out}/t.npz"],
     ["--hidden 3000000000: needs about", "of memory", "the largest that fits is --hidden", "add --force"],
     ConfigError),
    ("landscape-resolution-absurd", LAND[:2] + ["{f.traj}", "-o", "{f.out}/l.npz", "--resolution", "1000001"],
     ["--resolution 1000001: needs about", "of memory", "the largest that fits is --resolution", "add --force"],
     ConfigError),
    ("classic-resolution-absurd", ["classic", "rosenbrock", "--out-dir", "{f.out}/classic", "--resolution",
                                   "1000001", "--quiet", "-o", "{f.out}/c.mp4"],
     ["--resolution 1000001: needs about", "of memory", "add --force"], ConfigError),
    ("classic-steps-absurd", ["classic", "himmelblau", "--out-dir", "{f.out}/classic", "--steps", "10000000000",
                              "--quiet", "-o", "{f.out}/c.mp4"],
     ["--steps 10000000000: needs about", "the largest that fits is --steps", "add --force"], ConfigError),
    # found by a hostile probe and by Hypothesis (tests/cli/test_options_fuzz.py): each was a traceback or a line
    # naming the wrong problem before its option was declared
    ("classic-expr-overflows", ["classic", "--expr", "x**1e10", "--domain", "1,3,1,3", "--out-dir", "{f.out}/classic",
                                "--quiet", "-o", "{f.out}/c.mp4"],
     ["--start 1.5,1.5: the function is not finite there"], ConfigError),  # was OverflowError
    ("classic-expr-numpy-out", ["classic", "--expr", "sin(0,-(x))", "--domain", "1,3,1,3", "--quiet"],
     ["--expr sin(0,-(x)): expected a formula in x and y", "sin with 2 arguments (sin takes 1) is not allowed"],
     ConfigError),  # was a TypeError from NumPy, at the first gradient
    ("classic-out-dir-a-file", ["classic", "rosenbrock", "--out-dir", "{f.a_file}", "--quiet"],
     ["--out-dir {f.a_file}: expected a folder", "it is a file"], ConfigError),  # was FileExistsError
    ("classic-name-empty", ["classic", "--expr", "x", "--domain", "1,3,1,3", "--name", "", "--quiet"],
     ["--name '': expected a name of letters, digits"], ConfigError),
    ("train-output-empty", TRAIN + ["-o", ""], ["-o '': expected a trajectory file to write"], ConfigError),  # was
    # ValueError
    ("landscape-trajectory-a-folder", LAND + ["{f.out}"], ["trajectory '{f.out}': expected a trajectory file to read",
                                                          "it is a folder"], ConfigError),  # was "no such file"
    ("landscape-loss-not-a-spec", LAND + ["{f.traj}", "-o", "{f.out}/l.npz", "--loss", "notamodule"],
     ["--loss notamodule: expected MODULE:ATTR or path/to/file.py:ATTR"], ConfigError),
    ("render-landscape-a-folder", RENDER[:2] + ["--landscape", "{f.out}", "-o", "{f.out}/film.mp4"],
     ["--landscape {f.out}: expected a landscape .npz file to read; it is a folder"], ConfigError),  # was "no such
    # landscape file"
    ("race-optimizers-twice", ["race", "--optimizers", "sgd,sgd", "--out-dir", "{f.out}/race", "--quiet"],
     ["--optimizers sgd,sgd: expected 1 to 5 comma-separated values", "sgd is given twice"], ConfigError),
    ("race-lr-nan", ["race", "--lr", "adam=nan", "--out-dir", "{f.out}/race", "--quiet"],
     ["--lr adam=nan: expected OPTIMIZER=LR with OPTIMIZER one of sgd"], ConfigError),
    ("race-lr-without-a-name", ["race", "--lr", "=3", "--out-dir", "{f.out}/race", "--quiet"],
     ["--lr =3: expected OPTIMIZER=LR"], ConfigError),
    ("race-lr-twice", ["race", "--lr", "adam=0.1", "--lr", "adam=0.2", "--out-dir", "{f.out}/race", "--quiet"],
     ["--lr adam=0.2: expected OPTIMIZER=LR", "adam is given twice"], ConfigError),  # the second silently won
    ("line-points-absurd", ["line", "{f.traj}", "{f.other_traj}", "-o", "{f.out}/b.npz", "--points", "1000000000",
                            "--quiet"],
     ["--points 1000000000: expected a whole number from 2 to 100000"], ConfigError),  # was killed for memory
    ("line-output-empty", ["line", "{f.traj}", "{f.other_traj}", "-o", "", "--quiet"],
     ["-o '': expected a landscape file to write, ending in .npz"], ConfigError),  # silently wrote between.npz
    ("line-trajectory-a-folder", ["line", "{f.out}", "{f.traj}", "-o", "{f.out}/b.npz", "--quiet"],
     ["a '{f.out}': expected a trajectory file to read; it is a folder"], ConfigError),  # was "no such file"
    ("render-frames-absurd", RENDER + ["--fps", "240", "--seconds", "86400"],
     ["frames 20736000: needs about", "hours of work", "the largest that fits is frames",
      "--fps 240 x --seconds", "add --force"], ConfigError),
    ("render-frames-absurd-gif", RENDER[:4] + ["-o", "{f.out}/film.gif", "--size", "64x48", "--fps", "100", "--seconds", "86400"],
     ["frames 8640000: needs about", "add --force"], ConfigError),
    # numbers that cannot be drawn, or read
    ("still-landscape-all-nan", STILL[:2] + ["--landscape", "{f.land_allnan}", "-o", "{f.out}/s.png"],
     ["{f.land_allnan}: the landscape has no finite loss value to draw"], ArtifactError),
    ("landscape-scaling-without-random", LAND + ["{f.traj}", "-o", "{f.out}/l.npz", "--scaling", "li"],
     ["--scaling li needs --directions random"], ConfigError),
    # provenance: inspect and reproduce
    ("inspect-missing", ["inspect", "{f.root}/none.png"], ["{f.root}/none.png: no such file"], ArtifactError),
    ("inspect-not-media", ["inspect", "{f.traj}"], ["{f.traj}: not an MP4, MOV, WebM, GIF or PNG"], ArtifactError),
    ("inspect-png-without-provenance", ["inspect", "{f.plain_png}"],
     ["{f.plain_png}: carries no lossfilm provenance"], ArtifactError),
    ("inspect-gif-without-provenance", ["inspect", "{f.plain_gif}"],
     ["{f.plain_gif}: carries no lossfilm provenance"], ArtifactError),
    ("inspect-garbled-provenance", ["inspect", "{f.garbled_png}"],
     ["{f.garbled_png}: its lossfilm metadata is not readable JSON"], ArtifactError),
    ("reproduce-landscape-gone", ["reproduce", "{f.orphan_png}", "-o", "{f.out}/r.png"],
     ["missing artifact: landscape {f.root}/gone.npz (key 0123)", "give the landscape it was drawn from with "
      "--landscape"],
     ArtifactError),
    ("reproduce-landscape-changed", ["reproduce", "{f.stale_png}", "-o", "{f.out}/r.png"],
     ["missing artifact: landscape {f.land} now has key", "drawn from key abcdef0123"], ArtifactError),
    ("reproduce-unknown-call", ["reproduce", "{f.odd_call_png}", "-o", "{f.out}/r.png"],
     ["provenance call 'sculpture'"], ConfigError),
    ("demo-out-dir-under-a-file", ["demo", "--out-dir", "{f.a_file}/media", "--quiet"],
     ["output directory {f.a_file} is a file, not a folder"], LossfilmError),
]


@pytest.fixture(autouse=True)
def steady_machine(monkeypatch):
    """16 GiB of memory and 100 GB of disk: the size checks' messages (the largest value that fits) then do not
    move with what other processes use between a row's run and its --debug rerun."""
    import lossfilm.format.budget
    import lossfilm.render.filming.deliver
    import lossfilm.training.fit.train

    monkeypatch.setattr(lossfilm.format.budget, "available_memory", lambda: 16 << 30)
    for module in (lossfilm.training.fit.train, lossfilm.render.filming.deliver):
        monkeypatch.setattr(module, "free_disk", lambda path: 100e9)


def fill(template, f):
    return template.format(f=f)


@pytest.mark.parametrize("argv, expected, error", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_naming_input_and_problem(f, capsys, argv, expected, error):
    argv = [fill(arg, f) for arg in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"lossfilm {argv[0]}: error: ")
    for fragment in expected:
        assert fill(fragment, f) in lines[0]
    assert "Traceback" not in captured.err + captured.out

    with pytest.raises(error) as info:  # --debug: the error itself, with its traceback
        main(["--debug", *argv])
    assert type(info.value) is not LossfilmError or error is LossfilmError
    assert str(info.value) in lines[0]
    capsys.readouterr()


@pytest.mark.parametrize("argv, expected", [
    (["render", "descent", "--no-such-flag"], "lossfilm: error: unrecognized arguments: --no-such-flag"),
    (["landscape", "t.npz", "--anchors", "0", "1"], "lossfilm landscape: error: argument --anchors: expected 3"),
    (["still", "--frame", "1", "--final"], "lossfilm still: error: argument --final: not allowed with"),
])
def test_argparse_s_own_errors_are_one_line_and_exit_2(capsys, argv, expected):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), lines


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only folders; the under-a-file rows test the same check")
def test_an_output_folder_that_is_not_writable(f, capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(TRAIN + ["--data", str(f.data), "-o", str(locked / "t.npz")]) == 2
    finally:
        locked.chmod(0o700)
    assert f"output directory {locked} is not writable" in capsys.readouterr().err


def test_debug_shows_the_traceback_and_plain_runs_do_not(f):
    """The real process: one line and status 2, or with --debug Python's traceback (and status 1)."""
    argv = ["train", "--data", str(f.idx_magic), "-o", str(f.out / "t.npz"), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    plain = subprocess.run([sys.executable, "-m", "lossfilm", *argv], capture_output=True, text=True, env=env)
    debug = subprocess.run([sys.executable, "-m", "lossfilm", "--debug", *argv], capture_output=True, text=True,
                           env=env)
    assert plain.returncode == 2 and plain.stdout == ""
    assert plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    assert "wrong magic number" in plain.stderr
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "lossfilm.training.data.idx" in debug.stderr or "idx.py" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1].startswith("lossfilm.format.errors.DataError: ")


# ---------------------------------------------------------------------------------------------------
# A landscape paired with a trajectory it was not made from

def test_check_made_from_refuses_another_trajectory(f):
    traj, other = Trajectory.load(f.traj), Trajectory.load(f.other_traj)
    land = Landscape.from_trajectory(traj, resolution=3, samples=0)
    land.check_made_from(traj)
    with pytest.raises(ArtifactError, match=f"was made from trajectory {traj.key}, not from this trajectory "
                                            f"\\(key {other.key}\\); run `lossfilm landscape`"):
        land.check_made_from(other)


def test_the_landscape_command_never_reuses_another_trajectory_s_landscape(f, capsys, tmp_path):
    out = tmp_path / "landscape.npz"
    args = ["landscape", "--resolution", "5", "--samples", "0", "-o", str(out)]
    assert main(args + [str(f.traj), "--quiet"]) == 0
    assert Landscape.load(out).trajectory_key == Trajectory.load(f.traj).key
    assert main(args + [str(f.other_traj)]) == 0  # same settings, another run: recomputed, and it says so
    said = capsys.readouterr().out
    assert f"landscape {out} recomputed and replaced (the earlier landscape.npz was made from another " \
           "trajectory)" in said
    Landscape.load(out).check_made_from(Trajectory.load(f.other_traj))
    assert main(args + [str(f.other_traj)]) == 0
    assert "reused" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------
# The Python API: the user's own snapshots

def snapshots(T=3):
    rng = np.random.default_rng(0)
    return [{"W1": rng.normal(size=(2, 3)), "b1": rng.normal(size=(1, 2))} for _ in range(T)]


def changed(change, T=3):
    history = snapshots(T)
    change(history)
    return history


def square_snapshots(T=3):
    """A user's 10-10-10 MLP: every layer square, so W (out, in) and (in, out) both fit the shapes."""
    rng = np.random.default_rng(0)
    return [{"W1": rng.normal(size=(10, 10)), "b1": np.zeros(10), "W2": rng.normal(size=(10, 10)),
             "b2": np.zeros(10)} for _ in range(T)]


def square_data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(20, 10)), rng.integers(0, 10, 20)


API_CASES = [
    ("snapshot-missing-key", lambda: Trajectory.from_snapshots(changed(lambda h: h[1].pop("b1"))),
     DataError, r"snapshot 1: keys differ from the first snapshot \(missing \['b1'\], unexpected \[\]\)"),
    ("snapshot-extra-key", lambda: Trajectory.from_snapshots(changed(lambda h: h[2].update(W9=np.zeros(1)))),
     DataError, r"snapshot 2: keys differ .*unexpected \['W9'\]"),
    ("snapshot-shape", lambda: Trajectory.from_snapshots(changed(lambda h: h[2].update(W1=np.zeros((3, 2))))),
     DataError, r"snapshot 2: W1 has shape \(3, 2\), expected \(2, 3\)"),
    ("snapshot-nan", lambda: Trajectory.from_snapshots(changed(lambda h: h[1]["W1"].__setitem__((0, 0), np.nan))),
     DataError, "snapshot 1: W1 contains NaN or inf"),
    ("snapshot-not-a-dict", lambda: Trajectory.from_snapshots(changed(lambda h: h.__setitem__(0, [1.0]))),
     DataError, "snapshot 0: expected a dict of named arrays, got list"),
    ("snapshots-empty", lambda: Trajectory.from_snapshots([]), DataError, "the list is empty"),
    ("losses-length", lambda: Trajectory.from_snapshots(snapshots(), losses=[1.0]), DataError,
     "losses: has 1 entries for 3 snapshots"),
    ("one-snapshot-pca", lambda: Landscape.from_trajectory(Trajectory.from_snapshots(snapshots(1)),
                                                           loss_fn=lambda p: 0.0, resolution=3),
     DataError, "single snapshot; use --directions random"),
    ("identical-snapshots-pca", lambda: Landscape.from_trajectory(
        Trajectory.from_snapshots([{k: v.copy() for k, v in snapshots(1)[0].items()} for _ in range(3)]),
        loss_fn=lambda p: 0.0, resolution=3),
     DataError, "all 3 snapshots are identical, the path has no variance; use --directions random"),
    ("loss-fn-not-callable", lambda: Landscape.from_trajectory(Trajectory.from_snapshots(snapshots()),
                                                               loss_fn=3.0, resolution=3),
     ConfigError, "loss_fn must be callable"),
    ("own-model-without-loss-fn", lambda: Landscape.from_trajectory(Trajectory.from_snapshots(snapshots())),
     ConfigError, "no model spec .* pass loss_fn="),
    ("square-layers-orientation-ambiguous", lambda: Landscape.from_trajectory(
        Trajectory.from_snapshots(square_snapshots()), data=square_data(), resolution=3), DataError,
     re.escape("fit both (out, in) and (in, out) (square layers); declare layout='out_in' or layout='in_out'")),
    ("layout-unknown", lambda: Landscape.from_trajectory(
        Trajectory.from_snapshots(square_snapshots()), data=square_data(), layout="columns", resolution=3),
     DataError, re.escape("layout='columns': choose 'out_in' (W is (out, in)) or 'in_out' (W is (in, out))")),
    ("layout-with-loss-fn", lambda: Landscape.from_trajectory(
        Trajectory.from_snapshots(square_snapshots()), loss_fn=lambda p: 0.0, layout="in_out", resolution=3),
     ConfigError, "layout= tells the built-in MLP's fast path how W is laid out"),
    # Python values checked by type as well as range: one sentence naming the parameter and what it takes
    ("api-fps-float", lambda: lossfilm.still("l.npz", "s.png", fps=30.0), ConfigError,
     "fps 30.0: expected a whole number of frames per second from 1 to 240"),
    ("api-seconds-text", lambda: lossfilm.film("descent", "l.npz", "f.mp4", seconds="2"), ConfigError,
     "seconds '2': expected a number of seconds above 0 and at most 86400"),
    ("api-workers-float", lambda: lossfilm.film("descent", "l.npz", "f.mp4", workers=2.0), ConfigError,
     "workers 2.0: expected a whole number from 1 to 256"),
    ("api-workers-bool", lambda: lossfilm.film("descent", "l.npz", "f.mp4", workers=True), ConfigError,
     "workers True: expected a whole number from 1 to 256"),
    ("api-frame-text", lambda: lossfilm.still("l.npz", "s.png", frame="last"), ConfigError,
     "frame 'last': expected a whole number from -20736000 to 20736000"),
    ("api-options-text", lambda: lossfilm.still("l.npz", "s.png", options="camera=top"), ConfigError,
     re.escape("options 'camera=top': expected a dict of scene options, e.g. {'camera': 'top', 'orbit': False}")),
    ("api-size-floats", lambda: lossfilm.still("l.npz", "s.png", size=(64.5, 48)), ConfigError,
     "size .*: expected WIDTHxHEIGHT in pixels, each side from 16 to 8192"),
    ("api-resolution-float", lambda: Landscape.from_trajectory(Trajectory.from_snapshots(snapshots()),
                                                               loss_fn=lambda p: 0.0, resolution=5.0),
     ConfigError, "--resolution 5.0: expected a whole number of at least 3"),
    ("api-grid-workers-float", lambda: Landscape.from_trajectory(Trajectory.from_snapshots(snapshots()),
                                                                 loss_fn=lambda p: 0.0, resolution=3, workers=2.0),
     ConfigError, "workers 2.0: expected a whole number from 1 to 4096"),
    # found by the deep fuzzing profile: a 1-point line (a message without the option's name) and a line of
    # 2**32 points (a MemoryError while placing them)
    ("api-line-one-point", lambda: LandscapeSettings(line=1), ConfigError,
     "--line 1: expected 0 \\(no line\\) or a whole number from 2 to 100000"),
    ("api-line-huge", lambda: LandscapeSettings(line=2 ** 32), ConfigError,
     "--line 4294967296: expected 0 \\(no line\\) or a whole number from 2 to 100000"),
    ("scaling-unknown", lambda: Landscape.from_trajectory(
        Trajectory.from_snapshots(snapshots()), loss_fn=lambda p: 0.0, directions_kind="random", scaling="exact"),
     ConfigError, "--scaling 'exact': expected one of orthonormal, li"),
]


@pytest.mark.parametrize("call, error, message", [case[1:] for case in API_CASES],
                         ids=[case[0] for case in API_CASES])
def test_bad_python_input_raises_the_right_error(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_one_snapshot_works_with_random_directions():
    """The advice the one-snapshot error gives must work."""
    land = Landscape.from_trajectory(Trajectory.from_snapshots(snapshots(1)), directions_kind="random",
                                     loss_fn=lambda p: float(sum((v ** 2).sum() for v in p.values())),
                                     resolution=3)
    assert land.loss.shape == (3, 3) and np.isfinite(land.loss).all()


# ---------------------------------------------------------------------------------------------------
# Fuzz: the artifact loaders raise only ArtifactError or DataError, whatever the bytes

LOADERS = {"trajectory": Trajectory.load, "landscape": Landscape.load}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def load_or_refuse(kind, path):
    try:
        LOADERS[kind](path)
    except (ArtifactError, DataError) as error:
        assert str(error) and "\n" not in str(error)


@pytest.fixture(scope="module")
def valid(f):
    return {"trajectory": f.traj.read_bytes(), "landscape": f.land.read_bytes()}


@FUZZ
@given(kind=st.sampled_from(sorted(LOADERS)), payload=st.binary(max_size=2000))
def test_random_bytes_are_refused_cleanly(tmp_path, kind, payload):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(payload)
    load_or_refuse(kind, path)


@FUZZ
@given(kind=st.sampled_from(sorted(LOADERS)), data=st.data())
def test_damaged_valid_files_are_refused_cleanly(tmp_path, valid, kind, data):
    payload = bytearray(valid[kind])
    for _ in range(data.draw(st.integers(1, 6), label="changes")):
        at = data.draw(st.integers(0, len(payload) - 1), label="at")
        payload[at:at + 4] = data.draw(st.binary(min_size=1, max_size=4), label="bytes")
    path = tmp_path / "fuzz.npz"
    path.write_bytes(bytes(payload))
    load_or_refuse(kind, path)


@FUZZ
@given(kind=st.sampled_from(sorted(LOADERS)), keep=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_valid_files_are_refused_cleanly(tmp_path, valid, kind, keep):
    payload = valid[kind]
    path = tmp_path / "fuzz.npz"
    path.write_bytes(payload[:int(keep * len(payload))])
    with pytest.raises((ArtifactError, DataError)):
        LOADERS[kind](path)


def test_a_header_that_declares_a_huge_array_is_refused_without_allocating_it(f, tmp_path):
    # numpy allocates an array before it reads the data: a damaged header declaring 80 GB must be
    # caught by the loader first. The member is rewritten whole, so its CRC is right.
    import zipfile

    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(f.land) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            member = source.read(name)
            if name == "alphas.npy":
                old, new = b"(9,), }" + b" " * 9, b"(9999999999,), }"
                assert old in member and len(old) == len(new)
                member = member.replace(old, new)
            target.writestr(name, member)
    with pytest.raises(ArtifactError, match=r"array 'alphas' is unreadable .*shape \(9999999999,\)"):
        Landscape.load(path)


@pytest.mark.slow
def test_a_scene_that_raises_while_rendering_is_one_line_naming_its_line(f, capsys):
    from lossfilm.render.filming import backend

    try:
        backend.ensure_offscreen()
    except Exception as error:
        pytest.skip(f"no off-screen OpenGL here: {error}")
    scene = f.root / "boom.py"
    scene.write_text("from lossfilm.render.framework.scene import Scene\n\n\nclass Boom(Scene):\n    def construct(self):\n"
                     "        self.add_surface()\n        raise ValueError('my scene is broken')\n")
    argv = ["still", str(scene), "--landscape", str(f.land), "-o", str(f.out / "boom.png"), "--size", "64x48"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (f"lossfilm still: error: scene file {scene}, line 7: fails while rendering "
                   "(ValueError: my scene is broken)\n")
    assert not (f.out / "boom.png").exists()
    with pytest.raises(ConfigError) as info:
        main(["--debug", *argv])
    assert isinstance(info.value.__cause__, ValueError)  # --debug: the user's own traceback, as the cause


def _change(land, name):
    if name == "loss-beyond-float32":
        land.loss, land.path_loss_plane, land.path_loss_true = (v * 1e300 for v in (
            land.loss, land.path_loss_plane, land.path_loss_true))
    elif name == "constant-surface":
        land.loss = np.full_like(land.loss, 2.5)
    elif name == "nan-region":
        land.loss[:, :4] = np.nan
    elif name == "path-outside-grid":
        land.path_alpha = land.path_alpha + 50.0


@pytest.mark.parametrize("name, expected", [
    ("loss-beyond-float32", "the loss reaches {top:.3g}, beyond float32"),
    ("constant-surface", "the loss is 2.5 at every grid node: the surface is flat"),
    ("nan-region", "36 of 81 grid nodes are NaN, inf or not computed; they are drawn as holes"),
    ("path-outside-grid", "6 of 6 path points lie outside the grid (all of them)"),
])
def test_undrawable_values_draw_with_a_one_line_warning(f, tmp_path, capsys, name, expected):
    land = Landscape.load(f.land)
    _change(land, name)
    path = tmp_path / f"{name}.npz"
    land.save(path)
    out = tmp_path / "still.png"
    assert main(["still", "--landscape", str(path), "-o", str(out), "--size", "64x48", "--quiet"]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("lossfilm still: warning: ")]
    assert len(warnings) == 1 and expected.format(top=float(np.nanmax(land.loss))) in warnings[0], err
    assert "Traceback" not in err and "RuntimeWarning" not in err and out.exists()
