"""Benchmark runner: lapack_ai against NumPy/SciPy, same process, interleaved.

    python benchmarks/run.py [--ops ...] [--sizes ...] [--markdown]

The runner lives in the package (``lapack_ai.benchmark``) so the demo can print the same
table; this file is the entry point kept beside the results in docs/benchmarks.md.
"""

from lapack_ai.benchmark import main

if __name__ == "__main__":
    raise SystemExit(main())
