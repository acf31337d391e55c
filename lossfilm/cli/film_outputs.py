"""What the pipeline commands (demo, race, classic) share: their output options and their final render.

Each of them computes a landscape, then writes ``OUT/STEM.mp4`` (and
``OUT/STEM.gif``) from one render and the final state as ``OUT/STEM.png``.
``-o PATH``, repeatable like ``lossfilm render``'s, names the films instead:
``.mp4``, ``.gif``, or a folder (``frames/``) of PNG frames, all from one
render; the still and the cache stay in ``--out-dir``.
"""

from __future__ import annotations

from lossfilm.cli.render import OUT_DIR, add_draft_argument, help_text
from lossfilm.format.declared.options import Option, add_argument
from lossfilm.format.declared.values import Path
from lossfilm.render.filming.options import (FILM_OUTPUTS, GIF_FPS_OPTION, GIF_WIDTH_OPTION, QUALITY, SECONDS,
                                             STILL_SIZE_OPTION, THEME, WORKERS)
from lossfilm.render.filming.quality import DEFAULT_QUALITY, QUALITIES

STILL_SIZE = STILL_SIZE_OPTION.but(name="still_size", default=(1280, 720), help="size of the PNG still")
OUT_DIR_OPTION = Option("out_dir", Path("a folder (made if missing; its parent must exist)", role="folder"), OUT_DIR,
                        "where the still, the cache (DIR/cache) and, without -o, the films go", metavar="DIR")
# The options whose text the declarations read and check (lossfilm.cli.main, before run); -o is added per command.
DECLARED = (QUALITY, THEME, SECONDS, STILL_SIZE, GIF_WIDTH_OPTION, GIF_FPS_OPTION, WORKERS, OUT_DIR_OPTION)


def add_arguments(parser, *, stem, gif_by_default, option_example, quality=DEFAULT_QUALITY, declared=()):
    """Add -o, --out-dir, --quality, --theme, --seconds, --still-size, the GIF options, --workers, --option, --quiet.

    ``declared``: the command's own declared options, read and checked with these before it runs.
    """
    default = f"OUT/{stem}.mp4" + (f" and OUT/{stem}.gif" if gif_by_default else "")
    outputs = FILM_OUTPUTS.but(help=f"the film to write: .mp4, .gif, or folder/ for PNG frames; repeat it to write "
                                    f"several from one render (default: {default})")
    add_argument(parser, outputs, flags=("-o", "--output"))
    add_argument(parser, OUT_DIR_OPTION)
    preset = QUALITY.but(default=quality)  # demo films at medium, race and classic at low
    parser.set_defaults(declared=tuple(preset if option is QUALITY else option for option in DECLARED)
                        + (outputs,) + declared)
    add_argument(parser, preset)
    add_argument(parser, THEME)
    add_argument(parser, SECONDS)
    add_argument(parser, STILL_SIZE)
    # None: not given. Either flag chooses among the default films, so it cannot come with -o.
    if gif_by_default:
        parser.add_argument("--no-gif", dest="gif", action="store_false", default=None,
                            help=help_text("skip the GIF (without -o)"))
    else:
        parser.add_argument("--gif", action="store_true", default=None,
                            help=help_text(f"also write OUT/{stem}.gif (without -o)"))
    parser.set_defaults(gif_by_default=gif_by_default)
    add_argument(parser, GIF_WIDTH_OPTION.but(help="width of the GIF"))
    add_argument(parser, GIF_FPS_OPTION.but(help="frame rate of the GIF"))
    add_argument(parser, WORKERS.but(help="render in N processes"))
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help=help_text(f"a scene option, e.g. --option {option_example} (repeatable; default: none)"))
    add_draft_argument(parser)
    parser.add_argument("--quiet", action="store_true", help=help_text("no progress bars"))


class FilmOutputs:
    """Checked output settings of a pipeline command, and a clock for its progress lines.

    Everything a user can get wrong is checked here, before any training or
    grid work: workers, seconds, still size, scene options, the films' paths
    and formats, the output folder (made if missing, its parent must exist)
    and its cache folder.

    Attributes
    ----------
    films : list of Path
        The films to write: the ``-o`` paths, else ``OUT/STEM.mp4`` (and
        ``OUT/STEM.gif``).
    """

    def __init__(self, args, stem):
        import time
        from pathlib import Path

        from lossfilm.cli.render import check_output, parse_options
        from lossfilm.format.errors import ConfigError
        from lossfilm.format.safe_write import check_distinct
        from lossfilm.format.declared.options import read_args
        from lossfilm.render.filming.sinks import output_format

        self.started = time.perf_counter()
        read_args(args, DECLARED + (FILM_OUTPUTS,))  # main did, for the CLI; a caller that builds its own args gets the same checks
        self.args, self.stem = args, stem
        self.still_size = args.still_size
        self.options = parse_options(args.option)
        self.out_dir = Path(args.out_dir)
        if args.output:
            if args.gif is not None:
                flag = "--gif" if args.gif else "--no-gif"
                raise ConfigError(f"{flag} chooses among the default films; with -o, name each film "
                                  f"(e.g. -o {stem}.gif)")
            self.films = [Path(path) for path in args.output]
            for path in self.films:
                output_format(path)  # an unknown suffix fails now, not after the training and the grid
                check_output(path)
        else:
            gif = args.gif_by_default if args.gif is None else args.gif
            self.films = [self.out_dir / f"{stem}.mp4"] + ([self.out_dir / f"{stem}.gif"] if gif else [])
        # Every film, the still and the cache are written: each needs its own path (checked before any mkdir).
        check_distinct([*self.films, self.out_dir / f"{stem}.png", self.out_dir / "cache"])
        if not self.out_dir.is_dir():
            check_output(self.out_dir)  # its parent must exist and be writable
            self.out_dir.mkdir()
        check_output(self.out_dir / f"{stem}.png")
        self.cache = self.out_dir / "cache"
        self.cache.mkdir(exist_ok=True)
        self.progress = not args.quiet
        from lossfilm.render.filming.backend import warm_up

        warm_up()  # the renderer gets ready while the training and the landscape run

    def step(self, text):
        """Print one progress line, stamped with the seconds since the command started."""
        import time

        print(f"[{time.perf_counter() - self.started:5.1f}s] {text}", flush=True)

    def render(self, scene, landscape_path):
        """Render ``scene`` on ``landscape_path`` to the films and the still, printing what was written."""
        from lossfilm.api import film, still

        args, out = self.args, self.out_dir
        png = out / f"{self.stem}.png"
        # A still at the film's size is the film's last frame: written from the same render
        poster = tuple(self.still_size) == QUALITIES[args.quality].size
        for summary in film(scene, landscape_path, self.films, quality=args.quality, seconds=args.seconds,
                            theme=args.theme, workers=args.workers, gif_width=args.gif_width, gif_fps=args.gif_fps,
                            draft=args.draft, options=self.options, progress=self.progress,
                            command=args.command_line, force=getattr(args, "force", False),
                            still=png if poster else None):
            self.step(str(summary))
        if not poster:
            still(landscape_path, png, scene=scene, size=self.still_size, fps=QUALITIES[args.quality].fps,
                  seconds=args.seconds, theme=args.theme, draft=args.draft, options=self.options,
                  command=args.command_line)
        self.step(f"{png}: final state, {self.still_size[0]}x{self.still_size[1]}")
