"""GEMM on OpenCL against cuBLAS (through torch, when importable) and NumPy on the CPU.

    python benchmarks/gemm.py [--device 0] [--sizes 1024 2048 4096 8192] [--dtypes float64 float32]
                              [--kernels auto portable] [--check] [--markdown] [--json out.json]

Per size and dtype: our kernel alone (OpenCL profiling events, operands already on the
device, median of --reps launches), cuBLAS alone (CUDA events, same), ours end to end
(NumPy in, NumPy out, transfers included, wall clock) and NumPy's ``a @ b`` on the host, all
in one run. TF/s counts 2*n^3 flops. ``--check`` first runs a grid of shapes, transposes and
layouts on the device against a float64 NumPy reference and stops on any mismatch.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys

import numpy as np

import lapack_ai
from lapack_ai import _core
from lapack_ai.benchmark import median_time


def tol(k: int, dtype) -> float:
    return 8 * np.finfo(dtype).eps * max(k, 1) ** 0.5 * 4


def check(index: int, kernels: list[str], dtypes: list[str]) -> list[str]:
    """Grid of shapes x transposes x layouts on the device vs float64 NumPy; returns failures."""
    rng = np.random.default_rng(0)
    shapes = [(1, 1, 1), (7, 5, 3), (17, 33, 65), (128, 128, 16), (129, 130, 131), (300, 7, 500), (1, 513, 257),
              (640, 384, 1000), (1501, 1499, 67), (2200, 2100, 1100)]
    bad, runs = [], 0
    for dt in dtypes:
        for kernel in kernels:
            for m, n, k in shapes:
                for ta in (False, True):
                    for tb in (False, True):
                        for order in ("C", "F"):
                            a = np.asarray(rng.standard_normal((k, m) if ta else (m, k)), dt, order=order)
                            b = np.asarray(rng.standard_normal((n, k) if tb else (k, n)), dt, order=order)
                            c = np.asarray(rng.standard_normal((m, n)), dt, order=order)
                            oa = a.T if ta else a
                            ob = b.T if tb else b
                            want = 1.25 * (oa.astype(np.float64) @ ob.astype(np.float64)) - 0.5 * c.astype(np.float64)
                            got = c.copy(order=order)
                            try:
                                variant, _, _ = _core.gemm_on(index, a, b, got, 1.25, -0.5, ta, tb, kernel)
                            except RuntimeError as e:
                                if kernel == "tensor-core" and dt == "float32":
                                    continue
                                bad.append(f"{dt} {kernel} {m}x{n}x{k} ta={ta} tb={tb} {order}: {e}")
                                continue
                            runs += 1
                            scale = np.abs(oa.astype(np.float64)) @ np.abs(ob.astype(np.float64)) + np.abs(c)
                            err = float(np.max(np.abs(got - want) / (scale + np.finfo(dt).tiny)))
                            if not err <= tol(k, dt):
                                bad.append(f"{dt} {variant} {m}x{n}x{k} ta={ta} tb={tb} {order}: rel err {err:.2e}")
    print(f"check: {runs} device runs, {len(bad)} failures", flush=True)
    return bad


def cublas(n: int, dtype: str, reps: int):
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    td = getattr(torch, dtype)
    a = torch.randn(n, n, dtype=td, device="cuda")
    b = torch.randn(n, n, dtype=td, device="cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    for _ in range(2):
        torch.matmul(a, b)
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        torch.matmul(a, b)
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e) / 1e3)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", type=int, default=None, help="OpenCL device index (default: first GPU)")
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096, 8192])
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    p.add_argument("--kernels", nargs="+", default=["auto", "portable"])
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--e2e-reps", type=int, default=3)
    p.add_argument("--check", action="store_true")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    devs = lapack_ai.devices()
    print(devs, flush=True)
    if args.device is None:
        gpus = [d for d in devs if d.type == "gpu" and not d.unusable]
        if not gpus:
            print("no OpenCL GPU; pass --device to use another device", file=sys.stderr)
            return 2
        args.device = gpus[0].index
    dev = devs[args.device]
    if args.check:
        bad = check(args.device, args.kernels + (["tensor-core"] if dev.tensor_core_gemm else []), args.dtypes)
        for b in bad[:40]:
            print("MISMATCH", b)
        if bad:
            return 1

    rng = np.random.default_rng(1)
    rows = []
    for dt in args.dtypes:
        for n in args.sizes:
            flops = 2.0 * n ** 3
            row = {"dtype": dt, "n": n}
            for kernel in args.kernels:
                try:
                    variant, times = _core.gemm_kernel_times(args.device, n, n, n, dt, args.reps + 1, kernel)
                except RuntimeError as e:
                    row[f"ours_{kernel}"] = None
                    print(f"{dt} n={n} {kernel}: {e}", flush=True)
                    continue
                t = statistics.median(times[1:]) / 1e9
                row[f"ours_{kernel}"] = flops / t / 1e12
                row[f"variant_{kernel}"] = variant
            t = cublas(n, dt, args.reps)
            row["cublas"] = flops / t / 1e12 if t else None
            a = rng.standard_normal((n, n)).astype(dt)
            b = rng.standard_normal((n, n)).astype(dt)
            sel = f"opencl:{args.device}"
            row["ours_e2e"] = flops / median_time(lambda: lapack_ai.gemm(a, b, device=sel), args.e2e_reps) / 1e12
            row["numpy"] = flops / median_time(lambda: a @ b, args.e2e_reps) / 1e12
            # Correctness of the end-to-end call on sampled rows (full reference is slow on a CPU).
            c = lapack_ai.gemm(a, b, device=sel)
            idx = rng.choice(n, size=min(n, 32), replace=False)
            ref = a[idx].astype(np.float64) @ b.astype(np.float64)
            row["max_rel_err"] = float(np.max(np.abs(c[idx] - ref)) / np.max(np.abs(ref)))
            rows.append(row)
            print(json.dumps(row), flush=True)

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"{dev.name}, {dev.platform} driver {dev.driver_version}; host {platform.node()}; {when}; "
            f"numpy {np.__version__}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": dev.name, "driver": dev.driver_version, "when": when, "rows": rows}, f, indent=1)
    fmt = lambda x: "-" if x is None else f"{x:.1f}" if x >= 1 else f"{x:.3f}"
    cols = [f"ours_{k}" for k in args.kernels] + ["cublas", "ours_e2e", "numpy"]
    print(head)
    header = ["dtype", "n"] + [c.replace("ours_", "ours ") + " TF/s" for c in cols] + ["best/cuBLAS", "e2e/numpy", "rel err"]
    sep = " | "
    print(("| " if args.markdown else "") + sep.join(header) + (" |" if args.markdown else ""))
    if args.markdown:
        print("|" + "---|" * len(header))
    for r in rows:
        best = max((r[f"ours_{k}"] or 0) for k in args.kernels)
        ratio = f"{best / r['cublas']:.2f}" if r.get("cublas") else "-"
        e2e = f"{r['ours_e2e'] / r['numpy']:.2f}"
        cells = [r["dtype"], str(r["n"])] + [fmt(r.get(c)) for c in cols] + [ratio, e2e, f"{r['max_rel_err']:.1e}"]
        print(("| " if args.markdown else "") + sep.join(cells) + (" |" if args.markdown else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
