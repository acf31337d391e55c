"""The viewer's size and speed in a real browser: headless Chromium, software WebGL (SwiftShader).

For the demo's landscape (``media/cache/landscape.npz``, made by ``lossfilm
demo``, where it exists) and a 101x101 grid with 1,000 path points, it
writes the viewer page and measures:

- the file's size and each part's (plotly.js, the landscape's numbers, the script, ...);
- the time from opening the file to the drawn page;
- frames per second while the camera turns a full circle (a new camera every frame);
- frames per second while the run plays (a new ball and trail every frame).

``--screenshots media/`` writes the README's pictures of the viewer instead.
``--three FOLDER`` (an unpacked ``npm pack three``) adds the same surface
drawn by a bare three.js page (surface with vertex colours, two lights, the
path, the ball; no floor, HUD or controls) for the comparison the README
gives. Run from the repository root::

    python -m tests.bench_viewer [--three package/]

Not collected by pytest. Software WebGL on a loaded CPU is far slower than
any GPU browser: compare the rows with each other, not with a laptop.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEMO = REPO / "media" / "cache" / "landscape.npz"
SECONDS = 5.0  # of orbiting, and of playing


def measure(browser, path):
    """Open ``path`` and time it, then orbit and play it; returns a dict of numbers."""
    started = time.perf_counter()
    browser.open(path)
    opened = time.perf_counter() - started
    orbit = browser.evaluate(f"window.lossfilmViewer.orbitBench({int(SECONDS * 1000)})")
    frames = browser.evaluate("window.lossfilmViewer.frames")
    played = browser.evaluate("""(async () => {
        const v = window.lossfilmViewer; await v.show(0);
        let shown = 0, last = v.frame();
        document.getElementById('speed').value = '0.25';
        v.play();
        const start = performance.now();
        while (performance.now() - start < %d && v.playing()) {
            await new Promise(r => requestAnimationFrame(r));
            if (v.frame() !== last) { shown++; last = v.frame(); }
        }
        v.pause();
        return {shown: shown, seconds: (performance.now() - start) / 1000};
    })()""" % int(SECONDS * 1000))
    errors = browser.errors()
    return {"open_s": opened, "orbit_fps": orbit["fps"], "play_fps": played["shown"] / played["seconds"],
            "frames": frames, "errors": errors}


THREE_PAGE = """<!DOCTYPE html><html><body style="margin:0;background:#0e1117">
<script type="text/plain" id="core">%(core)s</script>
<script type="text/plain" id="module">%(module)s</script>
<script>
(async () => {
  const core = URL.createObjectURL(new Blob([document.getElementById('core').textContent], {type: 'text/javascript'}));
  const moduleText = document.getElementById('module').textContent.replaceAll("'./three.core.js'", "'" + core + "'");
  const THREE = await import(URL.createObjectURL(new Blob([moduleText], {type: 'text/javascript'})));
  const n = %(n)d, z = %(z)s, colours = %(colours)s, path = %(path)s;
  const renderer = new THREE.WebGLRenderer({antialias: true});
  renderer.setSize(innerWidth, innerHeight); document.body.appendChild(renderer.domElement);
  const scene = new THREE.Scene(), camera = new THREE.PerspectiveCamera(35, innerWidth / innerHeight, 0.01, 100);
  const geometry = new THREE.PlaneGeometry(2, 1.6, n - 1, n - 1), position = geometry.attributes.position;
  const colour = new Float32Array(position.count * 3);
  for (let k = 0; k < position.count; k++) { position.setZ(k, z[k]); colour.set(colours.slice(3 * k, 3 * k + 3), 3 * k); }
  geometry.setAttribute('color', new THREE.BufferAttribute(colour, 3)); geometry.computeVertexNormals();
  scene.add(new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({vertexColors: true, roughness: 0.6, side: THREE.DoubleSide})));
  scene.add(new THREE.Line(new THREE.BufferGeometry().setFromPoints(path.map(p => new THREE.Vector3(p[0], p[1], p[2]))),
                           new THREE.LineBasicMaterial({color: 0x7deeff})));
  const ball = new THREE.Mesh(new THREE.SphereGeometry(0.03, 24, 16), new THREE.MeshStandardMaterial({color: 0x2ee6ff}));
  ball.position.set(...path[path.length - 1]); scene.add(ball);
  scene.add(new THREE.AmbientLight(0xffffff, 0.5)); const light = new THREE.DirectionalLight(0xffffff, 1.5);
  light.position.set(-1, 1, 2); scene.add(light);
  camera.up.set(0, 0, 1);
  const aim = (t) => { camera.position.set(3.2 * Math.cos(t), 3.2 * Math.sin(t), 2.2); camera.lookAt(0, 0, 0.3); };
  aim(0); renderer.render(scene, camera);
  window.orbitBench = async (ms) => {
    let count = 0; const start = performance.now();
    while (performance.now() - start < ms) {
      aim(2 * Math.PI * (performance.now() - start) / ms); renderer.render(scene, camera);
      await new Promise(r => requestAnimationFrame(r)); count++;
    }
    return {frames: count, fps: count / ((performance.now() - start) / 1000)};
  };
  document.body.dataset.ready = '1';
})();
</script></body></html>"""


def three_page(folder, land, out):
    """A bare three.js page of the same surface (see the module's docstring); returns its size in bytes."""
    from lossfilm.render.elements.surface import Relief
    from lossfilm.render.elements.theme import colormap, get_theme

    build = Path(folder) / "build"
    relief = Relief.of(land)
    heights = relief.z(land.loss)  # (R1, R2)
    n = len(land.alphas)
    # PlaneGeometry's vertices run along x first, rows from +y down to -y
    z = heights[:, ::-1].T.ravel()
    colours = colormap(get_theme("dark"))(np.clip(z / max(relief.top, 1e-12), 0, 1))[:, :3].ravel()
    path = np.c_[land.path_alpha, land.path_beta * 1.6 / np.ptp(land.betas), relief.z(land.path_loss_plane) + 0.01]
    text = THREE_PAGE % {"core": (build / "three.core.js").read_text(), "module": (build / "three.module.js").read_text(),
                         "n": n, "z": np.round(z, 5).tolist(), "colours": np.round(colours, 4).tolist(),
                         "path": np.round(path, 5).tolist()}
    Path(out).write_text(text)
    return len(text.encode())


def screenshots(folder, steps=(0.1, 0.65), size=(1000, 640)):
    """The README's pictures: the demo's viewer, dark and light, at two points of the run (fractions)."""
    from lossfilm.format.landscape import Landscape
    from lossfilm.viewer.page import view
    from tests.viewer.browser import Browser

    land = Landscape.load(DEMO)
    with tempfile.TemporaryDirectory() as scratch, Browser(size=size) as browser:
        for theme in ("dark", "light"):
            page = Path(scratch) / f"{theme}.html"
            view(land, page, theme=theme)
            for fraction in steps:
                frame = int(round(fraction * (len(land.path_alpha) - 1)))
                browser.open(page, f"step={frame}")
                out = Path(folder) / f"viewer-{theme}-step{int(land.path_steps[frame])}.png"
                browser.save_screenshot(out)
                print(out, browser.errors() or "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--three", metavar="FOLDER", help="an unpacked `npm pack three`, for the comparison")
    parser.add_argument("--screenshots", metavar="FOLDER", help="only write the README's screenshots there")
    args = parser.parse_args(argv)
    if args.screenshots:
        return screenshots(args.screenshots)
    from lossfilm.format.landscape import Landscape
    from lossfilm.viewer.page import view
    from tests.viewer import landscapes
    from tests.viewer.browser import Browser, environment_note, why_no_browser

    if why_no_browser():
        print(f"skipped: {why_no_browser()}")
        return
    cases = []
    if DEMO.is_file():
        cases.append(("demo landscape", Landscape.load(DEMO)))
    else:
        print(f"(no {DEMO.relative_to(REPO)}: run `lossfilm demo` first to bench the demo's landscape)")
    grid = landscapes.bowl(resolution=101, snapshots=1000)
    cases.append(("101x101, 1,000 path points", grid))
    rows = []
    with tempfile.TemporaryDirectory() as folder, Browser() as browser:
        for name, land in cases:
            path = Path(folder) / "page.html"
            page = view(land, path)
            numbers = measure(browser, path)
            grid_shape = "x".join(map(str, land.loss.shape))
            rows.append((f"plotly.js viewer, {name} ({grid_shape}, {len(land.path_alpha)} points)", page.bytes,
                         page.parts, numbers))
            print(f"{name}: {page}", flush=True)
        if args.three:
            path = Path(folder) / "three.html"
            size = three_page(args.three, grid, path)
            started = time.perf_counter()
            browser.open(path)
            opened = time.perf_counter() - started
            orbit = browser.evaluate(f"window.orbitBench({int(SECONDS * 1000)})")
            rows.append(("bare three.js page, 101x101, 1,000 path points", size, {},
                         {"open_s": opened, "orbit_fps": orbit["fps"], "play_fps": float("nan"), "frames": 0,
                          "errors": browser.errors()}))
    print(f"\n{time.strftime('%Y-%m-%d')}, {environment_note()}, {os.cpu_count()} cores, page 1200x800\n")
    print("| page | file | of which data | open (s) | orbit (frames/s) | play (frames/s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, size, parts, n in rows:
        data = f"{parts['data'] / 1e6:.2f} MB" if parts else "(inline)"
        print(f"| {name} | {size / 1e6:.2f} MB | {data} | {n['open_s']:.1f} | {n['orbit_fps']:.1f} | "
              f"{n['play_fps']:.1f} |" + (f" errors: {n['errors']}" if n["errors"] else ""))


if __name__ == "__main__":
    main()
