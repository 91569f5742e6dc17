"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel, show what they
promise, and are kept in git without outputs."""

import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


def test_the_promised_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"quickstart", "gpu_vs_cpu", "errors_and_diagnostics"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs before committing"


def _run(name, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    cells = [c for c in nb.cells if c.cell_type == "code"]
    for c in cells:
        errors = [o for o in c.outputs if o.output_type == "error"]
        expected = "raises-exception" in c.metadata.get("tags", [])
        assert bool(errors) == expected, (c.source, [(o.ename, o.evalue) for o in errors])
    return cells


def _data(cell, mime):
    return [o["data"][mime] for o in cell.outputs if mime in o.get("data", {})]


def _text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_quickstart(tmp_path):
    cells = _run("quickstart", tmp_path)
    dash = next(c for c in cells if "lapack_ai.dashboard(" in c.source)
    assert _data(dash, WIDGET), "the dashboard did not display as a widget"
    work = next(c for c in cells if "lapack_ai.measure(" in c.source)
    (summary,) = _data(work, "text/html")
    assert "lapack-ai-summary" in summary and "12 calls" in summary
    assert "dashboard shows 12 calls" in _text(next(c for c in cells if "did not refresh" in c.source))
    prom = next(c for c in cells if "to_prometheus" in c.source)
    assert 'lapack_ai_calls_total{backend="cpu",operation="svd",status="ok"} 4.0' in _text(prom)


def test_gpu_vs_cpu(tmp_path):
    cells = _run("gpu_vs_cpu", tmp_path)
    cmp = next(c for c in cells if "lapack_ai.compare(" in c.source)
    assert len(_data(cmp, WIDGET)) >= 1  # the plot-and-table widget (a progress bar may add one)
    table = _text(next(c for c in cells if c.source.startswith("print(cmp)")))
    assert "vs NumPy" in table and "numpy" in table
    last = cells[-1].outputs[-1]["data"]["text/plain"]
    assert "reason='cpu: requested'" in last


def test_errors_and_diagnostics(tmp_path):
    cells = _run("errors_and_diagnostics", tmp_path)
    raised = [c for c in cells if c.outputs and any(o.output_type == "error" for o in c.outputs)]
    assert [next(o.ename for o in c.outputs if o.output_type == "error") for c in raised] == \
        ["SingularMatrixError", "NonFiniteError", "ConfigError"]
    for c in raised:  # each report rendered as HTML above its traceback
        (html,) = _data(c, "text/html")
        assert "lapack-ai-error" in html
    assert "What to do" in _data(raised[0], "text/html")[0]
    diag = next(c for c in cells if c.source.startswith("lapack_ai.diagnose"))
    assert "lapack-ai-diagnose" in _data(diag, "text/html")[0]
    recorded = cells[-1].outputs[-1]["data"]["text/plain"]
    assert "('solve', 'SingularMatrixError')" in recorded and "('inv', 'NonFiniteError')" in recorded


def test_notebook_json_is_plain():
    # nbformat's own layout (indent 1, trailing newline), so diffs stay small
    for p in NOTEBOOKS:
        text = p.read_text()
        assert text == json.dumps(json.loads(text), indent=1, ensure_ascii=False) + "\n", p.name
