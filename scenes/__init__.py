"""The bundled scenes, by name: one module a scene, each a ``Scene`` subclass with ``construct()``.

``SCENE_NAMES`` is read from this folder's listing, without importing any
scene (or PyVista), so ``lossfilm render --help`` stays instant.
:func:`scene_class` turns a name, a user's ``.py`` file or a class into the
class that :mod:`lossfilm.render` films: render itself never looks scenes up
by name.

Examples
--------
>>> "descent" in SCENE_NAMES and "orbit" in SCENE_NAMES
True
>>> scene_class("descent").__name__
'Descent'
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from lossfilm.format.errors import ConfigError
from lossfilm.render.framework.scene import Scene
from lossfilm.render.framework.scene_loader import is_scene_file, load_scene_file, scene_in_module

SCENE_NAMES = tuple(sorted(p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_")))


def scene_class(scene):
    """The Scene subclass for a bundled scene's name, the path of a ``.py`` scene file, or a class.

    Raises
    ------
    ConfigError
        Unknown name, missing file, a file that fails on import, or one
        without a (unique) Scene subclass; the message names the file.
    """
    if inspect.isclass(scene) and issubclass(scene, Scene):
        return scene
    text = str(scene)
    if is_scene_file(text):
        return load_scene_file(text)
    if text not in SCENE_NAMES:
        raise ConfigError(f"scene {text!r} is unknown; choose one of {', '.join(SCENE_NAMES)} "
                          "or give the path of a .py scene file")
    where = Path(__file__).parent / f"{text}.py"
    try:
        module = importlib.import_module(f"{__name__}.{text}")
    except Exception as exc:
        raise ConfigError(f"scene file {where}: fails on import ({type(exc).__name__}: {exc})") from exc
    return scene_in_module(module, str(where))


def scene_options_table():
    """``{scene name: {option name: Option}}`` for every bundled scene: which scene takes which ``--option``.

    ``lossfilm scenes`` prints it in full and ``lossfilm render --help``
    names each scene's options; both read the scenes' own declarations.

    Examples
    --------
    >>> table = scene_options_table()
    >>> "sweep" in table["descent"], "sweep" in table["orbit"], "degrees" in table["orbit"]
    (True, False, True)
    """
    return {name: scene_class(name).all_options() for name in SCENE_NAMES}
