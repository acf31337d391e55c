"""Render a scene to an MP4, a looping GIF or a folder of PNG frames.

The format follows the output's suffix: .mp4, .gif, or a folder (a path
ending in / or without a suffix) for frame_00000.png, frame_00001.png, ....
The size and frame rate come from --quality unless --size or --fps is given.
The output appears only when the render succeeds: an interrupted render
leaves an earlier file at the same path untouched.

example: lossfilm render descent --landscape media/cache/landscape.npz -o media/descent.mp4 --quality high
"""

from __future__ import annotations

from render.quality import DEFAULT_QUALITY, GIF_FPS, GIF_WIDTH, QUALITIES

DEFAULT_LANDSCAPE = "media/cache/landscape.npz"


def add_arguments(parser):
    from render.scene_loader import SCENE_NAMES
    from render.theme import THEMES

    presets = ", ".join(f"{q.name} {q.width}x{q.height}@{q.fps}" for q in QUALITIES.values())
    parser.add_argument("scene", metavar="SCENE",
                        help=f"a scene name ({', '.join(SCENE_NAMES)}) or the path to a scene .py file")
    parser.add_argument("--landscape", default=DEFAULT_LANDSCAPE, metavar="NPZ",
                        help="landscape file made by `lossfilm landscape` or `lossfilm demo`")
    parser.add_argument("-o", "--output", metavar="PATH", action="append",
                        help=help_text("output .mp4, .gif, or folder/ for PNG frames; repeat it to write several "
                                       "from one render (default: media/SCENE.mp4)"))
    parser.add_argument("--quality", choices=list(QUALITIES), default=DEFAULT_QUALITY,
                        help=f"size, frame rate and encoder quality preset ({presets})")
    parser.add_argument("--size", metavar="WxH", help=help_text("frame size in pixels (default: from --quality)"))
    parser.add_argument("--fps", type=int, help=help_text("frames per second (default: from --quality)"))
    parser.add_argument("--seconds", type=float, help=help_text("film length in seconds (default: the scene's own)"))
    parser.add_argument("--theme", choices=list(THEMES), default="dark", help="colours and lights")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="render in N processes; helps only with idle cores (the software renderer already uses two)")
    parser.add_argument("--log-z", action="store_true", help=help_text("log-scaled height, for needle-like minima"))
    parser.add_argument("--no-ssaa", dest="ssaa", action="store_false",
                        help=help_text("turn off supersampling anti-aliasing (faster, jaggier edges)"))
    parser.add_argument("--gif-width", type=int, default=GIF_WIDTH, metavar="PX",
                        help="width of a GIF output (never above the film's)")
    parser.add_argument("--gif-fps", type=int, default=GIF_FPS,
                        help="frame rate of a GIF output (never above the film's)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help=help_text("a scene option, e.g. --option sweep=90 or --option orbit=false (repeatable; default: none)"))
    parser.add_argument("--quiet", action="store_true", help=help_text("no progress bar and no summary line"))


def help_text(text):
    """Help for an option whose default the text describes itself (the formatter would add "None" or "False")."""
    return text + "%(default).0s"  # formats to nothing, but tells argparse the default is already described


def run(args):
    from render.encode import output_format
    from render.output import render_film

    outputs = args.output or [f"media/{_scene_stem(args.scene)}.mp4"]
    video = any(output_format(output) != "png" for output in outputs)
    spec = film_spec(args, size=_film_size(args, even=video), fps=_film_fps(args))
    for output in outputs:
        check_output(output)
    summaries = render_film(spec, outputs, workers=args.workers, progress=not args.quiet,
                            quality=args.quality, gif_width=args.gif_width, gif_fps=args.gif_fps)
    if not args.quiet:
        for summary in summaries:
            print(summary)


def film_spec(args, *, size, fps, transparent=False):
    """The FilmSpec for parsed arguments, after checking the scene and landscape exist (shared with `still`)."""
    from pathlib import Path

    from lossfilm.errors import ArtifactError, ConfigError
    from render.film import FilmSpec

    scene = check_scene(args.scene)
    if not Path(args.landscape).is_file():
        raise ArtifactError(f"{args.landscape}: no such landscape file; make one with `lossfilm landscape` "
                            "or run `lossfilm demo`")
    if fps is not None and fps <= 0:
        raise ConfigError(f"--fps {fps}: must be positive")
    if args.seconds is not None and not args.seconds > 0:
        raise ConfigError(f"--seconds {args.seconds}: must be positive")
    if getattr(args, "workers", 1) < 1:
        raise ConfigError(f"--workers {args.workers}: must be at least 1")
    options = parse_options(args.option)
    check_scene_options(scene, options)
    check_landscape(args.landscape)
    return FilmSpec(scene=args.scene, landscape=str(args.landscape), size=size, fps=fps,
                    seconds=args.seconds, theme=args.theme, log_z=args.log_z, transparent=transparent,
                    ssaa=getattr(args, "ssaa", True), options=options)


def check_scene(scene):
    """The Scene class that ``scene`` names (in scenes/ or a .py file); ConfigError if none (light: no PyVista)."""
    from render.scene_loader import load_scene

    return load_scene(scene)


def check_scene_options(scene, options):
    """Raise ConfigError for an unknown --option key or a badly typed value, before any rendering."""
    from render.scene import parse_options as typed_options

    if options and hasattr(scene, "all_options"):
        typed_options(scene.all_options(), dict(options), scene.__name__)


def check_landscape(path):
    """Read the landscape once up front: a damaged or mismatched file fails before the back-end probe and the render."""
    from training.landscape import Landscape

    Landscape.load(path)


def check_output(path):
    """Fail before rendering, not after, when the output's folder is missing or read-only."""
    from lossfilm.artifact import check_writable

    check_writable(path)


def parse_options(items):
    """``["key=value", ...]`` -> ``(("key", "value"), ...)``; the scene converts each value to its option's type."""
    from lossfilm.errors import ConfigError

    options = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option {item}: expected KEY=VALUE")
        options.append((key.strip(), value.strip()))
    return tuple(options)


def _film_size(args, *, even):
    from render.quality import parse_size

    return parse_size(args.size, even=even) if args.size else QUALITIES[args.quality].size


def _film_fps(args):
    return args.fps if args.fps is not None else QUALITIES[args.quality].fps


def _scene_stem(scene):
    from pathlib import Path

    return Path(scene).stem
