"""The one registry of public routines: what each is, what it runs in LAPACK, its NumPy/SciPy
peer, and how to make valid inputs. Tests and benchmarks iterate over it, so a
routine added here is tested for layouts, stacks, empty input and untouched arguments, and
benchmarked against its peer, without further code.
"""

from __future__ import annotations

import importlib
import math
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


# ---- flop counts per matrix (standard LAPACK working-note estimates) and routines run ----

def _mn(shapes):
    m, n = shapes[0][-2:]
    return m, n


def _count(shapes) -> int:
    count = 1
    for s in shapes:
        if len(s) > 2:
            count = max(count, math.prod(s[:-2]))
    return count


def _svd_flops(m, n, vectors):
    p, q = min(m, n), max(m, n)
    return 4 * q * q * p + 8 * q * p * p + 9 * p**3 if vectors else 4 * q * p * p - 4 / 3 * p**3


def _arg(args, kw, pos, name, default):
    return kw[name] if name in kw else (args[pos] if len(args) > pos else default)


def _gemm_facts(args, kw, shapes, p, d):
    ta, tb = kw.get("trans_a", False), kw.get("trans_b", False)
    (ar, ac), (br, bc) = shapes[0][-2:], shapes[1][-2:]
    m, k = (ac, ar) if ta else (ar, ac)
    n = br if tb else bc
    if d and d[0] == "opencl":
        run = f"opencl gemm ({d[4] or 'kernel'})"
    elif d and "inline" in d[2]:
        run = "inline loop"
    else:
        run = p + "gemm"
    return run, 2.0 * m * n * k


def _svd_facts(args, kw, shapes, p, d):
    m, n = _mn(shapes)
    uv = _arg(args, kw, 2, "compute_uv", True)
    return p + kw.get("driver", "gesdd"), _svd_flops(m, n, uv)


def _svdvals_facts(args, kw, shapes, p, d):
    m, n = _mn(shapes)
    return p + "gesdd", _svd_flops(m, n, False)


def _solve_facts(args, kw, shapes, p, d):
    n = shapes[0][-1]
    b = shapes[1] if len(shapes) > 1 else (n,)
    nrhs = b[-1] if len(b) >= 2 and len(b) >= len(shapes[0]) else 1
    kind = kw.get("assume_a", "gen")
    run = {"gen": "getrf+gecon+getrs", "sym": "sytrf+sycon+sytrs", "pos": "potrf+pocon+potrs"}.get(kind, kind)
    factor = 1 / 3 * n**3 if kind == "pos" else 2 / 3 * n**3
    return "+".join(p + r for r in run.split("+")), factor + 2.0 * n * n * nrhs


def _lstsq_facts(args, kw, shapes, p, d):
    m, n = _mn(shapes)
    nrhs = shapes[1][-1] if len(shapes) > 1 and len(shapes[1]) == 2 else 1
    return p + "gelsd", _svd_flops(m, n, False) + 2.0 * m * n * nrhs


def _qr_facts(args, kw, shapes, p, d):
    m, n = _mn(shapes)
    k = min(m, n)
    h = 2.0 * m * n * k - 2 / 3 * k**3
    if _arg(args, kw, 1, "mode", "reduced") == "r":
        return p + "geqrf", h
    return p + "geqrf+" + p + "orgqr", 2 * h


def _eigh_facts(vectors):
    def facts(args, kw, shapes, p, d):
        n = shapes[0][-1]
        return p + "syevd", (9.0 if vectors else 4 / 3) * n**3
    return facts


def _cubic(runs, c):
    names = {p: "+".join(p + r for r in runs) for p in "ds"}

    def facts(args, kw, shapes, p, d):
        n = shapes[0][-1]
        return names[p], c * n * n * n
    return facts


def _cond_facts(args, kw, shapes, p, d):
    pnorm = _arg(args, kw, 1, "p", None)
    if pnorm in (None, 2, -2):
        return _svdvals_facts(args, kw, shapes, p, d)
    return _cubic(("getrf", "getri"), 2.0)(args, kw, shapes, p, d)


def _rcond_facts(args, kw, shapes, p, d):
    if kw.get("assume_a") == "pos":
        return _cubic(("potrf", "pocon"), 1 / 3)(args, kw, shapes, p, d)
    return _cubic(("getrf", "gecon"), 2 / 3)(args, kw, shapes, p, d)


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
    run_facts: Callable
    """``run_facts(args, kwargs, shapes, prefix, decision) -> (routines run, flops per matrix)``:
    what metrics record for a call (prefix is LAPACK's type letter; decision is
    ``_core.last_call()``'s tuple: backend, strategy, reason, device, kernel, bytes up, down)."""
    stacked: bool = True
    """Accepts stacks ``(..., M, N)``."""
    opencl: bool = False
    """Has an OpenCL kernel (``device=`` can send it to a GPU); the others run on the CPU."""

    @property
    def func(self) -> Callable:
        import lapack_ai

        return getattr(lapack_ai, self.name)

    @property
    def reference(self) -> Callable:
        mod, _, attr = self.peer.rpartition(".")
        return getattr(importlib.import_module(mod), attr)

    def facts(self, args, kwargs, dtype, decision, shapes=None):
        """(routines run, total flops) of one call, for metrics; ``shapes`` of the array
        arguments when the caller has them already."""
        if shapes is None:
            shapes = [np.shape(a) for a in args if isinstance(a, (np.ndarray, list, tuple))]
        run, flops = self.run_facts(args, kwargs, shapes, "s" if dtype == "float32" else "d", decision)
        if len(shapes[0]) > 2 or (len(shapes) > 1 and len(shapes[1]) > 2):
            flops *= _count(shapes)
        return run, flops


REGISTRY: dict[str, Routine] = {r.name: r for r in [
    Routine("gemm", ("gemm",), "numpy.matmul", _pair, _gemm_facts, opencl=True),
    Routine("svd", ("gesdd", "gesvd"), "numpy.linalg.svd", _general, _svd_facts),
    Routine("svdvals", ("gesdd",), "scipy.linalg.svdvals", _general, _svdvals_facts),
    Routine("solve", ("getrf", "gecon", "getrs", "sytrf", "potrf"), "numpy.linalg.solve", _system, _solve_facts),
    Routine("lstsq", ("gelsd",), "numpy.linalg.lstsq", _lstsq, _lstsq_facts, stacked=False),
    Routine("inv", ("getrf", "gecon", "getri"), "numpy.linalg.inv", _square, _cubic(("getrf", "gecon", "getri"), 2.0)),
    Routine("det", ("getrf",), "numpy.linalg.det", _square, _cubic(("getrf",), 2 / 3)),
    Routine("slogdet", ("getrf",), "numpy.linalg.slogdet", _square, _cubic(("getrf",), 2 / 3)),
    Routine("cholesky", ("potrf",), "numpy.linalg.cholesky", _spd, _cubic(("potrf",), 1 / 3)),
    Routine("qr", ("geqrf", "orgqr"), "numpy.linalg.qr", _general, _qr_facts),
    Routine("eigh", ("syevd",), "numpy.linalg.eigh", _sym, _eigh_facts(True)),
    Routine("eigvalsh", ("syevd",), "numpy.linalg.eigvalsh", _sym, _eigh_facts(False)),
    Routine("cond", ("gesdd",), "numpy.linalg.cond", _square, _cond_facts),
    Routine("rcond", ("getrf", "gecon"), "numpy.linalg.cond", _square, _rcond_facts),
]}
