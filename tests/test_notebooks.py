"""The notebooks run as a user runs them: executed by a Jupyter kernel (nbclient, what
``jupyter nbconvert --to notebook --execute`` uses) with the notebook's own folder as the working
directory, so the documentation cannot rot and cannot depend on being started from the repository
root. Needs the ``test`` (or ``notebook``) extra: nbclient, nbformat, ipykernel."""

import os
import shutil
import sys
from pathlib import Path

import pytest

# nbformat validates notebooks with jsonschema, whose optional "iri" format checker (rfc3987_syntax,
# if installed) builds an Earley parser when imported: ~4 s of every test run, for a format the
# notebook schema never uses. Without it jsonschema skips that one format; the kernels never load it.
sys.modules.setdefault("rfc3987_syntax", None)
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def _client(path: Path):
    """A client to execute ``path`` in a fresh kernel started in the notebook's folder, as nbconvert
    does; the kernel imports urbancover from this checkout (src/), like the test process."""
    nb = nbformat.read(path, as_version=4)
    return nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(FOLDER)}})


def _execute_all(paths: list[Path]) -> dict:
    """Execute each notebook in its own fresh kernel, the kernels side by side (each waits mostly on
    its own kernel process, so two run in about the time of the longer one on two cores)."""
    import asyncio

    import urbancover  # the package the tests import (src/ here): the kernel shares its numba cache

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(urbancover.__file__).resolve().parents[1]), env.get("PYTHONPATH", "")) if p)
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend, as in Jupyter
    clients = {p.stem: _client(p) for p in paths}

    async def run():
        await asyncio.gather(*(c.async_execute(env=env) for c in clients.values()))

    asyncio.run(run())
    return {name: c.nb for name, c in clients.items()}


@pytest.fixture(scope="module")
def executed():
    out = FOLDER / "out"
    existed = out.exists()
    try:
        yield _execute_all(NOTEBOOKS)
    finally:
        if not existed:
            shutil.rmtree(out, ignore_errors=True)


def _outputs(nb, kind=None):
    cells = [c for c in nb.cells if c.cell_type == "code"]
    return [(c, o) for c in cells for o in c.get("outputs", []) if kind is None or o.get("output_type") == kind]


def test_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"quickstart", "write_your_own_rules"}


def test_notebooks_run_from_their_folder_without_errors(executed):
    for name, nb in executed.items():
        errors = [o for _, o in _outputs(nb, "error")]
        assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        # every code cell ran, in order
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), name
    # the notebooks wrote their outputs beside themselves, under notebooks/out/
    assert (FOLDER / "out" / "quickstart.gpkg").is_file() and (FOLDER / "out" / "quickstart.html").is_file()
    assert (FOLDER / "out" / "my-district.toml").is_file()


def test_no_notebook_reaches_for_the_repository_data_folder():
    for path in NOTEBOOKS:
        assert "data/sample" not in path.read_text(encoding="utf-8"), path.name


def _cell(nb, snippet):
    cells = [c for c in nb.cells if c.cell_type == "code" and snippet in c.source]
    assert len(cells) == 1, snippet
    return cells[0]


def test_figures_and_reports_display_inline(executed):
    nb = executed["quickstart"]
    # the gap map is the cell's value: shown as an image, not as "<Figure size ...>" text only
    fig_cell = _cell(nb, "maps.gap_map(report")
    assert any("image/png" in o.get("data", {}) for o in fig_cell.outputs), fig_cell.outputs
    # the report shows its HTML summary, one row per rule, and a short text repr
    rep_cell = _cell(nb, "report = uc.evaluate(")
    html = [o["data"]["text/html"] for o in rep_cell.outputs if "text/html" in o.get("data", {})]
    assert html and "bus_stop_500" in html[-1] and "<table" in html[-1]
    texts = [o["data"]["text/plain"] for o in rep_cell.outputs if "text/plain" in o.get("data", {})]
    assert texts[-1].startswith("<Report:") and len(texts[-1]) < 200
    # print(RuleResult) is one short line, not kilobytes of layers
    printed = "".join(o.get("text", "") for o in _cell(nb, "print(bus)").outputs if o.get("output_type") == "stream")
    assert printed.startswith("<RuleResult bus_stop_500") and len(printed) < 400


def test_progress_bar_shows_in_the_notebook(executed):
    """evaluate(progress=True) in a kernel: a tqdm.auto bar (a widget with ipywidgets, else text on
    stderr); tqdm's own default hides bars whenever the output is not a terminal."""
    cell = _cell(executed["quickstart"], "progress=True")
    widget = any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)
    text = any(o.get("name") == "stderr" and "step" in o.get("text", "") for o in cell.outputs)
    assert widget or text, cell.outputs
