"""Settings: environment parsing and its errors, process updates, per-block overrides, the
batch limit, and container facts."""

import logging
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import lapack_ai
from lapack_ai import ConfigError, DeviceError, ShapeError, config, config_context
from lapack_ai import _core
from lapack_ai.config import ENV


@pytest.fixture
def env(monkeypatch):
    """Clean settings for the test (every variable unset), restored afterwards."""
    for var in ENV.values():
        monkeypatch.delenv(var, raising=False)
    config.reload()
    yield monkeypatch
    monkeypatch.undo()
    config.reload()
    logging.getLogger("lapack_ai").setLevel(logging.NOTSET)


def test_defaults(env):
    assert config.as_dict() == {"device": "auto", "gpu_enabled": True, "gpu_memory_limit": 90.0, "log_level": None,
                                "batch_size_limit": None, "dashboard_port": 8050, "compare_max_size": 1024, "metrics": False,
                                "metrics_buffer": 10000}


@pytest.mark.parametrize("name,raw,value", [
    ("device", "CPU", "cpu"), ("device", "opencl:0", "opencl:0"), ("gpu_enabled", "off", False),
    ("gpu_memory_limit", "50%", 50.0), ("log_level", "debug", "DEBUG"), ("batch_size_limit", "64", 64),
    ("dashboard_port", "9000", 9000), ("metrics", "yes", True), ("metrics_buffer", "5", 5), ("compare_max_size", "256", 256),
])
def test_environment_values(env, name, raw, value):
    env.setenv(ENV[name], raw)
    config.reload()
    assert getattr(config, name) == value


@pytest.mark.parametrize("name,raw,accepted", [
    ("device", "tpu", "'auto', 'cpu', 'opencl'"), ("gpu_enabled", "maybe", "true/false"),
    ("gpu_memory_limit", "150", "(0, 100]"), ("log_level", "loud", "DEBUG, INFO"),
    ("batch_size_limit", "0", "integer >= 1"), ("dashboard_port", "70000", "<= 65535"), ("compare_max_size", "0", ">= 1"),
    ("metrics", "2", "true/false"), ("metrics_buffer", "ten", "integer >= 1"),
])
def test_bad_values_name_variable_value_and_what_is_accepted(env, name, raw, accepted):
    env.setenv(ENV[name], raw)
    with pytest.raises(ConfigError) as e:
        config.reload()
    err = e.value
    assert err.variable == ENV[name] and err.value == raw and accepted in err.accepted
    assert ENV[name] in str(err) and repr(raw) in str(err)
    assert isinstance(err, ValueError) and err.to_dict()["variable"] == ENV[name]


def test_bad_value_fails_on_first_use_not_on_import():
    code = ("import numpy as np, lapack_ai\nprint('imported', flush=True)\n"
            "try:\n    lapack_ai.svd(np.eye(3))\nexcept lapack_ai.ConfigError as e:\n    print('first use:', e)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "LAPACK_DASHBOARD_PORT": "http"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["imported", "first use: LAPACK_DASHBOARD_PORT='http' is not accepted: "
                                     "expected an integer >= 1 and <= 65535"]


def test_log_level_sets_the_logger(env):
    env.setenv("LAPACK_LOG_LEVEL", "WARNING")
    config.reload()
    assert logging.getLogger("lapack_ai").level == logging.WARNING


def test_update_is_validated_and_reaches_the_core(env):
    config.update(gpu_memory_limit=42, metrics_buffer=7)
    assert config.gpu_memory_limit == 42.0 and _core.settings()["memory_limit_pct"] == 42.0
    assert os.environ["LAPACK_GPU_MEMORY_LIMIT"] == "42"
    assert lapack_ai.metrics.collector().maxlen == 7
    with pytest.raises(ConfigError, match="LAPACK_GPU_MEMORY_LIMIT='0'"):
        config.update(gpu_memory_limit=0)
    # a refused update changes nothing, in Python or in the core
    assert config.gpu_memory_limit == 42.0 and _core.settings()["memory_limit_pct"] == 42.0
    with pytest.raises(ConfigError, match="LAPACK_AI_METRICS_BUFFER"):
        config.metrics_buffer = -1
    with pytest.raises(AttributeError, match="settings are"):
        config.colour  # noqa: B018
    config.update(metrics_buffer=10000)


def test_context_overrides_for_the_block_and_thread_only(env):
    seen = {}

    def other():
        seen["other"] = config.metrics

    with config_context(metrics=True, device="cpu") as s:
        assert s.metrics and config.metrics and config.device == "cpu"
        with config_context(metrics=False):
            assert not config.metrics and config.device == "cpu"
        assert config.metrics
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen["other"] is False
    assert not config.metrics and config.device == "auto"


def test_context_refuses_process_wide_and_unknown_settings(env):
    with pytest.raises(TypeError, match="config.update"):
        with config_context(metrics_buffer=5):
            pass
    with pytest.raises(TypeError, match="unknown setting"):
        with config_context(colour="red"):
            pass
    with pytest.raises(ConfigError, match="LAPACK_AI_DEVICE"):
        with config_context(device="quantum"):
            pass


def test_context_device_and_gpu_switch_drive_dispatch(env, rng):
    a = rng.standard_normal((40, 40))
    with config_context(device="cpu"):
        lapack_ai.gemm(a, a)
    assert lapack_ai.last_decision().reason == "cpu: requested"
    with config_context(gpu_enabled=False):
        np.testing.assert_allclose(lapack_ai.gemm(a, a), a @ a, rtol=1e-12)
        assert lapack_ai.last_decision().backend == "cpu"
        with pytest.raises(DeviceError, match="gpu_enabled=False"):
            lapack_ai.gemm(a, a, device="opencl")


def test_batch_size_limit(env, rng):
    stack = rng.standard_normal((5, 3, 3)) + 3 * np.eye(3)
    env.setenv("LAPACK_BATCH_SIZE_LIMIT", "4")
    config.reload()
    with pytest.raises(ShapeError, match="stack of 5 matrices, more than LAPACK_BATCH_SIZE_LIMIT=4"):
        lapack_ai.inv(stack)
    assert lapack_ai.inv(stack[:4]).shape == (4, 3, 3)
    with config_context(batch_size_limit=None):
        assert lapack_ai.inv(stack).shape == (5, 3, 3)
    with config_context(batch_size_limit=2):
        with pytest.raises(ShapeError):
            lapack_ai.det(stack[:3])


def test_container_facts_from_a_tree(tmp_path, monkeypatch):
    for var in ("KUBERNETES_SERVICE_HOST", "container", "NVIDIA_VISIBLE_DEVICES"):
        monkeypatch.delenv(var, raising=False)
    bare = lapack_ai.container(root=str(tmp_path))
    assert bare["in_container"] is False and bare["gpu_devices"] == [] and bare["gpu_passthrough"] is False
    (tmp_path / "run").mkdir()
    (tmp_path / "run/.containerenv").touch()
    (tmp_path / "dev/dri").mkdir(parents=True)
    for node in ("dev/nvidia0", "dev/nvidiactl", "dev/dri/renderD128"):
        (tmp_path / node).touch()
    c = lapack_ai.container(root=str(tmp_path))
    assert c["in_container"] and c["runtime"] == "podman" and c["gpu_passthrough"]
    assert c["gpu_devices"] == [str(tmp_path / "dev/dri/renderD128"), str(tmp_path / "dev/nvidia0")]
    (tmp_path / "run/.containerenv").unlink()
    (tmp_path / "proc/1").mkdir(parents=True)
    (tmp_path / "proc/1/cgroup").write_text("0::/kubepods/burstable/pod1234/abcd\n")
    assert lapack_ai.container(root=str(tmp_path))["runtime"] == "kubernetes"
    assert config.container["cpus"] >= 1  # the real one, through config


def test_only_blocks_that_set_device_or_gpu_steer_dispatch(env):
    from lapack_ai.config import device_request

    with config_context(metrics=True, batch_size_limit=3):  # measure() uses such a block
        assert device_request(None) is None  # the core's default applies; gemm keeps its fast path
        assert device_request("cpu") == "cpu"
    with config_context(device="cpu"):
        with config_context(metrics=True):  # an inner block keeps the outer one's device
            assert device_request(None) == "cpu"
    with config_context(gpu_enabled=False):
        assert device_request(None) == "cpu"
