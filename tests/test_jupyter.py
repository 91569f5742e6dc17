"""Notebook pieces without a browser: the IPython error hook in a real shell, the dashboard
widget and its refresh thread, and compare() headless. (The notebooks run in a real kernel in
test_notebooks.py, and in JupyterLab in headless Chromium in test_browser.py.)"""

import threading
import time

import numpy as np
import pytest

import lapack_ai
from lapack_ai import config, config_context
from lapack_ai.metrics import collector


@pytest.fixture
def shell():
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.display_pub = CapturingDisplayPublisher()
    yield ip
    ip.run_line_magic("unload_ext", "lapack_ai")
    InteractiveShell.clear_instance()
    config.update(metrics=False)
    collector().clear()


def _html(ip) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in ip.display_pub.outputs)


def test_load_ext_renders_error_reports(shell, capsys):
    shell.run_cell("import numpy as np, lapack_ai")
    assert shell.run_cell("%load_ext lapack_ai").success
    assert config.metrics  # the extension turns metrics on for the process
    res = shell.run_cell("lapack_ai.solve(np.array([[1.0, 2.0], [2.0, 4.0]]), np.ones(2))")
    assert isinstance(res.error_in_exec, lapack_ai.SingularMatrixError)
    html = _html(shell)
    assert "lapack-ai-error" in html and "SingularMatrixError" in html and "lstsq" in html
    assert "SingularMatrixError" in capsys.readouterr().out  # the traceback is still shown
    shell.display_pub.outputs.clear()
    res = shell.run_cell("lapack_ai.inv(np.array([[1.0, np.nan], [0.0, 1.0]]))")
    assert isinstance(res.error_in_exec, lapack_ai.NonFiniteError) and "a[0, 1]" in _html(shell)


def test_unload_removes_the_hook(shell):
    shell.run_cell("import numpy as np, lapack_ai")
    shell.run_cell("%load_ext lapack_ai")
    shell.run_line_magic("unload_ext", "lapack_ai")
    res = shell.run_cell("lapack_ai.inv(np.zeros((2, 2)))")
    assert isinstance(res.error_in_exec, lapack_ai.SingularMatrixError) and "lapack-ai-error" not in _html(shell)
    shell.run_cell("%load_ext lapack_ai")  # the fixture unloads it again


def test_other_errors_are_left_to_ipython(shell):
    shell.run_cell("%load_ext lapack_ai")
    res = shell.run_cell("1 / 0")
    assert isinstance(res.error_in_exec, ZeroDivisionError) and _html(shell) == ""


def test_dashboard_redraws_on_its_own_and_stops(rng):
    collector().clear()
    try:
        dash = lapack_ai.dashboard(refresh=0.05)
        assert config.metrics and dash.running
        assert "no calls recorded yet" in dash.calls.value and dash.figure.data == ()
        a = rng.standard_normal((50, 50))
        lapack_ai.svd(a)
        with pytest.raises(lapack_ai.SingularMatrixError):
            lapack_ai.inv(np.zeros((3, 3)))
        deadline = time.monotonic() + 10
        while dash._seen != collector().version and time.monotonic() < deadline:
            time.sleep(0.02)
        assert dash._seen == collector().version  # the thread redrew without being asked
        assert "dgesdd" in dash.calls.value and "50x50" in dash.calls.value
        assert "SingularMatrixError" in dash.errors.value
        (trace,) = dash.figure.data
        assert trace.name == "cpu" and list(trace.x) == [50]
        assert "cpu: LAPACK/BLAS" in dash.devices.value
        assert not dash.update()  # nothing new: no redraw
        dash.stop()
        assert not dash.running and "stopped" in dash.status.value and dash.stop_button.disabled
        assert not any(t.name == "lapack_ai-dashboard" and t.is_alive() for t in threading.enumerate())
    finally:
        config.update(metrics=False)
        collector().clear()


def test_compare_headless_returns_the_data():
    cmp = lapack_ai.compare("gemm", sizes=[16, 32], devices=["cpu"], repeats=2, progress=False)
    assert [(r["n"], r["device"]) for r in cmp.rows] == [(16, "cpu"), (16, "numpy"), (32, "cpu"), (32, "numpy")]
    cpu = cmp.rows[2]
    assert cpu["backend"] == "cpu" and cpu["gflops"] == pytest.approx(2 * 32**3 / cpu["seconds"] / 1e9)
    assert cpu["vs_numpy"] == pytest.approx(cmp.rows[3]["seconds"] / cpu["seconds"])
    assert "vs NumPy" in str(cmp) and "lapack-ai-compare" in cmp._repr_html_()
    assert list(cmp.to_dataframe()["device"]) == ["cpu", "numpy", "cpu", "numpy"]
    fig = cmp.figure(widget=False)
    assert {t.name for t in fig.data} == {"cpu", "numpy"}


def test_compare_on_the_opencl_device(opencl_sel):
    sel = opencl_sel
    cmp = lapack_ai.compare("gemm", sizes=[24], devices=[sel], reference=False, repeats=1, progress=False)
    (row,) = cmp.rows
    assert row["device"] == sel and row["backend"] == "opencl" and row["vs_numpy"] is None


def test_compare_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match="unknown routine 'svdd'"):
        lapack_ai.compare("svdd")
    with pytest.raises(ValueError, match="runs only on the CPU"):
        lapack_ai.compare("svd", devices=["opencl:0"])
    with pytest.raises(ValueError, match="positive"):
        lapack_ai.compare("gemm", sizes=[0])
    with config_context(device="cpu"):  # other routines compare on the CPU
        assert {r["device"] for r in lapack_ai.compare("cholesky", sizes=[8], progress=False).rows} == {"cpu", "numpy"}
