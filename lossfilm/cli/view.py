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
    from lossfilm.render.elements.theme import THEMES

    parser.add_argument("--landscape", default=DEFAULT_LANDSCAPE, metavar="NPZ",
                        help="landscape file made by `lossfilm landscape`, `lossfilm race` or `lossfilm demo`")
    parser.add_argument("-o", "--output", default="landscape.html", metavar="HTML", help="the page to write")
    parser.add_argument("--theme", choices=list(THEMES), default="dark", help="colours and lights, as the film's")
    parser.add_argument("--log-z", action="store_true", help=help_text("log-scaled height, for needle-like minima"))
    parser.add_argument("--title", help=help_text("the page's title (default: made from the run's settings)"))
    parser.add_argument("--quiet", action="store_true", help=help_text("no summary line"))


def run(args):
    from lossfilm.viewer.page import view

    page = view(args.landscape, args.output, theme=args.theme, log_z=args.log_z, title=args.title,
                command=args.command_line)
    if not args.quiet:
        print(page)
