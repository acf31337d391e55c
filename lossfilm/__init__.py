"""lossfilm: films of a training run rolling down its own loss landscape.

The public Python API. Everything a notebook needs is here, with the
command line's options and defaults as Python values:

>>> import lossfilm                                                   # doctest: +SKIP
>>> trajectory = lossfilm.Trajectory.from_snapshots(history, losses=losses)  # doctest: +SKIP
>>> landscape = lossfilm.Landscape.from_trajectory(trajectory, loss_fn=loss_fn)  # doctest: +SKIP
>>> lossfilm.film("descent", landscape, "descent.mp4", quality="high")  # doctest: +SKIP
>>> lossfilm.still(landscape, "descent.png", size=(1920, 1080), theme="light")  # doctest: +SKIP
>>> lossfilm.view(landscape, "landscape.html")  # an interactive page, one offline file  # doctest: +SKIP

The names load on first use, so ``import lossfilm`` stays light: NumPy and
VTK are imported only when something computes or renders.

The installed package is layered, bottom to top: ``lossfilm.format``
(errors, artifact files, the Trajectory and Landscape data) ->
``lossfilm.training`` -> ``lossfilm.render`` -> ``lossfilm.scenes`` ->
``lossfilm.api`` -> ``lossfilm.cli``; see ARCHITECTURE.md.
"""

import importlib
import sys

from lossfilm.format.version import __version__

# public name -> (module, attribute), imported on first access
_PUBLIC = {
    "Trajectory": ("lossfilm.format.trajectory", "Trajectory"),
    "Landscape": ("lossfilm.training.landscape.pipeline", "Landscape"),
    "Recorder": ("lossfilm.training.fit.recorder", "Recorder"),
    "film": ("lossfilm.api", "film"),
    "still": ("lossfilm.api", "still"),
    "view": ("lossfilm.viewer.page", "view"),
    "LossfilmError": ("lossfilm.format.errors", "LossfilmError"),
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'lossfilm' has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)


def _show_landscapes_in_notebooks():
    """Inside IPython (a Jupyter kernel), a Landscape displays as the interactive viewer.

    Registered by the class's name, so nothing heavy is imported until one is shown.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is not None and hasattr(shell, "display_formatter"):
        shell.display_formatter.formatters["text/html"].for_type_by_name(
            "lossfilm.format.landscape", "Landscape", _landscape_html)


def _landscape_html(landscape):
    from lossfilm.viewer.notebook import landscape_html

    return landscape_html(landscape)


_show_landscapes_in_notebooks()
