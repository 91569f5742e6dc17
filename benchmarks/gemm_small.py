"""Stacks of small products on the OpenCL small-product kernel (kernels/gemm_small.cl): each
variant checked against NumPy, then timed kernel-side (OpenCL profiling events) in GB/s of
minimal traffic (A and B read, C written, C also read when beta != 0), against the device's
copy bandwidth, ``torch.bmm`` (cuBLAS) and a broadcast multiply-and-sum in torch, all measured
on the same GPU in the same run; then end to end from NumPy (transfers included) against the
CPU path and ``np.matmul`` at 4x4.

    python benchmarks/gemm_small.py [--device 0] [--variants element matrix direct] [--reps 25]
                                    [--scale 1.0] [--sizes 4 8 16] [--dtypes float64 float32]

Counts give about 0.8 GB of minimal traffic per launch at --scale 1 (4x4: 2^21 float64 or
2^22 float32 products). Launch shapes can be overridden for a sweep with
LAPACK_AI_SMALL_GEMM_ROWS, LAPACK_AI_SMALL_GEMM_MPG and LAPACK_AI_SMALL_GEMM_VW
(rust/core/src/opencl/gemm_small.rs: `plan`).
"""

from __future__ import annotations

import argparse
import os
import statistics

import numpy as np

import lapack_ai
from lapack_ai import _core

PRODUCTS_4x4_F64 = 1 << 21  # ~0.8 GB of minimal traffic: 2^21 products * 3 matrices * 16 * 8 bytes


def copy_bandwidth() -> float | None:
    """GB/s of a 1 GiB device-to-device copy (bytes read + written), torch, median of 20."""
    try:
        import torch

        x = torch.empty(1 << 27, dtype=torch.float64, device="cuda")
    except Exception as e:  # no torch or no CUDA: no peer figure
        print(f"no copy peer (torch): {e}")
        return None
    y = torch.empty_like(x)
    for _ in range(3):
        y.copy_(x)
    ts = []
    for _ in range(20):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        y.copy_(x)
        e.record()
        torch.cuda.synchronize()
        ts.append(s.elapsed_time(e) * 1e6)
    return 2 * x.numel() * 8 / statistics.median(ts)


def torch_peers(count: int, s: int, dt: str) -> dict:
    """GB/s of minimal traffic (beta = 0) of torch.bmm and of (a[..., None] * b[:, None]).sum(-2)."""
    try:
        import torch

        x = torch.randn(count, s, s, dtype=getattr(torch, dt), device="cuda")
        y = torch.randn_like(x)
    except Exception:
        return {}
    out = {}
    for name, f in (("torch.bmm", lambda: torch.bmm(x, y)), ("torch broadcast", lambda: (x[..., None] * y[:, None]).sum(-2))):
        f()
        torch.cuda.synchronize()
        ts = []
        for _ in range(10):
            a, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            f()
            e.record()
            torch.cuda.synchronize()
            ts.append(a.elapsed_time(e) * 1e6)
        out[name] = 3 * x.numel() * x.element_size() / statistics.median(ts)
    del x, y
    torch.cuda.empty_cache()
    return out


def end_to_end(selector: str, count: int = 1 << 20) -> None:
    """4x4 float64 stacks from NumPy: device (transfers included), our CPU path, np.matmul."""
    from lapack_ai.benchmark import median_time

    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((count, 4, 4)), rng.standard_normal((count, 4, 4))
    traffic = 3 * a.nbytes
    for name, f in (("device, end to end", lambda: lapack_ai.gemm(a, b, device=selector)),
                    ("lapack_ai cpu", lambda: lapack_ai.gemm(a, b, device="cpu")),
                    ("np.matmul", lambda: np.matmul(a, b))):
        t = median_time(f, 5)
        print(f"e2e 4x4 float64 x {count}: {name:20} {t * 1e3:8.2f} ms {traffic / t / 1e9:7.1f} GB/s", flush=True)


def check(selector: str, variant: str) -> None:
    """The variant against NumPy on a stack with a partly filled last group, beta 0 and not."""
    os.environ["LAPACK_AI_SMALL_GEMM_VARIANT"] = variant
    rng = np.random.default_rng(0)
    for s in (4, 8, 16, 5):
        for dt in (np.float64, np.float32):
            a, b = rng.standard_normal((1007, s, s)).astype(dt), rng.standard_normal((1007, s, s)).astype(dt)
            c = rng.standard_normal((1007, s, s)).astype(dt)
            want = a.astype(np.float64) @ b + 0.5 * c
            lapack_ai.gemm(a, b, c, beta=0.5, device=selector)
            kernel = lapack_ai.last_decision().kernel
            err = float(np.abs(c - want).max() / np.abs(want).max())
            assert kernel == f"small-{s}x{s}x{s}-{variant}", kernel
            assert err < 8 * s * np.finfo(dt).eps, f"{kernel} {np.dtype(dt).name}: relative error {err:.3g}"
    del os.environ["LAPACK_AI_SMALL_GEMM_VARIANT"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", type=int, default=None, help="OpenCL device index (default: the first GPU)")
    ap.add_argument("--variants", nargs="+", default=["element", "matrix", "direct"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[4, 8, 16])
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    ap.add_argument("--reps", type=int, default=25, help="launches per case (the first 5 are warm-up)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every count")
    args = ap.parse_args()
    devs = lapack_ai.devices()
    dev = devs[args.device] if args.device is not None else next((d for d in devs if d.type == "gpu"), devs[0])
    print(f"device {dev.index}: {dev.name} ({dev.platform}, driver {dev.driver_version})")
    for v in args.variants:
        check(dev.selector, v)
    print("every variant matches NumPy")
    copy = copy_bandwidth()
    if copy:
        print(f"device copy (torch): {copy:.0f} GB/s")
    print(f"{'kernel':24} {'dtype':8} {'count':>9} {'beta':>4} {'GB':>6} {'us':>9} {'GB/s':>7} {'of copy':>7}")
    for s in args.sizes:
        for dt in args.dtypes:
            size = 8 if dt == "float64" else 4
            count = max(1, int(PRODUCTS_4x4_F64 * 16 * 8 / (s * s * size) * args.scale))
            for beta in (0.0, 1.0):
                traffic = count * (3 + (beta != 0)) * s * s * size
                for v in args.variants:
                    name, ns = _core.gemm_small_kernel_times(dev.index, count, s, s, s, dt, args.reps, v, beta)
                    med = statistics.median(ns[5:] if len(ns) > 5 else ns)
                    ratio = f"{traffic / med / copy:7.2f}" if copy else "      -"
                    print(f"{name:24} {dt:8} {count:9d} {beta:4.0f} {traffic / 1e9:6.3f} {med / 1e3:9.1f} "
                          f"{traffic / med:7.0f} {ratio}", flush=True)
            for name, gbs in torch_peers(count, s, dt).items():
                ratio = f"{gbs / copy:7.2f}" if copy else "      -"
                print(f"{name:24} {dt:8} {count:9d} {0:4.0f} {'':6} {'':9} {gbs:7.0f} {ratio}", flush=True)
    end_to_end(dev.selector)


if __name__ == "__main__":
    main()
