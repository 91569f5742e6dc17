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


def _randn(rng, shape, dtype):
    """Standard normal values of ``dtype``: complex dtypes get an imaginary part too."""
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _h(x):
    return np.swapaxes(x, -1, -2).conj()


def _general(rng, shape, dtype):
    return (_randn(rng, shape, dtype),)


def _square(rng, shape, dtype):
    n = shape[-1]
    a = _randn(rng, shape[:-1] + (n,), dtype)
    return (a + np.asarray(n, dtype) * np.eye(n, dtype=dtype),)


def _spd(rng, shape, dtype):
    n = shape[-1]
    g = _randn(rng, shape[:-1] + (n,), np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    return (((g @ _h(g)) / max(n, 1) + np.eye(n)).astype(dtype),)


def _sym(rng, shape, dtype):
    n = shape[-1]
    g = _randn(rng, shape[:-1] + (n,), np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    return (((g + _h(g)) / 2).astype(dtype),)


def _system(rng, shape, dtype):
    (a,) = _square(rng, shape, dtype)
    return a, _randn(rng, shape[:-1] + (2,), dtype)


def _pair(rng, shape, dtype):
    return _randn(rng, shape, dtype), _randn(rng, shape, dtype)


def _lstsq(rng, shape, dtype):
    m, n = shape[-2] + shape[-1] // 2, shape[-1]
    return _randn(rng, (m, n), dtype), _randn(rng, (m, 2), dtype)


def _lu_system(rng, shape, dtype):
    """lu_solve's inputs: the factors of a well-conditioned matrix, its pivots, and b."""
    import lapack_ai

    a, b = _system(rng, shape, dtype)
    lu, piv = lapack_ai.lu_factor(a)
    return lu, piv, b


def _cho_system(rng, shape, dtype):
    """cho_solve's inputs: an upper Cholesky factor (SciPy's default) and b."""
    import lapack_ai

    (a,) = _spd(rng, shape, dtype)
    return lapack_ai.cholesky(a, upper=True), _randn(rng, shape[:-1] + (2,), dtype)


def _triangular(rng, shape, dtype):
    """An upper triangular matrix with a dominant diagonal, and b."""
    a, b = _system(rng, shape, dtype)
    return np.triu(a), b


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
    uv = _arg(args, kw, 2, "compute_uv", True)
    if _arg(args, kw, 3, "hermitian", False):
        return _eigh_facts(uv)(args, kw, shapes, p, d)
    m, n = _mn(shapes)
    return _svd_run(p, kw.get("driver", "gesdd"), d), _svd_flops(m, n, uv)


def _svd_run(p, driver, d):
    """What ran: the LAPACK driver, or the OpenCL small-SVD kernel (flops stay LAPACK's count)."""
    return f"opencl svd ({d[4] or 'kernel'})" if d and d[0] == "opencl" else p + driver


def _svdvals_facts(args, kw, shapes, p, d):
    m, n = _mn(shapes)
    return _svd_run(p, "gesdd", d), _svd_flops(m, n, False)


def _solve_facts(args, kw, shapes, p, d):
    n = shapes[0][-1]
    b = shapes[1] if len(shapes) > 1 else (n,)
    nrhs = b[-1] if len(b) >= 2 and len(b) >= len(shapes[0]) else 1
    kind = kw.get("assume_a", "gen")
    her = "hetrf+hecon+hetrs" if p in "cz" else "sytrf+sycon+sytrs"  # real Hermitian is symmetric
    run = {"gen": "getrf+gecon+getrs", "sym": "sytrf+sycon+sytrs", "her": her,
           "pos": "potrf+pocon+potrs"}.get(kind, kind)
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
    if _arg(args, kw, 1, "mode", "reduced") in ("r", "raw", "economic", "e"):  # no Q formed
        return p + "geqrf", h
    return p + "geqrf+" + p + "orgqr", 2 * h


def _eigh_facts(vectors):
    def facts(args, kw, shapes, p, d):
        n = shapes[0][-1]
        if kw.get("b") is not None:  # generalized: Cholesky of b, reduction, then syevd
            return p + "sygvd", (9.0 if vectors else 4 / 3) * n**3 + 7 / 3 * n**3
        run = f"opencl eigh ({d[4] or 'kernel'})" if d and d[0] == "opencl" else p + "syevd"
        return run, (9.0 if vectors else 4 / 3) * n**3
    return facts


def _cubic(runs, c):
    names = {p: "+".join(p + r for r in runs) for p in "sdcz"}

    def facts(args, kw, shapes, p, d):
        n = shapes[0][-1]
        return names[p], c * n * n * n
    return facts


def _solve_with_factor(runs, c):
    """Solves from a factor: c * n^2 multiply-adds per right-hand side."""
    def facts(args, kw, shapes, p, d):
        n = shapes[0][-1]
        b = shapes[-1]
        nrhs = b[-1] if len(b) >= 2 else 1
        return "+".join(p + r for r in runs), c * n * n * nrhs
    return facts


def _lu_facts(args, kw, shapes, p, d):
    m, n = _mn(shapes)
    k = min(m, n)
    return p + "getrf", m * n * k - (m + n) * k * k / 2 + k**3 / 3


def _eig_facts(vectors):
    # Golub & Van Loan's counts for the Hessenberg QR algorithm: 10 n^3 for the eigenvalues,
    # about 25 n^3 with the Schur vectors (and the eigenvectors from them).
    return _cubic(("geev",), 25.0 if vectors else 10.0)


def _cond_facts(args, kw, shapes, p, d):
    pnorm = _arg(args, kw, 1, "p", None)
    if pnorm in (None, 2, -2):
        return _svdvals_facts(args, kw, shapes, p, d)
    return _cubic(("getrf", "getri"), 2.0)(args, kw, shapes, p, d)


def _rcond_facts(args, kw, shapes, p, d):
    if kw.get("assume_a") == "pos":
        return _cubic(("potrf", "pocon"), 1 / 3)(args, kw, shapes, p, d)
    return _cubic(("getrf", "gecon"), 2 / 3)(args, kw, shapes, p, d)


def _pinv_facts(args, kw, shapes, p, d):
    m, n = _mn(shapes)
    product = 2.0 * m * n * min(m, n)  # V @ (S^+ U^H), by NumPy's matmul
    if _arg(args, kw, 2, "hermitian", False):
        return p + "syevd+matmul", _eigh_facts(True)(args, kw, shapes, p, d)[1] + product
    return p + "gesdd+matmul", _svd_flops(m, n, True) + product


def _matrix_rank_facts(args, kw, shapes, p, d):
    if len(shapes[0]) < 2:  # a vector: NumPy's test for zeros
        return "numpy", float(math.prod(shapes[0]))
    if _arg(args, kw, 2, "hermitian", False):
        return _eigh_facts(False)(args, kw, shapes, p, d)
    return _svdvals_facts(args, kw, shapes, p, d)


def _norm_facts(args, kw, shapes, p, d):
    shape = shapes[0]
    order, axis = _arg(args, kw, 1, "ord", None), _arg(args, kw, 2, "axis", None)
    axes = tuple(range(len(shape))) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    # facts() multiplies by the number of matrices in shape[:-2]: give the work per one of them
    per = 1 / _count(shapes)
    if isinstance(order, (int, float, str)) and order in (2, -2, "nuc") and len(axes) == 2:
        m, n = shape[axes[0]], shape[axes[1]]
        return p + "gesdd", _svd_flops(m, n, False) * (math.prod(shape) // max(m * n, 1)) * per
    return "numpy", 2.0 * math.prod(shape) * per


_PREFIX = {"float32": "s", "float64": "d", "complex64": "c", "complex128": "z"}
# What LAPACK calls a routine in complex types (Hermitian, unitary).
_COMPLEX_NAMES = {"syevd": "heevd", "sygvd": "hegvd", "orgqr": "ungqr"}


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
    replaces: tuple[str, ...] = ()
    """Dotted names of the NumPy/SciPy functions ``lapack_ai.patch()`` routes here
    (``numpy.linalg.*`` to this function, ``scipy.linalg.*`` to ``lapack_ai.scipy``'s)."""
    pack: Callable | None = None
    """For routines taking a tuple (``lu_solve((lu, piv), b)``): turns the flat arrays
    ``make`` returns into the call's arguments, for ``func`` and ``reference`` alike."""

    @property
    def func(self) -> Callable:
        import lapack_ai

        return self._packed(getattr(lapack_ai, self.name))

    @property
    def reference(self) -> Callable:
        mod, _, attr = self.peer.rpartition(".")
        return self._packed(getattr(importlib.import_module(mod), attr))

    def _packed(self, f: Callable) -> Callable:
        if self.pack is None:
            return f
        pack = self.pack
        return lambda *arrays: f(*pack(*arrays))

    def facts(self, args, kwargs, dtype, decision, shapes=None):
        """(routines run, total flops) of one call, for metrics; ``shapes`` of the array
        arguments when the caller has them already."""
        if shapes is None:
            if self.pack is not None and args and isinstance(args[0], tuple):  # (lu, piv), b: the factor's shape
                args = (args[0][0], *args[1:])
            shapes = [np.shape(a) for a in args if isinstance(a, (np.ndarray, list, tuple))]
        prefix = _PREFIX.get(dtype, "d")
        run, flops = self.run_facts(args, kwargs, shapes, prefix, decision)
        if prefix in "cz":
            run = "+".join(r[0] + _COMPLEX_NAMES.get(r[1:], r[1:]) for r in run.split("+"))
            if flops is not None:
                flops *= 4  # a complex multiply-add is 8 real flops, a real one 2 (LAPACK Working Note 41)
        if len(shapes[0]) > 2 or (len(shapes) > 1 and len(shapes[1]) > 2):
            flops *= _count(shapes)
        return run, flops


REGISTRY: dict[str, Routine] = {r.name: r for r in [
    Routine("gemm", ("gemm",), "numpy.matmul", _pair, _gemm_facts, opencl=True),
    # one level of a fast 4x4 scheme where measured faster (or asked), else gemm itself
    Routine("gemm_alpha", ("gemm",), "numpy.matmul", _pair, _gemm_facts, opencl=True),
    Routine("svd", ("gesdd", "gesvd"), "numpy.linalg.svd", _general, _svd_facts,
            replaces=("numpy.linalg.svd", "scipy.linalg.svd")),
    Routine("svdvals", ("gesdd",), "scipy.linalg.svdvals", _general, _svdvals_facts,
            replaces=("numpy.linalg.svdvals", "scipy.linalg.svdvals")),
    Routine("solve", ("getrf", "gecon", "getrs", "sytrf", "potrf"), "numpy.linalg.solve", _system, _solve_facts,
            replaces=("numpy.linalg.solve", "scipy.linalg.solve")),
    Routine("lstsq", ("gelsd",), "numpy.linalg.lstsq", _lstsq, _lstsq_facts, stacked=False,
            replaces=("numpy.linalg.lstsq", "scipy.linalg.lstsq")),
    Routine("inv", ("getrf", "gecon", "getri"), "numpy.linalg.inv", _square, _cubic(("getrf", "gecon", "getri"), 2.0),
            replaces=("numpy.linalg.inv", "scipy.linalg.inv")),
    Routine("det", ("getrf",), "numpy.linalg.det", _square, _cubic(("getrf",), 2 / 3),
            replaces=("numpy.linalg.det", "scipy.linalg.det")),
    Routine("slogdet", ("getrf",), "numpy.linalg.slogdet", _square, _cubic(("getrf",), 2 / 3),
            replaces=("numpy.linalg.slogdet",)),
    Routine("cholesky", ("potrf",), "numpy.linalg.cholesky", _spd, _cubic(("potrf",), 1 / 3),
            replaces=("numpy.linalg.cholesky", "scipy.linalg.cholesky")),
    Routine("qr", ("geqrf", "orgqr"), "numpy.linalg.qr", _general, _qr_facts,
            replaces=("numpy.linalg.qr", "scipy.linalg.qr")),
    Routine("eigh", ("syevd",), "numpy.linalg.eigh", _sym, _eigh_facts(True),
            replaces=("numpy.linalg.eigh", "scipy.linalg.eigh")),
    Routine("eigvalsh", ("syevd",), "numpy.linalg.eigvalsh", _sym, _eigh_facts(False),
            replaces=("numpy.linalg.eigvalsh", "scipy.linalg.eigvalsh")),
    Routine("cond", ("gesdd",), "numpy.linalg.cond", _square, _cond_facts,
            replaces=("numpy.linalg.cond",)),
    Routine("rcond", ("getrf", "gecon"), "numpy.linalg.cond", _square, _rcond_facts),
    # well conditioned (_square): a pinv's rounding grows with the condition number
    Routine("pinv", ("gesdd", "syevd"), "numpy.linalg.pinv", _square, _pinv_facts,
            replaces=("numpy.linalg.pinv", "scipy.linalg.pinv")),
    Routine("matrix_rank", ("gesdd", "syevd"), "numpy.linalg.matrix_rank", _general, _matrix_rank_facts,
            replaces=("numpy.linalg.matrix_rank",)),
    Routine("eig", ("geev",), "numpy.linalg.eig", _square, _eig_facts(True),
            replaces=("numpy.linalg.eig",)),
    Routine("eigvals", ("geev",), "numpy.linalg.eigvals", _square, _eig_facts(False),
            replaces=("numpy.linalg.eigvals", "scipy.linalg.eigvals")),
    Routine("schur", ("gees",), "scipy.linalg.schur", _square, _cubic(("gees",), 25.0),
            replaces=("scipy.linalg.schur",)),
    Routine("lu_factor", ("getrf",), "scipy.linalg.lu_factor", _general, _lu_facts,
            replaces=("scipy.linalg.lu_factor",)),
    Routine("lu", ("getrf",), "scipy.linalg.lu", _general, _lu_facts,
            replaces=("scipy.linalg.lu",)),
    Routine("lu_solve", ("getrs",), "scipy.linalg.lu_solve", _lu_system, _solve_with_factor(("getrs",), 2.0),
            replaces=("scipy.linalg.lu_solve",), pack=lambda lu, piv, b: ((lu, piv), b)),
    Routine("cho_factor", ("potrf",), "scipy.linalg.cho_factor", _spd, _cubic(("potrf",), 1 / 3),
            replaces=("scipy.linalg.cho_factor",)),
    Routine("cho_solve", ("potrs",), "scipy.linalg.cho_solve", _cho_system, _solve_with_factor(("potrs",), 2.0),
            replaces=("scipy.linalg.cho_solve",), pack=lambda c, b: ((c, False), b)),
    Routine("solve_triangular", ("trtrs",), "scipy.linalg.solve_triangular", _triangular,
            _solve_with_factor(("trtrs",), 1.0), replaces=("scipy.linalg.solve_triangular",)),
    # norm(x) with no axis reduces the whole array, so a stack is not a stack of calls
    Routine("norm", ("gesdd",), "numpy.linalg.norm", _general, _norm_facts, stacked=False,
            replaces=("numpy.linalg.norm", "scipy.linalg.norm")),
]}
