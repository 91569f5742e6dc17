"""Readiness: a self-check run once, at start-up, on a thread. Probes read its cached result,
so ``/readyz`` never does linear algebra and ``/livez`` touches nothing at all.

The check: the library loads (its BLAS answers); a small solve and a GEMM match NumPy on the
CPU; a GEMM matches NumPy on each usable OpenCL device when the GPU is enabled (GEMM is the
routine with an OpenCL kernel; solve runs on the CPU). With ``LAPACK_GPU_ENABLED=true`` set
explicitly, a process that sees no OpenCL GPU is not ready: that deployment asked for one.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np

from ..config import ENV, config, config_context

DEADLINE = 300  # seconds a self-check may take (kernels compile on first use) before it counts as failed
_N = 48  # small enough to take milliseconds anywhere; large enough for every code path but the 8x8 kernels


def _close(got, want) -> tuple[bool, float]:
    err = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1.0))
    return bool(err <= 100 * _N * np.finfo(np.float64).eps), err


class SelfCheck:
    """The start-up check. ``state()`` is what ``/readyz`` returns: ``status`` ("starting",
    "ready" or "failed"), ``ready``, and one entry per check with ``ok`` and ``detail``."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state = {"status": "starting", "ready": False, "checks": [], "started": time.time(), "seconds": None}
        self._thread: threading.Thread | None = None

    def start(self) -> "SelfCheck":
        self._thread = threading.Thread(target=self.run, name="lapack_ai-selfcheck", daemon=True)
        self._thread.start()
        return self

    def state(self) -> dict:
        with self._lock:
            s = {**self._state, "checks": list(self._state["checks"])}
        if s["status"] == "starting" and time.time() - s["started"] > DEADLINE:  # a hung device: say so
            s.update(status="failed", detail=f"the self-check has not finished in {DEADLINE} s")
        return s

    @property
    def ready(self) -> bool:
        with self._lock:
            return self._state["ready"]

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    def _add(self, name: str, ok: bool, detail: str, t0: float) -> bool:
        with self._lock:
            self._state["checks"].append({"name": name, "ok": ok, "detail": detail,
                                          "seconds": round(time.perf_counter() - t0, 4)})
        return ok

    def _check(self, name: str, fn) -> bool:
        t0 = time.perf_counter()
        try:
            ok, detail = fn()
        except Exception as e:  # any failure is the check's answer, never the thread's death
            ok, detail = False, f"{type(e).__name__}: {e}"
        return self._add(name, ok, detail, t0)

    def run(self) -> dict:
        t0 = time.perf_counter()
        ok = False
        try:
            ok = self._check("library", _library)
            if ok:
                rng = np.random.default_rng(0)
                a = rng.standard_normal((_N, _N)) + _N * np.eye(_N)  # well conditioned: the answer is unambiguous
                b = rng.standard_normal((_N, 3))
                ok &= self._check("solve on cpu", lambda: _solve(a, b))
                ok &= self._check("gemm on cpu", lambda: _gemm(a, b, "cpu"))
                if config.gpu_enabled:
                    try:
                        checks = _device_checks(a, b)
                    except Exception as e:  # fails readiness only where a GPU is required
                        why = f"{type(e).__name__}: {e}"
                        checks = [("opencl devices", lambda: (not _gpu_required(), f"{why}; serving from the CPU"))]
                    for name, fn in checks:
                        ok &= self._check(name, fn)
        finally:  # whatever happened, the state leaves "starting"
            with self._lock:
                self._state.update(status="ready" if ok else "failed", ready=ok,
                                   seconds=round(time.perf_counter() - t0, 3))
        return self.state()


def _library():
    from .. import blas_config

    b = blas_config()
    return True, f"{b['origin']}: OpenBLAS {b['version']} ({b['corename']}, {b['threads']} threads)"


def _solve(a, b):
    from .. import solve

    with config_context(device="cpu"):
        ok, err = _close(solve(a, b), np.linalg.solve(a, b))
    return ok, f"relative error {err:.1e} against numpy.linalg.solve"


def _gemm(a, b, device: str):
    from .. import gemm, last_decision

    with config_context(device=device):
        got = gemm(a, b)
        d = last_decision()
    ok, err = _close(got, a @ b)
    ran = d.strategy if d else "cpu"
    if device != "cpu" and ran != "opencl":
        return False, f"ran on {ran} instead of {device}: {d.reason if d else 'no decision recorded'}"
    return ok, f"relative error {err:.1e} against NumPy's matmul, ran on {ran}"


def _gpu_required() -> bool:
    """True when the deployment set LAPACK_GPU_ENABLED to a true value itself (the default,
    also true, means "use a GPU if there is one")."""
    return os.environ.get(ENV["gpu_enabled"], "").strip().lower() in ("1", "true", "yes", "on")


def _device_checks(a, b):
    """(name, check) for each usable OpenCL device, plus the GPU requirement when one is set."""
    from ..devices import devices

    devs = devices()
    usable = [d for d in devs if not d.unusable]
    out = [(f"gemm on {d.selector} ({d.name})", lambda d=d: _gemm(a, b, d.selector)) for d in usable]
    if _gpu_required():
        gpus = [d for d in usable if d.type.lower() == "gpu"]
        why = devs.problem or "; ".join(devs.hints) or ", ".join(f"{d.name} ({d.type})" for d in devs) or "no devices"
        out.insert(0, ("gpu present", lambda: (bool(gpus), ", ".join(d.name for d in gpus) if gpus else
                                               f"{ENV['gpu_enabled']}=true but no usable OpenCL GPU: {why}")))
    return out
