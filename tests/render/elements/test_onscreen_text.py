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
    one_line = [" ".join(t.split()) for t in texts]  # a long axis label may take two lines where room is short
    for axis in (0, 1):
        assert f"PC{axis + 1}, " + words.format(100 * land.explained_variance[axis]) in one_line
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


def test_a_full_batch_run_counts_whole_epochs_that_match_its_step(tmp_path):
    land = bowl_landscape(resolution=15, snapshots=30)
    land.path_epochs = land.path_steps.astype(float) + 1.0  # full batch: one step an epoch
    land.save(tmp_path / "gd.npz")
    for frame in (7, 13, 19):  # between snapshots: the step is blended, then rounded
        texts, _ = texts_at(str(tmp_path / "gd.npz"), "descent", frame)
        first = next(t for t in texts if t.startswith("step ")).splitlines()[0]
        step = int(first.split()[1].replace(",", ""))
        assert first == f"step {step:,} = epoch {step + 1:,}", first


def test_line_view_axes_span_the_lines_positions_and_name_its_paper(files):
    land = Landscape.load(files["line"])
    texts, _ = texts_at(files["line"], "line", -1)
    ticks = [float(t) for t in texts if t.replace(".", "").replace("-", "").isdigit()]
    t_ticks = [t for t in ticks if t != int(t) or t in (0.0, 1.0)]
    assert min(t_ticks) >= land.line_t.min() - 1e-9 and max(t_ticks) <= land.line_t.max() + 1e-9
    assert land.line_t.min() in t_ticks and land.line_t.max() in t_ticks
    assert any("Goodfellow et al. 2015" in t for t in texts)
    assert "0 = initial, 1 = final (line: t, path: share of steps)" in texts


# Geometry: nothing a speaker shows may collide ---------------------------------------------------------------
#
# Every visible text box, the scalar bar, the 2-D marks (legend swatches, the inset's lines and dots, stars,
# rings) and the 3-D things a text must not cover (the balls, the rings, the path's tube), projected to the
# screen for sampled frames of every bundled scene at every quality preset's size. The checks:
#   text vs text, text vs a 2-D line or mark, text vs ball / ring / path;
#   an axis label vs the floor it names (its outline and contour lines);
#   an inset's panel vs the balls, the rings and the path;
#   balls that share a point are drawn apart.

from lossfilm.render.filming.quality import QUALITIES  # noqa: E402

FRACTIONS = (0.0, 0.35, 0.7, 1.0)  # the sampled frames, as shares of the film
GEOMETRY_SCENES = [("bowl", "descent", ()), ("centred", "orbit", ()), ("race", "race", ()),
                   ("classic", "classic", ()), ("rosenbrock", "classic", ()), ("line", "line", ()),
                   ("sharp", "descent", (("inset", "true"), ("sharpness", "both"))),
                   ("sharp", "line", (("plot", "both"),))]


@pytest.fixture(scope="module")
def scene_files(files, tmp_path_factory):
    from tests.scenes.test_classic_scene import rosenbrock_landscape
    from tests.scenes.test_sharpness_scene import sharp_landscape

    root = tmp_path_factory.mktemp("geometry")
    rosenbrock_landscape(root / "rosenbrock.npz", resolution=21)
    sharp_landscape(root / "sharp.npz")
    return dict(files, rosenbrock=str(root / "rosenbrock.npz"), sharp=str(root / "sharp.npz"))


def _names(plotter):
    return {id(actor): name for name, actor in plotter.actors.items()}


def _opaque(actor):
    prop = actor.GetTextProperty() if hasattr(actor, "GetTextProperty") else actor.GetProperty()
    return actor.GetVisibility() and prop.GetOpacity() > 0.05


def _project(renderer, points):
    """Display pixels (n, 2) of world points (n, 3)."""
    out = []
    for point in np.asarray(points, dtype=float):
        renderer.SetWorldPoint(*point, 1.0)
        renderer.WorldToDisplay()
        out.append(renderer.GetDisplayPoint()[:2])
    return np.array(out).reshape(-1, 2)


def screen_geometry(film):
    """What is on screen now: text boxes, scalar bar, 2-D lines and marks, panels, balls, rings, path points."""
    plotter = film.plotter
    renderer = plotter.renderer
    names = _names(plotter)
    shapes = {"text": [], "lines": [], "marks": [], "panels": [], "balls": [], "rings": [], "path": []}
    props = renderer.GetViewProps()
    for i in range(props.GetNumberOfItems()):
        prop = props.GetItemAsObject(i)
        kind = type(prop).__name__
        name = names.get(id(prop), kind)
        if not prop.GetVisibility():
            continue
        if kind.endswith("TextActor"):
            if prop.GetInput().strip() and _opaque(prop):
                box = [0.0] * 4
                prop.GetBoundingBox(renderer, box)  # around the text's position
                x, y = prop.GetPositionCoordinate().GetComputedDisplayValue(renderer)
                shapes["text"].append((f"{name} {prop.GetInput().strip()[:30]!r}", np.array(box) + [x, x, y, y]))
        elif kind.endswith("ScalarBarActor"):
            low = np.array(prop.GetPositionCoordinate().GetComputedDisplayValue(renderer), float)
            high = np.array(prop.GetPosition2Coordinate().GetComputedDisplayValue(renderer), float)
            shapes["text"].append(("scalar bar", np.array([low[0], high[0], low[1], high[1]])))
        elif kind == "vtkActor2D" and _opaque(prop):
            data = prop.GetMapper().GetInput()
            points = np.array([data.GetPoint(k)[:2] for k in range(data.GetNumberOfPoints())])
            if not len(points):
                continue
            points = points + np.array(prop.GetPositionCoordinate().GetComputedDisplayValue(renderer), float)
            if data.GetNumberOfPolys():
                box = np.array([points[:, 0].min(), points[:, 0].max(), points[:, 1].min(), points[:, 1].max()])
                big = (box[1] - box[0]) * (box[3] - box[2]) > 0.01 * np.prod(plotter.window_size)
                (shapes["panels"] if big and prop.GetProperty().GetOpacity() < 0.95 else shapes["marks"]).append(
                    (name, box))
            if data.GetNumberOfLines():
                lines = data.GetLines()
                ids = lines.GetConnectivityArray()
                offsets = lines.GetOffsetsArray()
                for c in range(lines.GetNumberOfCells()):
                    cell = [ids.GetValue(k) for k in range(offsets.GetValue(c), offsets.GetValue(c + 1))]
                    local = np.array([data.GetPoint(k)[:2] for k in cell]) + points[0] - np.array(data.GetPoint(0)[:2])
                    shapes["lines"].append((name, local))
        elif kind.endswith("Actor") and hasattr(prop, "GetMapper") and prop.GetProperty().GetOpacity() > 0.05:
            if name.startswith("ball"):
                center = np.array(prop.GetPosition())
                radius = prop.GetMapper().GetInput().GetLength() / (2 * np.sqrt(3))
                camera = renderer.GetActiveCamera()
                up = np.array(camera.GetViewUp())
                c, top = _project(renderer, [center, center + radius * up])
                shapes["balls"].append((name, c, float(np.linalg.norm(top - c))))
            elif "marker" in name or name.startswith("finish"):
                ring = _project(renderer, np.asarray(prop.GetMapper().GetInput().GetPoints().GetData()))
                shapes["rings"].append((name, np.array([ring[:, 0].min(), ring[:, 0].max(),
                                                        ring[:, 1].min(), ring[:, 1].max()])))
            elif name.startswith("trail") and not name.endswith("shadow"):
                mesh = prop.GetMapper().GetInput()
                points = np.asarray(mesh.GetPoints().GetData())
                shapes["path"].append((name, _project(renderer, points[:: max(1, len(points) // 1500)])))
    return shapes


def _boxes_meet(a, b, slack=1.0):
    return a[0] + slack < b[1] and b[0] + slack < a[1] and a[2] + slack < b[3] and b[2] + slack < a[3]


def _segment_meets_box(p, q, box, slack=1.0):
    """Whether the segment p-q crosses the box shrunk by ``slack`` (Liang-Barsky clipping)."""
    x0, x1, y0, y1 = box[0] + slack, box[1] - slack, box[2] + slack, box[3] - slack
    if x0 >= x1 or y0 >= y1:
        return False
    d = q - p
    lo, hi = 0.0, 1.0
    for delta, start, low, high in ((d[0], p[0], x0, x1), (d[1], p[1], y0, y1)):
        if abs(delta) < 1e-12:
            if start < low or start > high:
                return False
            continue
        t0, t1 = sorted(((low - start) / delta, (high - start) / delta))
        lo, hi = max(lo, t0), min(hi, t1)
        if lo > hi:
            return False
    return True


def _points_in_box(points, box, slack=1.0):
    return bool(((points[:, 0] > box[0] + slack) & (points[:, 0] < box[1] - slack)
                 & (points[:, 1] > box[2] + slack) & (points[:, 1] < box[3] - slack)).any())


def _floor_polygon(film):
    land, relief = film.scene.landscape, film.scene.stage.relief
    a, b = land.alphas, land.betas
    corners = [(a.min(), b.min()), (a.max(), b.min()), (a.max(), b.max()), (a.min(), b.max())]
    return _project(film.plotter.renderer, [(x, y, relief.floor_z) for x, y in corners])


def _polygon_meets_box(polygon, box, slack=1.0):
    """Whether a convex polygon (n, 2) and a box overlap (separating axes)."""
    corners = np.array([(box[0] + slack, box[2] + slack), (box[1] - slack, box[2] + slack),
                        (box[1] - slack, box[3] - slack), (box[0] + slack, box[3] - slack)])
    for shape in (polygon, corners):
        for k in range(len(shape)):
            edge = shape[(k + 1) % len(shape)] - shape[k]
            axis = np.array([-edge[1], edge[0]])
            a, b = polygon @ axis, corners @ axis
            if a.max() < b.min() or b.max() < a.min():
                return False
    return True


def collisions(film):
    """Every collision on screen now, in words (empty: a frame a speaker can show)."""
    shapes = screen_geometry(film)
    found = []
    texts = shapes["text"]
    for i, (name, box) in enumerate(texts):
        for other, other_box in texts[i + 1:]:
            if _boxes_meet(box, other_box):
                found.append(f"{name} overlaps {other}")
        for other, points in shapes["lines"]:
            if any(_segment_meets_box(p, q, box) for p, q in zip(points[:-1], points[1:])):
                found.append(f"line {other} crosses {name}")
        for other, mark_box in shapes["marks"] + shapes["rings"]:
            if _boxes_meet(box, mark_box):
                found.append(f"{other} overlaps {name}")
        for other, center, radius in shapes["balls"]:
            if _boxes_meet(box, np.array([center[0] - radius, center[0] + radius, center[1] - radius,
                                          center[1] + radius])):
                found.append(f"{other} under {name}")
        for other, points in shapes["path"]:
            if _points_in_box(points, box):
                found.append(f"path {other} crosses {name}")
        if name.startswith("axis_label") and film.scene.option("floor"):
            if _polygon_meets_box(_floor_polygon(film), box):
                found.append(f"{name} lies on the floor")
    legend = [box for name, box in texts if name.startswith("legend_")]
    if legend:  # a label beside the legend must not read as one of its rows (the "y" in its header row)
        block = np.array([min(b[0] for b in legend), max(b[1] for b in legend), min(b[2] for b in legend),
                          max(b[3] for b in legend)])
        for name, box in texts:
            if name.startswith(("axis_label", "start_marker_label", "minimum_")):
                half = 0.5 * (box[3] - box[2]) / (name.count("\\n") + 1)
                if _boxes_meet(box + [-half, half, -half, half], block):
                    found.append(f"{name} sits in the legend")
    for panel, box in shapes["panels"]:
        for other, center, radius in shapes["balls"]:
            if _boxes_meet(box, np.array([center[0] - radius, center[0] + radius, center[1] - radius,
                                          center[1] + radius])):
                found.append(f"panel {panel} hides {other}")
        for other, ring in shapes["rings"]:
            if _boxes_meet(box, ring):
                found.append(f"panel {panel} hides {other}")
        for other, points in shapes["path"]:
            if _points_in_box(points, box):
                found.append(f"panel {panel} hides path {other}")
    balls = shapes["balls"]
    for i, (name, center, radius) in enumerate(balls):
        for other, other_center, other_radius in balls[i + 1:]:
            if np.linalg.norm(center - other_center) < 0.75 * min(radius, other_radius):
                found.append(f"{name} and {other} merge into one")
    return found


@pytest.mark.parametrize("quality", list(QUALITIES))
@pytest.mark.parametrize("name, scene, options", GEOMETRY_SCENES,
                         ids=[f"{scene}-{name}" + ("-" + "-".join(v for _, v in options) if options else "")
                              for name, scene, options in GEOMETRY_SCENES])
def test_no_text_marker_inset_or_ball_collides_in_any_sampled_frame(scene_files, name, scene, options, quality):
    preset = QUALITIES[quality]
    spec = FilmSpec(scene_class(scene), scene_files[name], size=preset.size, fps=4, options=options)
    found = {}
    with open_film(spec) as film:
        for fraction in FRACTIONS:
            index = int(round(fraction * (film.n_frames - 1)))
            film.frame(index)  # as a film draws it (a bare plotter.render() draws nothing before a screenshot)
            for collision in collisions(film):
                found.setdefault(collision, index)
    assert not found, "\n".join(f"frame {index}: {what}" for what, index in found.items())
