"""List the bundled scenes and every option each takes (``--option KEY=VALUE``).

For each scene: its one-line description, then each option's name, what it
takes (type and range or choices), its default in that scene and what it
does. ``lossfilm render --help`` ends with the short form (which scene takes
which option). A scene file of your own: ``lossfilm scenes my_scene.py``.

example: lossfilm scenes descent
"""

from __future__ import annotations


def add_arguments(parser):
    parser.add_argument("scene", nargs="*", metavar="SCENE",
                        help="scene names or .py scene files to list (default: every bundled scene)")


def run(args):
    from lossfilm.scenes import SCENE_NAMES, scene_class

    for name in args.scene or SCENE_NAMES:
        print(describe(name, scene_class(name)))
    return 0


def describe(name, scene):
    """The scene's listing: a heading line, then one line per option."""
    from lossfilm.format.options import shown

    doc = (scene.__doc__ or "").strip().splitlines()
    lines = [f"{name}: {doc[0] if doc else scene.__name__}"]
    for option in scene.all_options().values():
        said = f" -- {option.help}" if option.help else ""
        lines.append(f"  {option.name}={shown(option.default)}  ({option.takes()}){said}")
    return "\n".join(lines)
