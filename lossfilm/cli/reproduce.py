"""Render an output again from its provenance and the cached landscape it names.

The film or still is made by the same call, with the same settings, from the
landscape file it was drawn from, after checking that the file there still
has the same content key. If it is missing or has changed, the error names
it and the command that makes it. On the same machine (same lossfilm, VTK
and Mesa) a reproduced still is pixel-identical.

example: lossfilm reproduce media/descent.png -o /tmp/descent-again.png
"""

from __future__ import annotations


def add_arguments(parser):
    parser.add_argument("file", metavar="FILE", help="an MP4, MOV, WebM, GIF or PNG that lossfilm wrote")
    parser.add_argument("-o", "--output", metavar="PATH",
                        help="where to write the new one (default: FILE's name with .reproduced before its suffix)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")


def run(args):
    from pathlib import Path

    from lossfilm.cli.provenance import read_provenance

    made = read_provenance(args.file)
    source = Path(args.file)
    output = args.output or (str(source.with_name(f"{source.stem}.reproduced{source.suffix}"))
                             + ("/" if source.is_dir() else ""))
    reproduce(made, output, command=f"lossfilm reproduce {args.file}", progress=not args.quiet)
    if not args.quiet:
        print(f"{output}: reproduced from {made['landscape']['path']} (key {made['landscape']['key']})")


def reproduce(made, output, *, command=None, progress=False):
    """Run the call ``made`` records again, writing ``output``; ArtifactError naming a missing artifact."""
    from lossfilm.api import film, still
    from lossfilm.format.errors import ArtifactError, ConfigError
    from lossfilm.format.landscape import Landscape

    land = made.get("landscape", {})
    path, key = land.get("path"), land.get("key")
    how = f"; re-make it with: {made['command']}" if made.get("command") else ""
    if not path:
        raise ArtifactError(f"missing artifact: the landscape (key {key}) was given in memory, never saved; "
                            "save it and render from its file to make a reproducible output")
    try:
        current = Landscape.load(path)
    except ArtifactError as exc:
        raise ArtifactError(f"missing artifact: landscape {path} (key {key}) cannot be read ({exc}){how}") from None
    if current.key != key:
        raise ArtifactError(f"missing artifact: landscape {path} now has key {current.key}, the output was drawn "
                            f"from key {key} (other trajectory or settings){how}")
    settings = dict(made.get("settings", {}))
    scene = made.get("scene")
    if made.get("call") == "still":
        return still(path, output, scene=scene, command=command, **settings)
    if made.get("call") == "film":
        return film(scene, path, output, progress=progress, command=command, **settings)
    raise ConfigError(f"provenance call {made.get('call')!r}: reproduce knows 'film' and 'still'")
