"""A person's view: JupyterLab on 127.0.0.1, the quickstart notebook opened and run in headless
Chromium (Debian's ``chromium``, driven by Playwright), the dashboard widget checked in the page,
then a second dashboard left running and seen to pick up a later call on its own. The screenshot is kept in .ci/artifacts/ (or $LAPACK_AI_ARTIFACTS).

``./dev test`` installs chromium and sets LAPACK_AI_REQUIRE_BROWSER=1, so a missing browser
fails the run there instead of skipping."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LAPACK_AI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("LAPACK_AI_ARTIFACTS", ROOT / ".ci" / "artifacts"))

if not CHROMIUM:
    if os.environ.get("LAPACK_AI_REQUIRE_BROWSER") == "1":
        pytest.fail("LAPACK_AI_REQUIRE_BROWSER=1 but chromium is not installed", pytrace=False)
    pytest.skip("chromium not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server over a copy of notebooks/, with its own settings and runtime dirs."""
    work = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", work)
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws")}
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not start in 120 s"
                time.sleep(0.5)
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _settle(page) -> None:
    """Accept a dialog JupyterLab put up (seen here: "Select Kernel", when Run All came before
    the kernel's session was ready) with its default button; else close any open menu."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        dialog.locator("button.jp-mod-accept").first.click(timeout=10_000)
    else:
        page.keyboard.press("Escape")


def _run_all(page, attempts: int = 6) -> None:
    """Run the first cell alone and wait for its output (the kernel is then really there: Run
    All issued while the kernel's session is still being wired up dropped cells, asked for a
    kernel, or left widgets "Loading..." in some runs here), then run all cells below it."""
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
    first_out = page.locator(".jp-CodeCell").first.locator(".jp-OutputArea-output")
    for _ in range(attempts):
        _settle(page)
        prompts.first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if page.locator(".jp-Dialog").count():
                _settle(page)
            if first_out.count() and "lapack_ai.config(" in first_out.first.inner_text():
                prompts.nth(1).click()
                _menu(page, "Run Selected Cell and All Below")
                return
            time.sleep(0.2)
    page.screenshot(path=str(ARTIFACTS / "quickstart-failure.png"))
    raise AssertionError(f"the first cell did not run in {attempts} tries (screenshot in {ARTIFACTS})")


def _menu(page, item: str) -> None:
    _settle(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(timeout=10_000)
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click(timeout=10_000)


def _run_to_end(page, timeout: float = 300) -> None:
    """Wait until the dashboard says "stopped". Seen here once in a few runs: right after the
    kernel starts, Run All ran the first cell and dropped the rest; when nothing runs for 5 s
    and cells are left, run on from the first one left (nothing runs twice)."""
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        if page.locator(".lapack-ai-dashboard", has_text="stopped").count():
            return
        if page.locator(".jp-Dialog").count():
            _settle(page)
        prompts = [p.strip() for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]
        left = [i for i, p in enumerate(prompts) if p in ("[ ]:", "")]
        if any("*" in p for p in prompts) or not left:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 5:
            page.locator(".jp-CodeCell .jp-InputPrompt").nth(left[0]).click()
            _menu(page, "Run Selected Cell and All Below")
            idle_since = None
        time.sleep(0.5)
    page.screenshot(path=str(ARTIFACTS / "quickstart-failure.png"))
    raise AssertionError(f"the quickstart did not run to its end in {timeout:.0f} s (screenshot in {ARTIFACTS})")


def _type_cell(page, code: str) -> None:
    """Add a cell below the active one, type ``code`` and run it (Shift+Enter)."""
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # command mode: insert a cell below, and select it
    page.keyboard.press("Enter")  # edit it
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")


def _live_update(page) -> None:
    """A second dashboard, left running: a call made in a later cell must reach the page by the
    dashboard's own thread (nothing calls the dashboard in that cell)."""
    _type_cell(page, "live = lapack_ai.dashboard(refresh=0.2); live")
    page.wait_for_function("document.querySelectorAll('.lapack-ai-dashboard').length == 2", timeout=60_000)
    live = page.locator(".lapack-ai-dashboard").nth(1)
    assert "12 calls buffered" in live.inner_text() and "live, every 0.2 s" in live.inner_text()
    _type_cell(page, "lapack_ai.eigh(np.eye(7) * 2.0); None")
    live.locator("td", has_text="7x7").wait_for(timeout=30_000)
    assert "13 calls buffered" in live.inner_text() and "dsyevd" in live.inner_text()
    _type_cell(page, "live.stop()")
    page.wait_for_function("document.querySelectorAll('.lapack-ai-dashboard')[1].innerText.includes('stopped')",
                           timeout=30_000)


def test_quickstart_dashboard_renders_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    url, token = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "quickstart-dashboard.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1400})
            page.goto(f"{url}/lab/tree/quickstart.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator, .jp-KernelStatus", timeout=120_000)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            _run_all(page)
            _run_to_end(page)  # the last cell stops the dashboard: every cell ran, and the view stayed
            board = page.query_selector(".lapack-ai-dashboard")
            text = board.inner_text()
            assert "Recent calls" in text and "dgesdd" in text and "512x512" in text and "12 calls buffered" in text
            assert "cpu: LAPACK/BLAS via OpenBLAS" in text
            # the plot: a plotly figure inside the widget, one point per call, on log axes
            points = page.locator(".lapack-ai-dashboard .js-plotly-plot .scatterlayer .point")
            assert points.count() == 12
            assert page.locator(".lapack-ai-dashboard .js-plotly-plot .xtitle").text_content() == "matrix size n"
            # no cell failed
            assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] "
                                ":text('Traceback')").count() == 0
            board.scroll_into_view_if_needed()
            board.screenshot(path=str(shot))
            _live_update(page)
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000  # a real picture, not an empty frame


# ---- `lapack-ai serve`: the live page and the comparison page in Chromium ----

@pytest.fixture
def served():
    """A background server in this process, as a notebook would start it."""
    import lapack_ai as la
    from lapack_ai.config import config

    was = config.metrics
    s = la.serve(port=0, background=True)
    try:
        yield s
    finally:
        s.stop()
        config.update(metrics=was)


@contextmanager
def _page(url: str):
    """Chromium on ``url``; yields the page and the list its script errors land in."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            yield page, errors
        finally:
            browser.close()


def test_live_page_shows_a_new_call_within_3_seconds_and_reconnects(served):
    import numpy as np
    from playwright.sync_api import expect

    import lapack_ai as la

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with _page(served.url + "/") as (page, errors):
        expect(page.locator("#conn")).to_have_text("live", timeout=15_000)
        expect(page.locator("#calls tbody tr[data-operation='gemm']").first).to_be_visible(timeout=15_000)  # the self-check
        expect(page.locator("#devices li").first).to_contain_text("cpu: OpenBLAS", timeout=15_000)
        assert page.locator("#calls td:text-is('9x9')").count() == 0
        t0 = time.monotonic()
        la.inv(np.eye(9) * 2)  # made after the page loaded, in this process
        expect(page.locator("#calls tbody tr[data-operation='inv'] td:text-is('9x9')")).to_be_visible(timeout=3_000)
        assert time.monotonic() - t0 < 3
        assert page.locator("#chart circle").count() >= 3 and page.locator("#chart text", has_text="matrix size n").count() == 1
        page.screenshot(path=str(ARTIFACTS / "serve-live.png"), full_page=True)
        # the server goes away and comes back on the same port: the page reconnects by itself
        port = served.port
        served.stop()
        expect(page.locator("#conn")).to_have_text("reconnecting\u2026", timeout=10_000)
        again = la.server.Server(port=port, log_level="warning", configure_logging=False).start()
        try:
            expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
            la.det(np.eye(11))
            expect(page.locator("#calls tbody tr[data-operation='det'] td:text-is('11x11')")).to_be_visible(timeout=3_000)
        finally:
            again.stop()
        assert errors == []


def test_compare_page_runs_a_job_and_plots_it(served):
    from playwright.sync_api import expect

    with _page(served.url + "/compare") as (page, errors):
        expect(page.locator("#op option[value='det']")).to_have_count(1, timeout=15_000)
        page.select_option("#op", "det")
        page.fill("#sizes", "16, 32")
        page.click("#run")
        expect(page.locator("#rows tbody tr")).to_have_count(4, timeout=60_000)  # 2 sizes x (cpu, numpy)
        expect(page.locator("#message")).to_contain_text("done, 4 of 4")
        assert page.locator("#title").text_content() == "det (float64)"
        assert page.locator("#chart polyline").count() == 2 and page.locator("#chart circle").count() == 4
        expect(page.locator("#jobs li").first).to_contain_text("det float64 n=16,32 on cpu: done")
        page.fill("#sizes", "999999")
        page.click("#run")
        expect(page.locator("#message")).to_contain_text("refused: sizes must be", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "serve-compare.png"), full_page=True)
        assert errors == []
