"""Tile sweep for the OpenCL GEMM kernels: how the defaults in rust/core/src/opencl/gemm.rs
were chosen. Each configuration is checked against NumPy on an odd-sized product first.

    python benchmarks/gemm_tiles.py [--device 0] [--n 8192 ...] [--dtype float64] [--registers]

Tiles: portable "TM,TN,TK,WM,WN" (LAPACK_AI_GEMM_TILE), tensor-core "MI,NI,WARPS_M,WARPS_N,TK"
(LAPACK_AI_DMMA_TILE). Each configuration first multiplies a 257x300 by a 300x201 matrix in all
four transpose combinations against NumPy, then is timed at each n x n x n of ``--n``, planned
as the host plans it (split K on GPUs; ``LAPACK_AI_GEMM_SLOTS=0`` in the environment turns it
off). ``--registers`` builds with NVIDIA's ``-cl-nv-verbose`` and prints the compiler's register
and spill counts per configuration.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics

import numpy as np

from lapack_ai import _core

# (tile, extra defines). OpenCL devices report 48 KiB of local memory, which bounds the tiles.
# -DINSIDE=1 only for products with m >= TM, n >= TN, k >= TK (the check below and n qualify).
PORTABLE = [("192,128,8,16,16", "-DVEC=2 -DINSIDE=1"), ("192,128,8,16,16", "-DVEC=2 -DINSIDE=1 -DSTAGES=2"),
            ("128,128,8,16,16", "-DVEC=2"), ("128,128,8,16,16", ""), ("128,128,8,16,16", "-DVEC=4"),
            ("128,128,8,16,16", "-DVEC=2 -DSTAGES=2"), ("128,128,8,16,16", "-DVEC=2 -DOFF32=0"),
            ("128,128,16,16,16", "-DVEC=2"), ("128,128,4,16,16", "-DVEC=2"), ("128,128,8,16,32", "-DVEC=2"),
            ("128,64,8,16,8", "-DVEC=2"), ("160,128,8,16,16", "-DVEC=2"),
            ("128,256,8,16,32", "-DVEC=4"), ("128,256,8,16,32", "-DVEC=4 -DOFF32=0"), ("128,256,4,16,32", "-DVEC=4"),
            ("128,256,8,16,32", "-DVEC=4 -DSTAGES=2"), ("128,128,16,16,16", "-DVEC=4")]
TENSOR = [("4,4,2,4,8", "-DGROUP_M=8"), ("4,4,2,4,8", ""), ("4,4,2,4,8", "-DGROUP_M=16"),
          ("4,4,2,4,8", "-DSTAGES=2 -DGROUP_M=8"), ("2,8,4,2,8", "-DGROUP_M=8"), ("2,4,4,4,8", "-DGROUP_M=8"),
          ("4,4,2,2,8", "-DGROUP_M=8"), ("4,4,1,4,8", "-DGROUP_M=8"), ("4,4,2,2,16", "-DSTAGES=2 -DGROUP_M=8")]


def first_gpu() -> int:
    import lapack_ai

    gpus = [d.index for d in lapack_ai.devices() if d.type == "gpu" and not d.unusable]
    if not gpus:
        raise SystemExit("no OpenCL GPU; pass --device")
    return gpus[0]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", type=int, default=None)
    p.add_argument("--n", type=int, nargs="+", default=[8192])
    p.add_argument("--dtype", default="float64")
    p.add_argument("--reps", type=int, default=6)
    p.add_argument("--kernels", nargs="+", default=["tensor-core", "portable"])
    p.add_argument("--tiles", nargs="+", default=None, help="override the list: TILE or TILE:DEFINES")
    p.add_argument("--registers", action="store_true", help="print NVIDIA's register/spill counts")
    args = p.parse_args()
    build_notes: list[str] = []
    if args.registers:
        class Notes(logging.Handler):
            def emit(self, record):
                build_notes.extend(line.split("info    :")[-1].strip() for line in record.getMessage().splitlines()
                                   if "registers" in line or "spill" in line)

        logger = logging.getLogger("lapack_ai")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(Notes())
        _core.reset_log_cache()
    if args.device is None:
        args.device = first_gpu()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((257, 300)).astype(args.dtype)
    b = rng.standard_normal((300, 201)).astype(args.dtype)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    # (A, B, trans_a, trans_b): the four operand layouts the kernels are compiled for.
    layouts = [(a, b, False, False), (a.T.copy(), b, True, False), (a, b.T.copy(), False, True),
               (a.T.copy(), b.T.copy(), True, True)]
    out = []
    for kernel in args.kernels:
        var, tiles = ("LAPACK_AI_DMMA_TILE", TENSOR) if kernel == "tensor-core" else ("LAPACK_AI_GEMM_TILE", PORTABLE)
        if args.tiles:
            tiles = [tuple((t + ":").split(":")[:2]) for t in args.tiles]
        for tile, defines in tiles:
            os.environ[var] = tile
            os.environ["LAPACK_AI_KERNEL_DEFINES"] = defines + (" -cl-nv-verbose" if args.registers else "")
            build_notes.clear()
            try:
                err = 0.0
                for aa, bb, ta, tb in layouts:
                    c = np.zeros((257, 201), args.dtype)
                    _core.gemm_on(args.device, aa, bb, c, 1.0, 0.0, ta, tb, kernel)
                    err = max(err, float(np.max(np.abs(c - ref)) / np.max(np.abs(ref))))
                tfs = []
                for n in args.n:
                    name, times = _core.gemm_kernel_times(args.device, n, n, n, args.dtype, args.reps + 1, kernel)
                    tfs.append(f"{2.0 * n ** 3 / (statistics.median(times[1:]) / 1e9) / 1e12:.1f}")
                bound = 1e-13 if args.dtype == "float64" else 1e-5
                out.append((kernel, tile, defines, *tfs, f"{err:.1e}" + ("" if err < bound else " WRONG")))
            except Exception as e:  # a tile the device cannot build or run
                out.append((kernel, tile, defines, *["fail"] * len(args.n), str(e)[:240]))
            print(*out[-1], *build_notes[-2:], flush=True)
        os.environ.pop(var, None)
        os.environ.pop("LAPACK_AI_KERNEL_DEFINES", None)
    sizes = " | ".join(f"TF/s n={n}" for n in args.n)
    print(f"\n{args.dtype}: kernel | tile | defines | {sizes} | rel err")
    for row in out:
        print(" | ".join(row))


if __name__ == "__main__":
    main()
