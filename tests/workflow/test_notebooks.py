"""Every notebook runs with papermill on the tiny scenario and writes what it shows."""

import json
from pathlib import Path

import jupytext
import nbformat
import pytest

from smkit.workflow import reproduce

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "tests" / "notebook_params.yaml"
NAMES = [*reproduce.NOTEBOOKS, "explore"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Run each notebook once, in order, sharing one cache; remember failures per notebook."""
    out = tmp_path_factory.mktemp("report")
    cache = tmp_path_factory.mktemp("cache")
    failures = {}
    for name in NAMES:
        try:
            reproduce.run("tiny", out, params=PARAMS, only=[name], cache_dir=cache, html=name == "04_insitu_validation",
                          progress=False)
        except reproduce.NotebookFailed as err:
            failures[name] = str(err)
    return out, failures


def test_sources_have_no_outputs_and_a_parameters_cell():
    for name in NAMES:
        nb = jupytext.read(ROOT / "notebooks" / f"{name}.py")
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{name}: needs exactly one cell tagged 'parameters'"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", NAMES)
def test_saving_from_jupyterlab_leaves_the_tracked_file_unchanged(name):
    # JupyterLab's save adds its kernel and jupytext's version to the metadata; the header filters them
    path = ROOT / "notebooks" / f"{name}.py"
    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "someones-env", "display_name": "Python (env)", "language": "python"}
    nb.metadata["jupytext"].setdefault("text_representation", {})["jupytext_version"] = "9.9.9"
    assert jupytext.writes(nb, "py:percent") == path.read_text()


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_writes_its_outputs(run, name):
    out, failures = run
    assert name not in failures, failures.get(name)
    executed = nbformat.read(out / "notebooks" / f"{name}.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # progress bars and warnings went to the run's log, not into the notebook a reader opens
    noise = [o.get("text", "")[:200] for c in executed.cells for o in c.get("outputs", [])
             if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert not noise, noise
    assert (out / "logs" / f"{name}.log").exists()
    if name == "explore":  # interactive: its output is the Panel layout
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
        return
    figures = list((out / "figures").glob(f"{name}_*.png"))
    assert figures, f"{name} wrote no figure"
    assert all(f.stat().st_size > 5_000 for f in figures)
    section = (out / "sections" / f"{name}.md").read_text()
    for f in figures:
        assert f.name in section
    metrics = json.loads((out / "metrics" / f"{name}.json").read_text())
    assert metrics, f"{name} recorded no headline number"
    for cell in executed.cells:  # a cell that saves one figure shows it once, not twice
        if cell.cell_type == "code" and cell.source.count(".figure(") == 1 and "plt.show" not in cell.source:
            images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
            assert len(images) <= 1, f"{name}: a figure shown {len(images)} times in {cell.source[:60]!r}"


def test_report_index_links_everything(run):
    out, failures = run
    readme = (out / "README.md").read_text()
    assert "04_insitu_validation" in readme and "Table 4" in readme
    assert (out / "html" / "04_insitu_validation.html").stat().st_size > 50_000
    assert (out / "index.html").exists()
    merged = json.loads((out / "metrics.json").read_text())
    assert "04_insitu_validation" in merged
