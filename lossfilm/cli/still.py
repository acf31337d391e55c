"""Render one frame of a scene to a PNG: the final state by default, or any frame.

Stills are for papers and slides: any size (e.g. --size 3840x2160 for
print, odd sizes allowed) and an optional transparent background.
--frame counts frames of the film the scene would make at --fps and
--seconds; negative numbers count from the end.

example: lossfilm still --landscape lossfilm-out/cache/landscape.npz -o descent.png --size 3840x2160
"""

from __future__ import annotations

from lossfilm.cli.render import DEFAULT_LANDSCAPE, OUT_DIR, add_draft_argument, default_output, help_text


def add_arguments(parser):
    from lossfilm.format.declared.options import add_argument
    from lossfilm.render.filming.options import (FRAME, LANDSCAPE_PATH, LOG_Z, STILL_FPS, STILL_PATH, STILL_SECONDS,
                                                 STILL_SIZE_OPTION, THEME, TRANSPARENT)
    from lossfilm.scenes import SCENE_NAMES

    landscape = LANDSCAPE_PATH.but(default=DEFAULT_LANDSCAPE)
    output = STILL_PATH.but(name="output", cli="-o", optional=True, help=f"output PNG (default: {OUT_DIR}/SCENE.png)")
    # the options whose text the declarations read and check (lossfilm.cli.main, before run)
    parser.set_defaults(declared=(landscape, output, FRAME, STILL_SIZE_OPTION, STILL_FPS, STILL_SECONDS, THEME))

    parser.add_argument("scene", metavar="SCENE", nargs="?", default="descent",
                        help=f"a scene name ({', '.join(SCENE_NAMES)}) or the path to a scene .py file")
    add_argument(parser, landscape)
    add_argument(parser, output, flags=("-o", "--output"))
    which = parser.add_mutually_exclusive_group()
    add_argument(which, FRAME)
    which.add_argument("--final", action="store_true", help=help_text("render the final state, the film's last frame"))
    for option in (STILL_SIZE_OPTION, STILL_FPS, STILL_SECONDS, THEME, TRANSPARENT, LOG_Z):
        add_argument(parser, option)
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help=help_text("a scene option, e.g. --option camera=top (repeatable; default: none)"))
    add_draft_argument(parser, "image")
    parser.add_argument("--quiet", action="store_true", help=help_text("no summary line"))


def run(args):
    from pathlib import Path

    from lossfilm.api import still
    from lossfilm.cli.render import parse_options

    output = args.output or default_output(f"{Path(args.scene).stem}.png")
    size = args.size
    index = still(args.landscape, output, scene=args.scene, frame=None if args.final else args.frame, size=size,
                  fps=args.fps, seconds=args.seconds, theme=args.theme, transparent=args.transparent,
                  log_z=args.log_z, draft=args.draft, options=parse_options(args.option),
                  command=args.command_line)
    if not args.quiet:
        print(f"{output}: frame {index}, {size[0]}x{size[1]}{' RGBA' if args.transparent else ''}")
