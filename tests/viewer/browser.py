"""Headless Chromium, driven over the DevTools protocol, for the viewer's tests and bench (not a test).

The viewer is a web page: the only honest test opens it in a real browser.
:class:`Browser` starts Debian's ``chromium`` headless with software WebGL
(SwiftShader), opens one page and talks to it over a websocket
(``websocket-client``): evaluate script, take screenshots, move the mouse,
press keys, and collect every console error and uncaught exception.

:func:`chromium` is None where no Chromium can be had; the tests then skip
with one line saying so (``.ci/run`` installs it with apt where it can).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

SIZE = (1200, 800)


def chromium():
    """The Chromium executable's path, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def why_no_browser():
    """One line saying why the browser tests cannot run here, or None when they can."""
    if chromium() is None:
        return "no Chromium here (Debian: apt-get install chromium; .ci/run installs it)"
    try:
        import websocket  # noqa: F401
    except ImportError:
        return "websocket-client is not installed (pip install -e '.[test]')"
    return None


class Browser:
    """One headless Chromium with one page; use as a context manager.

    Parameters
    ----------
    size : (int, int)
        The page's width and height in CSS pixels (device scale 1).
    """

    def __init__(self, size=SIZE, timeout=60.0):
        import websocket

        self.size = size
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="lossfilm-chromium-")
        self.process = subprocess.Popen(
            [chromium(), "--headless=new", "--no-sandbox", "--use-gl=swiftshader", "--use-angle=swiftshader",
             "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--mute-audio", "--hide-scrollbars",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0", f"--window-size={size[0]},{size[1]}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = self._port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            pages = [t for t in json.load(answer) if t.get("type") == "page"]
        self.socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=timeout,
                                                  suppress_origin=True)
        self.next_id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1,
                  mobile=False)

    def _port(self):
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self.process.returncode} before it listened")
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port within 30 s")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def send(self, method, **params):
        """Call one DevTools method and return its result (events met meanwhile are kept in ``events``)."""
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression):
        """The value of a script expression in the page (a promise is awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def open(self, path, fragment=""):
        """Open the file at ``path`` and wait until the viewer says it is drawn."""
        url = Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")
        # by way of a blank page: a new fragment alone would not load the page again
        self.send("Page.navigate", url="about:blank")
        self.wait_for("location.href === 'about:blank'")
        self.send("Page.navigate", url=url)
        self.wait_for("document.body && document.body.dataset.ready === '1'")
        self.settle()

    def revisit(self, path, fragment=""):
        """Show the file at ``path`` as :meth:`open` would, without loading it again when it is the page open now.

        Loading the viewer costs seconds (the browser compiles plotly.js anew each time), so the tests that set
        the state they check share one load: the page is put back as it opens, at the step ``fragment`` names
        (``step=N``) or the last, paused at 1x speed, with the opening camera and no hover read-out.
        """
        url = Path(path).resolve().as_uri()
        if not self.evaluate(f"location.href.split('#')[0] === {json.dumps(url)} && "
                             "document.body !== null && document.body.dataset.ready === '1'"):
            self.open(path, fragment)
            return
        step = dict(part.split("=") for part in fragment.split("&") if part).get("step")
        self.mouse("mouseMoved", 1, 1)  # off the surface: plotly drops its hover label
        self.evaluate("(async () => { const v = window.lossfilmViewer; v.pause(); "
                      "document.getElementById('speed').value = '1'; "
                      "await v.camera('three-quarter'); "
                      f"await v.show({int(step) if step is not None else 'v.frames - 1'}); "
                      "document.getElementById('readout').textContent = ''; return 0; })()")
        self.settle()

    def wait_for(self, condition, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            try:
                if self.evaluate(f"Boolean({condition})"):
                    return
            except RuntimeError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the page never had {condition} (errors: {self.errors()})")

    def settle(self, frames=3):
        """Let the page draw a few frames (WebGL draws on the next animation frame)."""
        self.evaluate("new Promise(r => { let n = %d; const f = () => --n ? requestAnimationFrame(f) : r(); "
                      "requestAnimationFrame(f); })" % frames)

    def screenshot(self):
        """The page as an (H, W, 3) uint8 array."""
        from PIL import Image

        data = self.send("Page.captureScreenshot", format="png")["data"]
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))

    def save_screenshot(self, path):
        data = self.send("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def mouse(self, kind, x, y, button="none", buttons=0):
        self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button=button, buttons=buttons, clickCount=1)

    def drag(self, start, end, steps=10):
        """Press the left button at ``start``, move to ``end`` in ``steps``, release."""
        self.mouse("mouseMoved", *start)
        self.mouse("mousePressed", *start, button="left", buttons=1)
        for k in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * k / steps
            y = start[1] + (end[1] - start[1]) * k / steps
            self.mouse("mouseMoved", x, y, button="left", buttons=1)
        self.mouse("mouseReleased", *end, button="left", buttons=0)

    def key(self, key, code, key_code):
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=code, windowsVirtualKeyCode=key_code,
                      text=" " if key == " " and kind == "keyDown" else "")

    def requests(self):
        """The URLs the page has asked for (the page itself included)."""
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def errors(self):
        """Console errors and uncaught exceptions the page has had, as lines."""
        lines = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                lines.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                lines.append("console.error: " + " ".join(str(a.get("value", a.get("description")))
                                                          for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                lines.append(f"log: {params['entry'].get('text')}")
        return lines


def environment_note():
    """What rendered the page, for a bench's table: the browser's version and the load."""
    version = subprocess.run([chromium(), "--version"], capture_output=True, text=True).stdout.strip()
    return f"{version}, software WebGL (SwiftShader), load {os.getloadavg()[0]:.2f}"
