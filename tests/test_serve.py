"""`lapack-ai serve` for real: uvicorn on a loopback port, driven with httpx (probes, metrics,
the JSON API, the event stream, comparison jobs) and stopped with SIGTERM. The page in a
browser is in test_browser.py; the service in its container in test_image.py."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

import lapack_ai as la
from lapack_ai.config import config
from lapack_ai.web.health import SelfCheck


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    """A background server in this process (as from a notebook); metrics restored after."""
    was = config.metrics
    s = la.serve(port=0, background=True)
    assert s.app.state.check.wait(30), s.app.state.check.state()
    try:
        yield s
    finally:
        s.stop()
        config.update(metrics=was)


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def events(client, seconds: float):
    """(event, data) pairs from /api/events until ``seconds`` pass."""
    out = []
    with client.stream("GET", "/api/events", timeout=seconds + 5) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        deadline = time.monotonic() + seconds
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: "):
                out.append((event, json.loads(line[6:])))
                yield out[-1]
            if time.monotonic() > deadline:
                return


# ---- probes and metrics ----

def test_probes_and_readiness_checks(client):
    assert client.get("/livez").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready" and body["ready"] is True
    names = [c["name"] for c in body["checks"]]
    assert names[:3] == ["library", "solve on cpu", "gemm on cpu"]
    assert all(c["ok"] for c in body["checks"]), body
    usable = [d for d in la.devices() if not d.unusable] if config.gpu_enabled else []
    for d in usable:  # one GEMM check per enabled OpenCL device (PoCL in CI)
        assert any(n.startswith(f"gemm on {d.selector}") for n in names), names
    assert client.get("/health").json()["checks"] == body["checks"]


def test_readyz_is_503_until_the_self_check_passes():
    s = la.server.Server(port=0, self_check=False).start()
    try:
        r = httpx.get(s.url + "/readyz")
        assert r.status_code == 503 and r.json()["status"] == "starting"
        assert httpx.get(s.url + "/livez").status_code == 200
    finally:
        s.stop()


def test_a_failed_check_is_503_on_readyz_and_health(monkeypatch):
    from lapack_ai.web import health

    monkeypatch.setattr(health, "_solve", lambda a, b: (False, "relative error 1e+00 against numpy.linalg.solve"))
    s = la.server.Server(port=0).start()
    try:
        assert s.app.state.check.wait(30) is False
        for path in ("/readyz", "/health"):
            r = httpx.get(s.url + path)
            assert r.status_code == 503 and r.json()["status"] == "failed", r.text
            bad = [c for c in r.json()["checks"] if not c["ok"]]
            assert [c["name"] for c in bad] == ["solve on cpu"] and "1e+00" in bad[0]["detail"]
        assert httpx.get(s.url + "/livez").status_code == 200
    finally:
        s.stop()


def test_gpu_required_but_absent_is_not_ready(monkeypatch):
    monkeypatch.setenv("LAPACK_GPU_ENABLED", "true")
    state = SelfCheck().run()
    gpus = [d for d in la.devices() if not d.unusable and d.type.lower() == "gpu"]
    gpu = next(c for c in state["checks"] if c["name"] == "gpu present")
    assert gpu["ok"] is bool(gpus) and state["ready"] is bool(gpus)
    if not gpus:
        assert "LAPACK_GPU_ENABLED=true but no usable OpenCL GPU" in gpu["detail"]
    monkeypatch.setenv("LAPACK_GPU_ENABLED", "false")
    config.reload()
    try:
        state = SelfCheck().run()
        assert state["ready"] and not any(c["name"].startswith(("gpu", "gemm on opencl")) for c in state["checks"])
    finally:
        monkeypatch.delenv("LAPACK_GPU_ENABLED")
        config.reload()


def test_metrics_are_prometheus_text(client):
    from prometheus_client.parser import text_string_to_metric_families

    la.solve(np.eye(5) * 2, np.ones(5))
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    fams = {f.name: f for f in text_string_to_metric_families(r.text)}
    calls = {(s.labels["operation"], s.labels["backend"]): s.value for s in fams["lapack_ai_calls"].samples
             if s.name == "lapack_ai_calls_total"}
    assert calls[("solve", "cpu")] >= 2  # the self-check's and ours
    assert fams["lapack_ai_ready"].samples[0].value == 1.0


# ---- the live feed ----

def test_event_stream_pushes_a_call_made_after_it_opened(client):
    marker = (7, 7)  # a shape nothing else here uses
    seen_status, made_at = 0, None
    for event, data in events(client, 8):
        if event == "status":
            seen_status += 1
        if event == "calls" and made_at is None:
            assert not any(c["shape"].startswith("7x7") for c in data["calls"])
            made_at = time.monotonic()
            la.inv(np.eye(*marker) * 3)
        elif event == "calls" and any(c["operation"] == "inv" and c["shape"] == "7x7" for c in data["calls"]):
            assert time.monotonic() - made_at < 3
            row = next(c for c in data["calls"] if c["shape"] == "7x7")
            assert row["routine"] and row["backend"] == "cpu" and row["ms"] > 0
            assert "cpu" in data["series"]
            break
    else:
        pytest.fail("the call never reached the stream")
    assert seen_status >= 1


def test_devices_and_calls_api(client):
    d = client.get("/api/devices").json()
    assert d["cpu"]["version"] == la.blas_config()["version"]
    assert [o["selector"] for o in d["opencl"]] == [x.selector for x in la.devices()]
    la.det(np.eye(3))
    c = client.get("/api/calls").json()
    assert c["metrics_on"] and c["calls"][0]["operation"] == "det"


def test_stream_ends_when_the_server_stops(server):
    done = threading.Event()

    def read():
        with httpx.stream("GET", server.url + "/api/events", timeout=30) as r:
            for _ in r.iter_lines():
                pass
        done.set()

    t = threading.Thread(target=read, daemon=True)
    t.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    server.stop()
    assert done.wait(5), "the event stream kept the server from stopping"
    assert time.monotonic() - t0 < 5


def test_event_streams_are_bounded():
    s = la.server.Server(port=0, max_clients=1, self_check=False).start()
    try:
        with httpx.stream("GET", s.url + "/api/events", timeout=10) as first:
            assert first.status_code == 200
            r = httpx.get(s.url + "/api/events", timeout=10)
            assert r.status_code == 503 and "event streams are open" in r.json()["error"]
        # the server gives the slot back once it sees the client gone (not at once on a busy machine)
        deadline = time.monotonic() + 10
        while httpx.get(s.url + "/api/status").json()["clients"] and time.monotonic() < deadline:
            time.sleep(0.1)
        # many at once: the slots are taken before any stream starts
        raw = []
        for _ in range(8):
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            raw.append(c)
        heads = []
        for c in raw:
            c.settimeout(10)
            heads.append(c.recv(64).split(b"\r\n")[0])
        assert sum(b" 200 " in h for h in heads) == 1 and sum(b" 503 " in h for h in heads) == 7, heads
        for c in raw:
            c.close()
        deadline = time.monotonic() + 10
        while httpx.get(s.url + "/api/status").json()["clients"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert httpx.get(s.url + "/api/status").json()["clients"] == 0  # closed streams give their slot back
    finally:
        s.stop()


def test_non_finite_values_do_not_break_the_feed(client):
    from lapack_ai import metrics

    r = la.metrics.collector().records()[-1]
    metrics.collector().add(r._replace(operation="nan-probe", seconds=float("nan"), flops=float("inf")))
    body = client.get("/api/calls")
    assert body.status_code == 200 and "NaN" not in body.text and "Infinity" not in body.text
    row = next(c for c in body.json()["calls"] if c["operation"] == "nan-probe")
    assert row["ms"] is None and row["gflops"] is None


def test_a_second_server_streams_after_the_first_was_interrupted():
    first = la.server.Server(port=0, self_check=False).start()
    first._server.handle_exit(signal.SIGINT, None)  # what a Ctrl-C / notebook interrupt does
    first.stop()
    s = la.server.Server(port=0, self_check=False, refresh=0.2).start()
    try:
        with httpx.Client(base_url=s.url) as c:
            n = sum(1 for event, _ in events(c, 1.5) if event == "status")
        assert n >= 4  # the stream stays open (it closed after one event when a global flag stuck)
    finally:
        s.stop()


def test_a_server_runs_once_and_frees_its_port():
    s = la.server.Server(port=0, self_check=False).start()
    s.stop()
    with pytest.raises(RuntimeError, match="runs once"):
        s.start()
    never = la.server.Server(port=0, self_check=False)
    port = never.port
    never.stop()
    assert not never.app.state.jobs._worker.is_alive()  # its comparison worker ended too
    again = la.server.Server(port=port, self_check=False)  # the port was released
    again.stop()
    with pytest.raises(OSError, match="ports are 0..65535"):
        la.server.Server(port=70000)
    with pytest.raises(ValueError, match="refresh"):
        la.server.Server(port=0, refresh=0)


# ---- comparisons ----

def wait_job(client, job_id, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        j = client.get(f"/api/compare/{job_id}").json()
        if j["status"] not in ("queued", "running"):
            return j
        time.sleep(0.1)
    pytest.fail(f"comparison {job_id} did not finish: {j}")


def test_compare_job_runs_and_reports_rows(client):
    r = client.post("/api/compare", json={"op": "solve", "sizes": [48, 16], "devices": ["cpu"], "dtype": "float32"})
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/compare/{r.json()['id']}"
    j = wait_job(client, r.json()["id"])
    assert j["status"] == "done" and j["done"] == j["total"] == 4
    assert sorted({(row["n"], row["device"]) for row in j["rows"]}) == [(16, "cpu"), (16, "numpy"), (48, "cpu"), (48, "numpy")]
    assert all(row["seconds"] > 0 and row["dtype"] == "float32" for row in j["rows"])
    assert all(row["vs_numpy"] > 0 for row in j["rows"] if row["device"] == "cpu")
    assert any(x["id"] == j["id"] for x in client.get("/api/compare").json())


@pytest.mark.parametrize("request_,status,words", [
    ({"op": "exec", "sizes": [8], "devices": ["cpu"]}, 400, "op must be one of gemm"),
    ({"op": "svd", "sizes": [8, 99999], "devices": ["cpu"]}, 400, "LAPACK_AI_COMPARE_MAX_SIZE"),
    ({"op": "svd", "sizes": list(range(1, 11)), "devices": ["cpu"]}, 400, "1 to 8 integers"),
    ({"op": "svd", "sizes": [8.5], "devices": ["cpu"]}, 400, "integers"),
    ({"op": "svd", "sizes": [True], "devices": ["cpu"]}, 400, "integers"),
    ({"op": "svd", "sizes": [8], "devices": ["gpu:7"]}, 400, "devices must be"),
    ({"op": "svd", "sizes": [8], "devices": ["cpu"], "dtype": "int8"}, 400, "dtype must be"),
    ({"op": "svd", "sizes": [8], "devices": ["cpu"], "code": "import os"}, 400, "unknown fields"),
    ([1, 2], 400, "JSON object"),
])
def test_compare_refuses_bad_requests(client, request_, status, words):
    r = client.post("/api/compare", json=request_)
    assert r.status_code == status and words in r.json()["error"], r.text


def test_compare_size_bound_follows_configuration(client):
    old = config.compare_max_size
    config.update(compare_max_size=32)
    try:
        r = client.post("/api/compare", json={"op": "det", "sizes": [33], "devices": ["cpu"]})
        assert r.status_code == 400 and "from 1 to 32" in r.json()["error"]
        assert client.get("/api/compare/options").json()["max_size"] == 32
    finally:
        config.update(compare_max_size=old)


def test_compare_refuses_cross_site_and_non_json(client, server):
    body = {"op": "det", "sizes": [8], "devices": ["cpu"]}
    r = client.post("/api/compare", json=body, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/api/compare", content=json.dumps(body), headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = client.post("/api/compare", content=b"x" * 5000, headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/compare", json=body, headers={"origin": server.url})  # same origin is fine
    assert r.status_code == 202


def test_compare_queue_is_bounded_and_stops_on_shutdown():
    s = la.server.Server(port=0, queue=2, self_check=False).start()
    try:
        big = {"op": "svd", "sizes": [1024], "devices": ["cpu"]}  # seconds each, after a process start
        codes = [httpx.post(s.url + "/api/compare", json=big).status_code for _ in range(5)]
        assert codes.count(202) <= 3 and 429 in codes, codes
        r = httpx.post(s.url + "/api/compare", json=big)
        assert r.status_code == 429 and "already waiting" in r.json()["error"]
        deadline = time.monotonic() + 30
        while s.app.state.jobs.list()[-1]["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        t0 = time.monotonic()
        s.stop()
    assert time.monotonic() - t0 < 5  # the running comparison's process is stopped, not waited for
    states = [j["status"] for j in s.app.state.jobs.list()]
    assert states.count("cancelled") == codes.count(202), states


def test_a_comparison_whose_process_dies_fails_and_the_queue_goes_on(client):
    import multiprocessing

    job = client.post("/api/compare", json={"op": "svd", "sizes": [1024], "devices": ["cpu"]}).json()
    deadline = time.monotonic() + 30
    while not (kids := [p for p in multiprocessing.active_children() if p.name.startswith("lapack_ai-compare")]):
        assert time.monotonic() < deadline, "no comparison process started"
        time.sleep(0.02)
    kids[0].kill()  # as the kernel's OOM killer would
    j = wait_job(client, job["id"], seconds=20)
    assert j["status"] == "failed" and "ended (-9) without a result" in j["error"], j
    nxt = client.post("/api/compare", json={"op": "det", "sizes": [8], "devices": ["cpu"]}).json()
    assert wait_job(client, nxt["id"])["status"] == "done"


# ---- security defaults ----

def test_allowed_hosts_can_be_named():
    s = la.server.Server("127.0.0.1", port=0, allowed_hosts=["dash.example"], self_check=False).start()
    try:
        assert httpx.get(s.url + "/livez", headers={"host": "dash.example"}).status_code == 200
        assert httpx.get(s.url + "/livez").status_code == 200  # its own address is always answered
        assert httpx.get(s.url + "/livez", headers={"host": "other.example"}).status_code == 400
    finally:
        s.stop()


def test_binds_loopback_and_checks_host(server, client):
    assert server.host == "127.0.0.1" and server.sock.getsockname()[0] == "127.0.0.1"
    assert client.get("/livez", headers={"host": "attacker.example"}).status_code == 400  # DNS rebinding
    r = client.get("/")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_static_assets_come_from_the_package(client):
    page = client.get("/").text
    for asset in ("/static/style.css", "/static/chart.js", "/static/dashboard.js"):
        assert asset in page and client.get(asset).status_code == 200
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere
    assert client.get("/static/%2e%2e/app.py").status_code == 404  # reaches StaticFiles (httpx keeps %2e)
    assert client.get("/static/%2e%2e/%2e%2e/server.py").status_code == 404


def test_port_in_use_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}.*LAPACK_DASHBOARD_PORT"):
            la.serve(port=port, background=True)
        r = subprocess.run([sys.executable, "-m", "lapack_ai.cli", "serve", "--port", str(port)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr


# ---- the command, stopped with SIGTERM ----

def test_command_serves_and_stops_gracefully_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "LAPACK_DASHBOARD_PORT": str(port)}
    with open(tmp_path / "serve.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "lapack_ai.serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        job = httpx.post(url + "/api/compare", json={"op": "svd", "sizes": [1024], "devices": ["cpu"]}).json()
        while httpx.get(f"{url}/api/compare/{job['id']}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with httpx.stream("GET", url + "/api/events", timeout=30) as r:  # an open stream must not block shutdown
            next(r.iter_lines())
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 5
    finally:
        if proc.poll() is None:
            proc.kill()
    text = (tmp_path / "serve.log").read_text()
    assert f"lapack_ai dashboard: {url}/" in text and "Traceback" not in text


def test_import_does_not_load_the_web_stack():
    code = "import sys, lapack_ai; print(any(m.split('.')[0] in ('uvicorn', 'starlette', 'sse_starlette') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
    r = subprocess.run([sys.executable, "-m", "lapack_ai.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "serve" in r.stdout
