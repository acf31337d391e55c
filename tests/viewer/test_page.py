"""The viewer page as a file: what it holds, its size, its provenance, bad input, and notebook display.

The page in a real browser is tests/viewer/test_browser.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lossfilm
from lossfilm.cli import main
from lossfilm.format.errors import ConfigError, LossfilmWarning
from lossfilm.viewer.notebook import ShownFilm, ShownStill, iframe, shown
from lossfilm.viewer.page import page_html, view
from lossfilm.viewer.scene_data import MAX_PATH_POINTS, MAX_SIDE, viewer_data
from tests.viewer import landscapes

REPO = Path(__file__).resolve().parents[2]
BUDGET = 6_000_000  # bytes, for a 101x101 grid with 1,000 path points (the size budget)


def test_a_101_grid_with_1000_points_fits_the_size_budget_and_says_what_it_holds(tmp_path):
    page = view(landscapes.bowl(resolution=101, snapshots=1000), tmp_path / "land.html")
    size = (tmp_path / "land.html").stat().st_size
    assert size == page.bytes <= BUDGET
    assert set(page.parts) == {"plotly", "data", "viewer", "css", "provenance", "page"}
    assert page.parts["plotly"] > 1_000_000 and 50_000 < page.parts["data"] < 1_000_000
    assert "plotly.js" in str(page) and "landscape data" in str(page)


def test_the_page_fetches_nothing_and_carries_its_library_and_licence(tmp_path):
    view(landscapes.bowl(), tmp_path / "land.html")
    text = (tmp_path / "land.html").read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text)  # no external resources at all
    assert "Licensed under the MIT license" in text  # the bundle's own header, kept
    licence = REPO / "lossfilm" / "viewer" / "vendor" / "LICENSE-plotly.js.txt"
    assert licence.read_text().startswith("MIT License")


def test_the_provenance_is_in_the_head_and_inspect_reads_it(tmp_path, capsys):
    path = tmp_path / "bowl.npz"
    landscapes.bowl().save(path)
    out = tmp_path / "land.html"
    assert main(["view", "--landscape", str(path), "-o", str(out), "--theme", "light", "--quiet"]) == 0
    text = out.read_text()
    assert text.index('id="lossfilm-provenance"') < text.index("plotly.js (gl3d")
    assert main(["inspect", str(out), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["call"] == "view" and made["settings"]["theme"] == "light"
    assert made["landscape"]["path"] == "bowl.npz" and made["landscape"]["key"] == \
        lossfilm.Landscape.load(path).key
    assert made["command"].startswith("lossfilm view --landscape")
    assert main(["inspect", str(out)]) == 0
    assert "call       lossfilm.view(log_z=False, theme='light', title=None)" in capsys.readouterr().out
    again = tmp_path / "again.html"
    assert main(["reproduce", str(out), "-o", str(again), "--quiet"]) == 0
    assert _data(again.read_text()) == _data(text)  # the same page; only its provenance's command differs


def test_a_page_without_lossfilm_provenance_is_refused_in_one_line(tmp_path, capsys):
    page = tmp_path / "other.html"
    page.write_text("<html><script>alert(1)</script></html>")
    assert main(["inspect", str(page)]) == 2
    assert "carries no lossfilm provenance" in capsys.readouterr().err


def test_names_from_the_file_cannot_close_the_script_they_travel_in(tmp_path):
    land = landscapes.race()
    land.path_names = ("</script><script>alert(1)</script>", "adam")
    land.settings = {"optimizer": "<b>sgd</b>"}
    text, _ = page_html(land)
    assert "</script><script>alert" not in text and "<b>sgd" not in text


def test_writing_a_page_loads_no_pyvista(tmp_path):
    code = ("import sys; sys.path.insert(0, '.'); import lossfilm; from tests.viewer import landscapes; "
            f"lossfilm.view(landscapes.bowl(), {str(tmp_path / 'a.html')!r}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyvista', 'vtk', 'vtkmodules', 'imageio')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_page_uses_the_film_s_colours_and_heights():
    from lossfilm.render.elements.surface import Relief
    from lossfilm.render.elements.theme import colormap, get_theme

    land = landscapes.bowl()
    for theme in ("dark", "light"):
        data = viewer_data(land, theme=theme, log_z=True)
        stops = data["theme"]["colorscale"]
        cmap = colormap(get_theme(theme))
        assert stops[0][1] == "#" + "".join(f"{round(255 * c):02x}" for c in cmap(0.0)[:3])
        assert stops[-1][1] == "#" + "".join(f"{round(255 * c):02x}" for c in cmap(1.0)[:3])
        assert data["surface"]["top"] == pytest.approx(Relief.of(land, log_z=True).top)
        assert data["axes"]["z"] == "loss (log scale)" and data["axes"]["x"] == land.axis_label(0)


def test_a_huge_grid_and_a_long_path_are_thinned_with_a_warning_within_the_budget(tmp_path):
    land = landscapes.bowl(resolution=1201, snapshots=3 * MAX_PATH_POINTS)
    with pytest.warns(LossfilmWarning) as caught:
        page = view(land, tmp_path / "huge.html")
    said = " ".join(str(w.message) for w in caught)
    assert "1201x1201 nodes are more than the viewer draws" in said and "path points" in said
    assert page.bytes <= BUDGET
    text = (tmp_path / "huge.html").read_text()
    shape = json.loads(re.search(r'"shape":(\[\d+,\d+\])', text).group(1))
    assert max(shape) <= MAX_SIDE


def test_the_command_refuses_bad_input_in_one_line_and_keeps_an_earlier_page(tmp_path, capsys):
    path = tmp_path / "bowl.npz"
    landscapes.bowl().save(path)
    out = tmp_path / "land.html"
    out.write_text("an earlier page")
    cases = [(["--landscape", str(tmp_path / "missing.npz")], "no such landscape file"),
             (["--landscape", str(path), "-o", str(tmp_path / "land.png")], "expected an .html file to write"),
             (["--landscape", str(tmp_path / "nowhere" / "x.npz")], "no such landscape file")]
    for argv, problem in cases:
        argv = ["view", *argv] + ([] if "-o" in argv else ["-o", str(out)])
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("lossfilm view: error:") and problem in err[0]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not an npz")
    assert main(["view", "--landscape", str(bad), "-o", str(out)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert out.read_text() == "an earlier page"
    with pytest.raises(ConfigError, match="theme 'sepia': expected one of dark, light"):
        view(landscapes.bowl(), out, theme="sepia")
    assert out.read_text() == "an earlier page"


@pytest.mark.parametrize("make", [landscapes.without_path, landscapes.with_holes, landscapes.flat])
def test_odd_landscapes_make_a_page(make, tmp_path):
    page = view(make(), tmp_path / "odd.html")
    assert page.bytes < BUDGET
    text = (tmp_path / "odd.html").read_text()
    data = _data(text)
    assert np.isfinite(data["surface"]["top"]) and np.isfinite(data["surface"]["floor_z"])


def _data(text):
    """The numbers a page draws, read back from its JSON element."""
    return json.loads(re.search(r'<script type="application/json" id="lossfilm-data">(.*?)</script>', text,
                                re.S).group(1))


# --- notebooks ---------------------------------------------------------------------------------

def test_a_landscape_displays_as_the_viewer_in_ipython():
    # in a child: an IPython shell changes process-wide state (builtins, hooks) that other tests should not see
    code = ("import sys; sys.path.insert(0, '.'); from IPython.core.interactiveshell import InteractiveShell; "
            "shell = InteractiveShell.instance(); import lossfilm; from tests.viewer import landscapes; "
            "formats, _ = shell.display_formatter.format(landscapes.bowl()); html = formats['text/html']; "
            "print(html.startswith('<iframe srcdoc='), 'lossfilm-provenance' in html)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_a_still_is_its_frame_index_and_shows_its_png(tmp_path):
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    still = ShownStill(41, png)
    assert still == 41 and still + 1 == 42 and isinstance(still, int)
    assert still._repr_png_() == png.read_bytes()


def test_a_film_is_its_summary_and_shows_its_video(tmp_path):
    from lossfilm.render.filming.deliver import RenderSummary

    mp4 = tmp_path / "a.mp4"
    mp4.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    summary = RenderSummary(path=str(mp4), format="mp4", frames=3, size=(64, 48), fps=30, seconds=1.0, bytes=12)
    film = shown(summary)
    assert isinstance(film, ShownFilm) and film == ShownFilm.of(summary) and str(film) == str(summary)
    assert film._repr_html_().startswith('<video src="data:video/mp4;base64,')
    both = shown([summary, summary])
    assert len(both) == 2 and both._repr_html_().count("<video") == 2


def test_iframe_escapes_the_page():
    assert '"' not in iframe('<a href="x">')[len('<iframe srcdoc="'):].split('" style')[0]
