"""Run an OpenCL GEMM kernel (tensor-core or portable) through CUDA so Nsight Compute can profile it.

Nsight Compute does not see kernels launched through NVIDIA's OpenCL ("No kernels were
profiled"). This script builds the kernel through lapack_ai (OpenCL), takes the PTX the driver
produced from the kernel cache, replaces the OpenCL environment registers (%envreg: group-id
offsets, global offsets, numbers of groups) by their plain-launch values, loads it with cupy,
checks one product against cupy's matmul, times a few launches, and leaves one more launch for
the profiler. On the GPU machine (after registering NVIDIA's ICD, docs/gpu.md):

    ncu --target-processes all -k gemm -s 1 -c 1 --section SpeedOfLight \\
        --section WarpStateStats --section SchedulerStats --section Occupancy \\
        python benchmarks/profile_gemm.py --n 4096 --tile 4,4,2,4,8 --defines "-DGROUP_M=8 -DSTAGES=2"
    ncu ... python benchmarks/profile_gemm.py --kernel portable --dtype float64 --tile 128,128,8,16,16

CUDA refuses more than 48 KiB of static shared memory in a module, so profile a variant whose
local tiles fit (STAGES=2 of the default tensor-core tile); ncu also locks the clocks to base
(1.59 GHz on the H100), so its times are slower than the benchmarks'.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--kernel", default="tensor-core", choices=["tensor-core", "portable"])
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--tile", default=None, help="tensor-core MI,NI,WARPS_M,WARPS_N,TK (default 4,4,2,4,8); "
                   "portable TM,TN,TK,WM,WN (default: the library's large-n GPU tile for the dtype)")
    p.add_argument("--defines", default=None, help="extra build defines (default: those of the library's tile)")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    cache = tempfile.mkdtemp(prefix="lapack_ai_profile_")
    tc = args.kernel == "tensor-core"
    if tc:
        args.tile = args.tile or "4,4,2,4,8"
        args.defines = "-DGROUP_M=8 -DSTAGES=2" if args.defines is None else args.defines
        os.environ["LAPACK_AI_DMMA_TILE"] = args.tile
    else:
        # The defaults of portable() in rust/core/src/opencl/gemm.rs for large n on a GPU.
        tile, defines = ("128,128,8,16,16", "-DVEC=2") if args.dtype == "float64" else ("128,256,4,16,32", "-DVEC=4")
        args.tile = args.tile or tile
        args.defines = defines if args.defines is None else args.defines
        os.environ["LAPACK_AI_GEMM_TILE"] = args.tile
    os.environ.update(LAPACK_AI_CACHE_DIR=cache, LAPACK_AI_KERNEL_DEFINES=args.defines or "")

    import cupy as cp
    import numpy as np

    import lapack_ai
    from lapack_ai import _core

    gpus = [d for d in lapack_ai.devices() if d.vendor.startswith("NVIDIA") and not d.unusable and (d.tensor_core_gemm or not tc)]
    if not gpus:
        print("no NVIDIA OpenCL device for this kernel", file=sys.stderr)
        return 1
    n = args.n
    variant, _ = _core.gemm_kernel_times(gpus[0].index, n, n, n, args.dtype, 1, args.kernel)  # builds it
    bins = [os.path.join(cache, "kernels", f) for f in os.listdir(os.path.join(cache, "kernels"))]
    ptx = open(bins[0], "rb").read().replace(b"\0", b"").decode()
    values = {"6": "%nctaid.x", "7": "%nctaid.y", "8": "%nctaid.z"}  # others: offsets, 0 here
    ptx, count = re.subn(r"mov\.b32\s+(%r\d+), %envreg(\d+);",
                         lambda m: f"mov.u32 \t{m.group(1)}, {values.get(m.group(2), '0')};", ptx)
    path = os.path.join(cache, "gemm.ptx")
    open(path, "w").write(ptx)

    if tc:
        mi, ni, wm, wn, _ = (int(x) for x in args.tile.split(","))
        tm, tn, block = wm * mi * 16, wn * ni * 8, (wm * wn * 32, 1, 1)
    else:
        tm, tn, _, wm, wn = (int(x) for x in args.tile.split(","))
        block = (wn, wm, 1)
    kernel = cp.RawModule(path=path).get_function("gemm")
    dt = np.dtype(args.dtype)
    a, b = cp.random.standard_normal((n, n)).astype(dt), cp.random.standard_normal((n, n)).astype(dt)
    c = cp.zeros((n, n), dt)
    grid = ((n + tn - 1) // tn, (n + tm - 1) // tm, 1)
    i32, i64, real = np.int32, np.int64, dt.type
    launch = (grid, block, (i32(n), i32(n), i32(n), real(1), real(0), i32(0), a, i32(n), i64(0),
                            b, i32(n), i64(0), c, i32(n), i64(0)))
    kernel(*launch)
    ref = a @ b
    err = float(cp.abs(c - ref).max() / cp.abs(ref).max())
    start, end = cp.cuda.Event(), cp.cuda.Event()
    start.record()
    for _ in range(args.reps):
        kernel(*launch)
    end.record()
    end.synchronize()
    seconds = cp.cuda.get_elapsed_time(start, end) / 1e3 / args.reps
    print(f"{variant} {args.dtype}: {count} environment registers replaced; rel err {err:.1e}; "
          f"{2 * n ** 3 / seconds / 1e12:.1f} TF/s through CUDA ({args.tile} {args.defines}, n={n})")
    return 0 if err < (1e-12 if args.dtype == "float64" else 1e-4) else 1


if __name__ == "__main__":
    sys.exit(main())
