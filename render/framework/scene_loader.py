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

import hashlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path

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
    return scene_in_module(_import_file(path), str(path))


def _import_file(path):
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"{USER_SCENE_PREFIX}{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"scene file {path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # sys.exit() in a scene file must not end lossfilm silently
        sys.modules.pop(name, None)
        line = _line_of(exc, path)
        raise ConfigError(f"scene file {path}{line}: fails on import ({raised(exc)})") from exc
    return module


def _line_of(exc, path):
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f", line {exc.lineno}"
    tb = exc.__traceback__
    line = ""
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == path.resolve():
            line = f", line {tb.tb_lineno}"
        tb = tb.tb_next
    return line


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
