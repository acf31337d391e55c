"""Print how an output was made: the provenance a lossfilm MP4, MOV, WebM, GIF, PNG or viewer page carries in itself.

It says which lossfilm made the file, the command or API call with every
setting and seed, the content keys of the landscape and of the trajectory it
was drawn from, and the VTK and OpenGL (Mesa) versions that rendered it.
`lossfilm reproduce FILE` renders it again from the same cached landscape.

What a file carries is shown as data: control characters and other
non-printable ones are escaped (a file cannot move the cursor or recolour
the terminal), and the command is labelled as the one recorded in the file,
not as advice to run (anyone can write any text there).

example: lossfilm inspect media/descent.png
"""

from __future__ import annotations


def add_arguments(parser):
    from lossfilm.cli.provenance import MADE
    from lossfilm.format.declared.options import add_argument

    parser.set_defaults(declared=(MADE,))  # read and checked by its declaration (lossfilm.cli.main)
    add_argument(parser, MADE)
    parser.add_argument("--json", action="store_true", help="print the provenance as JSON")


def run(args):
    import json

    from lossfilm.cli.provenance import read_provenance
    from lossfilm.format.provenance import printable

    made = read_provenance(args.file)
    if args.json:
        print(json.dumps(made, indent=2, sort_keys=True))
        return
    for line in describe(made):
        print(printable(line))


def describe(made):
    """The provenance in lines a person reads: what, how, from what, rendered by what (not yet escaped)."""
    land, trajectory, renderer, settings = (made.get(key) if isinstance(made.get(key), dict) else {}
                                            for key in ("landscape", "trajectory", "renderer", "settings"))
    lines = [f"lossfilm   {made.get('lossfilm')}",
             f"recorded   {made.get('command') or '(from Python: lossfilm.' + str(made.get('call')) + '(...))'}"
             + ("  (as the file records it: unchecked text, not advice)" if made.get("command") else ""),
             f"call       lossfilm.{made.get('call')}("
             + ", ".join(([repr(made["scene"])] if made.get("scene") is not None else [])
                         + [f"{k}={v!r}" for k, v in sorted(settings.items())]) + ")",
             f"landscape  key {land.get('key')}, {land.get('path') or '(given in memory: no file)'}",
             f"           plane {land.get('directions_kind')}; settings {land.get('settings')}",
             f"trajectory key {trajectory.get('key')}" + (f", paths {trajectory['keys']}" if trajectory.get("keys")
                                                           else ""),
             f"           run {trajectory.get('run')}",
             "renderer   " + ", ".join(f"{k} {v}" for k, v in renderer.items())]
    return lines
