"""What the pipeline commands (demo, race, classic) share: their output options and their final render.

Each of them computes a landscape, then writes ``OUT/STEM.mp4`` (and
``OUT/STEM.gif``) from one render and the final state as ``OUT/STEM.png``.
``-o PATH``, repeatable like ``lossfilm render``'s, names the films instead:
``.mp4``, ``.gif``, or a folder (``frames/``) of PNG frames, all from one
render; the still and the cache stay in ``--out-dir``.
"""

from __future__ import annotations

from lossfilm.cli.render import OUT_DIR, add_draft_argument, help_text
from lossfilm.render.filming.quality import DEFAULT_QUALITY, GIF_FPS, GIF_WIDTH, QUALITIES

STILL_SIZE = "1280x720"


def add_arguments(parser, *, stem, gif_by_default, option_example, quality=DEFAULT_QUALITY):
    """Add -o, --out-dir, --quality, --theme, --seconds, --still-size, the GIF options, --workers, --option, --quiet."""
    from lossfilm.render.elements.theme import THEMES

    presets = ", ".join(f"{q.name} {q.width}x{q.height}@{q.fps}" for q in QUALITIES.values())
    default = f"OUT/{stem}.mp4" + (f" and OUT/{stem}.gif" if gif_by_default else "")
    parser.add_argument("-o", "--output", metavar="PATH", action="append",
                        help=help_text(f"the film to write: .mp4, .gif, or folder/ for PNG frames; repeat it to write "
                                       f"several from one render (default: {default})"))
    parser.add_argument("--out-dir", default=OUT_DIR, metavar="DIR",
                        help="where the still, the cache (DIR/cache) and, without -o, the films go (made if missing)")
    parser.add_argument("--quality", choices=list(QUALITIES), default=quality,
                        help=f"film preset ({presets})")
    parser.add_argument("--theme", choices=list(THEMES), default="dark", help="colours and lights")
    parser.add_argument("--seconds", type=float, help=help_text("film length (default: the scene's own)"))
    parser.add_argument("--still-size", default=STILL_SIZE, metavar="WxH", help="size of the PNG still")
    # None: not given. Either flag chooses among the default films, so it cannot come with -o.
    if gif_by_default:
        parser.add_argument("--no-gif", dest="gif", action="store_false", default=None,
                            help=help_text("skip the GIF (without -o)"))
    else:
        parser.add_argument("--gif", action="store_true", default=None,
                            help=help_text(f"also write OUT/{stem}.gif (without -o)"))
    parser.set_defaults(gif_by_default=gif_by_default)
    parser.add_argument("--gif-width", type=int, default=GIF_WIDTH, metavar="PX", help="width of the GIF")
    parser.add_argument("--gif-fps", type=int, default=GIF_FPS, help="frame rate of the GIF")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="render in N processes")
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
        from lossfilm.render.filming.sinks import output_format
        from lossfilm.render.filming.quality import parse_size

        self.started = time.perf_counter()
        if args.workers < 1:
            raise ConfigError(f"--workers {args.workers}: must be at least 1")
        if args.seconds is not None and not args.seconds > 0:
            raise ConfigError(f"--seconds {args.seconds}: must be positive")
        self.args, self.stem = args, stem
        self.still_size = parse_size(args.still_size, even=False, option="--still-size")
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

    def step(self, text):
        """Print one progress line, stamped with the seconds since the command started."""
        import time

        print(f"[{time.perf_counter() - self.started:5.1f}s] {text}", flush=True)

    def render(self, scene, landscape_path):
        """Render ``scene`` on ``landscape_path`` to the films and the still, printing what was written."""
        from lossfilm.api import film, still

        args, out = self.args, self.out_dir
        for summary in film(scene, landscape_path, self.films, quality=args.quality, seconds=args.seconds,
                            theme=args.theme, workers=args.workers, gif_width=args.gif_width, gif_fps=args.gif_fps,
                            draft=args.draft, options=self.options, progress=self.progress,
                            command=args.command_line, force=getattr(args, "force", False)):
            self.step(str(summary))
        still(landscape_path, out / f"{self.stem}.png", scene=scene, size=self.still_size,
              fps=QUALITIES[args.quality].fps, seconds=args.seconds, theme=args.theme, draft=args.draft,
              options=self.options, command=args.command_line)
        self.step(f"{out / (self.stem + '.png')}: final state, {self.still_size[0]}x{self.still_size[1]}")
