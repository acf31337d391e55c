"""Benchmark: lossfilm (1 and N workers) against the usual matplotlib recipe, same scene, same size.

Not collected by pytest. Run it from the repository root:

    python tests/bench_render.py                      # 2 s at 1280x720, 30 fps, on a synthetic bowl
    python tests/bench_render.py --landscape media/cache/landscape.npz --keep media/bench

The matplotlib recipe is what one writes by hand: ``plot_surface`` once, a
ball and a trail updated by ``FuncAnimation`` with a slowly turning camera,
saved with ``FFMpegWriter`` (pointed at the ffmpeg that imageio bundles).
Times are wall-clock from nothing to a finished MP4, start-up included.
The machine may be shared: runs are side by side in one process so that
their ratios are comparable.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import rippled_bowl_landscape  # noqa: E402  (after the path: run as a script)


def matplotlib_film(landscape_path, out_path, size, fps, seconds):
    """The hand-written recipe: plot_surface + FuncAnimation + FFMpegWriter. Returns the frame count."""
    import imageio_ffmpeg
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, FuncAnimation

    from lossfilm.training.landscape.pipeline import Landscape

    matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    landscape = Landscape.load(landscape_path)
    grid_a, grid_b = np.meshgrid(landscape.alphas, landscape.betas, indexing="ij")
    n_frames = int(round(seconds * fps))
    # The ball's position at each frame, interpolated along the path (the same choreography, roughly).
    where = np.linspace(0, len(landscape.path_alpha) - 1, n_frames)
    snapshots = np.arange(len(landscape.path_alpha))
    ball_a = np.interp(where, snapshots, landscape.path_alpha)
    ball_b = np.interp(where, snapshots, landscape.path_beta)
    ball_z = np.interp(where, snapshots, landscape.path_loss_plane)

    dpi = 100
    figure = plt.figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    axes = figure.add_subplot(projection="3d")
    axes.plot_surface(grid_a, grid_b, landscape.loss, cmap="viridis", rstride=1, cstride=1,
                      linewidth=0, antialiased=True, alpha=0.95)
    axes.set_xlabel(landscape.axis_label(0))
    axes.set_ylabel(landscape.axis_label(1))
    axes.set_zlabel("loss")
    (trail,) = axes.plot([], [], [], color="white", linewidth=2)
    (ball,) = axes.plot([], [], [], "o", color="orangered", markersize=10)
    title = axes.set_title("")

    def update(frame):
        trail.set_data_3d(ball_a[:frame + 1], ball_b[:frame + 1], ball_z[:frame + 1])
        ball.set_data_3d(ball_a[frame:frame + 1], ball_b[frame:frame + 1], ball_z[frame:frame + 1])
        axes.view_init(elev=30, azim=-60 + 30 * frame / n_frames)
        title.set_text(f"step {frame}")
        return trail, ball, title

    animation = FuncAnimation(figure, update, frames=n_frames, blit=False)
    animation.save(out_path, writer=FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"]),
                   dpi=dpi)
    plt.close(figure)
    return n_frames


# The matplotlib recipe as a process of its own: argv is landscape, output, width, height, fps, seconds.
_MATPLOTLIB_PROCESS = """
import sys
from tests.bench_render import matplotlib_film
landscape, out, width, height, fps, seconds = sys.argv[1:]
matplotlib_film(landscape, out, (int(width), int(height)), int(fps), float(seconds))
"""


def whole_process_films(landscape_path, folder, size, quality, seconds=4.0, fps=30, rounds=2):
    """Seconds of ``lossfilm render descent`` and of the matplotlib recipe, each a whole process, alternating.

    Both start from nothing (a fresh Python: imports, the back-end probe,
    ffmpeg) and end with a finished MP4 of ``seconds`` at ``size`` and
    ``fps``; lossfilm at ``--quality quality``. Returns the median seconds
    of each, ``{"lossfilm": s, "matplotlib": s}`` (no matplotlib: lossfilm alone).
    """
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    folder = Path(folder)
    width, height = size
    commands = {"lossfilm": [sys.executable, "-m", "lossfilm", "render", "descent", "--landscape", str(landscape_path),
                             "-o", str(folder / f"whole-{height}p.mp4"), "--quality", quality, "--size",
                             f"{width}x{height}", "--fps", str(fps), "--seconds", str(seconds), "--quiet"]}
    try:
        import matplotlib  # noqa: F401
        commands["matplotlib"] = [sys.executable, "-c", _MATPLOTLIB_PROCESS, str(landscape_path),
                                  str(folder / f"whole-matplotlib-{height}p.mp4"), str(width), str(height), str(fps),
                                  str(seconds)]
    except ImportError:
        pass
    times = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=dict(os.environ, PYTHONPATH=str(repo)))
            times[name].append(time.perf_counter() - started)
    return {name: float(np.median(values)) for name, values in times.items()}


def matplotlib_preset():
    """What matplotlib's FFMpegWriter asks of x264 in the recipe above: its defaults (preset medium, crf 23)."""
    return "libx264 preset medium, crf 23 (FFMpegWriter's defaults)"


def lossfilm_preset(quality, draft=False):
    """The x264 settings lossfilm's ``quality`` (or ``--draft``) writes with."""
    from lossfilm.render.filming.quality import DRAFT_PRESET, QUALITIES

    preset = QUALITIES[quality]
    return f"libx264 preset {DRAFT_PRESET if draft else preset.preset}, crf {preset.crf}"


def frame_profile(spec, frames, quality):
    """Where a frame's time goes, in ms per frame: seek, render, read-back, text, encode.

    Renders ``frames`` frames of ``spec`` as ``render_film`` does (one
    process), timing the scene's seek (moving the actors), ``plotter.render()``
    and the read-back (``screenshot``) separately, while the MP4 encoder runs
    in its own ffmpeg process; ``encode`` is that process's CPU time per
    frame (the downscale of a supersampled frame included), which overlaps
    the rendering. ``text`` is what the 2-D overlay (text and scalar bar) adds
    to ``render``: each frame is rendered twice more, with the overlay hidden
    and shown, back to back (so that load from other processes hits both).
    """
    import resource

    from lossfilm.render.filming.sinks import open_sink
    from lossfilm.render.filming.film import open_film
    from lossfilm.render.filming.quality import QUALITIES

    preset = QUALITIES[quality]
    times = {"seek": 0.0, "render": 0.0, "read-back": 0.0, "text": 0.0}
    with tempfile.TemporaryDirectory() as folder, open_film(spec) as film:
        # after the film is open: the back-end probe's child, waited for there, is not the encoder
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        count = min(frames, film.n_frames)
        indices = np.linspace(0, film.n_frames - 1, count).round().astype(int)
        with open_sink(Path(folder) / "profile.mp4", spec.size, spec.fps, crf=preset.crf, preset=preset.preset,
                       source_size=spec.render_size) as sink:
            for index in indices:
                started = time.perf_counter()
                film.scene.seek(film.time_of(index))
                seeked = time.perf_counter()
                film.plotter.render()
                rendered = time.perf_counter()
                image = film.read()  # as Film.frame reads it
                read = time.perf_counter()
                sink.write(image)
                times["seek"] += seeked - started
                times["render"] += rendered - seeked
                times["read-back"] += read - rendered
                times["text"] += _overlay_cost(film.plotter)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    encode = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    profile = {name: 1e3 * value / count for name, value in times.items()}
    profile["encode"] = 1e3 * encode / count
    return profile


def _overlay_cost(plotter):
    """Seconds the 2-D overlay adds to a render of the current frame: hidden, then shown, back to back."""
    overlay = [actor for actor in _actors_2d(plotter) if actor.GetVisibility()]
    seconds = []
    for visible in (False, True):
        for actor in overlay:
            actor.SetVisibility(visible)
        started = time.perf_counter()
        plotter.render()
        plotter.screenshot(return_img=True)  # waits for the renderer to finish
        seconds.append(time.perf_counter() - started)
    return max(0.0, seconds[1] - seconds[0])


def _actors_2d(plotter):
    actors = plotter.renderer.GetActors2D()
    actors.InitTraversal()
    return [actors.GetNextActor2D() for _ in range(actors.GetNumberOfItems())]


def antialiasing_quality(landscape_path, size, frame=40, reference_scale=4):
    """PSNR (dB) and render ms/frame of each anti-aliasing, against the frame rendered 4x larger and box-downsampled.

    The 3-D scene only: all text (the HUD, the labels, the scalar bar) is
    hidden after the frame is sought (the scene shows it as its timeline
    says), because VTK places glyphs on whole pixels, so text rendered 4x larger lands a fraction of a pixel
    elsewhere whatever the anti-aliasing, and would swamp the measure.
    Candidates: none; MSAA 2, 4 and 8 (PyVista's default theme: 8); VTK's
    SSAA pass (the old default); FXAA; rendering 1.5x or 2x larger and
    downscaling (Lanczos, as ffmpeg does for the films).
    """
    from PIL import Image

    from lossfilm.render.filming.film import FilmSpec, open_film
    from lossfilm.scenes import scene_class

    width, height = size
    spec = FilmSpec(scene_class("descent"), str(landscape_path), size, fps=30, seconds=2.0)

    def render(scale=1.0, msaa=0, pass_=None, repeats=3, downscale=True):
        with open_film(dataclasses.replace(spec, supersample=scale)) as film:
            film.plotter.ren_win.SetMultiSamples(msaa)
            if pass_:
                film.plotter.enable_anti_aliasing(pass_)
            film.frame(frame)  # seeks: the scene shows its text as the timeline says
            for actor in _actors_2d(film.plotter):  # then take all of it out, for this frame (the scene
                film.plotter.renderer.RemoveViewProp(actor)  # turns visibility back on as it draws)
            film.plotter.render()
            image = np.ascontiguousarray(film.plotter.screenshot(return_img=True)[..., :3], dtype=np.uint8)
            started = time.perf_counter()
            for k in range(repeats):
                film.frame(frame - 1 - k)
            ms = 1e3 * (time.perf_counter() - started) / max(repeats, 1)
        if downscale and image.shape[:2] != (height, width):
            image = np.asarray(Image.fromarray(image).resize((width, height), Image.LANCZOS))
        return image, ms

    big, _ = render(reference_scale, repeats=0, downscale=False)
    reference = big.reshape(height, reference_scale, width, reference_scale, 3).astype(float).mean(axis=(1, 3))
    rows = []
    for name, options in [("none", {}), ("MSAA 2", {"msaa": 2}), ("MSAA 4", {"msaa": 4}),
                          ("MSAA 8 (PyVista's default)", {"msaa": 8}), ("SSAA pass (lossfilm's old default)",
                                                                          {"pass_": "ssaa", "msaa": 8}),
                          ("FXAA", {"pass_": "fxaa"}), ("1.25x + Lanczos", {"scale": 1.25}),
                          ("1.5x + Lanczos", {"scale": 1.5}),
                          ("2x + Lanczos", {"scale": 2.0})]:
        image, ms = render(**options)
        mse = float(np.mean((image.astype(float) - reference) ** 2))
        rows.append((name, 10 * np.log10(255.0 ** 2 / mse), ms))
    return rows


def _quality_for(size):
    """The preset of this size (its encoder settings), else the default one."""
    from lossfilm.render.filming.quality import DEFAULT_QUALITY, QUALITIES

    return next((name for name, quality in QUALITIES.items() if quality.size == size), DEFAULT_QUALITY)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scene", default="descent")
    parser.add_argument("--landscape", help="a landscape.npz (default: a synthetic bowl)")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="lossfilm worker counts to time")
    parser.add_argument("--no-matplotlib", dest="matplotlib", action="store_false")
    parser.add_argument("--no-draft-run", dest="draft", action="store_false",
                        help="skip the extra 1-worker run without supersampling (--draft)")
    parser.add_argument("--keep", metavar="DIR", help="keep the films in DIR (default: a temporary folder)")
    args = parser.parse_args(argv)

    from lossfilm.render.filming.film import FilmSpec

    from lossfilm.scenes import scene_class
    from lossfilm.render.filming.deliver import render_film
    from lossfilm.render.filming.quality import parse_size

    size = parse_size(args.size)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="lossfilm-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    landscape = args.landscape or rippled_bowl_landscape(folder / "bowl.npz")
    from lossfilm.render.filming.quality import QUALITIES

    spec = FilmSpec(scene=scene_class(args.scene), landscape=str(landscape), size=size, fps=args.fps,
                    seconds=args.seconds, supersample=QUALITIES[_quality_for(size)].supersample)
    print(f"{args.scene} on {landscape}, {size[0]}x{size[1]} @ {args.fps} fps, {args.seconds:g} s; "
          f"{os.cpu_count()} CPUs; films in {folder}", flush=True)

    runs = [(f"lossfilm, {n} worker{'s' if n > 1 else ''}", spec, n, f"lossfilm-{n}w.mp4") for n in args.workers]
    if args.draft:
        runs.append(("lossfilm, 1 worker, --draft", dataclasses.replace(spec, supersample=1.0), 1, "lossfilm-draft.mp4"))
    rates = {}
    for name, run_spec, workers, filename in runs:
        summary = render_film(run_spec, folder / filename, workers=workers, progress=False,
                              quality=_quality_for(size))
        rates[name] = summary.frames / summary.seconds
        print(f"  {summary}", flush=True)
    if args.matplotlib:
        started = time.perf_counter()
        n_frames = matplotlib_film(landscape, folder / "matplotlib.mp4", size, args.fps, args.seconds)
        seconds = time.perf_counter() - started
        rates["matplotlib plot_surface + FuncAnimation"] = n_frames / seconds
        print(f"  {folder / 'matplotlib.mp4'}: {n_frames} frames in {seconds:.1f} s", flush=True)

    print(f"\n{'renderer':44s} {'frames/s':>9s}")
    for name, rate in rates.items():
        print(f"{name:44s} {rate:9.2f}")
    baseline = rates.get("matplotlib plot_surface + FuncAnimation")
    one = rates.get("lossfilm, 1 worker")
    for name, rate in rates.items():
        if name.startswith("lossfilm"):
            if baseline:
                print(f"{name} vs matplotlib: {rate / baseline:.2f}x")
            if one and name != "lossfilm, 1 worker":
                print(f"{name} vs 1 worker: {rate / one:.2f}x")


if __name__ == "__main__":
    main()
