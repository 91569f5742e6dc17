"""Load the native module with an OpenBLAS kernel that fits this CPU.

The wheel bundles Debian's OpenBLAS 0.3.21, whose run-time CPU detection predates recent
Intel parts (Sapphire/Emerald Rapids): it falls back to its generic "Prescott" kernels, several
times slower. OpenBLAS reads ``OPENBLAS_CORETYPE`` once, when the library loads, so we set it
from the CPU's feature flags just for that moment and restore the environment afterwards:
other libraries (NumPy's own OpenBLAS is already loaded) are unaffected. A value the user set
is always respected.
"""

from __future__ import annotations

import os
import sys

_ENV = "OPENBLAS_CORETYPE"


def coretype_for(flags: set[str]) -> str | None:
    """The OpenBLAS kernel family for a CPU with these /proc/cpuinfo flags."""
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"} <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return None


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def load():
    forced = None
    if _ENV not in os.environ and sys.platform == "linux":
        forced = coretype_for(_cpu_flags())
        if forced:
            os.environ[_ENV] = forced
    try:
        from . import _core
    finally:
        if forced:
            os.environ.pop(_ENV, None)
    return _core
