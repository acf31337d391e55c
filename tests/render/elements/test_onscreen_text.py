"""The numbers and words on screen, read back from the text actors, against the landscape's own data.

The image tests catch geometry; these catch a HUD that shows a loss 7x too
large, a wrong explained variance or a legend that mixes up its racers, in
every bundled scene (descent, orbit, race, classic, line).
"""

import numpy as np
import pytest

from lossfilm.format.landscape import Landscape
from lossfilm.render.filming.film import FilmSpec, open_film
from lossfilm.scenes import scene_class
from tests.helpers import bowl_landscape, himmelblau_landscape, line_landscape, race_landscape


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    bowl = bowl_landscape(resolution=15, snapshots=30)
    bowl.save(root / "bowl.npz")
    bowl.settings = dict(bowl.settings, plane={"centred": True})
    bowl.save(root / "centred.npz")
    race_landscape(root / "race.npz")
    himmelblau_landscape(root / "classic.npz", resolution=15)
    line_landscape(root / "line.npz")
    return {name: str(root / f"{name}.npz") for name in ("bowl", "centred", "race", "classic", "line")}


def texts_at(path, scene, frame):
    """Every visible text on screen at ``frame`` (negative: from the end), and the scalar bar's title and ticks."""
    with open_film(FilmSpec(scene_class(scene), path, size=(320, 240), fps=5)) as film:
        film.frame(frame % film.n_frames)
        texts, bar = [], None
        for renderer in film.plotter.renderers:
            props = renderer.GetViewProps()
            for i in range(props.GetNumberOfItems()):
                prop = props.GetItemAsObject(i)
                if type(prop).__name__.endswith("ScalarBarActor"):
                    labels = prop.GetCustomLabels()
                    bar = (prop.GetTitle(), [labels.GetValue(k) for k in range(labels.GetNumberOfValues())])
                elif hasattr(prop, "GetInput") and isinstance(prop.GetInput(), str) and prop.GetVisibility():
                    texts.append(prop.GetInput().strip())
    return texts, bar


def g3(value):
    return f"{value:.3g}"


@pytest.mark.parametrize("frame, index", [(0, 0), (-1, -1)])
def test_descent_hud_shows_the_paths_own_step_loss_and_accuracy(files, frame, index):
    land = Landscape.load(files["bowl"])
    texts, _ = texts_at(files["bowl"], "descent", frame)
    counters = next(t for t in texts if t.startswith("step "))
    true, plane = land.path_loss_true[index], land.path_loss_plane[index]
    assert counters.splitlines() == [
        f"step {int(land.path_steps[index]):,}   epoch {land.path_epochs[index]:.2f}",
        f"loss {g3(true)}" + (f"   (on plane {g3(plane)})" if abs(plane - true) > 0.02 * abs(true) else ""),
        f"accuracy {100 * land.path_accuracy[index]:.1f}%"]
    if index == -1:  # the end's label appears when the ball arrives
        assert f"end: loss {g3(land.path_loss_true[-1])}" in texts


@pytest.mark.parametrize("name, words", [("bowl", "uncentred ({:.1f}% of sq. offsets)"),
                                         ("centred", "centred ({:.1f}% of variance)")])
@pytest.mark.parametrize("scene", ["descent", "orbit"])
def test_axis_labels_state_the_pca_convention_and_the_explained_share(files, scene, name, words):
    land = Landscape.load(files[name])
    texts, bar = texts_at(files[name], scene, -1)
    for axis in (0, 1):
        assert f"PC{axis + 1}, " + words.format(100 * land.explained_variance[axis]) in texts
    title, ticks = bar
    finite = land.loss[np.isfinite(land.loss)]
    assert title == "loss" and ticks and finite.min() <= min(ticks) and max(ticks) <= finite.max()


def test_race_legend_gives_each_racer_its_own_final_loss(files):
    land = Landscape.load(files["race"])
    texts, bar = texts_at(files["race"], "race", -1)
    steps = max(int(land.path_steps[land.path_owner == k][-1]) for k in range(len(land.path_names)))
    assert f"step {steps}" in texts
    for k, name in enumerate(land.path_names):
        final = land.path_loss_true[land.path_owner == k][-1]
        at = texts.index(name)
        assert texts[at + 1:at + 3] == [g3(final), "done"], (name, texts)
    assert f"PC1, uncentred ({100 * land.explained_variance[0]:.1f}% of sq. offsets)" in texts
    assert bar[0] == "loss"


def test_classic_legend_axes_and_bar_name_the_function_and_its_values(files):
    land = Landscape.load(files["classic"])
    texts, bar = texts_at(files["classic"], "classic", -1)
    assert texts[texts.index("y") - 1] == "x" and bar[0] == "f(x, y)"
    for k, name in enumerate(land.path_names):
        final = land.path_loss_true[land.path_owner == k][-1]
        at = texts.index(name)
        shown = texts[at + 1]
        assert float(shown) == pytest.approx(final, rel=5e-3), (name, shown, final)


def test_line_view_axes_span_the_lines_positions_and_name_its_paper(files):
    land = Landscape.load(files["line"])
    texts, _ = texts_at(files["line"], "line", -1)
    ticks = [float(t) for t in texts if t.replace(".", "").replace("-", "").isdigit()]
    t_ticks = [t for t in ticks if t != int(t) or t in (0.0, 1.0)]
    assert min(t_ticks) >= land.line_t.min() - 1e-9 and max(t_ticks) <= land.line_t.max() + 1e-9
    assert land.line_t.min() in t_ticks and land.line_t.max() in t_ticks
    assert any("Goodfellow et al. 2015" in t for t in texts)
    assert "0 = initial, 1 = final (line: t, path: share of steps)" in texts
