"""What ``lapack_ai.patch()`` adds to a call: the patched ``np.linalg.X`` against calling
``lapack_ai.X`` directly, on 2x2 and 4x4 inputs where the call itself is cheapest.

    python benchmarks/patch_overhead.py [--reps 20000] [--rounds 30]

Each round times ``reps`` back-to-back calls of each arm, in alternating order; the figure
is the median over rounds of (patched - direct) per call. NumPy's own function is timed too,
for scale. Target (drop-in issue): at most 1 us per call.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import scipy.linalg

import lapack_ai


def per_call(fn, args, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn(*args)
    return (time.perf_counter() - t0) / reps


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=30)
    opts = p.parse_args()
    rng = np.random.default_rng(0)
    a2 = rng.standard_normal((2, 2)) + 2 * np.eye(2)
    a4 = rng.standard_normal((4, 4)) + 4 * np.eye(4)
    cases = [("numpy.linalg.det", "det", (a2,)), ("numpy.linalg.solve", "solve", (a4, np.ones(4))),
             ("numpy.linalg.svd", "svd", (a4,)), ("scipy.linalg.det", "det", (a2,)),
             ("scipy.linalg.solve", "solve", (a4, np.ones(4)))]
    originals = {d: getattr(np.linalg if d.startswith("numpy") else scipy.linalg, n) for d, n, _ in cases}
    lapack_ai.patch()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}; {opts.rounds} rounds x {opts.reps} calls")
    print(f"{'patched function':<20} {'direct us':>10} {'patched us':>11} {'added us':>9} {'original us':>12}")
    for dotted, name, args in cases:
        module = np.linalg if dotted.startswith("numpy") else scipy.linalg
        routed = getattr(module, name)
        direct = routed.__lapack_ai__  # lapack_ai.X, or lapack_ai.scipy.X for SciPy's names
        d, r, o = [], [], []
        for i in range(opts.rounds):
            arms = [(direct, d), (routed, r), (originals[dotted], o)]
            for fn, out in arms if i % 2 else arms[::-1]:
                out.append(per_call(fn, args, opts.reps))
        added = statistics.median(x - y for x, y in zip(r, d))
        print(f"{dotted:<20} {statistics.median(d) * 1e6:>10.3f} {statistics.median(r) * 1e6:>11.3f} "
              f"{added * 1e6:>9.3f} {statistics.median(o) * 1e6:>12.3f}")
    lapack_ai.unpatch()


if __name__ == "__main__":
    main()
