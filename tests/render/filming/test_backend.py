"""The headless back-end check: probe order, the user's choice, caching, and the one-line error."""

import os
import shlex
import sys

import pytest

from lossfilm.format.errors import RenderError
from lossfilm.render.filming import backend

SEGFAULT = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"


def probe_command(code, *args):
    return shlex.join([sys.executable, "-c", code, *map(str, args)])


# Records the window class it was asked for, and works only for the classes listed after the log path.
RECORDING_PROBE = """
import os, sys
window = os.environ["VTK_DEFAULT_OPENGL_WINDOW"]
open(sys.argv[1], "a").write(window + "\\n")
sys.exit(0 if window in sys.argv[2:] else 1)
"""


@pytest.fixture
def fresh(monkeypatch):
    """No cached answer and no window chosen by the user; whatever the test selects is undone after it."""
    for name in (backend.VERIFIED_ENV, backend.WINDOW_ENV, backend.PROBE_ENV):
        monkeypatch.setenv(name, "")  # records the original value (delenv of an absent one would not)
        monkeypatch.delenv(name)
    return monkeypatch


def probed(log):
    return log.read_text().split() if log.exists() else []


def test_crashing_backends_give_one_clear_line(fresh):
    fresh.setenv(backend.PROBE_ENV, probe_command(SEGFAULT))
    with pytest.raises(RenderError) as error:
        backend.ensure_offscreen()
    message = str(error.value)
    assert "\n" not in message
    assert "EGL crashed (SIGSEGV)" in message and "OSMesa crashed (SIGSEGV)" in message
    assert "apt-get install libegl1 libegl-mesa0" in message and "libosmesa6" in message
    assert backend.WINDOW_ENV not in os.environ


def test_egl_is_tried_before_osmesa_and_the_first_working_one_is_kept(fresh, tmp_path):
    log = tmp_path / "probed.txt"
    fresh.setenv(backend.PROBE_ENV, probe_command(RECORDING_PROBE, log, "vtkOSOpenGLRenderWindow"))
    assert backend.ensure_offscreen() == "vtkOSOpenGLRenderWindow"
    assert probed(log) == ["vtkEGLRenderWindow", "vtkOSOpenGLRenderWindow"]
    assert os.environ[backend.WINDOW_ENV] == "vtkOSOpenGLRenderWindow"
    # Cached: no second probe in this process.
    assert backend.ensure_offscreen() == "vtkOSOpenGLRenderWindow"
    assert len(probed(log)) == 2


def test_a_window_the_user_chose_is_the_only_one_probed(fresh, tmp_path):
    log = tmp_path / "probed.txt"
    fresh.setenv(backend.WINDOW_ENV, "vtkXOpenGLRenderWindow")
    fresh.setenv(backend.PROBE_ENV, probe_command(RECORDING_PROBE, log, "vtkEGLRenderWindow"))
    with pytest.raises(RenderError, match="VTK_DEFAULT_OPENGL_WINDOW=vtkXOpenGLRenderWindow cannot render"):
        backend.ensure_offscreen()
    assert probed(log) == ["vtkXOpenGLRenderWindow"]


def test_a_failing_probe_reports_its_last_line(fresh):
    fresh.setenv(backend.PROBE_ENV, probe_command("import sys; sys.exit('libEGL.so.1: cannot open')"))
    with pytest.raises(RenderError, match=r"EGL failed \(libEGL.so.1: cannot open\)"):
        backend.ensure_offscreen()


def test_the_real_probe_finds_a_backend_here(fresh):
    try:
        window = backend.ensure_offscreen()
    except RenderError as error:
        pytest.skip(f"no off-screen OpenGL on this machine: {error}")
    assert window in backend.WINDOWS


def test_a_probe_started_ahead_is_the_one_ensure_offscreen_waits_for(fresh, tmp_path):
    """open_film starts the probe before importing PyVista; ensure_offscreen then takes its answer, not a new one."""
    log = tmp_path / "probed.txt"
    fresh.setenv(backend.PROBE_ENV, probe_command(RECORDING_PROBE, log, "vtkEGLRenderWindow"))
    backend.start_probe()
    backend.start_probe()  # one probe under way is enough
    assert backend.ensure_offscreen() == "vtkEGLRenderWindow"
    assert probed(log) == ["vtkEGLRenderWindow"]
    backend.start_probe()  # verified now: nothing more starts
    assert backend.ensure_offscreen() == "vtkEGLRenderWindow" and probed(log) == ["vtkEGLRenderWindow"]
    assert not backend._STARTED
