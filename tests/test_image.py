"""The container images of docker/Dockerfile, built as a user builds them (``./dev image``) and
run as an orchestrator runs them: read-only root filesystem with a tmpfs on the cache dir, a
published port, then SIGTERM. prod must serve its probes and metrics, compute as NumPy does,
run as a numeric non-root user, stop cleanly and stay within 300 MB; prod-pocl must run the
OpenCL kernels on its CPU device; compose's ``dashboard`` service must come up healthy.

``./dev test`` sets LAPACK_AI_REQUIRE_DOCKER=1 where docker is usable, so a broken docker
fails the run there instead of skipping. A cold build (base, crates, wheel, both images) takes
minutes; later runs reuse Docker's layer cache."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker" / "compose.yaml"
CACHE = "/var/cache/lapack-ai"  # the image's one writable place (LAPACK_AI_CACHE_DIR, POCL_CACHE_DIR, HOME)
PROD_MAX_BYTES = 300_000_000  # as `docker image inspect -f '{{.Size}}'` reports it
REQUIRE = os.environ.get("LAPACK_AI_REQUIRE_DOCKER") == "1"


def _docker_problem() -> str | None:
    if not shutil.which("docker"):
        return "docker is not installed"
    try:
        r = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                           timeout=60)
    except subprocess.TimeoutExpired:
        return "docker info did not answer in 60 s"
    return f"the docker daemon is not usable: {r.stderr.strip()[-300:]}" if r.returncode else None


_problem = _docker_problem()
if _problem:
    if REQUIRE:
        pytest.fail(f"LAPACK_AI_REQUIRE_DOCKER=1 but {_problem}", pytrace=False)
    pytest.skip(_problem, allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _run(*cmd, timeout=120, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode:
        pytest.fail(f"{' '.join(cmd)} exited {r.returncode}:\n{(r.stdout + r.stderr)[-4000:]}", pytrace=False)
    return r


_built: dict[str, tuple[int, float]] = {}


def _image(target: str) -> tuple[str, int, float]:
    """Build lapack-ai:<target> with ./dev image (once per session): tag, size in bytes, seconds."""
    if target not in _built:
        t0 = time.monotonic()
        r = subprocess.run([str(ROOT / "dev"), "image", target], cwd=ROOT, capture_output=True, text=True,
                           timeout=1500)
        if r.returncode:
            pytest.fail(f"./dev image {target} exited {r.returncode}:\n{(r.stdout + r.stderr)[-6000:]}", pytrace=False)
        size = int(_run("docker", "image", "inspect", "-f", "{{.Size}}", f"lapack-ai:{target}").stdout)
        _built[target] = size, time.monotonic() - t0
    return (f"lapack-ai:{target}", *_built[target])


def _report(capsys, tag: str, size: int, seconds: float) -> None:
    with capsys.disabled():
        print(f"\n{tag}: {size / 1e6:.0f} MB, ./dev image took {seconds:.0f} s", flush=True)


def _logs(name: str) -> str:
    r = _run("docker", "logs", "--tail", "60", name, check=False)
    return (r.stdout + r.stderr)[-4000:]


@contextmanager
def _container(image: str, *args: str, cache_opts: str = ""):
    """A detached container of the image as a hardened deployment runs it (read-only root, a
    tmpfs on the cache dir, docker's default noexec unless cache_opts says exec); removed on
    exit whatever happened. Yields its name and the URL of its published port."""
    name = f"lapack-ai-test-{uuid.uuid4().hex[:10]}"
    tmpfs = f"{CACHE}:{cache_opts}" if cache_opts else CACHE
    _run("docker", "run", "-d", "--name", name, "--read-only", "--tmpfs", tmpfs, "-p", "127.0.0.1::8080",
         *args, image)
    try:
        port = _run("docker", "port", name, "8080/tcp").stdout.split()[0].rsplit(":", 1)[1]
        yield name, f"http://127.0.0.1:{port}"
    finally:
        _run("docker", "rm", "-f", "-v", name, check=False)


def _get(url: str, timeout: float = 5):
    """(status, content type, body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def _wait_ready(name: str, url: str, timeout: float = 180) -> dict:
    """Poll /readyz until it answers 200; fail with the container's logs if it exits, answers
    that its self-check failed, or is not ready in time."""
    deadline, last = time.monotonic() + timeout, "no answer"
    while True:
        if _run("docker", "inspect", "-f", "{{.State.Running}}", name).stdout.strip() != "true":
            pytest.fail(f"container exited before it was ready; logs:\n{_logs(name)}", pytrace=False)
        try:
            status, _, body = _get(f"{url}/readyz")
            if status == 200:
                return json.loads(body)
            last = f"{status} {body[:1000]}"
            if '"failed"' in body:
                pytest.fail(f"/readyz: the self-check failed: {last}\nlogs:\n{_logs(name)}", pytrace=False)
        except OSError as e:  # not listening yet (docker's proxy accepts, then resets)
            last = repr(e)
        if time.monotonic() > deadline:
            pytest.fail(f"/readyz not 200 after {timeout:.0f} s (last: {last}); logs:\n{_logs(name)}", pytrace=False)
        time.sleep(0.5)


def _exec(name: str, *cmd: str, check=True) -> subprocess.CompletedProcess:
    return _run("docker", "exec", name, *cmd, timeout=300, check=check)


# Runs inside the container: the image's own lapack_ai against NumPy.
COMPUTE = """
import json, numpy as np, lapack_ai as la
rng = np.random.default_rng(0)
a = rng.standard_normal((96, 96)) + 10 * np.eye(96)
b = rng.standard_normal((96, 3))
assert np.allclose(la.solve(a, b), np.linalg.solve(a, b))
assert np.allclose(la.svdvals(a), np.linalg.svd(a, compute_uv=False))
w, v = la.eigh(a + a.T)
assert np.allclose((a + a.T) @ v, v * w)
assert np.allclose(la.gemm(a, b), a @ b)
print(json.dumps({"file": la.__file__, "blas": la.blas_config()["origin"]}))
"""

# Runs inside prod-pocl: GEMM on the OpenCL device (PoCL), said so by the dispatcher.
COMPUTE_OPENCL = """
import json, numpy as np, lapack_ai as la
rng = np.random.default_rng(1)
a, b = rng.standard_normal((200, 150)), rng.standard_normal((150, 120))
c = la.gemm(a, b, device="opencl")
d = la.last_decision()
assert d.strategy == "opencl", d
assert np.allclose(c, a @ b), float(np.abs(c - a @ b).max())
print(json.dumps({"strategy": d.strategy, "devices": str(la.devices())}))
"""


def test_prod_image_serves_computes_and_stops_gracefully(capsys):
    image, size, seconds = _image("prod")
    _report(capsys, image, size, seconds)
    assert size <= PROD_MAX_BYTES, f"{image} is {size / 1e6:.0f} MB, over {PROD_MAX_BYTES / 1e6:.0f} MB"
    config = json.loads(_run("docker", "image", "inspect", "-f", "{{json .Config}}", image).stdout)
    user = config.get("User") or "0"
    assert re.fullmatch(r"\d+(:\d+)?", user) and int(user.split(":")[0]) != 0, f"image user {user!r}: want numeric, not root"
    assert config["Healthcheck"]["Test"][0] in ("CMD", "CMD-SHELL") and "/livez" in " ".join(config["Healthcheck"]["Test"])

    with _container(image) as (name, url):
        state = _wait_ready(name, url)
        assert state["ready"] is True and state["checks"], state
        status, _, body = _get(f"{url}/livez")
        assert status == 200 and json.loads(body) == {"status": "ok"}, (status, body)
        assert _get(f"{url}/health")[0] == 200

        out = _exec(name, "python3", "-c", COMPUTE)
        facts = json.loads(out.stdout.strip().splitlines()[-1])
        assert facts["file"].startswith("/opt/lapack-ai/"), facts

        uid = _exec(name, "id", "-u").stdout.strip()
        assert uid == user.split(":")[0] and uid != "0", uid
        denied = _exec(name, "sh", "-c", "echo x > /probe", check=False)
        assert denied.returncode != 0 and "Read-only file system" in denied.stderr, denied
        _exec(name, "sh", "-c", f"echo x > {CACHE}/probe && test -s {CACHE}/probe")
        # prod carries no compiler, no installer and no CA bundle (the build stage's host CA stays there)
        leftovers = _exec(name, "sh", "-c", "for c in gcc cc rustc cargo pip; do command -v $c; done; "
                                            "ls /etc/ssl/certs/ca-certificates.crt 2>/dev/null; true").stdout
        assert leftovers.strip() == "", leftovers

        status, ctype, body = _get(f"{url}/metrics")
        assert status == 200 and ctype.startswith("text/plain"), (status, ctype)
        from prometheus_client.parser import text_string_to_metric_families

        families = {f.name for f in text_string_to_metric_families(body)}
        assert any(n.startswith("lapack_ai_") for n in families), sorted(families)

        t0 = time.monotonic()
        _run("docker", "stop", "-t", "15", name, timeout=60)
        took = time.monotonic() - t0
        code = _run("docker", "inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        assert code == "0", f"exit code {code} after SIGTERM (137: killed after the grace period); logs:\n{_logs(name)}"
        assert took < 10, f"docker stop took {took:.1f} s"


def test_prod_pocl_image_runs_the_opencl_kernels(capsys):
    image, size, seconds = _image("prod-pocl")
    _report(capsys, image, size, seconds)
    # PoCL dlopens the kernels it compiles from POCL_CACHE_DIR, so that tmpfs needs exec
    # (docker's --tmpfs is noexec by default; a Kubernetes emptyDir is not)
    with _container(image, cache_opts="exec") as (name, url):
        state = _wait_ready(name, url)
        opencl = [c for c in state["checks"] if "opencl" in c["name"]]
        assert opencl and all(c["ok"] and "ran on opencl" in c["detail"] for c in opencl), state
        out = _exec(name, "python3", "-c", COMPUTE_OPENCL)
        assert json.loads(out.stdout.strip().splitlines()[-1])["strategy"] == "opencl"
        # PoCL's compiled kernels went to the cache dir's tmpfs (the root is read-only)
        assert _exec(name, "sh", "-c", f"find {CACHE}/pocl -type f | head -1").stdout.strip()
    # On docker's default noexec tmpfs PoCL would crash loading its kernels: the device is
    # unusable (saying why), and the service stays up and ready on the CPU
    with _container(image) as (name, url):
        state = _wait_ready(name, url)
        assert not [c for c in state["checks"] if "opencl" in c["name"]], state
        _, _, body = _get(f"{url}/api/devices")
        (dev,) = json.loads(body)["opencl"]
        assert "noexec mount" in dev["unusable"], dev


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


def compose_service_healthy(compose_file: Path, service: str, url: str, timeout: float = 240) -> None:
    """`up -d` one service of a compose file (its image already built: --no-build), wait until
    Docker calls it healthy and ``url``/readyz answers 200 from the host, then `down`, whatever
    happened."""
    compose = _compose_command()
    if compose is None:
        msg = "neither docker-compose nor the docker compose plugin is installed"
        if REQUIRE:
            pytest.fail(f"LAPACK_AI_REQUIRE_DOCKER=1 but {msg}", pytrace=False)
        pytest.skip(msg)
    cmd = [*compose, "-f", str(compose_file), "-p", f"lapackaitest{uuid.uuid4().hex[:8]}"]
    try:
        _run(*cmd, "up", "-d", "--no-build", service, timeout=300)
        (cid,) = _run(*cmd, "ps", "-q", service).stdout.split()
        deadline = time.monotonic() + timeout
        while True:
            state, *health = _run("docker", "inspect", "-f",
                                  "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", cid).stdout.split()
            health = health[0] if health else "(no healthcheck)"
            if state == "running" and health == "healthy":
                try:
                    with urllib.request.urlopen(url + "/readyz", timeout=5) as r:
                        assert json.load(r)["ready"] is True
                    break
                except (urllib.error.URLError, ConnectionError):  # 503 while the self-check runs
                    pass
            if state != "running" or health in ("unhealthy", "(no healthcheck)"):
                pytest.fail(f"{service}: {state}, {health}; logs:\n{_logs(cid)}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"{service} not healthy after {timeout:.0f} s ({health}); logs:\n{_logs(cid)}", pytrace=False)
            time.sleep(1)
    finally:
        subprocess.run([*cmd, "down", "-v", "--remove-orphans", "-t", "15"], capture_output=True, timeout=300)


def test_compose_dashboard_comes_up_healthy(monkeypatch):
    assert COMPOSE_FILE.exists(), f"{COMPOSE_FILE} is missing"
    with socket.socket() as s:  # the service publishes 127.0.0.1:$LAPACK_AI_HOST_PORT: a free one here
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LAPACK_AI_HOST_PORT", str(port))
    _image("prod")  # the dashboard service's image, lapack-ai:prod (compose's own build would need BASE)
    compose_service_healthy(COMPOSE_FILE, "dashboard", url=f"http://127.0.0.1:{port}")
