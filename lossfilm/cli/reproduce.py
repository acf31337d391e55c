"""Render an output again from its provenance and the cached landscape it names.

The film or still is made by the same call, with the same settings, from the
landscape file it was drawn from, after checking that the file there still
has the same content key. On the same machine (same lossfilm, VTK and Mesa)
a reproduced still is pixel-identical.

A file someone else made is data, never code. Without --trust, reproduce
runs only a bundled scene with the settings a file may give (quality, size,
fps, seconds, theme, log_z, draft, workers up to this machine's cores, GIF
size, frame, transparent, scene options), each checked as the command line
checks it, on the landscape at the recorded path relative to FILE's folder.
A scene .py file, an absolute or ../ landscape path, any other key or a
value out of range is refused in one line naming it, and nothing runs.
--force, --workers above the cores, a Dask cluster and the command line are
never taken from a file.

example: lossfilm reproduce media/descent.png -o /tmp/descent-again.png
"""

from __future__ import annotations


def add_arguments(parser):
    from lossfilm.cli.provenance import MADE
    from lossfilm.cli.render import help_text
    from lossfilm.format.declared.options import Option, add_argument
    from lossfilm.format.declared.values import Path
    from lossfilm.render.filming.options import LANDSCAPE_PATH

    output = Option("output", Path("a file or folder to write"), None, "where to write the new one (default: FILE's "
                    "name with .reproduced before its suffix)", optional=True, cli="-o", metavar="PATH")
    landscape = LANDSCAPE_PATH.but(optional=True, help="the landscape to render from (default: the path FILE "
                                   "records, from FILE's folder); its content key must match the one FILE records")
    parser.set_defaults(declared=(MADE, output, landscape))  # read and checked by their declarations
    add_argument(parser, MADE)
    add_argument(parser, output, flags=("-o", "--output"))
    add_argument(parser, landscape)
    parser.add_argument("--trust", action="store_true",
                        help=help_text("run the scene .py file FILE names and follow its landscape path anywhere "
                                       "(prints each code file's path and sha256 first); only for files you trust "
                                       "as code"))
    parser.add_argument("--quiet", action="store_true", help=help_text("no progress bar and no summary line"))


def run(args):
    import sys
    from pathlib import Path

    from lossfilm.cli.provenance import read_provenance
    from lossfilm.cli.provenance_trust import plan
    from lossfilm.format.provenance import printable
    from lossfilm.format.safe_write import check_distinct

    made = read_provenance(args.file)
    source = Path(args.file)
    output = args.output or (str(source.with_name(f"{source.stem}.reproduced{source.suffix}"))
                             + ("/" if source.is_dir() else ""))
    chosen = plan(made, source, landscape=args.landscape, trust=args.trust)
    check_distinct([output], inputs=[source, chosen.landscape])
    for path, digest in chosen.code:
        print(f"lossfilm reproduce: --trust: running code {printable(path)} (sha256 {digest})", file=sys.stderr)
    reproduce(chosen, output, command=args.command_line, progress=not args.quiet)
    if not args.quiet:
        print(f"{output}: reproduced from {printable(chosen.landscape)} (key {chosen.key})")


def reproduce(chosen, output, *, command=None, progress=False):
    """Run the checked call ``chosen`` (:func:`lossfilm.cli.provenance_trust.plan`) again, writing ``output``.

    ArtifactError if the landscape is missing or has another content key.
    """
    from lossfilm.api import film, still
    from lossfilm.format.errors import ArtifactError
    from lossfilm.format.landscape import Landscape
    from lossfilm.format.provenance import printable

    path, key = chosen.landscape, chosen.key
    hint = f"; give the landscape it was drawn from with --landscape (content key {key})"
    try:
        current = Landscape.load(path)
    except ArtifactError as exc:
        raise ArtifactError(f"missing artifact: landscape {printable(path)} (key {key}) cannot be read "
                            f"({printable(exc)}){hint}") from None
    if current.key != key:
        raise ArtifactError(f"missing artifact: landscape {printable(path)} now has key {current.key}, the output "
                            f"was drawn from key {key} (other trajectory or settings){hint}")
    if chosen.call == "view":
        from lossfilm.viewer.page import view

        return view(path, output, command=command, **chosen.settings)
    if chosen.call == "still":
        return still(path, output, scene=chosen.scene, command=command, **chosen.settings)
    return film(chosen.scene, path, output, progress=progress, command=command, **chosen.settings)
