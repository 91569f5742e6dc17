"""gemm_alpha (one level of a fast 4x4 scheme) against the standard product it runs on, the
peer in the same run (batched small GEMM on the GPU: benchmarks/gemm_small.py).

    python benchmarks/gemm_alpha.py cpu [--sizes 4096 8192] [--dtypes float64 float32]
    python benchmarks/gemm_alpha.py gpu [--device I] [--sizes 4096 8192 16384]
    (--schemes strassen2 rank49 rank48, --reps N, --markdown, --json FILE for each;
     --phases logs where the CPU path spends its time, per group of products)

cpu: wall time of ``gemm(device="cpu")`` (OpenBLAS's xGEMM, the peer; NumPy's ``a @ b`` also
shown) and of ``gemm_alpha(device="cpu", scheme=s)``; speed-up = gemm time / scheme time.
gpu: kernel-side device time (operands on the device, OpenCL profiling events) of our OpenCL
GEMM and of gemm_alpha's kernels (factor sums, the stacked block GEMM, output sums), cuBLAS
through torch for context, and end to end from NumPy.

Errors: max over sampled rows of |C - R| / (|A| |B|) elementwise, R computed in long double
(float64 inputs) or float64 (float32 inputs); the standard product's error is measured the
same way on the same inputs, and the table gives their ratio.
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

from gemm import cublas  # benchmarks/gemm.py: cuBLAS through torch, None without CUDA

# Rows of C checked against the extended-precision reference. The error is a maximum, so a
# small sample understates it, the standard product's most, and the ratio comes out too high.
ROWS = 64


def error(c, a, b, idx) -> float:
    """Componentwise error of rows ``idx`` of C = A B against a more precise reference."""
    wide = np.longdouble if a.dtype == np.float64 else np.float64
    ref = a[idx].astype(wide) @ b.astype(wide)
    scale = np.abs(a[idx]).astype(np.float64) @ np.abs(b).astype(np.float64)
    return float(np.max(np.abs(c[idx].astype(wide) - ref) / (scale + np.finfo(np.float64).tiny)))


def operands(n, dt, seed=1):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n), dtype=np.float64 if dt == "float64" else np.float32)
    b = rng.standard_normal((n, n), dtype=a.dtype)
    return a, b, rng.choice(n, size=ROWS, replace=False)


def cpu(args) -> list[dict]:
    rows = []
    for dt in args.dtypes:
        for n in args.sizes:
            a, b, idx = operands(n, dt)
            t_gemm = median_time(lambda: lapack_ai.gemm(a, b, device="cpu"), args.reps)
            t_numpy = median_time(lambda: a @ b, args.reps)
            e_std = error(lapack_ai.gemm(a, b, device="cpu"), a, b, idx)
            for s in args.schemes:
                t = median_time(lambda: lapack_ai.gemm_alpha(a, b, scheme=s, device="cpu"), args.reps)
                e = error(lapack_ai.gemm_alpha(a, b, scheme=s, device="cpu"), a, b, idx)
                row = {"backend": "cpu", "dtype": dt, "n": n, "scheme": s, "gemm_s": t_gemm, "numpy_s": t_numpy,
                       "scheme_s": t, "speedup": t_gemm / t, "err": e, "err_standard": e_std}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def gpu_index(args) -> int:
    if args.device is not None:
        return args.device
    gpus = [d for d in lapack_ai.devices() if d.type == "gpu" and not d.unusable]
    if not gpus:
        raise SystemExit("no OpenCL GPU; pass --device to use another device")
    return gpus[0].index


def gpu(args) -> list[dict]:
    index = gpu_index(args)
    sel = f"opencl:{index}"
    rows = []
    for dt in args.dtypes:
        for n in args.sizes:
            a, b, idx = operands(n, dt)
            variant, times = _core.gemm_kernel_times(index, n, n, n, dt, args.reps + 1, "auto")
            t_gemm = statistics.median(times[1:]) / 1e9
            c = np.empty((n, n), a.dtype)
            _core.gemm_on(index, a, b, c, 1.0, 0.0, False, False, "auto")
            e_std = error(c, a, b, idx)
            t_cublas = cublas(n, dt, args.reps)
            t_e2e_gemm = median_time(lambda: lapack_ai.gemm(a, b, device=sel), max(1, args.reps // 2))
            for s in args.schemes:
                ks = []
                for _ in range(args.reps):
                    kernel, kns, _ = _core.gemm_alpha_on(index, a, b, c, 1.0, 0.0, s)
                    ks.append(kns / 1e9)
                e = error(c, a, b, idx)
                t_e2e = median_time(lambda: lapack_ai.gemm_alpha(a, b, scheme=s, device=sel), max(1, args.reps // 2))
                t = statistics.median(ks)
                row = {"backend": "opencl", "dtype": dt, "n": n, "scheme": s, "kernel": kernel, "gemm_variant": variant,
                       "gemm_s": t_gemm, "scheme_s": t, "speedup": t_gemm / t, "cublas_s": t_cublas,
                       "e2e_gemm_s": t_e2e_gemm, "e2e_scheme_s": t_e2e, "err": e, "err_standard": e_std}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def table(rows, markdown) -> None:
    cols = ["backend", "dtype", "n", "scheme", "gemm_s", "scheme_s", "speedup", "cublas_s", "numpy_s", "e2e_gemm_s",
            "e2e_scheme_s", "err", "err_standard", "err ratio"]
    used = [c for c in cols if c == "err ratio" or any(c in r for r in rows)]
    fmt = lambda v: "-" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
    lines = [used]
    for r in rows:
        r = dict(r, **{"err ratio": r["err"] / r["err_standard"] if r.get("err_standard") else None})
        lines.append([fmt(r.get(c)) for c in used])
    for i, line in enumerate(lines):
        print(("| " + " | ".join(line) + " |") if markdown else "  ".join(line))
        if markdown and i == 0:
            print("|" + "---|" * len(line))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["cpu", "gpu"])
    p.add_argument("--device", type=int, default=None)
    p.add_argument("--sizes", type=int, nargs="+", default=None)
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    p.add_argument("--schemes", nargs="+", default=["strassen2", "rank49", "rank48"])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--json", default=None)
    p.add_argument("--phases", action="store_true")
    args = p.parse_args(argv)
    if args.phases:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(message)s")
        logging.getLogger("lapack_ai").setLevel(logging.DEBUG)
        lapack_ai.reset_log_cache()
    if args.sizes is None:
        args.sizes = {"cpu": [4096, 8192], "gpu": [4096, 8192, 16384]}.get(args.what)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    blas = lapack_ai.blas_config()
    if args.what == "cpu":
        rows = cpu(args)
        where = f"host {platform.node()}, {platform.processor() or platform.machine()}, OpenBLAS {blas['version']} " \
                f"({blas['corename']}, {blas['threads']} threads)"
    else:
        rows = gpu(args)
        dev = lapack_ai.devices()[gpu_index(args)]
        where = f"{dev.name}, {dev.platform} driver {dev.driver_version}"
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"where": where, "when": when, "rows": rows}, f, indent=1)
    print(f"{where}; {when}; numpy {np.__version__}")
    table(rows, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
