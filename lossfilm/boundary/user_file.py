"""A user's ``.py`` file imported as a module: ``--loss my_loss.py:fn`` and scene files (``lossfilm render my_scene.py``).

The module's name is ``prefix`` plus the file's stem (a landscape records a
``loss_fn`` by that name, so its key does not change when the folder
moves); a second file of the same stem from another folder gets a digest of
its absolute path added, so that neither replaces the other. It is registered in
``sys.modules`` (dataclasses and pickling look modules up by name) and
removed again if the file fails. While it runs, the file's own folder is on
``sys.path``, so that it can import its neighbours. Whatever the file raises
becomes one :class:`lossfilm.format.errors.ConfigError` line naming the file
and the line that failed.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "bowl.py"
>>> _ = path.write_text("def loss_fn(p):\\n    return float((p['w'] ** 2).sum())\\n")
>>> import_user_file(path, prefix="lossfilm_doc_", label=str(path)).loss_fn.__name__
'loss_fn'
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from lossfilm.format.errors import ConfigError
from lossfilm.format.user_code import raised


def import_user_file(path, *, prefix, label):
    """The module that the ``.py`` file at ``path`` defines, imported under ``prefix`` + its stem.

    Parameters
    ----------
    path : str or Path
        An existing file (callers say "no such file" in their own words first).
    prefix : str
        Module-name prefix of this kind of file, e.g. ``"lossfilm_user_loss_"``
        (a cluster ships modules with it by value).
    label : str
        How the error names the file, e.g. ``"scene file my_scene.py"``.

    Raises
    ------
    ConfigError
        ``"{label}, line N: fails on import (TypeName: message)"`` for anything the file raises.
    """
    path = Path(path).expanduser()
    name = f"{prefix}{path.stem}"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", None) or "").resolve() != path.resolve():
        name += "_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]  # another folder's file.py
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{label}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.modules[name] = module
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # the file raised (or sys.exit()) while importing: one line, never a silent exit
        sys.modules.pop(name, None)
        raise ConfigError(f"{label}{_line_of(exc, path)}: fails on import ({raised(exc)})") from exc
    finally:
        sys.path.remove(folder)
    return module


def _line_of(exc, path):
    """``", line N"`` of the deepest frame of ``exc`` in the file at ``path`` (or of its syntax error); else ``""``."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f", line {exc.lineno}"
    tb = exc.__traceback__
    line = ""
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == path.resolve():
            line = f", line {tb.tb_lineno}"
        tb = tb.tb_next
    return line
