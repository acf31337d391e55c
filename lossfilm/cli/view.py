"""Write an interactive viewer of a landscape: one HTML file to turn, scrub and read.

The page shows what the film shows (the surface in the film's colours, the
contour floor, the path, the ball, the start and end markers, the HUD) and
lets whoever opens it orbit, zoom and pan with the mouse or touch, play the
run or scrub it with the slider (space plays, the arrow keys step), switch
between the three-quarter, top and side views, and read (a, b, loss) under
the mouse. A race shows every racer with a legend on one shared slider.

Everything is inside the file (about 2 MB: the plotly.js 3-D bundle and the
numbers): it opens offline, by a double-click, in Chrome, Firefox or Safari.
A link can open it at a slider position and a view: landscape.html#step=312&camera=top.

example: lossfilm view --landscape media/cache/landscape.npz -o landscape.html
"""

from __future__ import annotations

from lossfilm.cli.render import DEFAULT_LANDSCAPE, help_text


def add_arguments(parser):
    from lossfilm.format.declared.options import add_argument
    from lossfilm.render.filming.options import LANDSCAPE_PATH
    from lossfilm.viewer.page import PAGE, VIEW_OPTIONS

    landscape = LANDSCAPE_PATH.but(default=DEFAULT_LANDSCAPE, help="landscape file made by `lossfilm landscape`, "
                                                                   "`lossfilm race` or `lossfilm demo`")
    output = PAGE.but(name="output", cli="-o")
    # the options whose text the declarations read and check (lossfilm.cli.main, before run)
    parser.set_defaults(declared=(landscape, output) + VIEW_OPTIONS)
    add_argument(parser, landscape)
    add_argument(parser, output, flags=("-o", "--output"))
    for option in VIEW_OPTIONS:
        add_argument(parser, option)
    parser.add_argument("--quiet", action="store_true", help=help_text("no summary line"))


def run(args):
    from lossfilm.viewer.page import view

    page = view(args.landscape, args.output, theme=args.theme, log_z=args.log_z, title=args.title,
                command=args.command_line)
    if not args.quiet:
        print(page)
