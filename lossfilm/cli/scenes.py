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
    parser.add_argument("--markdown", action="store_true",
                        help="one table of every bundled scene's options, as the README shows it")


def run(args):
    from lossfilm.scenes import SCENE_NAMES, scene_class

    if args.markdown:
        print(markdown())
        return 0
    for name in args.scene or SCENE_NAMES:
        print(describe(name, scene_class(name)))
    return 0


def markdown():
    """The README's table of scene options: each option, what it takes, which scenes take it (and their default)."""
    from lossfilm.format.declared.options import shown
    from lossfilm.scenes import scene_options_table

    rows = {}
    for scene, options in scene_options_table().items():
        for name, option in options.items():
            row = rows.setdefault(name, {"option": option, "scenes": []})
            row["scenes"].append(f"{scene} {shown(option.default)}")
    lines = ["| option | takes | scenes (default) | what it does |", "|---|---|---|---|"]
    everywhere = len(scene_options_table())
    for name, row in rows.items():
        option, scenes = row["option"], row["scenes"]
        defaults = {scene.split(" ", 1)[1] for scene in scenes}
        said = f"every scene ({defaults.pop()})" if len(scenes) == everywhere and len(defaults) == 1 else \
            ", ".join(scenes)
        lines.append(f"| `{name}` | {option.takes()} | {said} | {option.help} |")
    return "\n".join(lines)


def describe(name, scene):
    """The scene's listing: a heading line, then one line per option."""
    from lossfilm.format.declared.options import shown

    doc = (scene.__doc__ or "").strip().splitlines()
    lines = [f"{name}: {doc[0] if doc else scene.__name__}"]
    for option in scene.all_options().values():
        said = f" -- {option.help}" if option.help else ""
        lines.append(f"  {option.name}={shown(option.default)}  ({option.takes()}){said}")
    return "\n".join(lines)
