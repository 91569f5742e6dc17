"""Tile sweep for the OpenCL GEMM kernels: how the defaults in rust/core/src/opencl/gemm.rs
were chosen. Each configuration is checked against NumPy on an odd-sized product first.

    python benchmarks/gemm_tiles.py [--device 0] [--n 8192] [--dtype float64]

Tiles: portable "TM,TN,TK,WM,WN" (LAPACK_AI_GEMM_TILE), tensor-core "MI,NI,WARPS_M,WARPS_N,TK"
(LAPACK_AI_DMMA_TILE).
"""

from __future__ import annotations

import argparse
import os
import statistics

import numpy as np

from lapack_ai import _core

# (tile, extra defines). Local memory on NVIDIA's OpenCL is 48 KiB, which bounds the tiles.
PORTABLE = [("128,128,16,16,16", ""), ("128,128,8,16,16", "-DSTAGES=2"), ("128,128,16,16,16", "-DSTAGES=2"),
            ("64,64,16,16,16", ""), ("128,128,8,16,16", ""), ("128,64,16,16,8", ""), ("128,128,16,8,16", ""),
            ("64,128,16,8,16", "-DSTAGES=2"), ("64,64,8,8,8", "")]
TENSOR = [("2,4,4,4,8", "-DSTAGES=2"), ("2,4,4,4,16", ""), ("2,4,4,4,8", ""), ("2,4,2,4,8", "-DSTAGES=2"),
          ("2,4,4,2,8", "-DSTAGES=2"), ("1,4,4,4,8", "-DSTAGES=2"), ("2,2,4,4,8", "-DSTAGES=2"),
          ("4,4,2,4,8", ""), ("2,8,4,2,8", "-DSTAGES=2"), ("4,4,2,4,16", "")]


def first_gpu() -> int:
    import lapack_ai

    gpus = [d.index for d in lapack_ai.devices() if d.type == "gpu" and not d.unusable]
    if not gpus:
        raise SystemExit("no OpenCL GPU; pass --device")
    return gpus[0]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", type=int, default=None)
    p.add_argument("--n", type=int, default=8192)
    p.add_argument("--dtype", default="float64")
    p.add_argument("--reps", type=int, default=6)
    p.add_argument("--kernels", nargs="+", default=["tensor-core", "portable"])
    p.add_argument("--tiles", nargs="+", default=None, help="override the list: TILE or TILE:DEFINES")
    args = p.parse_args()
    if args.device is None:
        args.device = first_gpu()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((257, 300)).astype(args.dtype)
    b = rng.standard_normal((300, 129)).astype(args.dtype)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    out = []
    for kernel in args.kernels:
        var, tiles = ("LAPACK_AI_DMMA_TILE", TENSOR) if kernel == "tensor-core" else ("LAPACK_AI_GEMM_TILE", PORTABLE)
        if args.tiles:
            tiles = [tuple((t + ":").split(":")[:2]) for t in args.tiles]
        for tile, defines in tiles:
            os.environ[var] = tile
            os.environ["LAPACK_AI_KERNEL_DEFINES"] = defines
            try:
                c = np.zeros((257, 129), args.dtype)
                _core.gemm_on(args.device, a, b, c, 1.0, 0.0, False, False, kernel)
                err = float(np.max(np.abs(c - ref)) / np.max(np.abs(ref)))
                name, times = _core.gemm_kernel_times(args.device, args.n, args.n, args.n, args.dtype, args.reps + 1, kernel)
                tf = 2.0 * args.n ** 3 / (statistics.median(times[1:]) / 1e9) / 1e12
                out.append((kernel, tile, defines, f"{tf:.1f}", f"{err:.1e}"))
            except Exception as e:  # a tile the device cannot build or run
                out.append((kernel, tile, defines, "fail", str(e)[:80]))
            print(*out[-1], flush=True)
        os.environ.pop(var, None)
        os.environ.pop("LAPACK_AI_KERNEL_DEFINES", None)
    print(f"\n{args.dtype} n={args.n}: kernel | tile | defines | TF/s | rel err")
    for row in out:
        print(" | ".join(row))


if __name__ == "__main__":
    main()
