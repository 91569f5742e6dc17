"""Why lapack_ai pins OpenBLAS to one thread: time LU (det, i.e. dgetrf) and solve with
LAPACK_AI_BLAS_THREADS=1 and =2, each in a fresh process.

    python benchmarks/openblas_threads.py
"""

import os
import subprocess
import sys

CHILD = r"""
import time, numpy as np, lapack_ai as la
rng = np.random.default_rng(0)
out = []
for n in (128, 1024):
    a = rng.standard_normal((n, n)) + np.sqrt(n) * np.eye(n)
    b = rng.standard_normal((n, 1))
    for name, f in (("det", lambda: la.det(a)), ("solve", lambda: la.solve(a, b))):
        f()
        reps = 50 if n == 128 else 5
        best = min((lambda t0: (f(), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(reps))
        out.append(f"{name} n={n}: {best * 1e3:.2f} ms")
print(la.blas_config()["threads"], "; ".join(out))
"""


def main():
    for threads in ("1", "2"):
        env = dict(os.environ, LAPACK_AI_BLAS_THREADS=threads)
        r = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
        used, _, rest = r.stdout.strip().partition(" ")
        print(f"OpenBLAS threads {used}: {rest}")


if __name__ == "__main__":
    main()
