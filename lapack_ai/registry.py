"""The one registry of public routines: what each is, what it runs in LAPACK, its NumPy/SciPy
peer, and how to make valid inputs. Tests and benchmarks iterate over it, so a
routine added here is tested for layouts, stacks, empty input and untouched arguments, and
benchmarked against its peer, without further code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np


def _general(rng, shape, dtype):
    return (rng.standard_normal(shape).astype(dtype),)


def _square(rng, shape, dtype):
    n = shape[-1]
    a = rng.standard_normal(shape[:-1] + (n,)).astype(dtype)
    return (a + np.asarray(n, dtype) * np.eye(n, dtype=dtype),)


def _spd(rng, shape, dtype):
    n = shape[-1]
    g = rng.standard_normal(shape[:-1] + (n,))
    return (((g @ np.swapaxes(g, -1, -2)) / max(n, 1) + np.eye(n)).astype(dtype),)


def _sym(rng, shape, dtype):
    n = shape[-1]
    g = rng.standard_normal(shape[:-1] + (n,))
    return (((g + np.swapaxes(g, -1, -2)) / 2).astype(dtype),)


def _system(rng, shape, dtype):
    (a,) = _square(rng, shape, dtype)
    return a, rng.standard_normal(shape[:-1] + (2,)).astype(dtype)


def _pair(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)


def _lstsq(rng, shape, dtype):
    m, n = shape[-2] + shape[-1] // 2, shape[-1]
    return rng.standard_normal((m, n)).astype(dtype), rng.standard_normal((m, 2)).astype(dtype)


@dataclass(frozen=True)
class Routine:
    name: str
    """Public function in ``lapack_ai``."""
    lapack: tuple[str, ...]
    """LAPACK/BLAS routines it runs (type letter dropped)."""
    peer: str
    """Dotted path of the NumPy/SciPy function it is compared and benchmarked against."""
    make: Callable
    """``make(rng, shape, dtype) -> args``: valid random inputs for matrices of ``shape``."""
    stacked: bool = True
    """Accepts stacks ``(..., M, N)``."""

    @property
    def func(self) -> Callable:
        import lapack_ai

        return getattr(lapack_ai, self.name)

    @property
    def reference(self) -> Callable:
        mod, _, attr = self.peer.rpartition(".")
        return getattr(importlib.import_module(mod), attr)


REGISTRY: dict[str, Routine] = {r.name: r for r in [
    Routine("gemm", ("gemm",), "numpy.matmul", _pair),
    Routine("svd", ("gesdd", "gesvd"), "numpy.linalg.svd", _general),
    Routine("svdvals", ("gesdd",), "scipy.linalg.svdvals", _general),
    Routine("solve", ("getrf", "gecon", "getrs", "sytrf", "potrf"), "numpy.linalg.solve", _system,
            lambda n: 2.0 / 3 * n**3),
    Routine("lstsq", ("gelsd",), "numpy.linalg.lstsq", _lstsq, stacked=False),
    Routine("inv", ("getrf", "gecon", "getri"), "numpy.linalg.inv", _square),
    Routine("det", ("getrf",), "numpy.linalg.det", _square),
    Routine("slogdet", ("getrf",), "numpy.linalg.slogdet", _square),
    Routine("cholesky", ("potrf",), "numpy.linalg.cholesky", _spd),
    Routine("qr", ("geqrf", "orgqr"), "numpy.linalg.qr", _general),
    Routine("eigh", ("syevd",), "numpy.linalg.eigh", _sym),
    Routine("eigvalsh", ("syevd",), "numpy.linalg.eigvalsh", _sym),
    Routine("cond", ("gesdd",), "numpy.linalg.cond", _square),
    Routine("rcond", ("getrf", "gecon"), "numpy.linalg.cond", _square),
]}
