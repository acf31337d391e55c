"""Find a scene by name (a module in ``scenes/``) or by the path of a user's ``.py`` file.

``SCENE_NAMES`` is read from the directory listing, without importing any
scene (or PyVista), so ``lossfilm render --help`` stays instant.

Examples
--------
>>> "descent" in SCENE_NAMES and "orbit" in SCENE_NAMES
True
>>> load_scene("descent").__name__
'Descent'
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

from lossfilm.errors import ConfigError

SCENES_DIR = Path(__file__).resolve().parents[1] / "scenes"
SCENE_NAMES = tuple(sorted(p.stem for p in SCENES_DIR.glob("*.py") if not p.stem.startswith("_")))


def load_scene(scene):
    """The Scene subclass for a scene name or a path to a ``.py`` file.

    A file may name its scene with a module-level ``SCENE = MyScene``;
    otherwise it must define exactly one Scene subclass (or one named after
    the file).

    Raises
    ------
    ConfigError
        Unknown name, missing file, a file that fails on import, or one
        without a (unique) Scene subclass; the message names the file.
    """
    text = str(scene)
    if text.endswith(".py") or "/" in text or "\\" in text:
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigError(f"scene file {text}: no such file")
        module = _import_file(path)
        where = str(path)
    else:
        if text not in SCENE_NAMES:
            raise ConfigError(f"scene {text!r} is unknown; choose one of {', '.join(SCENE_NAMES)} "
                              "or give the path of a .py scene file")
        try:
            module = importlib.import_module(f"scenes.{text}")
        except Exception as exc:
            raise ConfigError(f"scene file {SCENES_DIR / (text + '.py')}: fails on import "
                              f"({type(exc).__name__}: {exc})") from exc
        where = str(SCENES_DIR / f"{text}.py")
    return _scene_class(module, where)


def _import_file(path):
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"lossfilm_user_scene_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"scene file {path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        line = _line_of(exc, path)
        raise ConfigError(f"scene file {path}{line}: fails on import ({type(exc).__name__}: {exc})") from exc
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


def _scene_class(module, where):
    from render.scene import Scene

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
