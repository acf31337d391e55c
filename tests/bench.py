"""The benchmark suite: every speed and memory claim of the README, measured side by side in one run.

Run from the repository root (about three minutes on 2 cores; matplotlib, for
the render baseline, is in the ``bench`` extra)::

    pip install -e '.[bench]'
    python -m tests.bench

It measures, on this machine, in this order:

1. ``lossfilm demo`` end to end in a child process, empty cache: wall time,
   CPU time, and the peak resident memory of its largest process (``ru_maxrss``);
   with ``--baseline REV``, the demo of that git revision alternately with this
   checkout's (``--demo-rounds`` each, medians);
2. ``lossfilm landscape --resolution 51`` end to end on the README's MNIST
   case (376 snapshots, 8,000 samples) against the naive float32 grid of
   the same 2,601 nodes on the same threads, with the stage's breakdown
   (loading, PCA, path, grid, writing) and the calls a user's ``loss_fn``
   gets, by :mod:`tests.bench_stage` (where ../shared/data/mnist has the
   t10k files); then the landscape's fast grid against the naive per-node forward pass in
   float32 and float64, on one thread and on all cores (51x51 nodes, a
   784-128-10 MLP, 10,000 MNIST t10k images where ../shared/data/mnist has
   them, else random pixels), by :mod:`tests.bench_landscape`;
3. where a frame's time goes (seek, render, read-back, text, encode) at
   1280x720 and 1920x1080, by :func:`tests.bench_render.frame_profile`;
4. lossfilm's render rate against the usual matplotlib recipe
   (``plot_surface`` + ``FuncAnimation`` + ``FFMpegWriter``), the same
   descent on a synthetic bowl at 1280x720 and 1920x1080, 30 fps, the two
   alternating in rounds, each row naming its x264 settings; lossfilm with
   2 render workers and with ``--draft``; then ``lossfilm render descent
   --seconds 4`` (``--quality medium`` at 1280x720, ``high`` at 1920x1080)
   and the matplotlib recipe each as a whole process, start-up included,
   alternating, by :func:`tests.bench_render.whole_process_films`;
5. the anti-aliasing choices: PSNR against the frame rendered 4x larger and
   box-downsampled, and ms per frame, by
   :func:`tests.bench_render.antialiasing_quality`;
6. curvature on the demo's run: the Hessian plane's eigenpairs by Lanczos
   against power iteration with deflation, the Hessian plane's landscape
   against a random plane's, and the sharpness curve's cost against N, by
   :mod:`tests.bench_curvature`;
7. with PyTorch installed, :mod:`tests.bench_torch`: the recorder's cost per
   snapshot and the PyTorch adapter's grid against the plain user loop and
   the built-in MLP fast path (in a child process, one PyTorch thread);
8. :mod:`tests.bench_viewer`: the viewer page's size, open time and frame
   rates (orbiting, playing) in headless Chromium, where it is installed;

and ends with markdown tables (ratios as well as times) headed by the date,
the machine and its load, ready for the README. Not collected by pytest.
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZES = [(1280, 720), (1920, 1080)]
FPS = 30
RESOLUTION_NODES = 51 * 51

# Runs `lossfilm demo` as its own child and reports the wall time and the peak RSS of the largest
# process in the demo's tree (the demo itself, ffmpeg or the back-end probe).
_DEMO = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
result = subprocess.run([sys.executable, "-m", "lossfilm", "demo", "--out-dir", sys.argv[1], "--quiet"],
                        capture_output=True, text=True)
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": result.returncode, "seconds": seconds, "stdout": result.stdout,
                  "stderr": result.stderr[-2000:], "cpu": usage.ru_utime + usage.ru_stime,
                  "max_rss": usage.ru_maxrss * 1024}))
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
    """Fast vs naive grid in every pairing of dtype and threads, by tests/bench_landscape.py."""
    from tests import bench_landscape as landscape

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        rows = landscape.run(naive_nodes)
    for line in output.getvalue().splitlines():
        say(f"  {line}")
    return rows


def bench_stage(folder):
    """``lossfilm landscape`` end to end vs the naive float32 grid, by tests/bench_stage.py."""
    from tests import bench_stage as stage

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        row = stage.run(folder=folder / "stage")
    for line in output.getvalue().splitlines():
        say(f"  {line}")
    return row


def bench_whole_films(folder, landscape, rounds):
    """4 s films, whole process, lossfilm vs matplotlib, at each size and its quality."""
    from tests.bench_render import whole_process_films

    results = {}
    for size in SIZES:
        results[size] = whole_process_films(landscape, folder, size, quality_of(size), seconds=4.0, fps=FPS,
                                            rounds=rounds)
        say(f"  {size[0]}x{size[1]} ({quality_of(size)}), 4 s, whole process: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in results[size].items()))
    return results


def quality_of(size):
    """The preset of this size: its supersampling and x264 settings."""
    from tests.bench_render import _quality_for

    return _quality_for(size)


def film_spec(landscape, size, seconds, draft=False):
    from lossfilm.render.filming.film import FilmSpec
    from lossfilm.render.filming.quality import QUALITIES
    from lossfilm.scenes import scene_class

    supersample = 1.0 if draft else QUALITIES[quality_of(size)].supersample
    return FilmSpec(scene=scene_class("descent"), landscape=str(landscape), size=size, fps=FPS, seconds=seconds,
                    supersample=supersample)


def bench_profile(landscape, frames=20):
    """ms per frame of each part, at each size, at the quality of that size."""
    from tests.bench_render import frame_profile

    profiles = {}
    for size in SIZES:
        profile = frame_profile(film_spec(landscape, size, 2.0), frames, quality_of(size))
        profiles[size] = profile
        say(f"  {size[0]}x{size[1]} ({quality_of(size)}): " + ", ".join(f"{k} {v:.1f}" for k, v in profile.items())
            + " ms/frame")
    return profiles


def bench_render(folder, landscape, seconds, rounds):
    """Frames per second of lossfilm and of the matplotlib recipe at each size, alternating in rounds."""
    from lossfilm.render.filming.deliver import render_film
    from tests.bench_render import lossfilm_preset, matplotlib_film, matplotlib_preset

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        matplotlib = None
        say("  matplotlib is not installed (pip install -e '.[bench]'): the matplotlib rows are skipped")
    results = {}
    for size in SIZES:
        quality = quality_of(size)
        spec = film_spec(landscape, size, seconds)
        times = {"lossfilm": [], "matplotlib": []}
        frames = 0
        for round_ in range(rounds):
            summary = render_film(spec, folder / f"lossfilm-{size[1]}p.mp4", progress=False, quality=quality)
            frames = summary.frames
            times["lossfilm"].append(summary.seconds)
            say(f"  round {round_ + 1}: {summary}")
            if matplotlib is not None:
                started = time.perf_counter()
                matplotlib_film(landscape, folder / f"matplotlib-{size[1]}p.mp4", size, FPS, seconds)
                times["matplotlib"].append(time.perf_counter() - started)
                say(f"  round {round_ + 1}: matplotlib {frames} frames in {times['matplotlib'][-1]:.1f} s")
        rates = {name: frames / float(np.median(values)) for name, values in times.items() if values}
        results[size] = {"rates": rates, "frames": frames, "quality": quality,
                         "lossfilm_x264": lossfilm_preset(quality), "matplotlib_x264": matplotlib_preset()}
    size = SIZES[0]
    quality = quality_of(size)
    for label, run in (("2 workers", dict(workers=2)), ("--draft", dict(draft=True))):
        spec = film_spec(landscape, size, seconds, draft=run.get("draft", False))
        summary = render_film(spec, folder / "variant.mp4", progress=False, quality=quality, **run)
        results[label] = summary.frames / summary.seconds
        say(f"  {label}: {summary}")
    results["draft_x264"] = lossfilm_preset(quality, draft=True)
    return results


def bench_antialiasing(landscape):
    """PSNR and ms/frame of each anti-aliasing, at each size."""
    from tests.bench_render import antialiasing_quality

    tables = {}
    for size in SIZES:
        rows = antialiasing_quality(landscape, size)
        tables[size] = rows
        for name, psnr, ms in rows:
            say(f"  {size[0]}x{size[1]} {name:36s} {psnr:6.2f} dB  {ms:6.1f} ms/frame")
    return tables


def bench_demo(folder, rounds=1, baseline=None):
    """``lossfilm demo`` from nothing (empty cache) in a child process: wall time, CPU time and peak RSS.

    With ``baseline`` (a git revision), that revision's code runs the same demo in the same Python,
    alternating with this checkout's, ``rounds`` times each; the medians are reported.
    """
    codes = {"lossfilm": REPO}
    if baseline:
        codes = {f"lossfilm at {baseline}": _checkout(baseline, folder / "baseline"), **codes}
    runs = {name: [] for name in codes}
    for round_ in range(rounds):
        for name, code in codes.items():
            out = folder / f"demo-{len(runs[name])}-{'base' if code != REPO else 'new'}"
            env = dict(os.environ, PYTHONPATH=str(code))
            # run from the code's own folder: `python -m` puts the working folder first on the path
            result = subprocess.run([sys.executable, "-c", _DEMO, str(out)], capture_output=True, text=True,
                                    env=env, cwd=code)
            report = json.loads(result.stdout.strip().splitlines()[-1])
            runs[name].append(report)
            say(f"  round {round_ + 1}, {name}: {report['seconds']:.1f} s wall, {report['cpu']:.1f} s CPU")
            for line in report["stdout"].splitlines():
                say(f"    {line}")
            if report["code"] != 0:
                say(f"  the demo failed ({report['code']}): {report['stderr']}")
    summary = {}
    for name, reports in runs.items():
        summary[name] = dict(reports[-1], seconds=float(np.median([r["seconds"] for r in reports])),
                             cpu=float(np.median([r["cpu"] for r in reports])),
                             max_rss=max(r["max_rss"] for r in reports), rounds=len(reports))
    return summary


def _checkout(revision, folder):
    """The files of ``revision`` of this repository in ``folder`` (importable with PYTHONPATH=folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def load():
    """``"load 1.2 / 0.9 / 0.7"``: the machine's load averages when the run ended."""
    with contextlib.suppress(OSError):
        return "load " + " / ".join(f"{v:.1f}" for v in os.getloadavg())
    return "load unknown"


def table(date, landscape, profiles, render, antialiasing, demo, stage=None, whole=None):
    """The results as markdown tables, for the README."""
    out = [f"Measured on {date} on {machine()}, {load()} (1, 5, 15 min) at the end of the run:", ""]
    out += ["| benchmark | lossfilm | baseline | ratio |", "|---|---|---|---|"]
    if stage:
        calls = stage["calls"]
        out.append(f"| `lossfilm landscape --resolution 51` end to end, MNIST case ({stage['snapshots']} snapshots, "
                   f"{stage['samples']:,} samples, 784-128-10), {stage['threads']} threads | {stage['stage_s']:.1f} s "
                   f"| naive float32 grid of the same {RESOLUTION_NODES:,} nodes, {stage['threads']} threads: "
                   f"{stage['naive_s']:.1f} s ({stage['naive_ms']:.1f} ms/node) | **{stage['ratio']:.1f}x** |")
        out.append("| its breakdown (profiled in-process, " + f"{stage['profiled_s']:.1f} s) | "
                   + ", ".join(f"{label} {seconds:.2f} s" for label, seconds in stage["parts"].items())
                   + " | - | - |")
        out.append(f"| `loss_fn` calls for the same landscape (your model) | {calls['total']:,}: "
                   f"{calls['snapshots']} true losses, {calls['snapshots'] - calls['on_plane']} under the ball "
                   f"({calls['on_plane']} snapshot on the plane reuses its own), {calls['nodes']:,} nodes, "
                   f"{calls['line']} on the 1-D line | before: 2 per snapshot + 1 per node + line "
                   f"({2 * calls['snapshots'] + calls['nodes'] + calls['line']:,}) | - |")
    for row in landscape or []:
        threads = f"{row['threads']} thread{'s' if row['threads'] > 1 else ''}"
        out.append(f"| loss grid 51x51, 784-128-10 MLP, 10,000 samples ({row['source']}), {row['dtype']}, "
                   f"{threads} | fast path {row['fast_ms']:.2f} ms/node ({row['fast_ms'] * 2.601:.1f} s) "
                   f"| naive per-node forward pass, {row['dtype']}, {threads}: {row['naive_ms']:.1f} ms/node "
                   f"| **{row['ratio']:.1f}x** (max relative difference from float64 naive {row['error']:.0e}) |")
    for size in SIZES if render else []:
        result = render[size]
        rates = result["rates"]
        name = f"render descent {size[0]}x{size[1]} @ {FPS} fps, {result['frames']} frames, MP4"
        if "matplotlib" in rates:
            out.append(f"| {name} | `--quality {result['quality']}` ({result['lossfilm_x264']}) "
                       f"{rates['lossfilm']:.1f} frames/s | matplotlib `plot_surface` + `FuncAnimation` + "
                       f"`FFMpegWriter` ({result['matplotlib_x264']}) {rates['matplotlib']:.1f} frames/s "
                       f"| **{rates['lossfilm'] / rates['matplotlib']:.2f}x** |")
        else:
            out.append(f"| {name} | {rates['lossfilm']:.1f} frames/s | matplotlib not installed | - |")
    for size in SIZES if whole else []:
        result = whole[size]
        quality = quality_of(size)
        if "matplotlib" in result:
            out.append(f"| film 4 s, `descent` {size[0]}x{size[1]} @ {FPS}, whole process (start-up included) "
                       f"| `lossfilm render --quality {quality}` {result['lossfilm']:.1f} s | matplotlib recipe, "
                       f"whole process: {result['matplotlib']:.1f} s "
                       f"| **{result['matplotlib'] / result['lossfilm']:.2f}x** |")
    if render:
        one = render[SIZES[0]]["rates"]["lossfilm"]
        out.append(f"| render 1280x720 with 2 workers | {render['2 workers']:.1f} frames/s "
                   f"| 1 worker {one:.1f} frames/s | **{render['2 workers'] / one:.2f}x** |")
        out.append(f"| render 1280x720 `--draft` ({render['draft_x264']}, no anti-aliasing) "
                   f"| {render['--draft']:.1f} frames/s | default {one:.1f} frames/s "
                   f"| **{render['--draft'] / one:.2f}x** |")
    if demo:
        ours = demo["lossfilm"]
        base = next((name for name in demo if name != "lossfilm"), None)
        baseline, ratio = "-", "-"
        if base:
            baseline = f"{base} (median of {demo[base]['rounds']}): {demo[base]['seconds']:.1f} s, {demo[base]['cpu']:.1f} s CPU"
            ratio = f"**{demo[base]['seconds'] / ours['seconds']:.2f}x**"
        out.append(f"| `lossfilm demo` end to end (train, landscape, 1280x720@30 MP4 + GIF + still), median of "
                   f"{ours['rounds']} | {ours['seconds']:.1f} s, {ours['cpu']:.1f} s CPU, peak RSS "
                   f"{ours['max_rss'] / 2**20:.0f} MiB | {baseline} | {ratio} |")
    if profiles:
        out += ["", "| frame time (ms/frame) | " + " | ".join(profiles[SIZES[0]]) + " |",
                "|---|" + "---|" * len(profiles[SIZES[0]])]
        for size, profile in profiles.items():
            out.append(f"| {size[0]}x{size[1]} ({quality_of(size)}) | "
                       + " | ".join(f"{v:.1f}" for v in profile.values()) + " |")
    if antialiasing:
        out += ["", "| anti-aliasing (PSNR vs 4x box-downsampled; render ms/frame) | "
                + " | ".join(f"{w}x{h}" for w, h in antialiasing) + " |", "|---|" + "---|" * len(antialiasing)]
        names = [name for name, *_ in next(iter(antialiasing.values()))]
        for i, name in enumerate(names):
            out.append(f"| {name} | " + " | ".join(f"{rows[i][1]:.2f} dB, {rows[i][2]:.0f} ms"
                                                    for rows in antialiasing.values()) + " |")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="length of the benchmark films")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of lossfilm and matplotlib")
    parser.add_argument("--naive-nodes", type=int, default=16, help="grid nodes timed with the naive pass")
    parser.add_argument("--skip", nargs="+", default=[],
                        choices=("demo", "stage", "landscape", "profile", "render", "whole", "antialiasing",
                                 "curvature", "torch", "viewer"),
                        help="leave out these benchmarks")
    parser.add_argument("--keep", metavar="DIR", help="keep the films and the demo's output here")
    parser.add_argument("--baseline", metavar="REV", help="also time the demo of this git revision, alternating")
    parser.add_argument("--demo-rounds", type=int, default=1, help="rounds of the demo (each side, alternating)")
    args = parser.parse_args(argv)

    from tests.helpers import rippled_bowl_landscape

    started = time.perf_counter()
    date = datetime.date.today().isoformat()
    say(f"lossfilm benchmarks, {date}, {machine()}, Python {platform.python_version()}, {load()}")
    folder = Path(args.keep or tempfile.mkdtemp(prefix="lossfilm-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    landscape = rippled_bowl_landscape(folder / "bowl.npz")
    grid = profiles = render = antialiasing = demo = stage = whole = None
    # The demo first: its child's peak memory is then not mixed with anything this process started.
    if "demo" not in args.skip:
        say("\n[1/10] lossfilm demo, end to end, empty cache")
        demo = bench_demo(folder, args.demo_rounds, args.baseline)
    if "stage" not in args.skip:
        say("\n[2/10] lossfilm landscape --resolution 51 end to end vs the naive float32 grid of the same nodes")
        stage = bench_stage(folder)
    if "landscape" not in args.skip:
        say("\n[3/10] landscape: fast grid vs naive per-node forward pass, same dtype, same threads")
        grid = bench_landscape(args.naive_nodes)
    if "profile" not in args.skip:
        say("\n[4/10] where a frame's time goes")
        profiles = bench_profile(landscape)
    if "render" not in args.skip:
        say(f"\n[5/10] render: lossfilm vs matplotlib, alternating, {args.rounds} rounds, {FPS} fps")
        render = bench_render(folder, landscape, args.seconds, args.rounds)
    if "whole" not in args.skip:
        say(f"\n[6/10] 4 s films, whole process: lossfilm vs matplotlib, alternating, {args.rounds} rounds")
        whole = bench_whole_films(folder, landscape, args.rounds)
    if "antialiasing" not in args.skip:
        say("\n[7/10] anti-aliasing: PSNR against the frame rendered 4x larger, box-downsampled")
        antialiasing = bench_antialiasing(landscape)
    extra = []
    if "curvature" not in args.skip:
        from tests.bench_curvature import rows as curvature_rows
        from tests.bench_curvature import run as bench_curvature

        say("\n[8/10] curvature: the Hessian plane and the sharpness on the demo's run")
        extra += curvature_rows(bench_curvature(folder))
    if "torch" not in args.skip:
        say("\n[9/10] PyTorch: recorder overhead, adapter grid vs the plain loop and the NumPy fast path")
        result = subprocess.run([sys.executable, "-m", "tests.bench_torch"], capture_output=True, text=True, cwd=REPO)
        extra += [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line
                  and not line.startswith("| benchmark")]
        say(result.stdout if result.returncode == 0 else f"  skipped: {result.stderr.strip().splitlines()[-1]}")
    if "viewer" not in args.skip:
        say("\n[10/10] viewer: the HTML page's size, and its frame rates in headless Chromium (software WebGL)")
        result = subprocess.run([sys.executable, "-m", "tests.bench_viewer"], capture_output=True, text=True, cwd=REPO)
        say(result.stdout if result.returncode == 0 else f"  skipped: {result.stderr.strip().splitlines()[-1]}")
    say(f"\ntotal {time.perf_counter() - started:.0f} s; films in {folder}\n")
    say(table(date, grid, profiles, render, antialiasing, demo, stage, whole))
    if extra:
        say("\n| benchmark | lossfilm | baseline | ratio |\n|---|---|---|---|\n" + "\n".join(extra))
    ok = grid is None or all(row["error"] <= 1e-5 for row in grid)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
