"""The scene a film is made of: a Scene subclass, or the one a user's ``.py`` file defines.

Examples
--------
>>> from lossfilm.render.framework.scene import Scene
>>> class Still(Scene):
...     def construct(self):
...         self.wait(1.0)
>>> load_scene(Still) is Still
True
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

from lossfilm.boundary.user_file import import_user_file
from lossfilm.format.errors import ConfigError
from lossfilm.format.user_code import raised
from lossfilm.render.framework.scene import Scene

USER_SCENE_PREFIX = "lossfilm_user_scene_"  # module names of imported scene files


def load_scene(scene):
    """The Scene subclass a film is made of: ``scene`` itself, or the one in a ``.py`` scene file.

    Render never looks a scene up by name; :func:`lossfilm.scenes.scene_class`
    turns the bundled scenes' names into classes.

    Raises
    ------
    ConfigError
        Anything else, a missing file, a file that fails on import, or one
        without a (unique) Scene subclass; the message names the file.
    """
    if inspect.isclass(scene) and issubclass(scene, Scene):
        return scene
    if isinstance(scene, (str, os.PathLike)) and is_scene_file(os.fspath(scene)):
        return load_scene_file(scene)
    raise ConfigError(f"scene {scene!r}: expected a Scene subclass or the path of a .py scene file "
                      "(lossfilm.scenes.scene_class turns a bundled scene's name into its class)")


def scene_label(scene):
    """How messages name a scene: its file's path, or its class's name in lower case."""
    return scene.__name__.lower() if inspect.isclass(scene) else str(scene)


def is_scene_file(text):
    """Whether ``text`` names a file rather than a bundled scene."""
    return text.endswith(".py") or "/" in text or "\\" in text


def load_scene_file(path):
    """The Scene subclass defined in the user's ``.py`` file at ``path``."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"scene file {path}: no such file")
    return scene_in_module(import_user_file(path, prefix=USER_SCENE_PREFIX, label=f"scene file {path}"), str(path))


def scene_in_module(module, where):
    """The module's ``SCENE``, or its one Scene subclass (or the one named after the file ``where``)."""
    chosen = getattr(module, "SCENE", None)
    if inspect.isclass(chosen) and issubclass(chosen, Scene):
        return chosen
    found = [obj for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, Scene) and obj is not Scene
             and obj.__module__ == module.__name__]
    if not found:
        raise ConfigError(f"scene file {where}: defines no Scene subclass "
                          "(write `class MyScene(Scene)` with a construct() method)")
    if len(found) > 1:
        stem = Path(where).stem.replace("_", "").lower()
        named = [cls for cls in found if cls.__name__.lower() in (stem, stem + "scene")]
        if len(named) == 1:
            return named[0]
        names = ", ".join(cls.__name__ for cls in found)
        raise ConfigError(f"scene file {where}: defines several Scene subclasses ({names}); "
                          "set SCENE = TheOne at the end of the file")
    return found[0]
