"""The headless back-end check: can VTK render off-screen on this machine?

VTK picks its OpenGL window class when the first render window is created.
On a machine without a display the wrong choice does not raise, it
segfaults, so the candidates are tried in a child process first: EGL
(Mesa or a GPU driver), then OSMesa (pure software). The first that
renders a pixel is selected for this process through
``VTK_DEFAULT_OPENGL_WINDOW``, which child processes (render workers)
inherit, together with the note that it was verified, so they do not
probe again.

Examples
--------
>>> from lossfilm.render.filming.backend import ensure_offscreen
>>> ensure_offscreen()  # doctest: +SKIP
'vtkEGLRenderWindow'
"""

from __future__ import annotations

import functools
import os
import shlex
import signal
import subprocess
import sys
import threading

from lossfilm.format.errors import RenderError

WINDOW_ENV = "VTK_DEFAULT_OPENGL_WINDOW"
# Replaces the built-in probe with a command of one's own (tests, odd set-ups);
# it runs once per candidate with WINDOW_ENV set and must exit 0 on success.
PROBE_ENV = "LOSSFILM_BACKEND_PROBE"
PROBE_TIMEOUT_S = 60
# Set beside WINDOW_ENV once a probe passed: render workers inherit both and do not probe again.
VERIFIED_ENV = "LOSSFILM_OFFSCREEN_VERIFIED"

# Tried in this order: EGL is hardware or Mesa's llvmpipe and fast; OSMesa is the last resort.
WINDOWS = {
    "vtkEGLRenderWindow": "EGL",
    "vtkOSOpenGLRenderWindow": "OSMesa",
}
INSTALL_HINT = ("install Mesa's EGL (apt-get install libegl1 libegl-mesa0) "
                "or OSMesa (apt-get install libosmesa6)")

# Renders one pixel off-screen and reads it back; a broken back-end crashes here, not in lossfilm.
_PROBE_CODE = """\
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
from vtkmodules.vtkRenderingCore import vtkRenderWindow, vtkRenderer
import vtkmodules.vtkRenderingOpenGL2
window = vtkRenderWindow()
window.SetOffScreenRendering(1)
window.SetSize(1, 1)
window.AddRenderer(vtkRenderer())
window.Render()
pixel = vtkUnsignedCharArray()
window.GetPixelData(0, 0, 0, 0, 1, pixel, 0)
assert pixel.GetNumberOfValues() == 3
print(window.GetClassName())
"""

def ensure_offscreen():
    """Select a working off-screen OpenGL window for VTK, or fail with one clear line.

    Call this before the first render. A value of ``VTK_DEFAULT_OPENGL_WINDOW``
    that the user set is respected: only that one is probed.

    Returns
    -------
    str
        The VTK window class now set in ``VTK_DEFAULT_OPENGL_WINDOW``.

    Raises
    ------
    RenderError
        If no candidate can render off-screen; the message names what to install.

    Examples
    --------
    >>> ensure_offscreen()  # doctest: +SKIP
    'vtkEGLRenderWindow'
    """
    requested = os.environ.get(WINDOW_ENV) or None
    if requested and os.environ.get(VERIFIED_ENV) == requested:
        return requested
    candidates = _candidates()
    failures = []
    for window in candidates:
        reason = probe(window)
        if reason is None:
            os.environ[WINDOW_ENV] = window
            os.environ[VERIFIED_ENV] = window
            return window
        failures.append(f"{WINDOWS.get(window, window)} {reason}")
    tried = "; ".join(failures)
    if requested:
        raise RenderError(f"{WINDOW_ENV}={requested} cannot render off-screen ({tried}); "
                          f"unset it to let lossfilm choose, or {INSTALL_HINT}")
    raise RenderError(f"no off-screen OpenGL for VTK ({tried}): {INSTALL_HINT}")


def start_probe():
    """Start the first probe in a child now, so that it runs while this process imports PyVista.

    :func:`ensure_offscreen` then waits for its answer instead of starting
    it: the probe (a Python with VTK, one render) costs about as long as
    the import, and a 4 s film pays both at start-up. Does nothing where
    the back-end is verified already or a probe is under way.
    """
    requested = os.environ.get(WINDOW_ENV) or None
    if requested and os.environ.get(VERIFIED_ENV) == requested:
        return
    window = _candidates()[0]
    if window not in _STARTED:
        try:
            _STARTED[window] = _spawn(window)
        except OSError:
            pass  # probe() starts it again and says why it cannot


def warm_up():
    """Get the renderer ready in the background while this process does other work first (training, a grid).

    Starts the back-end probe's child (:func:`start_probe`) and imports
    PyVista's plotting modules in a daemon thread: about 1.5 s that a
    command which trains, evaluates a landscape and then films would
    otherwise wait for at its first frame. An import that fails here fails
    again, with its message, where the film imports it.
    """
    start_probe()
    threading.Thread(target=_import_plotting, name="lossfilm-warm-up", daemon=True).start()


def _import_plotting():
    try:
        import pyvista.plotting  # noqa: F401  (the slow part of PyVista's import)
    except Exception:  # noqa: BLE001 (reported where the film imports it, in the main thread)
        pass


_STARTED: dict[str, subprocess.Popen] = {}  # window class -> its probe's child process, started ahead by start_probe()


def _candidates():
    requested = os.environ.get(WINDOW_ENV) or None
    return [requested] if requested else list(WINDOWS)


def _spawn(window):
    custom = os.environ.get(PROBE_ENV)
    command = shlex.split(custom) if custom else [sys.executable, "-c", _PROBE_CODE]
    env = dict(os.environ, **{WINDOW_ENV: window})
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace")


def probe(window, timeout=PROBE_TIMEOUT_S):
    """Try to render one pixel with VTK window class ``window`` in a child process.

    Returns
    -------
    str or None
        None if it worked, else a few words on how it failed (``"crashed (SIGSEGV)"``).

    Examples
    --------
    >>> probe("vtkEGLRenderWindow")  # doctest: +SKIP
    """
    try:
        child = _STARTED.pop(window, None) or _spawn(window)
    except OSError as exc:
        return f"probe could not start ({exc.strerror or exc})"
    try:
        _, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return f"hung for {timeout} s"
    except BaseException:  # Ctrl-C while waiting: leave no probe behind
        child.kill()
        child.communicate()
        raise
    result = subprocess.CompletedProcess(child.args, child.returncode, None, stderr)
    if result.returncode == 0:
        return None
    if result.returncode < 0:
        try:
            name = signal.Signals(-result.returncode).name
        except ValueError:
            name = f"signal {-result.returncode}"
        return f"crashed ({name})"
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    return f"failed ({lines[-1][:160] if lines else f'exit status {result.returncode}'})"


@functools.lru_cache(maxsize=1)
def renderer_versions():
    """The versions that render here: VTK, and the OpenGL renderer and version strings (Mesa's, on llvmpipe).

    Asks a 1x1 off-screen window of the back-end :func:`ensure_offscreen`
    chose; recorded in every output's provenance.

    Examples
    --------
    >>> sorted(renderer_versions())  # doctest: +SKIP
    ['opengl_renderer', 'opengl_version', 'vtk']
    """
    from vtkmodules.vtkCommonCore import vtkVersion
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL windows)

    versions = {"vtk": vtkVersion.GetVTKVersion(), "opengl_renderer": "?", "opengl_version": "?"}
    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(1, 1)
    window.AddRenderer(vtkRenderer())
    window.Render()
    for line in (window.ReportCapabilities() or "").splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "OpenGL renderer string":
            versions["opengl_renderer"] = value.strip()
        elif name.strip() == "OpenGL version string":
            versions["opengl_version"] = value.strip()
    window.Finalize()
    return versions
