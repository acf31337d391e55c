"""Render a scene to an MP4, a looping GIF or a folder of PNG frames.

The format follows the output's suffix: .mp4, .gif, .mov (ProRes 4444), .webm
(VP9), or a folder (a path ending in / or without a suffix) for
frame_00000.png, frame_00001.png, .... --transparent films for slides: .mov
(Keynote, PowerPoint, Final Cut, DaVinci) and .webm (browsers, OBS) keep the
alpha channel, as PNG frames do; MP4 and GIF have none and are refused.
The size and frame rate come from --quality unless --size or --fps is given.
The output appears only when the render succeeds: an interrupted render
leaves an earlier file at the same path untouched.

example: lossfilm render descent --landscape lossfilm-out/cache/landscape.npz -o descent.mp4 --quality high
for slides: lossfilm render descent --transparent --fps 60 -o descent.mov -o descent.webm --quality high
on a Dask cluster: lossfilm render descent --landscape landscape.npz --scheduler tcp://HOST:8786
"""

from __future__ import annotations

# Every command's default folder: what it makes is generated, never committed (.gitignore lists it), so running
# the demo in a checkout leaves git status clean. The committed pictures in media/ are made with --out-dir media.
OUT_DIR = "lossfilm-out"
DEFAULT_LANDSCAPE = f"{OUT_DIR}/cache/landscape.npz"


def epilog():
    """``render --help``'s last paragraph: which scene takes which ``--option`` (``lossfilm scenes`` says more)."""
    from lossfilm.scenes import scene_options_table

    lines = ["scene options (--option KEY=VALUE; `lossfilm scenes` lists what each takes and its default):"]
    for name, options in scene_options_table().items():
        lines.append(f"  {name:8s} " + ", ".join(options))
    return "\n".join(lines)


def add_arguments(parser):
    from lossfilm.format.declared.options import add_argument
    from lossfilm.render.filming.options import (FILM_OUTPUTS, FILM_TRANSPARENT, FPS, GIF_FPS_OPTION,
                                                 GIF_WIDTH_OPTION, LANDSCAPE_PATH, LOG_Z, QUALITY, SECONDS, SIZE,
                                                 THEME, WORKERS)
    from lossfilm.render.filming.sinks import outputs_in_words
    from lossfilm.scenes import SCENE_NAMES
    from lossfilm.training.grid_cluster import ENV, SCHEDULER

    landscape = LANDSCAPE_PATH.but(default=DEFAULT_LANDSCAPE)
    outputs = FILM_OUTPUTS.but(help=f"output {outputs_in_words()}; repeat it to write several from one render "
                                    f"(default: {OUT_DIR}/SCENE.mp4)")
    scheduler = SCHEDULER.but(help=f"render the frames on this Dask cluster's workers, encode here (pip install "
                                   f"'lossfilm[distributed]'; default: ${ENV}, else this machine)")
    # the options whose text the declarations read and check (lossfilm.cli.main, before run)
    parser.set_defaults(declared=(landscape, outputs, QUALITY, SIZE, FPS, SECONDS, THEME, WORKERS, scheduler,
                                  GIF_WIDTH_OPTION, GIF_FPS_OPTION))

    parser.add_argument("scene", metavar="SCENE",
                        help=f"a scene name ({', '.join(SCENE_NAMES)}) or the path to a scene .py file")
    add_argument(parser, landscape)
    add_argument(parser, outputs, flags=("-o", "--output"))
    for option in (QUALITY, SIZE, FPS, SECONDS, THEME, FILM_TRANSPARENT, WORKERS, scheduler):
        add_argument(parser, option)
    add_argument(parser, LOG_Z)
    add_draft_argument(parser)
    add_argument(parser, GIF_WIDTH_OPTION)
    add_argument(parser, GIF_FPS_OPTION)
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help=help_text("a scene option, e.g. --option sweep=90 or --option orbit=false (repeatable; "
                                       "default: none; the list below says which scene takes which)"))
    parser.add_argument("--force", action="store_true",
                        help=help_text("render even a film estimated to take over an hour (or to overfill the disk)"))
    parser.add_argument("--quiet", action="store_true", help=help_text("no progress bar and no summary line"))


def add_draft_argument(parser, what="film"):
    """``--draft``: no anti-aliasing (no supersampling) and the fastest encoder, for previews."""
    import argparse

    from lossfilm.format.declared.options import add_argument
    from lossfilm.render.filming.options import DRAFT

    add_argument(parser, DRAFT, help=help_text(f"a quick preview {what}: no anti-aliasing and the fastest encoder "
                                               "setting (2x to 3x faster, jaggier edges)"))
    # The name before --draft: it turned off the anti-aliasing, which is what --draft does now.
    parser.add_argument("--no-ssaa", dest="draft", action="store_true", help=argparse.SUPPRESS)


def help_text(text):
    """Help for an option whose default the text describes itself (the formatter would add "None" or "False")."""
    return text + "%(default).0s"  # formats to nothing, but tells argparse the default is already described


def run(args):
    from lossfilm.api import film
    from lossfilm.training.grid_cluster import connect, scheduler_address

    from lossfilm.format.declared.values import Size
    from lossfilm.render.filming.sinks import FORMATS, output_format

    outputs = list(args.output or [default_output(f"{_scene_stem(args.scene)}.mp4")])
    if args.size is not None and any(FORMATS[output_format(path)].even for path in outputs):
        Size.check_even(args.size, "--size")
    address = scheduler_address(args.scheduler)
    client = connect(address) if address else None
    try:
        summaries = film(args.scene, args.landscape, outputs, quality=args.quality, size=args.size, fps=args.fps,
                         seconds=args.seconds, theme=args.theme, transparent=args.transparent, log_z=args.log_z, draft=args.draft,
                         workers=args.workers, gif_width=args.gif_width, gif_fps=args.gif_fps,
                         options=parse_options(args.option), progress=not args.quiet, command=args.command_line,
                         force=args.force, executor=client)
    finally:
        if client is not None:
            client.close()
    if not args.quiet:
        for summary in summaries:
            print(summary)


def check_scene(scene):
    """The Scene class that ``scene`` names (bundled, or a .py file); ConfigError if none (light: no PyVista)."""
    from lossfilm.scenes import scene_class

    return scene_class(scene)


def check_output(path):
    """Fail before rendering, not after, when the output's folder is missing or read-only."""
    from lossfilm.format.artifact import check_writable

    check_writable(path)


def parse_options(items):
    """``["key=value", ...]`` -> ``{"key": "value", ...}``; the scene converts each value to its option's type."""
    from lossfilm.format.errors import ConfigError

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option {item}: expected KEY=VALUE")
        options[key.strip()] = value.strip()
    return options


def _scene_stem(scene):
    from pathlib import Path

    return Path(scene).stem


def default_output(name):
    """``OUT_DIR/name``, the folder made if missing (a path the user gives must have its folder already)."""
    from pathlib import Path

    Path(OUT_DIR).mkdir(exist_ok=True)
    return f"{OUT_DIR}/{name}"
