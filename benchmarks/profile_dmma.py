"""Run the float64 tensor-core GEMM kernel through CUDA so Nsight Compute can profile it.

Nsight Compute does not see kernels launched through NVIDIA's OpenCL ("No kernels were
profiled"). This script builds the kernel through lapack_ai (OpenCL), takes the PTX the driver
produced from the kernel cache, replaces the OpenCL environment registers (%envreg: group-id
offsets, global offsets, numbers of groups) by their plain-launch values, loads it with cupy,
checks one product against cupy's matmul, times a few launches, and leaves one more launch for
the profiler. On the GPU machine (after registering NVIDIA's ICD, docs/gpu.md):

    ncu --target-processes all -k gemm -s 1 -c 1 --section SpeedOfLight \\
        --section WarpStateStats --section SchedulerStats --section Occupancy \\
        python benchmarks/profile_dmma.py --n 4096 --tile 4,4,2,4,8 --defines "-DGROUP_M=8 -DSTAGES=2"

CUDA refuses more than 48 KiB of static shared memory in a module, so profile a variant whose
local tiles fit (STAGES=2 of the default tile); ncu also locks the clocks to base (1.59 GHz on
the H100), so its times are slower than the benchmarks'.
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
    p.add_argument("--tile", default="4,4,2,4,8", help="MI,NI,WARPS_M,WARPS_N,TK (LAPACK_AI_DMMA_TILE)")
    p.add_argument("--defines", default="-DGROUP_M=8 -DSTAGES=2")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    cache = tempfile.mkdtemp(prefix="lapack_ai_profile_")
    os.environ.update(LAPACK_AI_CACHE_DIR=cache, LAPACK_AI_DMMA_TILE=args.tile, LAPACK_AI_KERNEL_DEFINES=args.defines)

    import cupy as cp
    import numpy as np

    import lapack_ai
    from lapack_ai import _core

    gpus = [d for d in lapack_ai.devices() if d.tensor_core_gemm and not d.unusable]
    if not gpus:
        print("no device with the tensor-core kernel", file=sys.stderr)
        return 1
    n = args.n
    _core.gemm_kernel_times(gpus[0].index, n, n, n, "float64", 1, "tensor-core")  # builds it
    bins = [os.path.join(cache, "kernels", f) for f in os.listdir(os.path.join(cache, "kernels"))]
    ptx = open(bins[0], "rb").read().replace(b"\0", b"").decode()
    values = {"6": "%nctaid.x", "7": "%nctaid.y", "8": "%nctaid.z"}  # others: offsets, 0 here
    ptx, count = re.subn(r"mov\.b32\s+(%r\d+), %envreg(\d+);",
                         lambda m: f"mov.u32 \t{m.group(1)}, {values.get(m.group(2), '0')};", ptx)
    path = os.path.join(cache, "gemm.ptx")
    open(path, "w").write(ptx)

    mi, ni, wm, wn, _ = (int(x) for x in args.tile.split(","))
    tm, tn, threads = wm * mi * 16, wn * ni * 8, wm * wn * 32
    kernel = cp.RawModule(path=path).get_function("gemm")
    a, b = cp.random.standard_normal((n, n)), cp.random.standard_normal((n, n))
    c = cp.zeros((n, n))
    grid = ((n + tn - 1) // tn, (n + tm - 1) // tm, 1)
    i32, f64, i64 = np.int32, np.float64, np.int64
    launch = (grid, (threads, 1, 1), (i32(n), i32(n), i32(n), f64(1), f64(0), i32(0), a, i32(n), i64(0),
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
    print(f"{count} environment registers replaced; rel err {err:.1e}; "
          f"{2 * n ** 3 / seconds / 1e12:.1f} TF/s through CUDA ({args.tile} {args.defines}, n={n})")
    return 0 if err < 1e-12 else 1


if __name__ == "__main__":
    sys.exit(main())
