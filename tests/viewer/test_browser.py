"""The viewer page in a real browser: headless Chromium opens the file and is driven as a person would.

No console errors, nothing fetched, a canvas that is drawn, a ball that moves
with the slider (and nothing else in the picture moves), a HUD that prints the
landscape file's numbers, the keyboard, the camera presets, the mouse orbit,
the hover read-out, a race's legend, and the odd landscapes. Skipped, with
one line saying why, where no Chromium can be had (.ci/run installs it).

One browser serves the module. A load costs seconds, so the tests that check
what opening does (drawn, no errors, the step a link names) load the page,
and the tests that set their own step, camera or speed revisit it: the same
page put back as it opens (``Browser.revisit``).
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

from lossfilm.format.errors import LossfilmWarning
from lossfilm.render.overlays.hud import format_loss
from lossfilm.render.overlays.sharpness_view import measured_at
from lossfilm.viewer.page import view
from tests.viewer import landscapes
from tests.viewer.browser import Browser, why_no_browser

pytestmark = [pytest.mark.slow, pytest.mark.skipif(why_no_browser() is not None, reason=str(why_no_browser()))]

BALL_DARK = np.array([0x2E, 0xE6, 0xFF])  # the dark theme's ball (render/elements/theme.py)


@pytest.fixture(scope="module")
def browser():
    with Browser() as opened:
        yield opened


@pytest.fixture(scope="module")
def bowl_page(tmp_path_factory):
    land = landscapes.bowl(sharpness=True)
    path = tmp_path_factory.mktemp("viewer") / "bowl.html"
    view(land, path)
    return land, path


def expected_hud(land, index):
    """The HUD's lines at path point ``index``, from the landscape's own numbers and the film's formats."""
    step, epoch = float(land.path_steps[index]), float(land.path_epochs[index])
    lines = [f"step {int(round(step)):,}" + (f"   epoch {epoch:.2f}" if math.isfinite(epoch) else "")]
    if math.isfinite(land.path_loss_true[index]):
        lines.append(f"loss {format_loss(float(land.path_loss_true[index]))}")
    lines.append(f"loss on the plane {format_loss(float(land.path_loss_plane[index]))}")
    if math.isfinite(land.path_accuracy[index]):
        lines.append(f"accuracy {100 * float(land.path_accuracy[index]):.1f}%")
    if land.sharpness is not None:
        lines.append(f"lambda_max {format_loss(measured_at(land.sharpness_steps, land.sharpness, step))}")
    return lines


def plot_area(browser, image):
    """The screenshot without the HUD box and the controls bar (text that changes with the step)."""
    hud = browser.evaluate("(() => { const r = document.getElementById('hud').getBoundingClientRect(); "
                           "return [r.right, r.bottom]; })()")
    mask = np.ones(image.shape[:2], bool)
    mask[:int(hud[1]) + 4, :int(hud[0]) + 4] = False
    mask[-52:, :] = False
    return mask


def ball_pixels(image, colour=BALL_DARK, tolerance=40):
    return np.linalg.norm(image.astype(float) - colour, axis=2) < tolerance


def test_the_page_opens_drawn_without_errors_and_fetches_nothing(browser, bowl_page):
    land, path = bowl_page
    browser.open(path)
    assert browser.errors() == []
    assert all(url.startswith(("file://", "data:", "blob:")) for url in browser.requests()), browser.requests()
    image = browser.screenshot()
    plot = image[plot_area(browser, image)]
    background = np.array([0x0E, 0x11, 0x17])
    assert (np.abs(plot.astype(int) - background).max(axis=1) > 30).mean() > 0.05  # a surface (~12% here), not a blank canvas (0)
    assert len(np.unique(plot.reshape(-1, 3), axis=0)) > 500  # shaded, not one flat colour
    assert browser.evaluate("window.lossfilmViewer.frames") == len(land.path_alpha)


def test_the_slider_moves_the_ball_and_nothing_else(browser, bowl_page):
    land, path = bowl_page
    browser.revisit(path)
    shots = []
    for frame in (40, 46):
        browser.evaluate(f"(() => {{ const s = document.getElementById('step'); s.value = {frame}; "
                         "s.dispatchEvent(new Event('input')); return 0; })()")
        browser.evaluate("window.lossfilmViewer.show(window.lossfilmViewer.frame())")
        browser.settle()
        shots.append(browser.screenshot())
    mask = plot_area(browser, shots[0])
    balls = [np.argwhere(ball_pixels(shot) & mask) for shot in shots]
    assert all(len(b) > 20 for b in balls), "the ball is not on screen"
    centres = [b.mean(axis=0) for b in balls]
    assert np.linalg.norm(centres[1] - centres[0]) > 8, "the ball did not move"
    changed = (np.abs(shots[0].astype(int) - shots[1].astype(int)).max(axis=2) > 24) & mask
    rows, cols = np.nonzero(changed)
    both = np.vstack(balls)
    margin = 25  # the trail between the two balls, the ball's outline and its anti-aliasing
    lo, hi = both.min(axis=0) - margin, both.max(axis=0) + margin
    outside = (rows < lo[0]) | (rows > hi[0]) | (cols < lo[1]) | (cols > hi[1])
    assert outside.sum() <= 20, f"{outside.sum()} pixels changed away from the ball, e.g. at {rows[outside][:5]}, " \
                                f"{cols[outside][:5]}"


def test_the_hud_prints_the_landscape_file_s_numbers(browser, bowl_page):
    land, path = bowl_page
    browser.open(path, "step=12")
    assert browser.evaluate("window.lossfilmViewer.frame()") == 12
    for frame in (12, 0, 57, len(land.path_alpha) - 1):
        browser.evaluate(f"window.lossfilmViewer.show({frame})")
        assert browser.evaluate("window.lossfilmViewer.hud()").splitlines() == expected_hud(land, frame)


def test_the_page_formats_numbers_as_the_film_does(browser, bowl_page):
    browser.revisit(bowl_page[1])
    values = [0.23456, 2.3e-5, 4.2e300, 0.5, 1234.4, 99999.0, 1e6, 0.001, -0.0123, 12.5, 0.00099951, 999.4,
              0.5625, 0.5635, 2.375, 1234.5, 1235.5, 0.0, 999.96, 12.25]  # exact halves round to even, as Python
    printed = browser.evaluate(f"{values}.map(window.lossfilmViewer.formatLoss)")
    assert printed == [format_loss(v) for v in values]
    epochs = [0.125, 0.375, 2.625, 3.14159, 0.0, 46.865, 1 / 3]
    assert browser.evaluate(f"{epochs}.map(v => window.lossfilmViewer.fixed(v, 2))") == [f"{v:.2f}" for v in epochs]
    percent = [88.75, 97.25, 50.05, 99.95, 100.0]
    assert browser.evaluate(f"{percent}.map(v => window.lossfilmViewer.fixed(v, 1))") == [f"{v:.1f}" for v in percent]


def test_keyboard_plays_and_steps(browser, bowl_page):
    browser.revisit(bowl_page[1], "step=30")
    browser.key("ArrowRight", "ArrowRight", 39)
    assert browser.evaluate("window.lossfilmViewer.frame()") == 31
    browser.key("ArrowLeft", "ArrowLeft", 37)
    browser.key("ArrowLeft", "ArrowLeft", 37)
    assert browser.evaluate("window.lossfilmViewer.frame()") == 29
    browser.evaluate("document.getElementById('speed').value = '0.25'")  # the run then plays for 48 s
    browser.key(" ", "Space", 32)
    assert browser.evaluate("window.lossfilmViewer.playing()")
    browser.wait_for("window.lossfilmViewer.frame() > 29")  # it plays forward
    browser.key(" ", "Space", 32)
    assert not browser.evaluate("window.lossfilmViewer.playing()")
    assert browser.errors() == []


def test_camera_presets_and_the_mouse_turn_the_view(browser, bowl_page):
    browser.revisit(bowl_page[1])
    eye = "JSON.parse(JSON.stringify(document.getElementById('plot')._fullLayout.scene.camera.eye))"
    before = browser.evaluate(eye)
    browser.drag((600, 420), (700, 400), steps=3)
    browser.settle()
    after = browser.evaluate(eye)
    assert max(abs(after[k] - before[k]) for k in "xyz") > 0.05, "dragging did not turn the surface"
    browser.evaluate("document.querySelector('[data-camera=top]').click(); 0")
    browser.settle()
    top = browser.evaluate(eye)
    assert top["z"] > 2.0 and abs(top["x"]) < 1e-6 and abs(top["y"]) < 1e-6
    assert browser.errors() == []


def test_hovering_the_surface_reads_out_a_b_and_the_loss(browser, bowl_page):
    land, path = bowl_page
    browser.revisit(path, "step=0")
    for x, y in ((600, 470), (560, 440), (650, 480)):
        browser.mouse("mouseMoved", x, y)
        browser.settle()
        try:
            browser.wait_for("document.getElementById('readout').textContent.startsWith('a ')", timeout=10)
            break
        except TimeoutError:
            continue
    text = browser.evaluate("document.getElementById('readout').textContent")
    match = re.fullmatch(r"a (\S+)\s+b (\S+)\s+loss (\S+)", text)
    assert match, text
    a, b = float(match.group(1)), float(match.group(2))
    i, j = np.argmin(np.abs(land.alphas - a)), np.argmin(np.abs(land.betas - b))
    assert match.group(3) == format_loss(float(np.float32(land.loss[i, j])))


def test_a_race_shows_every_racer_on_one_slider(browser, tmp_path):
    land = landscapes.race()
    view(land, tmp_path / "race.html")
    browser.open(tmp_path / "race.html", "step=9")
    legend = browser.evaluate("Array.from(document.querySelectorAll('.legendtext')).map(e => e.textContent)")
    assert legend == ["sgd", "adam"]
    hud = browser.evaluate("window.lossfilmViewer.hud()").splitlines()
    assert hud[0].startswith("step ") and [line.split()[0] for line in hud[1:]] == ["sgd", "adam"]
    step = int(hud[0].split()[1].replace(",", ""))
    for line, name in zip(hud[1:], ("sgd", "adam")):
        own = land.path_slices()[name]
        k = own[max(0, np.searchsorted(land.path_steps[own], step, side="right") - 1)]
        assert line.split("loss ")[1] == format_loss(float(land.path_loss_true[k]))
    assert browser.errors() == []


@pytest.mark.parametrize("make, says", [
    (landscapes.without_path, "no path in this landscape"),
    (landscapes.with_holes, "step "),
    (landscapes.flat, "step "),
    (lambda: landscapes.bowl(resolution=1201), "step "),
])
def test_odd_landscapes_open_without_errors(browser, tmp_path, make, says):
    land = make()
    path = tmp_path / "odd.html"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LossfilmWarning)  # the huge grid's thinning: said on the page, checked below
        view(land, path)
    browser.open(path)
    assert browser.errors() == []
    assert browser.evaluate("window.lossfilmViewer.hud()").startswith(says)
    image = browser.screenshot()
    plot = image[plot_area(browser, image)]
    assert len(np.unique(plot.reshape(-1, 3), axis=0)) > 50
    notice = browser.evaluate("document.getElementById('notice').textContent")
    assert ("more than the viewer draws" in notice) == (len(land.alphas) > 201)
