"""The high-level API: NumPy/SciPy names, signatures and return conventions.

Each function validates its arguments (``_arrays``), calls the Rust core once
(``lapack_ai._core``), and turns core failures into structured errors (``errors.from_core``).
All accept stacks ``(..., M, N)`` where NumPy does, and never modify their inputs (``gemm``
writes ``c`` only when asked).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from . import _core
from ._arrays import as_float, batch_broadcast, broadcast_shapes, promote, square
from .errors import DeviceFallbackWarning, DTypeError, IllConditionedWarning, ShapeError, SingularMatrixError
from .errors import call as _call
from .errors import from_core
from .config import _steers as _steers_var
from .config import device_request as _device_request

_steers = _steers_var.get

__all__ = ["gemm", "svd", "svdvals", "solve", "lstsq", "inv", "det", "slogdet", "cholesky",
           "qr", "eigh", "eigvalsh", "cond", "rcond",
           "SVDResult", "EighResult", "QRResult", "SlogdetResult", "LstsqResult"]


class SVDResult(NamedTuple):
    U: np.ndarray
    S: np.ndarray
    Vh: np.ndarray


class EighResult(NamedTuple):
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray


class QRResult(NamedTuple):
    Q: np.ndarray
    R: np.ndarray


class SlogdetResult(NamedTuple):
    sign: np.ndarray
    logabsdet: np.ndarray


class LstsqResult(NamedTuple):
    x: np.ndarray
    residuals: np.ndarray
    rank: int
    s: np.ndarray


_EPS = {np.dtype(np.float32): float(np.finfo(np.float32).eps),
        np.dtype(np.float64): float(np.finfo(np.float64).eps)}


def _warn_ill_conditioned(op: str, rcond: np.ndarray, dtype: np.dtype) -> None:
    eps = _EPS[dtype]
    if rcond.size and rcond.min() < eps:
        flat = int(np.argmin(rcond))
        batch = tuple(int(i) for i in np.unravel_index(flat, rcond.shape)) if rcond.ndim else None
        warnings.warn(IllConditionedWarning(op, float(rcond.min()), batch, str(dtype)), stacklevel=3)


def _scalar(x: np.ndarray):
    return x[()] if x.ndim == 0 else x


def _core_first(op: str, fn, a, *rest, square_input: bool = True):
    """Hand ``a`` straight to the core, which takes any well-formed float32/float64 array as it
    lies; when it refuses (a list, ints, a shape it cannot take, an unaligned view) validate and
    convert with errors that name the argument, and call again. At 4x4 the Python checks would
    cost more than LAPACK, so only refused input pays for them."""
    try:
        return fn(a, *rest)
    except _core.CoreError as e:
        if e.args[0]["kind"] != "shape":  # a numerical failure: report it, don't recompute
            raise from_core(e, op, {"a": a}) from None
    except (TypeError, ValueError):
        pass
    a = as_float(a, op, "a")
    if square_input:
        square(op, "a", a)
    return _call(op, fn, {"a": a}, *rest)


# ---- products ----

def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, device=None):
    """``alpha * op(a) @ op(b) + beta * c`` with BLAS xGEMM semantics, over stacks.

    ``op(x)`` is ``x`` or its transpose (``trans_a``/``trans_b``). When ``c`` is given it is
    updated in place and returned (a read-only ``c`` is refused, as NumPy's ``out=`` is).
    ``beta=0`` never reads ``c``, so NaN there does not leak.

    ``device``: "auto" (measured crossover decides), "cpu", "opencl" or "opencl:<index or
    name>"; None takes the process default ``LAPACK_AI_DEVICE`` (else "auto"). If the device
    fails during the call the CPU computes the result and a DeviceFallbackWarning says why.

    Raises ShapeError when inner dimensions or ``c``'s shape do not match, DTypeError for
    unsupported dtypes, or when ``c``'s dtype differs from the result's, ValueError for a
    read-only ``c``; DeviceError when a forced device cannot run the call.
    """
    if device is not None or _steers():
        device = _device_request(device)  # the caller's, else a config_context override
    if c is None and device is None:  # native fast path for two 2-D float arrays of one dtype; None otherwise
        try:
            out = _core.matmul2d(a, b, alpha, trans_a, trans_b)
        except _core.CoreError as e:
            raise from_core(e, "gemm", {"a": a, "b": b}) from None
        if out is not None:
            return out
    a = as_float(a, "gemm", "a")
    b = as_float(b, "gemm", "b")
    if a.dtype != b.dtype:
        a, b = promote(a, b)
    sa, sb = a.shape, b.shape
    m, k = (sa[-1], sa[-2]) if trans_a else sa[-2:]
    kb, n = (sb[-1], sb[-2]) if trans_b else sb[-2:]
    if k != kb:
        raise ShapeError("gemm", "b", f"has {kb} rows in op(b) but op(a) has {k} columns "
                         f"(a {sa}, b {sb}, trans_a={trans_a}, trans_b={trans_b})")
    batch = sa[:-2]
    if batch != sb[:-2]:
        try:
            batch = broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ShapeError("gemm", "b", f"batch dimensions {sb[:-2]} do not broadcast with a's {sa[:-2]}") from None
    out_shape = (*batch, m, n)
    if c is None:
        out = np.empty(out_shape, dtype=a.dtype)
        beta = 0.0
    else:
        if not isinstance(c, np.ndarray):
            c = np.asarray(c)
        if c.shape != out_shape:
            raise ShapeError("gemm", "c", f"must have shape {out_shape} to hold op(a) @ op(b), got {c.shape}")
        if c.dtype != a.dtype:
            raise DTypeError("gemm", "c", c.dtype, f"must be {a.dtype} like the product to be updated in place")
        if not c.flags.writeable:
            raise ValueError("gemm: argument 'c' is read-only; pass a writable array to update in place "
                             "(or c=None for a new result)")
        out = c if c.flags.aligned else np.array(c, copy=True)  # computed aside, written back below
        # BLAS must not read what it writes: copy inputs that overlap the output.
        if np.may_share_memory(out, a):
            a = a.copy()
        if np.may_share_memory(out, b):
            b = b.copy()
    if a.shape[:-2] != batch:
        a = np.broadcast_to(a, batch + a.shape[-2:])
    if b.shape[:-2] != batch:
        b = np.broadcast_to(b, batch + b.shape[-2:])
    warning = _call("gemm", _core.gemm, {"a": a, "b": b, "c": out}, float(alpha), float(beta), bool(trans_a),
                    bool(trans_b), device)
    if warning:
        warnings.warn(warning, DeviceFallbackWarning, stacklevel=2)
    if c is not None and out is not c:
        c[...] = out
        return c
    return out


# ---- decompositions ----

def svd(a, full_matrices=True, compute_uv=True, *, driver="gesdd", check_finite=True):
    """Singular value decomposition ``a = U @ diag(S) @ Vh``, as ``numpy.linalg.svd``.

    Returns ``SVDResult(U, S, Vh)``, or only ``S`` when ``compute_uv=False``. ``driver`` picks
    LAPACK's ``gesdd`` (divide and conquer, fast) or ``gesvd`` (QR iteration, more robust).

    Raises ConvergenceError if the driver does not converge (the error names the routine that
    actually ran), NonFiniteError for NaN/Inf input.
    """
    if driver not in ("gesdd", "gesvd"):
        raise ValueError(f"svd: driver must be 'gesdd' or 'gesvd', got {driver!r}")
    job = ("A" if full_matrices else "S") if compute_uv else "N"
    u, s, vt, _ = _core_first("svd", _core.svd, a, job, job, driver, check_finite, square_input=False)
    return SVDResult(u, s, vt) if compute_uv else s


def svdvals(a, *, check_finite=True):
    """Singular values in descending order, as ``scipy.linalg.svdvals`` (stacks allowed)."""
    return svd(a, compute_uv=False, check_finite=check_finite)


def cholesky(a, lower=True, *, check_finite=True):
    """Cholesky factor: ``L`` with ``a = L @ L.T`` reading a's lower triangle (``lower=True``),
    or ``U`` with ``a = U.T @ U`` reading the upper one.

    Raises NotPositiveDefiniteError naming the first non-positive leading minor.
    """
    return _core_first("cholesky", _core.cholesky, a, bool(lower), check_finite)


def qr(a, mode="reduced", *, check_finite=True):
    """QR factorisation as ``numpy.linalg.qr``: ``mode`` 'reduced', 'complete' or 'r'."""
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    q, r = _core_first("qr", _core.qr, a, mode, check_finite, square_input=False)
    return r if mode == "r" else QRResult(q, r)


def eigh(a, UPLO="L", *, check_finite=True):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices, as ``numpy.linalg.eigh``.
    Only the triangle named by ``UPLO`` is read."""
    w, v = _core_first("eigh", _core.eigh, a, _uplo("eigh", UPLO), True, check_finite)
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", *, check_finite=True):
    """Eigenvalues (ascending) of symmetric matrices, as ``numpy.linalg.eigvalsh``."""
    w, _ = _core_first("eigvalsh", _core.eigh, a, _uplo("eigvalsh", UPLO), False, check_finite)
    return w


def _uplo(op, UPLO):
    if UPLO not in ("L", "U", "l", "u"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO.upper() == "L"


# ---- systems ----

def solve(a, b, *, assume_a="gen", lower=False, check_finite=True):
    """Solve ``a @ x = b``. ``b`` is a vector when 1-D (NumPy 2's rule), else ``(..., N, K)``;
    batch dimensions broadcast. ``assume_a``: 'gen' (LU), 'sym' (Bunch-Kaufman) or 'pos'
    (Cholesky); for the last two only the triangle chosen by ``lower`` is read.

    Raises SingularMatrixError (naming the zero pivot and the failing matrix of a stack),
    NotPositiveDefiniteError for 'pos'. Warns IllConditionedWarning when rcond < eps (rcond is
    exact for general matrices up to 8x8, LAPACK's 1-norm estimate above).
    """
    try:  # the core takes well-formed input as it is; anything else goes the validating way
        x, rc, rmin = _core.solve(a, b, assume_a, lower, check_finite)
    except _core.CoreError as e:
        if e.args[0]["kind"] != "shape":  # a numerical failure: report it, don't recompute
            raise from_core(e, "solve", {"a": a, "b": b}) from None
        x, rc, rmin = _solve_checked(a, b, assume_a, lower, check_finite)
    except (TypeError, ValueError):
        x, rc, rmin = _solve_checked(a, b, assume_a, lower, check_finite)
    if rmin < _EPS[x.dtype]:
        _warn_ill_conditioned("solve", rc, x.dtype)
    return x


def _solve_checked(a, b, assume_a, lower, check_finite):
    a = as_float(a, "solve", "a")
    b = as_float(b, "solve", "b", min_ndim=1)
    square("solve", "a", a)
    if assume_a not in ("gen", "sym", "pos"):
        raise ValueError(f"solve: assume_a must be 'gen', 'sym' or 'pos', got {assume_a!r}")
    if a.dtype != b.dtype:
        a, b = promote(a, b)
    vector = b.ndim == 1
    n = a.shape[-1]
    if b.shape[0 if vector else -2] != n:
        raise ShapeError("solve", "b", f"must have {n} rows to match a {a.shape}, got shape {b.shape}")
    if vector and a.ndim > 2:
        b = b[:, None]
    if a.ndim != 2 or b.ndim != 2:
        a, b = batch_broadcast("solve", a, b)
    x, rc, rmin = _call("solve", _core.solve, {"a": a, "b": b}, assume_a, bool(lower), check_finite)
    return (x[..., 0] if vector and a.ndim > 2 else x), rc, rmin


def inv(a, *, check_finite=True):
    """Inverse of square matrices (stacks allowed).

    Raises SingularMatrixError naming the zero pivot. Warns IllConditionedWarning when rcond < eps.
    """
    try:  # well-formed input goes straight to the core; refusals are explained below
        x, rc, rmin = _core.inv(a, check_finite)
    except _core.CoreError as e:
        if e.args[0]["kind"] != "shape":  # a numerical failure: report it, don't recompute
            raise from_core(e, "inv", {"a": a}) from None
        a = as_float(a, "inv", "a")
        square("inv", "a", a)
        x, rc, rmin = _call("inv", _core.inv, {"a": a}, check_finite)
    except (TypeError, ValueError):
        a = as_float(a, "inv", "a")
        square("inv", "a", a)
        x, rc, rmin = _call("inv", _core.inv, {"a": a}, check_finite)
    if rmin < _EPS[x.dtype]:
        _warn_ill_conditioned("inv", rc, x.dtype)
    return x


def slogdet(a, *, check_finite=True):
    """Sign and natural log of ``|det(a)|`` (singular: sign 0, logabsdet -inf), as NumPy."""
    s, l = _core_first("slogdet", _core.slogdet, a, check_finite)
    return SlogdetResult(_scalar(s), _scalar(l))


def det(a, *, check_finite=True):
    """Determinant via LU, computed as ``sign * exp(logabsdet)`` like NumPy."""
    return _scalar(_core_first("det", _core.det, a, check_finite))


def lstsq(a, b, rcond=None, *, check_finite=True):
    """Least-squares solution of ``a @ x = b`` as ``numpy.linalg.lstsq`` (2-D ``a``; ``b`` 1-D or
    2-D), by LAPACK's gelsd. Returns ``LstsqResult(x, residuals, rank, s)``. ``rcond`` defaults
    to ``eps * max(M, N)``; singular values below ``rcond * s_max`` count as zero.
    """
    a = as_float(a, "lstsq", "a")
    b = as_float(b, "lstsq", "b", min_ndim=1)
    if a.ndim != 2:
        raise ShapeError("lstsq", "a", f"must be 2-D (M, N), as in numpy.linalg.lstsq; got shape {a.shape}")
    if b.ndim > 2:
        raise ShapeError("lstsq", "b", f"must be 1-D or 2-D, got shape {b.shape}")
    a, b = promote(a, b)
    vector = b.ndim == 1
    if vector:
        b = b[:, None]
    if b.shape[0] != a.shape[0]:
        raise ShapeError("lstsq", "b", f"must have {a.shape[0]} rows to match a {a.shape}, got {b.shape[0]}")
    if rcond is None:
        rcond = np.finfo(a.dtype).eps * max(a.shape)
    x, res, rank, s = _call("lstsq", _core.lstsq, {"a": a, "b": b}, float(rcond), check_finite)
    if vector:
        x = x[:, 0]
    return LstsqResult(x, res, int(rank), s)


# ---- conditioning ----

def rcond(a, *, norm="1", assume_a="gen", check_finite=True):
    """LAPACK's reciprocal condition estimate (xGECON, or xPOCON for ``assume_a='pos'``) in the
    1-norm (``norm='1'``) or infinity norm (``'inf'``). 0 for an exactly singular matrix.

    Cheaper than ``1 / cond(a, 1)``: one LU (or Cholesky) and an O(n^2) estimate.
    """
    a = as_float(a, "rcond", "a")
    square("rcond", "a", a)
    letter = {"1": "1", 1: "1", "inf": "I", np.inf: "I"}.get(norm)
    if letter is None:
        raise ValueError(f"rcond: norm must be '1' or 'inf', got {norm!r}")
    if assume_a not in ("gen", "pos"):
        raise ValueError(f"rcond: assume_a must be 'gen' or 'pos', got {assume_a!r}")
    if assume_a == "pos" and letter != "1":
        raise ValueError("rcond: assume_a='pos' uses the 1-norm (equal to the inf-norm for symmetric matrices)")
    return _scalar(_call("rcond", _core.rcond, {"a": a}, letter, assume_a == "pos", check_finite))


def cond(a, p=None):
    """Condition number as ``numpy.linalg.cond``: ``p`` in None, 2, -2 (from singular values),
    'fro', 1, -1, inf, -inf (``norm(a) * norm(inv(a))``). Singular matrices give inf."""
    a = as_float(a, "cond", "a")
    if p in (None, 2, -2):
        s = svdvals(a, check_finite=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.asarray(s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0])
        # NumPy: 0/0 from a zero matrix means infinitely ill-conditioned, not NaN.
        return _scalar(np.where(np.isnan(r) & ~np.isnan(a).any(axis=(-2, -1)), np.inf, r))
    square("cond", "a", a)
    if p not in ("fro", 1, -1, np.inf, -np.inf):
        raise ValueError(f"cond: p must be None, 2, -2, 'fro', 1, -1, inf or -inf, got {p!r}")
    flat = a.reshape((-1,) + a.shape[-2:])
    out = np.empty(flat.shape[0], dtype=a.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        for i, m in enumerate(flat):
            try:
                out[i] = np.linalg.norm(m, p) * np.linalg.norm(inv(m, check_finite=False), p)
            except SingularMatrixError:
                out[i] = np.inf
    return _scalar(out.reshape(a.shape[:-2]))


def _instrument_public() -> None:
    """Wrap each registry routine so its calls are recorded when metrics are on (calls between
    them, such as cond's svdvals, are recorded once, as the outer call)."""
    from .metrics import instrument
    from .registry import REGISTRY

    g = globals()
    for name, routine in REGISTRY.items():
        g[name] = instrument(g[name], name, routine.facts)


_instrument_public()
