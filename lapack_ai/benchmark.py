"""Time lapack_ai against NumPy/SciPy in one process, interleaved, and print ratios.

    python -m lapack_ai.benchmark            # the tables in docs/benchmarks.md (./dev bench)
    python -m lapack_ai.benchmark --quick    # the demo's short version
    python -m lapack_ai.benchmark --sections single --ops svd solve --sizes 1024 4096
    python -m lapack_ai.benchmark --sections parity --sizes 1024 --dtypes float64 complex128

Three sections:
- ``single``: one n x n matrix per call, every routine of lapack_ai.registry.REGISTRY against
  its NumPy peer, plus ``svd`` with each driver against ``scipy.linalg.svd`` with the same one;
- ``stacks``: 10000 4x4 and 1000 32x32 matrices per call;
- ``stream``: ``gemm`` on (N, 4, 4) stacks in GB/s of minimal traffic (3 x 128 bytes per
  product), beside ``np.matmul`` and this machine's copy bandwidth.

For every row the two callables run in alternating rounds on the same inputs; the figure is
the median of per-round means, and the ratio is ours / theirs (below 1 is faster). Both run in
their default configuration, with the threads OpenBLAS starts with (shared, when lapack_ai
binds NumPy's own OpenBLAS). Interleaving is deliberate: the two see the same machine state.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import threading
import time
import warnings

import numpy as np

import lapack_ai
from lapack_ai.registry import REGISTRY

DEFAULT_OPS = ["gemm", "solve", "svd", "svd-gesdd", "svd-gesvd", "eigh", "qr", "cholesky", "inv", "lstsq", "det"]
# The parity table of docs/benchmarks.md: the routines added for drop-in use, in real types,
# and every routine with a complex twin, in complex types.
PARITY_OPS = ["eig", "eigvals", "schur", "lu_factor", "lu", "lu_solve", "cho_factor", "cho_solve",
              "solve_triangular", "pinv", "matrix_rank", "norm"]
COMPLEX_OPS = ["gemm", "solve", "svd", "svdvals", "lstsq", "inv", "det", "slogdet", "cholesky", "qr", "eigh",
               "eigvalsh", "cond", *PARITY_OPS]
DEFAULT_SIZES = [64, 256, 1024, 2048]
STACK_OPS = ["gemm", "solve", "svd", "eigh", "inv", "det", "cholesky"]
STACKS = [(10000, 4), (1000, 32)]


def _scipy_svd(driver):
    def peer(a):
        import scipy.linalg

        return scipy.linalg.svd(a, lapack_driver=driver)
    peer.__doc__ = f"scipy.linalg.svd(lapack_driver={driver!r})"
    return peer


# name -> (ours, peer, peer's name, inputs from this registry entry); their peers run on SciPy's
# own OpenBLAS (32-bit integers), so rounds are settled (see time_pair), as for every SciPy peer
VARIANTS = {
    "svd-gesdd": (lambda a: lapack_ai.svd(a, driver="gesdd"), _scipy_svd("gesdd"),
                  "scipy.linalg.svd(lapack_driver='gesdd')", "svd"),
    "svd-gesvd": (lambda a: lapack_ai.svd(a, driver="gesvd"), _scipy_svd("gesvd"),
                  "scipy.linalg.svd(lapack_driver='gesvd')", "svd"),
}


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
    """(rounds, seconds per round per contender): tiny calls need many repetitions, and a call
    that is fast at a large n (a norm, a solve from factors) repeats until the round lasts
    20 ms; slower ones run once a round."""
    return (15, 0.02) if n <= 64 else (9, 0.05) if n <= 256 else (7, 0.02) if n <= 1024 else (3, 0.02)


def time_pair(ours, theirs, args, rounds: int, per_round: float, settle: float = 0.0) -> tuple[float, float]:
    """Median per-call time of each, over alternating rounds. ``settle``: seconds to pause
    before each round, for a peer on another OpenBLAS (SciPy's): its idle workers spin for a
    while after each call and would otherwise slow the other side's next round."""
    def reps_for(f):
        t0 = time.perf_counter()
        f(*args)
        dt = time.perf_counter() - t0
        return max(1, int(per_round / max(dt, 1e-7)))

    ro, rt = reps_for(ours), reps_for(theirs)
    so, st = [], []
    for _ in range(rounds):
        for f, reps, out in ((ours, ro, so), (theirs, rt, st)):
            time.sleep(settle)
            t0 = time.perf_counter()
            for _ in range(reps):
                f(*args)
            out.append((time.perf_counter() - t0) / reps)
    return statistics.median(so), statistics.median(st)


def _on_scipy(name) -> bool:
    """Whether the peer runs on SciPy's own OpenBLAS (its rounds are settled, see time_pair)."""
    return name in VARIANTS or REGISTRY[name].peer.startswith("scipy")


def _contenders(name):
    """(ours, peer, peer's name, registry entry for the inputs)."""
    if name in VARIANTS:
        ours, peer, label, base = VARIANTS[name]
        return ours, peer, label, REGISTRY[base]
    r = REGISTRY[name]
    ref = r.reference
    peer = (lambda a, b: ref(a, b, rcond=None)) if name == "lstsq" else ref
    return r.func, peer, r.peer, r


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


class Table:
    def __init__(self, markdown: bool, columns: list[str]):
        self.markdown, self.columns = markdown, columns
        if markdown:
            print("| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|")
        else:
            print("  ".join(f"{c:>12}" for c in columns))

    def row(self, *cells) -> None:
        if self.markdown:
            print("| " + " | ".join(str(c) for c in cells) + " |")
        else:
            print("  ".join(f"{str(c):>12}" for c in cells))
        sys.stdout.flush()


def single(ops, sizes, dtypes, markdown, quick) -> None:
    rng = np.random.default_rng(0)
    t = Table(markdown, ["routine", "dtype", "n", "lapack_ai", "peer", "ours / peer", "peer function"])
    for name in ops:
        ours, peer, label, r = _contenders(name)
        for dtype in dtypes:
            for n in sizes:
                args = r.make(rng, (n, n), np.dtype(dtype))
                rounds, per = _budget(n)
                so, st = time_pair(ours, peer, args, min(rounds, 5) if quick else rounds, per,
                                   settle=0.25 if _on_scipy(name) else 0.0)
                t.row(name, dtype, n, fmt_time(so), fmt_time(st), f"{so / st:.2f}", f"`{label}`" if markdown else label)


def stacks(ops, stacks_, dtypes, markdown) -> None:
    rng = np.random.default_rng(0)
    t = Table(markdown, ["routine", "dtype", "stack", "lapack_ai", "peer", "ours / peer", "peer function"])
    for name in ops:
        ours, peer, label, r = _contenders(name)
        for dtype in dtypes:
            for count, n in stacks_:
                args = r.make(rng, (count, n, n), np.dtype(dtype))
                so, st = time_pair(ours, peer, args, 9, 0.05, settle=0.25 if _on_scipy(name) else 0.0)
                t.row(name, dtype, f"{count}x{n}x{n}", fmt_time(so), fmt_time(st), f"{so / st:.2f}",
                      f"`{label}`" if markdown else label)


def copy_bandwidth(nbytes: int, threads: int) -> float:
    """GB/s (bytes read + written) of np.copyto over ``nbytes``, split over ``threads`` Python
    threads (NumPy releases the GIL while copying)."""
    n = nbytes // 8
    src, dst = np.random.default_rng(1).standard_normal(n), np.empty(n)
    parts = np.array_split(np.arange(n), threads)
    bounds = [(p[0], p[-1] + 1) for p in parts if len(p)]

    def run():
        ts = [threading.Thread(target=np.copyto, args=(dst[lo:hi], src[lo:hi])) for lo, hi in bounds]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
    return 2 * nbytes / median_time(run, 7) / 1e9


def stream(counts, markdown) -> None:
    """gemm on (N, 4, 4) float64 stacks, into a given c (out=) and into a new array."""
    threads = lapack_ai.blas_config()["batch_threads"]
    one, every = copy_bandwidth(384 << 20, 1), copy_bandwidth(384 << 20, threads)
    print(f"# copy bandwidth (np.copyto, 384 MiB, read + written): {one:.1f} GB/s on 1 thread, "
          f"{every:.1f} GB/s on {threads} threads")
    t = Table(markdown, ["N", "output", "lapack_ai GB/s", "np.matmul GB/s", "ours / NumPy speed",
                         "ours / copy bandwidth"])
    rng = np.random.default_rng(0)
    for count in counts:
        a, b = rng.standard_normal((count, 4, 4)), rng.standard_normal((count, 4, 4))
        c = np.empty_like(a)
        gb = 3 * 128 * count / 1e9
        for output, ours, theirs in (("c given", lambda: lapack_ai.gemm(a, b, c), lambda: np.matmul(a, b, out=c)),
                                     ("new", lambda: lapack_ai.gemm(a, b), lambda: np.matmul(a, b))):
            so, st = time_pair(ours, theirs, (), 7, 0.2)
            t.row(count, output, f"{gb / so:.1f}", f"{gb / st:.1f}", f"{st / so:.2f}x", f"{gb / so / every:.0%}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", nargs="+", default=["single", "stacks", "stream"],
                   choices=["single", "stacks", "stream", "parity"],
                   help="parity: the new routines (real types) and every complex routine, at --sizes")
    p.add_argument("--ops", nargs="+", default=None, choices=sorted([*REGISTRY, *VARIANTS]))
    p.add_argument("--sizes", nargs="+", type=int, default=DEFAULT_SIZES)
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                   choices=["float64", "float32", "complex128", "complex64"])
    p.add_argument("--stack-counts", nargs="+", type=int, default=[1_000_000, 4_000_000],
                   help="N of the (N, 4, 4) stacks of the stream section")
    p.add_argument("--quick", action="store_true", help="a few small sizes, few rounds (for the demo)")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables")
    a = p.parse_args(argv)
    print(f"# lapack_ai {lapack_ai.__version__} vs NumPy {np.__version__}; {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")
    cfg = lapack_ai.blas_config()
    print(f"# lapack_ai runs on: {cfg['config']} ({cfg['origin']}), kernel {cfg['corename']}, "
          f"{cfg['threads']} BLAS thread(s), {cfg['batch_threads']} rayon threads")
    print(f"# BLAS libraries loaded: {blas_info()}")
    warnings.simplefilter("ignore")  # e.g. NumPy's det overflow warning on large random input
    if a.quick:
        single(["gemm", "solve", "svd", "eigh"], [4, 128], ["float64"], a.markdown, True)
        return 0
    if "single" in a.sections:
        single(a.ops or DEFAULT_OPS, a.sizes, a.dtypes, a.markdown, False)
    if "stacks" in a.sections:
        stacks([o for o in (a.ops or STACK_OPS) if o in REGISTRY and REGISTRY[o].stacked], STACKS, a.dtypes, a.markdown)
    if "stream" in a.sections:
        stream(a.stack_counts, a.markdown)
    if "parity" in a.sections:
        real = [d for d in a.dtypes if not d.startswith("complex")] or ["float64"]
        cplx = [d for d in a.dtypes if d.startswith("complex")] or ["complex128"]
        single(a.ops or PARITY_OPS, a.sizes, real, a.markdown, False)
        single(a.ops or COMPLEX_OPS, a.sizes, cplx, a.markdown, False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
