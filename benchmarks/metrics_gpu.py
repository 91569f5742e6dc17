"""Metrics of calls that run on a GPU: one 4096^3 float64 gemm forced onto the first OpenCL GPU,
one by auto dispatch, a 1024^3 one by auto dispatch (operands under 16 MiB: recorded through the
core's queued path), one CPU svd; prints the records (transfers, kernel, NVML utilisation and
memory), gpu_status() and the Prometheus text. Run on the GPU machine: python benchmarks/metrics_gpu.py"""

import json

import numpy as np

import lapack_ai as la
from lapack_ai.metrics import gpu_status

print(la.devices())
gpu = next(d for d in la.devices() if d.type == "gpu")
rng = np.random.default_rng(0)
a = rng.standard_normal((4096, 4096)); b = rng.standard_normal((4096, 4096))
with la.measure("gpu gemm") as m:
    c = la.gemm(a, b, device=gpu.selector)
    c2 = la.gemm(a, b)                       # auto: above the crossover -> GPU
    s1, s2 = a[:1024, :1024].copy(), b[:1024, :1024].copy()
    c3 = la.gemm(s1, s2)                     # auto, 8 MiB operands: _core.timed_call records it
    la.svd(a[:512, :512])
err = max(float(np.abs(c - a @ b).max()), float(np.abs(c3 - s1 @ s2).max()))
print(m.summary)
for r in m.records:
    d = r.to_dict(); d.pop("reason")
    print(json.dumps(d))
print("max abs err vs numpy", err)
print("gpu_status", gpu_status())
print(la.metrics.collector().to_prometheus())
