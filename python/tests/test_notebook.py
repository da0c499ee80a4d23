"""The run displays in Jupyter as the report's panels, and the example notebook runs end to end
in a real kernel (nbclient + ipykernel)."""

import os
import re
import shutil

import pytest

from conftest import PYTHON_DIR
from feature_density import Store
from conftest import density


def test_a_run_displays_as_the_reports_panels_scoped_to_itself(tmp_path):
    db = str(tmp_path / "demo.sqlite")
    density("demo", "--db", db)
    run = Store(db).run("demo")
    fragment = run._repr_html_()
    page = run.report_html()
    assert fragment.startswith('<div class="fd-report"><style>') and fragment.endswith("</div>")
    # Every panel of the page is in the fragment, and nothing outside <main> is.
    assert fragment.count("<svg") == page.count("<svg") >= 5
    assert "<html" not in fragment and "<body" not in fragment and "<script" not in fragment
    for rule in re.findall(r"^([^{}\n]+)\{", fragment.split("</style>")[0].split("<style>")[1], re.M):
        assert all(s.strip().startswith(".fd-report") for s in rule.split(",")), rule
    assert "Feature density of run <code>demo</code>" in fragment


def test_plots_draw_the_stores_numbers(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    db = str(tmp_path / "demo.sqlite")
    density("demo", "--db", db)
    store = Store(db)
    run = store.run("demo")
    ax = run.plot_histogram()
    heights = [int(p.get_height()) for p in ax.patches]
    assert heights == store.summaries("demo")["histogram"][-1].tolist()
    window = run.plot_histogram(window=(-4, "latest"))
    assert sum(int(p.get_height()) for p in window.patches) == 4096 and "window" in window.get_title()
    lines = run.plot_dead_dense().get_lines()
    assert lines[0].get_ydata().tolist() == store.summaries("demo")["dead"].tolist()
    trend = run.plot_trend(7).get_lines()
    assert trend[0].get_ydata().tolist() == store.trend("demo", 7)["density"].tolist()


def test_a_sweep_overlays_one_line_a_run_from_each_stores_summaries(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    for node, seed in (("node-0", "3"), ("node-1", "4")):
        density("demo", "--db", str(tmp_path / f"{node}.sqlite"), "--seed", seed, "--checkpoints", "10")
    sweep = Store(str(tmp_path / "node-*.sqlite"))
    lines = sweep.plot_sweep().get_lines()
    assert [line.get_label() for line in lines] == ["demo@node-0.sqlite", "demo@node-1.sqlite"]
    for line, node in zip(lines, ("node-0", "node-1")):
        alone = Store(str(tmp_path / f"{node}.sqlite")).summaries("demo")
        assert line.get_xdata().tolist() == alone["step"].tolist()
        assert line.get_ydata().tolist() == (alone["dead"] / 4096).tolist()
    assert lines[0].get_ydata().tolist() != lines[1].get_ydata().tolist()
    dense = sweep.plot_sweep(["demo@node-1.sqlite"], what="dense", x="vectors").get_lines()
    alone = Store(str(tmp_path / "node-1.sqlite")).summaries("demo")
    assert len(dense) == 1 and dense[0].get_xdata().tolist() == alone["vectors"].tolist()
    assert dense[0].get_ydata().tolist() == (alone["dense"] / 4096).tolist()
    with pytest.raises(ValueError, match="what='alive'"):
        sweep.plot_sweep(what="alive")


def test_the_example_notebook_runs_and_shows_the_panels(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    shutil.copy(os.path.join(os.path.dirname(PYTHON_DIR), "examples", "notebook.ipynb"), tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([PYTHON_DIR, os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(str(tmp_path / "notebook.ipynb"), as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    panels = [h for h in html if h.startswith('<div class="fd-report">')]
    assert len(panels) == 1 and panels[0].count("<svg") >= 5 and "run <code>demo</code>" in panels[0]
    page = Store(str(tmp_path / "demo.sqlite")).run("demo").report_html()
    assert panels[0].count("<svg") == page.count("<svg")
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 3         # the three plots
    assert any("dead" in h and "mean_log10_density" in h for h in html)        # the summaries table
