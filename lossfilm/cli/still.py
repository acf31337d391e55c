"""Render one frame of a scene to a PNG: the final state by default, or any frame.

Stills are for papers and slides: any size (e.g. --size 3840x2160 for
print, odd sizes allowed) and an optional transparent background.
--frame counts frames of the film the scene would make at --fps and
--seconds; negative numbers count from the end.

example: lossfilm still --landscape lossfilm-out/cache/landscape.npz -o descent.png --size 3840x2160
"""

from __future__ import annotations

from lossfilm.cli.render import DEFAULT_LANDSCAPE, OUT_DIR, add_draft_argument, default_output, help_text
from lossfilm.render.filming.quality import QUALITIES, STILL_SIZE


def add_arguments(parser):
    from lossfilm.render.elements.theme import THEMES
    from lossfilm.scenes import SCENE_NAMES

    parser.add_argument("scene", metavar="SCENE", nargs="?", default="descent",
                        help=f"a scene name ({', '.join(SCENE_NAMES)}) or the path to a scene .py file")
    parser.add_argument("--landscape", default=DEFAULT_LANDSCAPE, metavar="NPZ",
                        help="landscape file made by `lossfilm landscape` or `lossfilm demo`")
    parser.add_argument("-o", "--output", metavar="PNG", help=help_text(f"output PNG (default: {OUT_DIR}/SCENE.png)"))
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--frame", type=int, metavar="N", help=help_text("render frame N (default: the final frame)"))
    which.add_argument("--final", action="store_true", help=help_text("render the final state, the film's last frame"))
    parser.add_argument("--size", default="x".join(map(str, STILL_SIZE)), metavar="WxH", help="image size in pixels")
    parser.add_argument("--fps", type=int, default=QUALITIES["high"].fps,
                        help="frame rate of the film that --frame counts in")
    parser.add_argument("--seconds", type=float, help=help_text("film length for --frame (default: the scene's own)"))
    parser.add_argument("--theme", choices=list(THEMES), default="dark", help="colours and lights")
    parser.add_argument("--transparent", action="store_true", help=help_text("transparent background (RGBA PNG)"))
    parser.add_argument("--log-z", action="store_true", help=help_text("log-scaled height, for needle-like minima"))
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help=help_text("a scene option, e.g. --option camera=top (repeatable; default: none)"))
    add_draft_argument(parser, "image")
    parser.add_argument("--quiet", action="store_true", help=help_text("no summary line"))


def run(args):
    from pathlib import Path

    from lossfilm.api import still
    from lossfilm.cli.render import parse_options
    from lossfilm.render.filming.quality import parse_size

    output = args.output or default_output(f"{Path(args.scene).stem}.png")
    size = parse_size(args.size, even=False)
    index = still(args.landscape, output, scene=args.scene, frame=None if args.final else args.frame, size=size,
                  fps=args.fps, seconds=args.seconds, theme=args.theme, transparent=args.transparent,
                  log_z=args.log_z, draft=args.draft, options=parse_options(args.option),
                  command=args.command_line)
    if not args.quiet:
        print(f"{output}: frame {index}, {size[0]}x{size[1]}{' RGBA' if args.transparent else ''}")
