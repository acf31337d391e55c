"""examples/notebook.ipynb runs top to bottom in a real Jupyter kernel, and each result shows itself inline."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


def test_the_committed_notebook_has_no_outputs():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.slow
def test_the_notebook_runs_and_shows_the_viewer_the_film_and_the_still(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    rich = [o.data for o in outputs if o.output_type == "execute_result"]
    html = [data["text/html"] for data in rich if "text/html" in data]
    assert any(h.startswith("<iframe srcdoc=") and "lossfilm-provenance" in h for h in html)  # the landscape
    assert any(h.startswith('<video src="data:video/mp4;base64,') for h in html)  # the film
    png = [base64.b64decode(data["image/png"]) for data in rich if "image/png" in data]
    assert png and png[0] == (tmp_path / "notebook-output" / "descent.png").read_bytes()  # the still
    for name in ("landscape.npz", "descent.mp4", "descent.png", "landscape.html"):
        assert (tmp_path / "notebook-output" / name).stat().st_size > 1000
