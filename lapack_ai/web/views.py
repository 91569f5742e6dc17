"""What the dashboards show, as plain data: recent calls, time against size per backend,
errors, and the device panel. The web pages render it from JSON; the Jupyter widget
(``lapack_ai.jupyter``) draws the same series with plotly. No web framework is imported here."""

from __future__ import annotations

import math
import time
from typing import Iterable

from .. import metrics
from ..config import config


def _finite(x: float | None) -> float | None:
    """JSON has no NaN or Infinity (a browser's JSON.parse refuses them): such values are null."""
    return x if x is not None and math.isfinite(x) else None


def call_row(r: metrics.Record) -> dict:
    return {"time": r.timestamp, "operation": r.operation, "routine": r.routine,
            "shape": " ".join("x".join(map(str, s)) for s in r.shapes), "dtype": r.dtype,
            "backend": r.strategy or r.backend, "device": r.device, "ms": _finite(r.seconds * 1e3),
            "gflops": _finite(r.gflops), "reason": r.reason, "error": r.error}


def series(records: Iterable[metrics.Record]) -> dict[str, tuple[list, list, list]]:
    """Calls grouped per backend strategy (cpu, opencl, cpu-fallback): name -> (sizes,
    milliseconds, hover texts). Failed calls and calls without arrays are left out."""
    out: dict[str, tuple[list, list, list]] = {}
    for r in records:
        if r.error or not r.shapes or not math.isfinite(r.seconds):
            continue
        x, y, t = out.setdefault(r.strategy or r.backend or "none", ([], [], []))
        x.append(r.size)
        y.append(r.seconds * 1e3)
        g = f", {r.gflops:.1f} GFLOP/s" if r.gflops else ""
        t.append(f"{r.operation} ({r.routine}) {'x'.join(map(str, r.shapes[0]))} {r.dtype}: {r.seconds * 1e3:.3f} ms{g}")
    return out


def calls(collector: metrics.MetricsCollector, rows: int = 20, points: int = 2000) -> dict:
    """The collector as the live page shows it: the newest ``rows`` calls (newest first), the
    last ``points`` calls as series, the last five errors."""
    recs = collector.records()
    return {"version": collector.version, "buffered": len(recs), "maxlen": collector.maxlen,
            "metrics_on": bool(config.metrics),
            "calls": [call_row(r) for r in reversed(recs[-rows:])],
            "series": {k: {"n": x, "ms": y, "text": t} for k, (x, y, t) in series(recs[-points:]).items()},
            "errors": [call_row(r) for r in reversed([r for r in recs if r.error][-5:])]}


def devices() -> dict:
    """The device panel: the CPU's BLAS, each OpenCL device (memory, why unusable), NVML
    readings, the container's memory and this process's resident size. Each part that fails
    says so in ``problems`` instead of failing the panel."""
    from .. import blas_config
    from ..devices import container, devices as opencl_devices

    out: dict = {"time": time.time(), "cpu": None, "opencl": [], "nvml": [], "problems": [], "hints": []}
    try:
        b = blas_config()
        out["cpu"] = {"library": b["origin"], "version": b["version"], "corename": b["corename"],
                      "threads": b["threads"]}
    except Exception as e:  # a panel reports; it does not break the page
        out["problems"].append(f"blas_config(): {e}")
    try:
        devs = opencl_devices()
        out["opencl"] = [{"selector": d.selector, "name": d.name, "type": d.type, "platform": d.platform,
                          "global_memory": d.global_memory, "free_memory": d.free_memory,
                          "compute_units": d.compute_units, "fp64": d.fp64, "unusable": d.unusable} for d in devs]
        if devs.problem:
            out["problems"].append(f"no OpenCL: {devs.problem}")
        out["hints"] = list(devs.hints)
    except Exception as e:
        out["problems"].append(f"devices(): {e}")
    out["nvml"] = metrics.gpu_status()
    c = container()
    out["container"] = {"runtime": c.get("runtime"), "memory_limit": c.get("memory_limit"),
                        "memory_usage": c.get("memory_usage")}
    out["rss"] = metrics._probe().rss()
    return out
