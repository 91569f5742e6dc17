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
from numpy.linalg import norm as _np_norm  # NumPy's own, also while lapack_ai.patch() is on

try:  # NumPy 2's public home; NumPy 1.x keeps it in numpy.core
    from numpy.lib.array_utils import normalize_axis_index as _normalize_axis_index
except ImportError:
    from numpy.core.multiarray import normalize_axis_index as _normalize_axis_index

from . import _core
from ._arrays import as_float, batch_broadcast, broadcast_shapes, promote, square
from .errors import (DeviceFallbackWarning, DTypeError, IllConditionedWarning, LinAlgError, LinAlgWarning, ShapeError,
                     SingularMatrixError)
from .errors import call as _call
from .errors import from_core
from .config import _steers as _steers_var
from .config import device_request as _device_request

_steers = _steers_var.get

__all__ = ["gemm", "gemm_alpha", "schemes", "svd", "svdvals", "solve", "lstsq", "inv", "det", "slogdet", "cholesky",
           "qr", "eigh", "eigvalsh", "cond", "rcond", "pinv", "matrix_rank", "norm", "eig", "eigvals", "schur",
           "lu", "lu_factor", "lu_solve", "cho_factor", "cho_solve", "solve_triangular", "EigResult",
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


# Machine epsilon by dtype; a complex dtype's is that of its real part.
_EPS = {np.dtype(t): float(np.finfo(t).eps) for t in (np.float32, np.float64, np.complex64, np.complex128)}


# The class warned with: lapack_ai.scipy makes it also SciPy's LinAlgWarning where SciPy is loaded.
_ILL: type[IllConditionedWarning] = IllConditionedWarning


def _warn_ill_conditioned(op: str, rcond: np.ndarray, dtype: np.dtype) -> None:
    eps = _EPS[dtype]
    if rcond.size and rcond.min() < eps:
        flat = int(np.argmin(rcond))
        batch = tuple(int(i) for i in np.unravel_index(flat, rcond.shape)) if rcond.ndim else None
        warnings.warn(_ILL(op, float(rcond.min()), batch, str(dtype)), stacklevel=3)


def _scalar(x: np.ndarray):
    return x[()] if x.ndim == 0 else x


def _wrap(a, x):
    """``x`` given the type of input ``a`` as numpy.linalg does (its ``_makearray``): through
    ``a.__array_wrap__``, so an ndarray subclass such as np.matrix comes back as one; unchanged
    for a list. Callers test ``type(a) is np.ndarray`` first: plain arrays pay only that test."""
    wrap = getattr(a, "__array_wrap__", None)
    return x if wrap is None else wrap(x)


def _core_first(op: str, fn, a, *rest, square_input: bool = True):
    """Hand ``a`` straight to the core, which takes any well-formed array of LAPACK's four types as it
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
    if c is None and device is None and not isinstance(alpha, complex):
        # native fast path for two 2-D arrays of one dtype; None otherwise
        try:
            out = _core.matmul2d(a, b, alpha, trans_a, trans_b)
        except _core.CoreError as e:
            raise from_core(e, "gemm", {"a": a, "b": b}) from None
        if out is not None:
            return out
    a, b, c, out, alpha, beta = _product_args("gemm", a, b, c, alpha, beta, trans_a, trans_b)
    warning = _call("gemm", _core.gemm, {"a": a, "b": b, "c": out}, (alpha.real, alpha.imag), (beta.real, beta.imag), bool(trans_a),
                    bool(trans_b), device)
    return _product_done(warning, c, out)


def gemm_alpha(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, scheme="auto", device=None):
    """``gemm`` by one level of a fast 4x4 scheme: the matrices are cut into 4x4 grids of
    blocks and multiplied with 49 (or 48) block products instead of 64, each by the backend's
    own GEMM (OpenBLAS on the CPU, the OpenCL kernel on a device). Same arguments, stacks and
    errors as ``gemm``, and the same results up to rounding; rows, columns and inner terms past
    a multiple of 4 are peeled off and added by the standard product. A scheme adds and
    subtracts blocks, so Inf/NaN in the input (or overflow) can spread as NaN within block rows
    where ``gemm`` gives Inf: use ``scheme="standard"`` when that can happen.

    ``scheme``: "auto" (a scheme only where ``calibrate(schemes=True)`` measured it faster on
    the chosen backend, otherwise the standard product), "standard", "rank49" (AlphaTensor's
    rank-49 scheme over the reals), "strassen2" (Strassen's algorithm squared, rank 49), "rank48"
    (the rank-48 rational scheme of Dumas, Pernet and Sedoglavic), or a file key of
    ``lapack_ai.schemes()``. AlphaTensor's rank-47 scheme is valid modulo 2 only and is not
    offered. Rounding: a scheme's error bound grows with its coefficients and additions; the
    measured errors are in docs/alphatensor.md. ``explain("gemm_alpha", ...)`` says which
    product and backend a call gets.
    """
    if device is not None or _steers():
        device = _device_request(device)
    if not isinstance(scheme, str):
        raise TypeError(f"gemm_alpha: scheme must be a string such as 'auto', 'standard' or 'rank49', got {type(scheme).__name__}")
    a, b, c, out, alpha, beta = _product_args("gemm_alpha", a, b, c, alpha, beta, trans_a, trans_b)
    warning, _ = _call("gemm_alpha", _core.gemm_alpha, {"a": a, "b": b, "c": out}, (alpha.real, alpha.imag),
                       (beta.real, beta.imag), bool(trans_a), bool(trans_b), scheme, device)
    return _product_done(warning, c, out)


def schemes() -> list[dict]:
    """The fast 4x4 schemes ``gemm_alpha`` offers: ``name`` (what ``scheme=`` takes), ``key``
    (the verified file it is generated from, also accepted), ``rank`` (block products per level,
    against 64) and ``additions`` (block additions with no shared subexpressions)."""
    return [{"name": n, "key": k, "rank": r, "additions": ad} for n, k, r, ad in _core.schemes()]


def _product_done(warning, c, out):
    if warning:
        warnings.warn(warning, DeviceFallbackWarning, stacklevel=3)
    if c is not None and out is not c:
        c[...] = out
        return c
    return out


def _product_args(op, a, b, c, alpha, beta, trans_a, trans_b):
    """gemm's argument checks, shared by gemm_alpha: (a, b, c, out, alpha, beta) with a and b
    of one dtype broadcast to the batch, ``out`` the array the core writes (c, or an aligned
    copy of it, or a new result), and complex coefficients."""
    a = as_float(a, op, "a")
    b = as_float(b, op, "b")
    alpha, beta = complex(alpha), complex(beta)
    if (alpha.imag or beta.imag) and a.dtype.kind != "c":  # a complex coefficient makes the product complex
        a = a.astype(np.complex64 if a.dtype == np.float32 else np.complex128)
    if a.dtype != b.dtype:
        a, b = promote(a, b)
    sa, sb = a.shape, b.shape
    m, k = (sa[-1], sa[-2]) if trans_a else sa[-2:]
    kb, n = (sb[-1], sb[-2]) if trans_b else sb[-2:]
    if k != kb:
        raise ShapeError(op, "b", f"has {kb} rows in op(b) but op(a) has {k} columns "
                         f"(a {sa}, b {sb}, trans_a={trans_a}, trans_b={trans_b})")
    batch = sa[:-2]
    if batch != sb[:-2]:
        try:
            batch = broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ShapeError(op, "b", f"batch dimensions {sb[:-2]} do not broadcast with a's {sa[:-2]}") from None
    out_shape = (*batch, m, n)
    if c is None:
        out = np.empty(out_shape, dtype=a.dtype)
        beta = 0.0
    else:
        if not isinstance(c, np.ndarray):
            c = np.asarray(c)
        if c.shape != out_shape:
            raise ShapeError(op, "c", f"must have shape {out_shape} to hold op(a) @ op(b), got {c.shape}")
        if c.dtype != a.dtype:
            raise DTypeError(op, "c", c.dtype, f"must be {a.dtype} like the product to be updated in place")
        if not c.flags.writeable:
            raise ValueError(f"{op}: argument 'c' is read-only; pass a writable array to update in place "
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
    return a, b, c, out, alpha, beta


# ---- decompositions ----

def svd(a, full_matrices=True, compute_uv=True, hermitian=False, *, driver="gesdd", check_finite=True, device=None):
    """Singular value decomposition ``a = U @ diag(S) @ Vh``, as ``numpy.linalg.svd``.

    Returns ``SVDResult(U, S, Vh)``, or only ``S`` when ``compute_uv=False``. ``driver`` picks
    LAPACK's ``gesdd`` (divide and conquer, fast) or ``gesvd`` (QR iteration, more robust).
    ``hermitian=True`` reads only the lower triangle of a symmetric ``a`` and computes, as NumPy
    does, from ``eigh`` (``full_matrices`` and ``driver`` then play no part; ``device`` goes to
    ``eigh``).

    ``device``: as for ``gemm`` ("auto", "cpu", "opencl", "opencl:<index or name>"; None takes
    the process default). Stacks of matrices up to 64x64 and tall-skinny matrices (any of the
    four dtypes) can run on an OpenCL device (one-sided Jacobi, and
    CholeskyQR; ``driver`` then plays no part, ``full_matrices`` and ``compute_uv`` are
    honoured): "auto" sends them there from what ``calibrate()`` measured a win at. If the
    device fails during the call the CPU computes the result and a DeviceFallbackWarning says
    why.

    Raises ConvergenceError if the driver does not converge (the error names the routine that
    actually ran), NonFiniteError for NaN/Inf input; DeviceError when a forced device cannot
    run the call (larger matrices that are not tall-skinny).
    """
    if device is not None or _steers():
        device = _device_request(device)  # the caller's, else a config_context override
    if hermitian:
        return _svd_hermitian(a, compute_uv, check_finite, device)
    if driver not in ("gesdd", "gesvd"):
        raise ValueError(f"svd: driver must be 'gesdd' or 'gesvd', got {driver!r}")
    job = ("A" if full_matrices else "S") if compute_uv else "N"
    u, s, vt, _, warning = _core_first("svd", _core.svd, a, job, job, driver, check_finite, device, square_input=False)
    if warning:
        warnings.warn(warning, DeviceFallbackWarning, stacklevel=2)
    if not compute_uv:
        return s
    if type(a) is not np.ndarray:
        u, vt = _wrap(a, u), _wrap(a, vt)
    return SVDResult(u, s, vt)


def _svd_hermitian(a, compute_uv, check_finite, device):
    """NumPy's svd(hermitian=True): |eigenvalues| sorted descending are the singular values,
    and their signs move into Vh. ``eigh`` runs where ``device`` sends it."""
    x = np.asarray(a)  # a subclass would bring its own operators (np.matrix's * is a product)
    if not compute_uv:
        return np.sort(abs(eigvalsh(x, check_finite=check_finite, device=device)))[..., ::-1]
    s, u = eigh(x, check_finite=check_finite, device=device)
    sgn = np.copysign(1.0, s)  # +1 for a zero eigenvalue too
    s = abs(s)
    order = np.argsort(s)[..., ::-1]
    sgn = np.take_along_axis(sgn, order, axis=-1)
    s = np.take_along_axis(s, order, axis=-1)
    u = np.take_along_axis(u, order[..., None, :], axis=-1)
    vt = np.swapaxes(u * sgn[..., None, :], -1, -2).conjugate()
    if type(a) is not np.ndarray:
        u, vt = _wrap(a, u), _wrap(a, vt)
    return SVDResult(u, s, vt)


def svdvals(a, *, check_finite=True, device=None):
    """Singular values in descending order, as ``scipy.linalg.svdvals`` (stacks allowed).
    ``device`` as for ``svd``."""
    return svd(a, compute_uv=False, check_finite=check_finite, device=device)


def cholesky(a, lower=None, *, upper=None, check_finite=True):
    """Cholesky factor: ``L`` with ``a = L @ L^H`` reading a's lower triangle (the default,
    ``lower=True`` as in SciPy or ``upper=False`` as in NumPy 2), or ``U`` with ``a = U^H @ U``
    reading the upper one (``lower=False`` or ``upper=True``). Giving both, they must agree.

    Raises NotPositiveDefiniteError naming the first non-positive leading minor.
    """
    if upper is not None:
        if lower is not None and bool(lower) == bool(upper):
            raise ValueError(f"cholesky: lower={lower!r} and upper={upper!r} ask for different factors; "
                             "pass one of them")
        lower = not upper
    elif lower is None:
        lower = True
    c = _core_first("cholesky", _core.cholesky, a, bool(lower), check_finite)
    return c if type(a) is np.ndarray else _wrap(a, c)


def qr(a, mode="reduced", *, check_finite=True):
    """QR factorisation as ``numpy.linalg.qr``. ``mode``: 'reduced' or 'complete' return
    ``QRResult(Q, R)``, 'r' only R, 'raw' LAPACK geqrf's ``(h, tau)`` with ``h`` transposed,
    shape ``(..., N, M)``, as NumPy returns it. NumPy's deprecated 'full'/'f' (= 'reduced') and
    'economic'/'e' (geqrf's packed factor, ``(..., M, N)``) still work, with its DeprecationWarning."""
    if mode not in ("reduced", "complete", "r"):
        return _qr_other(a, mode, check_finite)
    q, r = _core_first("qr", _core.qr, a, mode, check_finite, square_input=False)
    if type(a) is not np.ndarray:
        q, r = (None if q is None else _wrap(a, q)), _wrap(a, r)
    return r if mode == "r" else QRResult(q, r)


def _qr_other(a, mode, check_finite):
    # NumPy 2 still takes its deprecated modes; stacklevel 4 names the caller of the public
    # qr (through the metrics wrapper), so the warning shows as NumPy's does.
    if mode in ("full", "f"):
        warnings.warn("The 'full' option is deprecated in favor of 'reduced'.\n"
                      "For backward compatibility let mode default.", DeprecationWarning, stacklevel=4)
        return qr(a, "reduced", check_finite=check_finite)
    if mode in ("economic", "e"):
        warnings.warn("The 'economic' option is deprecated.", DeprecationWarning, stacklevel=4)
    elif mode != "raw":
        raise ValueError(f"qr: mode must be 'reduced', 'complete', 'r' or 'raw', got {mode!r}")
    x = as_float(a, "qr", "a")
    m, n = x.shape[-2:]
    h = np.empty(x.shape[:-2] + (n, m), x.dtype)
    tau = np.empty(x.shape[:-2] + (min(m, n),), x.dtype)
    if h.size:  # the core's qr keeps no reflectors: geqrf, one matrix at a time
        for i, idx in enumerate(np.ndindex(x.shape[:-2])):
            try:
                f, t = _core.geqrf(x[idx], check_finite)
            except _core.CoreError as e:  # report the stack and which matrix failed
                raise from_core(_core.CoreError(dict(e.args[0], batch=i)), "qr", {"a": x}) from None
            h[idx], tau[idx] = f.T, t
    if mode == "raw":
        return (h if type(a) is np.ndarray else _wrap(a, h)), tau
    packed = np.swapaxes(h, -1, -2)
    return packed if type(a) is np.ndarray else _wrap(a, packed)


def eigh(a, UPLO="L", *, b=None, check_finite=True, device=None):
    """Eigenvalues (ascending) and eigenvectors of symmetric or Hermitian matrices, as
    ``numpy.linalg.eigh``. Only the triangle named by ``UPLO`` is read.

    With ``b`` (symmetric/Hermitian positive definite, same shape): the generalized problem
    ``a @ v = w * b @ v`` by xSYGVD/xHEGVD, eigenvectors normalised so ``v^H b v = I``; raises
    NotPositiveDefiniteError naming b's leading minor when b is not positive definite.

    ``device``: as for ``svd``. Stacks of matrices up to 64x64 (any of the four dtypes, where
    one matrix fits the device's local memory: 64x64 float64 takes 33 KiB) can run
    on an OpenCL device (one-sided Jacobi on ``a`` shifted to be positive semidefinite); "auto"
    sends them there from the count of matrices ``calibrate()`` measured a win at. If the
    device fails during the call the CPU computes the result and a DeviceFallbackWarning says
    why. DeviceError when a forced device cannot run the call (larger matrices, ``b``)."""
    w, v = _eigh(a, UPLO, b, True, check_finite, device, "eigh")
    return EighResult(w, v if type(a) is np.ndarray or b is not None else _wrap(a, v))


def eigvalsh(a, UPLO="L", *, b=None, check_finite=True, device=None):
    """Eigenvalues (ascending) of symmetric or Hermitian matrices, as ``numpy.linalg.eigvalsh``;
    with ``b``, of the generalized problem (see ``eigh``, also for ``device``)."""
    return _eigh(a, UPLO, b, False, check_finite, device, "eigvalsh")[0]


def _eigh(a, UPLO, b, vectors, check_finite, device, op):
    if device is not None or _steers():
        device = _device_request(device)  # the caller's, else a config_context override
    if b is not None:
        if device is not None and _core.parse_device(device) not in ("auto", "cpu"):
            from .errors import DeviceError

            raise DeviceError(op, device, "the generalized eigenproblem (b=...) has no OpenCL implementation yet; "
                              "use device='cpu' or 'auto'")
        return _eigh_general(op, a, b, _uplo(op, UPLO), vectors, check_finite)
    w, v, warning = _core_first(op, _core.eigh, a, _uplo(op, UPLO), vectors, check_finite, device)
    if warning:
        warnings.warn(warning, DeviceFallbackWarning, stacklevel=3)
    return w, v


def _eigh_general(op, a, b, lower, vectors, check_finite):
    a, b = as_float(a, op, "a"), as_float(b, op, "b")
    square(op, "a", a)
    if b.shape[-2:] != a.shape[-2:]:
        raise ShapeError(op, "b", f"must have the shape of a's matrices {a.shape[-2:]}, got {b.shape}")
    a, b = batch_broadcast(op, *promote(a, b))
    return _call(op, _core.eigh_general, {"a": a, "b": b}, lower, vectors, check_finite)


class EigResult(NamedTuple):
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray


def _real_if_possible(a, w, *vectors):
    """NumPy's rule for eig of real input: real results when every eigenvalue is real."""
    if np.asarray(a).dtype.kind != "c" and not w.imag.any():
        return tuple(x.real.copy() for x in (w, *vectors))
    return (w, *vectors)


def eig(a, *, check_finite=True):
    """Eigenvalues and right eigenvectors (unit columns) of general square matrices, as
    ``numpy.linalg.eig`` (xGEEV), stacks allowed. Real input gives real results when every
    eigenvalue is real, complex ones otherwise, as in NumPy.

    NaN and Inf are refused whatever ``check_finite`` says (NumPy refuses them too).
    Raises ConvergenceError saying which eigenvalues did not converge."""
    w, v = _core_first("eig", _core.eig, a, True)
    w, v = _real_if_possible(a, w, v)
    return EigResult(w, v if type(a) is np.ndarray else _wrap(a, v))


def eigvals(a, *, check_finite=True):
    """Eigenvalues of general square matrices, as ``numpy.linalg.eigvals`` (see ``eig``)."""
    w, _ = _core_first("eigvals", _core.eig, a, False)
    return _real_if_possible(a, w)[0]


def schur(a, output="real", *, sort=None, check_finite=True):
    """Schur decomposition ``a = Z @ T @ Z^H`` as ``scipy.linalg.schur`` (xGEES), stacks allowed.
    ``output='real'`` keeps real input real (T quasi-triangular, 2x2 blocks for complex pairs);
    ``'complex'`` gives a triangular T. Returns ``(T, Z)``. Eigenvalue sorting (``sort``) is
    not supported. NaN and Inf are always refused."""
    if output not in ("real", "complex", "r", "c"):
        raise ValueError(f"schur: output must be 'real' or 'complex', got {output!r}")
    if sort is not None:
        raise NotImplementedError("schur: sort= is not supported; use scipy.linalg.schur for a sorted Schur form")
    a = as_float(a, "schur", "a")
    square("schur", "a", a)
    if output[0] == "c" and a.dtype.kind != "c":
        a = a.astype(np.complex64 if a.dtype == np.float32 else np.complex128)
    return _call("schur", _core.schur, {"a": a})


# ---- factor once, solve many (SciPy's names and conventions) ----

def lu_factor(a, *, check_finite=True):
    """LU factorisation with partial pivoting, as ``scipy.linalg.lu_factor``: ``(lu, piv)``
    with L (unit diagonal) and U in ``lu`` and 0-based row interchanges in ``piv`` (row i was
    swapped with row piv[i]). Stacks allowed. A singular matrix warns LinAlgWarning naming the
    zero diagonal of U, as SciPy does, and still returns its factors."""
    a = as_float(a, "lu_factor", "a")
    lu, piv, info = _call("lu_factor", _core.lu_factor, {"a": a}, check_finite)
    if info.any():
        first = int(np.flatnonzero(info)[0])
        where = f" (matrix {tuple(int(i) for i in np.unravel_index(first, info.shape))} of the stack)" if info.ndim else ""
        warnings.warn(LinAlgWarning(f"Diagonal number {int(info.flat[first])} is exactly zero{where}. "
                                    "Singular matrix."), stacklevel=3)  # past metrics' wrapper
    return lu, _index_dtype(piv, a)


def _index_dtype(idx, a):
    """Row indices as SciPy returns them: int32, unless a dimension needs 64 bits."""
    return idx.astype(np.int32) if max(a.shape[-2:], default=0) < 2**31 else idx


def _rhs(op, a, b):
    """``b`` as a stack of right-hand-side matrices for ``a``'s factor: a 1-D b is one vector
    (SciPy's rule); batch dimensions broadcast. Returns (a, b, vector)."""
    b = as_float(b, op, "b", min_ndim=1)
    vector = b.ndim == 1
    if vector:
        b = b[:, None]
    n = a.shape[-1]
    if b.shape[-2] != n:
        raise ShapeError(op, "b", f"must have {n} rows to match the factor {a.shape}, got shape {b.shape}")
    a, b = promote(a, b)
    if a.ndim != 2 or b.ndim != 2:
        a, b = batch_broadcast(op, a, b)
    return a, b, vector


_TRANS = {0: "N", 1: "T", 2: "C", "N": "N", "T": "T", "C": "C"}


def _trans(op, trans):
    if trans not in _TRANS:
        raise ValueError(f"{op}: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return _TRANS[trans]


def lu_solve(lu_and_piv, b, trans=0, *, check_finite=True):
    """Solve ``a @ x = b`` (``trans`` 0), ``a.T @ x = b`` (1) or ``a^H @ x = b`` (2) from
    ``lu_factor``'s output, as ``scipy.linalg.lu_solve``. Pivots outside the matrix are
    refused with ShapeError (LAPACK would read and write outside it). As in SciPy,
    ``check_finite`` checks ``b``: the factors are lu_factor's, whose input was checked."""
    lu, piv = lu_and_piv
    lu = as_float(lu, "lu_solve", "lu")
    square("lu_solve", "lu", lu)
    t = _trans("lu_solve", trans)
    lu, b, vector = _rhs("lu_solve", lu, b)
    piv = np.asarray(piv)
    if piv.dtype.kind not in "iu":
        raise DTypeError("lu_solve", "piv", piv.dtype, "must hold integer pivots, as lu_factor returns them")
    n = lu.shape[-1]
    if piv.size and (piv.min() < 0 or piv.max() >= n):
        raise ShapeError("lu_solve", "piv", f"holds pivots outside 0..{n - 1}; pass lu_factor's piv unchanged")
    try:
        piv = np.broadcast_to(piv.astype(np.int64, copy=False), lu.shape[:-1])
    except ValueError:
        raise ShapeError("lu_solve", "piv", f"must have shape {lu.shape[:-1]} to match lu, got {piv.shape}") from None
    x = _call("lu_solve", _core.lu_solve, {"lu": lu, "piv": piv, "b": b}, t, check_finite)
    return x[..., 0] if vector else x


def lu(a, permute_l=False, *, p_indices=False, check_finite=True):
    """``P, L, U`` with ``a = P @ L @ U`` as ``scipy.linalg.lu`` (L unit lower trapezoidal,
    U upper trapezoidal); ``permute_l=True`` returns ``(P @ L, U)``; ``p_indices=True`` returns
    P as row indices (``a = L[p] @ U``). Stacks allowed."""
    a = as_float(a, "lu", "a")
    p, lower, upper = _call("lu", _core.lu, {"a": a}, check_finite)
    if permute_l:
        return np.take_along_axis(lower, p[..., None], axis=-2), upper
    if 0 in a.shape:  # SciPy's convention: an empty P, whatever m is
        p = p[..., :0]
    if p_indices:
        return _index_dtype(p, a), lower, upper
    perm = np.zeros(p.shape + p.shape[-1:], dtype=a.real.dtype)  # real, as SciPy's P
    np.put_along_axis(perm, p[..., None], 1, axis=-1)  # P[j, p[j]] = 1
    return perm, lower, upper


def cho_factor(a, lower=False, *, check_finite=True):
    """Cholesky factor for ``cho_solve``, as ``scipy.linalg.cho_factor``: ``(c, lower)`` with
    the factor in the triangle ``lower`` names (SciPy's default is upper) and, as in SciPy,
    a's own entries in the other. Raises NotPositiveDefiniteError naming the leading minor."""
    c = _core_first("cho_factor", _core.cholesky, a, bool(lower), check_finite, False)
    return c, bool(lower)


def cho_solve(c_and_lower, b, *, check_finite=True):
    """Solve ``a @ x = b`` from ``cho_factor``'s output, as ``scipy.linalg.cho_solve``."""
    c, lower = c_and_lower
    c = as_float(c, "cho_solve", "c")
    square("cho_solve", "c", c)
    c, b, vector = _rhs("cho_solve", c, b)
    x = _call("cho_solve", _core.cho_solve, {"c": c, "b": b}, bool(lower), check_finite)
    return x[..., 0] if vector else x


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, *, check_finite=True):
    """Solve ``op(a) @ x = b`` for triangular ``a`` as ``scipy.linalg.solve_triangular``
    (xTRTRS): only the triangle ``lower`` names is read, and with ``unit_diagonal`` not the
    diagonal either. Raises SingularMatrixError naming a zero on the diagonal."""
    a = as_float(a, "solve_triangular", "a")
    square("solve_triangular", "a", a)
    t = _trans("solve_triangular", trans)
    a, b, vector = _rhs("solve_triangular", a, b)
    x = _call("solve_triangular", _core.solve_triangular, {"a": a, "b": b}, t, bool(lower), bool(unit_diagonal),
              check_finite)
    return x[..., 0] if vector else x


def _uplo(op, UPLO):
    if UPLO not in ("L", "U", "l", "u"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO.upper() == "L"


# ---- systems ----

def solve(a, b, *, assume_a="gen", lower=False, check_finite=True):
    """Solve ``a @ x = b``. ``b`` is a vector when 1-D (NumPy 2's rule), else ``(..., N, K)``;
    batch dimensions broadcast. ``assume_a``: 'gen' (LU), 'sym' (Bunch-Kaufman for a = a.T,
    complex symmetric for complex input), 'her' (Bunch-Kaufman for a = a^H) or 'pos'
    (Cholesky, Hermitian positive definite), as SciPy spells them; for all but 'gen' only the
    triangle chosen by ``lower`` is read.

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
    return x if type(b) is np.ndarray else _wrap(b, x)  # NumPy gives x b's type


def _solve_checked(a, b, assume_a, lower, check_finite):
    a = as_float(a, "solve", "a")
    b = as_float(b, "solve", "b", min_ndim=1)
    square("solve", "a", a)
    if assume_a not in ("gen", "sym", "her", "pos"):
        raise ValueError(f"solve: assume_a must be 'gen', 'sym', 'her' or 'pos', got {assume_a!r}")
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
        x, rc, rmin = _core_first("inv", _core.inv, a, check_finite)
    except (TypeError, ValueError):
        x, rc, rmin = _core_first("inv", _core.inv, a, check_finite)
    if rmin < _EPS[x.dtype]:
        _warn_ill_conditioned("inv", rc, x.dtype)
    return x if type(a) is np.ndarray else _wrap(a, x)


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
    b0 = b  # its type is the results' (NumPy's wrap)
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
    if type(b0) is not np.ndarray:
        x, res = _wrap(b0, x), _wrap(b0, res)
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
    'fro', 1, -1, inf, -inf (``norm(a) * norm(inv(a))``). Singular matrices give inf; empty
    ones raise LinAlgError, as in NumPy."""
    a = as_float(a, "cond", "a")
    if a.size == 0 and 0 in a.shape[-2:]:
        raise LinAlgError("cond is not defined on empty arrays", operation="cond", shape=a.shape, dtype=str(a.dtype))
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
    out = np.empty(flat.shape[0], dtype=a.real.dtype)  # real, as NumPy's, for complex input too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        for i, m in enumerate(flat):
            try:
                out[i] = _np_norm(m, p) * _np_norm(inv(m, check_finite=False), p)
            except SingularMatrixError:
                out[i] = np.inf
    return _scalar(out.reshape(a.shape[:-2]))


# ---- built on the SVD, as numpy.linalg builds them ----

def pinv(a, rcond=None, hermitian=False, *, rtol=np._NoValue, check_finite=True):
    """Moore-Penrose pseudo-inverse, as ``numpy.linalg.pinv`` (stacks allowed): singular values
    up to ``rcond * s_max`` count as zero. ``rcond`` (NumPy's default 1e-15) and ``rtol`` (the
    Array API name; ``rtol=None`` means ``max(M, N) * eps``) broadcast over the stack; give at
    most one. ``hermitian=True`` computes from ``eigh``."""
    x = np.asarray(a)  # a subclass would bring its own operators
    if rcond is None:
        if rtol is np._NoValue:
            rcond = 1e-15
        elif rtol is None:
            rcond = max(x.shape[-2:]) * np.finfo(x.dtype if x.dtype.kind in "fc" else np.float64).eps
        else:
            rcond = rtol
    elif rtol is not np._NoValue:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    rcond = np.asarray(rcond)
    if x.size == 0 and x.ndim >= 2 and 0 in x.shape[-2:]:  # NumPy: empty, in the input's dtype
        m, n = x.shape[-2:]
        res = np.empty(x.shape[:-2] + (n, m), dtype=x.dtype)
    else:
        u, s, vt = svd(x.conjugate() if x.dtype.kind == "c" else x, full_matrices=False, hermitian=hermitian,
                       check_finite=check_finite)
        large = s > rcond[..., None] * np.amax(s, axis=-1, keepdims=True)
        s = np.divide(1, s, out=np.zeros_like(s), where=large)
        res = np.matmul(np.swapaxes(vt, -1, -2), s[..., None] * np.swapaxes(u, -1, -2))
    return res if type(a) is np.ndarray else _wrap(a, res)


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None, check_finite=True):
    """Rank as ``numpy.linalg.matrix_rank``: the number of singular values above ``tol``
    (default ``rtol * s_max``, ``rtol`` defaulting to ``max(M, N) * eps``); both broadcast over
    a stack, give at most one. A vector or scalar has rank 1 unless it is all zeros."""
    if rtol is not None and tol is not None:
        raise ValueError("`tol` and `rtol` can't be both set.")
    A = np.asarray(A)
    if A.ndim < 2:
        return int(not np.all(A == 0))
    S = svd(A, compute_uv=False, hermitian=hermitian, check_finite=check_finite)
    if tol is None:
        if rtol is None:
            rtol = max(A.shape[-2:]) * np.finfo(S.dtype).eps
        else:
            rtol = np.asarray(rtol)[..., None]
        tol = S.max(axis=-1, keepdims=True, initial=0) * rtol
    else:
        tol = np.asarray(tol)[..., None]
    return np.count_nonzero(S > tol, axis=-1)


# matrix norms that need singular values: (reduction, its initial value)
_SVD_NORMS = {2: (np.amax, 0), -2: (np.amin, np._NoValue), "nuc": (np.sum, 0)}


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, as ``numpy.linalg.norm`` (same ``ord``, ``axis``, ``keepdims``).
    Matrix norms from singular values (``ord`` 2, -2, 'nuc') use this package's SVD; every
    other norm is NumPy's own computation."""
    reduce = _SVD_NORMS.get(ord) if isinstance(ord, (int, float, str, np.number)) else None
    if reduce is None:
        return _np_norm(x, ord, axis, keepdims)
    x = np.asarray(x)
    axes = tuple(range(x.ndim)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    if len(axes) != 2:  # a vector norm, or NumPy's error
        return _np_norm(x, ord, axis, keepdims)
    row, col = (_normalize_axis_index(i, x.ndim) for i in axes)
    if row == col:
        raise ValueError("Duplicate axes given.")
    op, initial = reduce
    ret = op(svdvals(np.moveaxis(x, (row, col), (-2, -1))), axis=-1, initial=initial)
    if keepdims:
        shape = list(x.shape)
        shape[axes[0]] = shape[axes[1]] = 1
        ret = ret.reshape(shape)
    return ret


def _instrument_public() -> None:
    """Wrap each registry routine so its calls are recorded when metrics are on (calls between
    them, such as cond's svdvals, are recorded once, as the outer call)."""
    from .metrics import instrument
    from .registry import REGISTRY

    g = globals()
    for name, routine in REGISTRY.items():
        g[name] = instrument(g[name], name, routine.facts)


_instrument_public()
