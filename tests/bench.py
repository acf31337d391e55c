"""The benchmark suite: every speed and memory claim of the README, measured side by side in one run.

Run from the repository root (about two minutes on 2 cores; matplotlib, for
the render baseline, is in the ``bench`` extra)::

    pip install -e '.[bench]'
    python -m tests.bench

It measures, on this machine, in this order:

1. the landscape's fast grid against the naive per-node forward pass
   (51x51 nodes, a 784-128-10 MLP, 10,000 MNIST t10k images where
   ../shared/data/mnist has them, else random pixels), by
   :mod:`tests.bench_landscape`;
2. lossfilm's render rate against the usual matplotlib recipe
   (``plot_surface`` + ``FuncAnimation`` + ``FFMpegWriter``), the same
   descent at 1280x720, 30 fps, on a synthetic bowl, by the functions of
   :mod:`tests.bench_render`; and lossfilm with 1 and 2 render workers;
3. ``lossfilm demo`` end to end in a child process: wall time, and the peak
   resident memory of its largest process (``ru_maxrss``);
4. curvature on the demo's run: the Hessian plane's eigenpairs by Lanczos
   against power iteration with deflation, the Hessian plane's landscape
   against a random plane's, and the sharpness curve's cost against N, by
   :mod:`tests.bench_curvature`;
5. with PyTorch installed, :mod:`tests.bench_torch`: the recorder's cost per
   snapshot and the PyTorch adapter's grid against the plain user loop and
   the built-in MLP fast path (in a child process, one PyTorch thread).

and ends with a markdown table (ratios as well as times) headed by the
date and the machine, ready for the README. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZE = (1280, 720)
FPS = 30

# Runs `lossfilm demo` as its own child and reports the wall time and the peak RSS of the largest
# process in the demo's tree (the demo itself, ffmpeg or the back-end probe).
_DEMO = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
result = subprocess.run([sys.executable, "-m", "lossfilm", "demo", "--out-dir", sys.argv[1], "--quiet"],
                        capture_output=True, text=True)
seconds = time.perf_counter() - started
print(json.dumps({"code": result.returncode, "seconds": seconds, "stdout": result.stdout,
                  "stderr": result.stderr[-2000:],
                  "max_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""


def machine():
    """``"AMD EPYC, 2 cores, 24 GiB RAM, Linux 6.1"``: what the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = names[0].strip() if names else cpu
    ram = ""
    with contextlib.suppress(OSError, AttributeError):
        kib = int(re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)[1])
        ram = f", {kib / 2**20:.0f} GiB RAM"
    return f"{cpu}, {os.cpu_count()} cores{ram}, {platform.system()} {platform.release().split('-')[0]}"


def say(text=""):
    print(text, flush=True)


def bench_landscape(naive_nodes):
    """Fast vs naive grid, by tests/bench_landscape.py; returns its figures parsed from what it prints."""
    from tests import bench_landscape as landscape

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = landscape.main(["--naive-nodes", str(naive_nodes)])
    text = output.getvalue()
    for line in text.splitlines():
        say(f"  {line}")
    number = r"([0-9.e+-]+)"
    fast = float(re.search(rf"fast\s*:\s*{number} ms/node", text)[1])
    naive = float(re.search(rf"naive\s*:\s*{number} ms/node", text)[1])
    error = re.search(rf"max relative loss difference {number}", text)[1]
    data = re.search(r"samples \(([^)]*)\)", text)[1]
    nodes = landscape.RESOLUTION ** 2
    return {"fast_ms": fast, "naive_ms": naive, "ratio": naive / fast, "error": error, "data": data,
            "fast_s": fast * nodes / 1e3, "naive_s": naive * nodes / 1e3, "ok": status == 0}


def bench_render(folder, seconds):
    """Frames per second of lossfilm (1 and 2 workers) and of the matplotlib recipe, same film, same size."""
    from lossfilm.render.film import FilmSpec
    from lossfilm.scenes import scene_class
    from lossfilm.render.output import render_film
    from tests.bench_render import _quality_for, bowl_landscape, matplotlib_film

    landscape = bowl_landscape(folder / "bowl.npz")
    spec = FilmSpec(scene=scene_class("descent"), landscape=str(landscape), size=SIZE, fps=FPS, seconds=seconds)
    rates = {}
    for workers in (1, 2):
        summary = render_film(spec, folder / f"lossfilm-{workers}w.mp4", workers=workers, progress=False,
                              quality=_quality_for(SIZE))
        rates[workers] = summary.frames / summary.seconds
        say(f"  lossfilm, {workers} worker{'s' if workers > 1 else ''}: {summary}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        say("  matplotlib is not installed (pip install -e '.[bench]'): the matplotlib row is skipped")
        return rates
    started = time.perf_counter()
    frames = matplotlib_film(landscape, folder / "matplotlib.mp4", SIZE, FPS, seconds)
    elapsed = time.perf_counter() - started
    rates["matplotlib"] = frames / elapsed
    say(f"  matplotlib plot_surface + FuncAnimation: {frames} frames in {elapsed:.1f} s "
        f"({rates['matplotlib']:.1f} frames/s)")
    return rates


def bench_demo(folder):
    """``lossfilm demo`` from nothing (empty cache) in a child process: wall time and peak RSS."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", _DEMO, str(folder / "demo")], capture_output=True, text=True,
                            env=env, cwd=REPO)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for line in report["stdout"].splitlines():
        say(f"  {line}")
    if report["code"] != 0:
        say(f"  the demo failed ({report['code']}): {report['stderr']}")
    return report


def table(date, landscape, rates, demo, seconds, curvature=None):
    """The results as a markdown table, for the README."""
    rows = ["| benchmark | lossfilm | baseline | ratio |", "|---|---|---|---|"]
    if landscape:
        rows.append(
            f"| loss grid 51x51, 784-128-10 MLP, 10,000 samples ({landscape['data']}) "
            f"| fast path {landscape['fast_ms']:.2f} ms/node ({landscape['fast_s']:.1f} s) "
            f"| naive forward pass {landscape['naive_ms']:.1f} ms/node ({landscape['naive_s']:.0f} s) "
            f"| **{landscape['ratio']:.1f}x** faster (max relative difference {landscape['error']}) |")
    if rates:
        frames = int(round(seconds * FPS))
        if "matplotlib" in rates:
            rows.append(f"| render descent, {SIZE[0]}x{SIZE[1]} @ {FPS} fps, {frames} frames, MP4 "
                        f"| {rates[1]:.1f} frames/s | matplotlib recipe {rates['matplotlib']:.1f} frames/s "
                        f"| **{rates[1] / rates['matplotlib']:.2f}x** |")
        else:
            rows.append(f"| render descent, {SIZE[0]}x{SIZE[1]} @ {FPS} fps, {frames} frames, MP4 "
                        f"| {rates[1]:.1f} frames/s | matplotlib not installed | - |")
        rows.append(f"| render with 2 workers vs 1 | {rates[2]:.1f} frames/s | 1 worker {rates[1]:.1f} frames/s "
                    f"| **{rates[2] / rates[1]:.2f}x** |")
    if demo:
        rows.append(f"| `lossfilm demo` end to end (train, landscape, 480p MP4 + GIF + still) "
                    f"| {demo['seconds']:.1f} s, peak RSS {demo['max_rss'] / 2**20:.0f} MiB | - | - |")
    if curvature:
        from tests.bench_curvature import rows as curvature_rows

        rows.extend(curvature_rows(curvature))
    return f"Measured on {date} on {machine()}:\n\n" + "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of the benchmark film")
    parser.add_argument("--naive-nodes", type=int, default=48, help="grid nodes timed with the naive pass")
    parser.add_argument("--skip", nargs="+", default=[], choices=("landscape", "render", "demo", "curvature", "torch"),
                        help="leave out these benchmarks")
    parser.add_argument("--keep", metavar="DIR", help="keep the films and the demo's output here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    date = datetime.date.today().isoformat()
    say(f"lossfilm benchmarks, {date}, {machine()}, Python {platform.python_version()}")
    folder = Path(args.keep or tempfile.mkdtemp(prefix="lossfilm-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    landscape = rates = demo = None
    # The demo first: its child's peak memory is then not mixed with anything this process started.
    if "demo" not in args.skip:
        say("\n[1/5] lossfilm demo, end to end, empty cache")
        demo = bench_demo(folder)
    if "landscape" not in args.skip:
        say("\n[2/5] landscape: fast grid vs naive per-node forward pass")
        landscape = bench_landscape(args.naive_nodes)
    if "render" not in args.skip:
        say(f"\n[3/5] render: lossfilm (1 and 2 workers) vs matplotlib, {SIZE[0]}x{SIZE[1]} @ {FPS} fps")
        rates = bench_render(folder, args.seconds)
    curvature = None
    if "curvature" not in args.skip:
        from tests.bench_curvature import run as bench_curvature

        say("\n[4/5] curvature: the Hessian plane and the sharpness on the demo's run")
        curvature = bench_curvature(folder)
    torch_rows = ""
    if "torch" not in args.skip:
        say("\n[5/5] PyTorch: recorder overhead, adapter grid vs the plain loop and the NumPy fast path")
        result = subprocess.run([sys.executable, "-m", "tests.bench_torch"], capture_output=True, text=True, cwd=REPO)
        torch_rows = "\n".join(line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in
                               line and not line.startswith("| benchmark"))
        say(result.stdout if result.returncode == 0 else f"  skipped: {result.stderr.strip().splitlines()[-1]}")
    say(f"\ntotal {time.perf_counter() - started:.0f} s; films in {folder}\n")
    say(table(date, landscape, rates, demo, args.seconds, curvature) + ("\n" + torch_rows if torch_rows else ""))
    return 0 if landscape is None or landscape["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
