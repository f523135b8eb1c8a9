"""The notebooks run top to bottom on the bundled sample (code cells executed in order, from the
repository root, without a Jupyter kernel), so the documentation cannot rot."""

import json
import os
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(ROOT / "data")
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    assert cells, f"{path.name} has no code"
    namespace = {"__name__": "__notebook__"}
    for k, cell in enumerate(cells):
        code = "".join(cell["source"])
        try:
            exec(compile(code, f"{path.name}[cell {k}]", "exec"), namespace)
        except Exception as err:  # name the cell that failed
            raise AssertionError(f"{path.name}, code cell {k} failed: {type(err).__name__}: {err}\n{code}") from err
    assert os.listdir(tmp_path / "out")  # each notebook writes its outputs under out/


def test_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"quickstart", "write_your_own_rules"}
