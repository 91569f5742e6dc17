"""Time lapack_ai against NumPy/SciPy in one process, interleaved, and print ratios.

    python -m lapack_ai.benchmark            # the table in docs/benchmarks.md
    python -m lapack_ai.benchmark --quick    # the demo's short version
    python -m lapack_ai.benchmark --ops svd solve --sizes 4 1024

For every (routine, size) the two callables run in alternating rounds on the same inputs;
the figure is the median of per-round means, and the ratio is ours / theirs (below 1 is
faster). Routines, inputs and peers come from lapack_ai.registry.REGISTRY.

Both libraries run in their default configuration: NumPy's OpenBLAS with its threads,
lapack_ai's with one thread and rayon (see docs/architecture.md). Interleaving is deliberate:
the two see the same machine state, including each other's idle worker threads.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np

import lapack_ai
from lapack_ai.registry import REGISTRY

DEFAULT_OPS = ["gemm", "solve", "svd", "eigh", "inv", "cholesky", "qr", "det", "lstsq"]
DEFAULT_SIZES = [4, 64, 256, 1024]


def median_time(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one warm-up call: first-call
    costs (a kernel build, allocations, threads starting) are not the routine's speed."""
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _budget(n: int) -> tuple[int, float]:
    """(rounds, seconds per round per contender): tiny calls need many repetitions."""
    return (15, 0.02) if n <= 64 else (9, 0.05) if n <= 256 else (7, 0.0)


def time_pair(ours, theirs, args, rounds: int, per_round: float) -> tuple[float, float]:
    def reps_for(f):
        t0 = time.perf_counter()
        f(*args)
        dt = time.perf_counter() - t0
        return max(1, int(per_round / max(dt, 1e-7)))

    ro, rt = reps_for(ours), reps_for(theirs)
    so, st = [], []
    for _ in range(rounds):
        for f, reps, out in ((ours, ro, so), (theirs, rt, st)):
            t0 = time.perf_counter()
            for _ in range(reps):
                f(*args)
            out.append((time.perf_counter() - t0) / reps)
    return statistics.median(so), statistics.median(st)


def _peer(name):
    r = REGISTRY[name]
    ref = r.reference
    if name == "lstsq":
        return lambda a, b: ref(a, b, rcond=None)
    return ref


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                     f"{i.get('num_threads')} threads ({os.path.basename(i.get('filepath', ''))})"
                     for i in threadpool_info() if i.get("user_api") == "blas")


def fmt_time(t: float) -> str:
    return f"{t * 1e6:.2f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.2f} s"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ops", nargs="+", default=DEFAULT_OPS, choices=sorted(REGISTRY))
    p.add_argument("--sizes", nargs="+", type=int, default=DEFAULT_SIZES)
    p.add_argument("--batch", type=int, default=0, help="time stacks of this many n x n matrices")
    p.add_argument("--quick", action="store_true", help="small sizes, few rounds (for the demo)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    a = p.parse_args(argv)
    sizes = [4, 128] if a.quick else a.sizes
    ops = ["gemm", "solve", "svd", "eigh"] if a.quick else a.ops
    rng = np.random.default_rng(0)
    print(f"# lapack_ai {lapack_ai.__version__} vs NumPy {np.__version__}; {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")
    cfg = lapack_ai.blas_config()
    print(f"# lapack_ai runs on: {cfg['config']} ({cfg['origin']}), kernel {cfg['corename']}, "
          f"{cfg['threads']} BLAS thread(s), {cfg['batch_threads']} rayon threads")
    print(f"# BLAS libraries loaded: {blas_info()}")
    head = f"{'routine':<10}{'n':>6}  {'lapack_ai':>11}  {'peer':>11}  {'ours/peer':>9}  peer"
    if a.markdown:
        print("| routine | n | lapack_ai | peer | ours / peer | peer function |\n|---|---|---|---|---|---|")
    else:
        print(head)
    warnings.simplefilter("ignore")  # e.g. NumPy's det overflow warning on large random input
    for name in ops:
        r = REGISTRY[name]
        if a.batch and not r.stacked:
            continue
        for n in sizes:
            args = r.make(rng, (a.batch, n, n) if a.batch else (n, n), np.float64)
            rounds, per = _budget(n)
            if a.quick:
                rounds = min(rounds, 5)
            ours, theirs = time_pair(r.func, _peer(name), args, rounds, per)
            ratio = ours / theirs
            label = f"{a.batch}x{n}" if a.batch else str(n)
            if a.markdown:
                print(f"| {name} | {label} | {fmt_time(ours)} | {fmt_time(theirs)} | {ratio:.2f} | `{r.peer}` |")
            else:
                print(f"{name:<10}{label:>6}  {fmt_time(ours):>11}  {fmt_time(theirs):>11}  {ratio:>9.2f}  {r.peer}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
