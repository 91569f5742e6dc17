"""``scipy.linalg``'s signatures over lapack_ai's routines, for code written against SciPy.

Each function takes SciPy's exact signature and returns what SciPy returns (``qr`` tuples and
modes, ``lstsq``'s residues, ``cholesky``'s upper factor by default, ...); the top-level
``lapack_ai`` routine does the work, so errors and metrics are the package's own. SciPy itself
is not needed. Differences:

- ``overwrite_a``/``overwrite_b`` are accepted and ignored: lapack_ai never modifies its
  inputs (it copies each matrix once, into the buffer LAPACK works in). ``lwork`` is ignored
  (workspace is sized by lapack_ai).
- An option lapack_ai cannot honour raises NotImplementedError naming the keyword (for example
  ``qr(pivoting=True)``, ``eigh(driver='evr')``, ``lstsq(lapack_driver='gelsy')``); under
  ``lapack_ai.patch()`` SciPy's own function then runs.
- ``eigh``'s ``subset_by_index``/``subset_by_value`` are taken from the full spectrum (syevd),
  not computed alone as SciPy's ``evr`` does.
- Warnings are lapack_ai's ``IllConditionedWarning``, not SciPy's ``LinAlgWarning``.

Only the scipy.linalg functions lapack_ai implements are defined here (``__all__``).
"""

from __future__ import annotations

import sys

import numpy as np
from numpy.linalg import norm as _np_norm  # NumPy's own, even while lapack_ai.patch() is on

import lapack_ai as _la
from . import linalg as _linalg
from .errors import IllConditionedWarning

__all__ = ["svd", "svdvals", "cholesky", "qr", "eigh", "eigvalsh", "solve", "inv", "det", "lstsq", "norm", "pinv",
           "eig", "eigvals", "lu", "lu_factor", "lu_solve", "cho_factor", "cho_solve", "solve_triangular", "schur"]



def scipy_warnings() -> None:
    """Where SciPy is loaded (never imported for this), ill-conditioning warnings become SciPy's
    LinAlgWarning too, which code written for scipy.linalg filters and catches."""
    sl = sys.modules.get("scipy.linalg")
    base = getattr(sl, "LinAlgWarning", None)
    if base is not None and not issubclass(_linalg._ILL, base):
        _linalg._ILL = type("IllConditionedWarning", (IllConditionedWarning, base), {"__module__": "lapack_ai.errors"})


scipy_warnings()

def _unsupported(op: str, keyword: str, value) -> NotImplementedError:
    return NotImplementedError(f"scipy.linalg.{op}: {keyword}={value!r} is not implemented by lapack_ai; "
                               f"call scipy.linalg.{op} for it")


# ---- decompositions ----

def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True, lapack_driver="gesdd"):
    """As ``scipy.linalg.svd``: ``(U, s, Vh)``, or ``s`` when ``compute_uv=False``;
    ``lapack_driver`` 'gesdd' or 'gesvd'."""
    return _la.svd(a, full_matrices, compute_uv, driver=lapack_driver, check_finite=check_finite)


def svdvals(a, overwrite_a=False, check_finite=True):
    """As ``scipy.linalg.svdvals``: singular values, descending."""
    return _la.svdvals(a, check_finite=check_finite)


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """As ``scipy.linalg.cholesky``: the upper factor ``U`` (``a = U^T @ U``) by default, read
    from a's upper triangle; ``lower=True`` gives ``L``."""
    return _la.cholesky(a, bool(lower), check_finite=check_finite)


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """As ``scipy.linalg.qr``: ``(Q, R)`` for mode 'full' (Q is M x M) or 'economic' (M x K),
    ``(R,)`` for 'r' (R is M x N, as in 'full'), ``((qr, tau), R)`` for 'raw' (LAPACK geqrf's
    packed factor, M x N, Fortran-ordered). ``pivoting=True`` is not implemented."""
    if pivoting:
        raise _unsupported("qr", "pivoting", pivoting)
    if mode == "full":
        return tuple(_la.qr(a, "complete", check_finite=check_finite))
    if mode == "economic":
        return tuple(_la.qr(a, "reduced", check_finite=check_finite))
    if mode == "r":
        r = _la.qr(a, "r", check_finite=check_finite)
        m = np.shape(a)[-2]
        if r.shape[-2] < m:  # SciPy's R is M x N, as in 'full'; NumPy's is K x N
            r = np.concatenate((r, np.zeros(r.shape[:-2] + (m - r.shape[-2], r.shape[-1]), r.dtype)), axis=-2)
        return (r,)
    if mode == "raw":
        h, tau = _la.qr(a, "raw", check_finite=check_finite)
        packed = np.swapaxes(h, -1, -2)  # NumPy's raw h is geqrf's factor transposed
        n = packed.shape[-1]
        return (packed, tau), np.triu(packed if packed.shape[-2] < n else packed[..., :n, :])
    raise ValueError("Mode argument should be one of ['full', 'r', 'economic', 'raw']")


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, type=1,
         check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """As ``scipy.linalg.eigh``: ``(w, v)`` or ``w`` (``eigvals_only``), eigenvalues ascending,
    reading the triangle ``lower`` names. Subsets are cut from the full spectrum (syevd, exact
    and cheap next to the decomposition); ``driver`` None/'evd' ('gvd' with ``b``), and ``b``
    only where ``lapack_ai.eigh`` takes it."""
    if subset_by_index is not None and subset_by_value is not None:
        raise ValueError("Either index or value subset can be requested.")
    if driver is not None:  # SciPy's checks first, so a wrong combination is still a ValueError
        if b is not None and driver in ("ev", "evd", "evr", "evx"):
            raise ValueError(f'"{driver}" does not accept input b array for standard eigenvalue problems.')
        if b is None and driver in ("gv", "gvd", "gvx"):
            raise ValueError(f"{driver} requires input b array to be supplied for generalized eigenvalue problems.")
        if driver in ("ev", "evd", "gv", "gvd") and (subset_by_index is not None or subset_by_value is not None):
            raise ValueError(f'"{driver}" cannot compute subsets of eigenvalues')
        if driver not in ("evd", "gvd"):
            raise _unsupported("eigh", "driver", driver)
    uplo = "L" if lower else "U"
    if type != 1:  # a x = w b x only; SciPy's types 2 (a b x) and 3 (b a x) are not bound
        raise _unsupported("eigh", "type", type)
    if b is not None and eigvals_only and subset_by_index is None and subset_by_value is None:
        return _la.eigvalsh(a, uplo, b=b, check_finite=check_finite)
    if b is not None:
        w, v = _la.eigh(a, uplo, b=b, check_finite=check_finite)
    elif eigvals_only and subset_by_index is None and subset_by_value is None:
        return _la.eigvalsh(a, uplo, check_finite=check_finite)
    else:
        w, v = _la.eigh(a, uplo, check_finite=check_finite)
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        if not 0 <= lo <= hi < w.shape[-1]:
            raise ValueError("Requested eigenvalue indices are not valid. Valid range is "
                             f"[0, {w.shape[-1] - 1}] and start <= end, but start={lo}, end={hi} is given")
        w, v = w[..., lo:hi + 1], v[..., lo:hi + 1]
    elif subset_by_value is not None:
        lo, hi = subset_by_value
        if not -np.inf <= lo < hi <= np.inf:
            raise ValueError("Requested eigenvalue bounds are not valid. Valid range is (-inf, inf) and "
                             f"low < high, but low={lo}, high={hi} is given")
        if w.ndim > 1:  # each matrix would keep a different number
            raise _unsupported("eigh", "subset_by_value", subset_by_value)
        keep = (w > lo) & (w <= hi)  # LAPACK's half-open interval (vl, vu]
        w, v = w[keep], v[:, keep]
    return w if eigvals_only else (w, v)


def eigvalsh(a, b=None, *, lower=True, overwrite_a=False, overwrite_b=False, type=1, check_finite=True,
             subset_by_index=None, subset_by_value=None, driver=None):
    """As ``scipy.linalg.eigvalsh``: ``eigh(..., eigvals_only=True)``."""
    return eigh(a, b, lower=lower, eigvals_only=True, type=type, check_finite=check_finite,
                subset_by_index=subset_by_index, subset_by_value=subset_by_value, driver=driver)


# ---- systems ----

# SciPy's assume_a spellings lapack_ai solves
_ASSUME = {None: "gen", "gen": "gen", "general": "gen", "sym": "sym", "symmetric": "sym", "her": "her",
           "hermitian": "her", "pos": "pos", "positive definite": "pos"}
_OTHER_STRUCTURES = ("diagonal", "tridiagonal", "banded", "upper triangular", "lower triangular")


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, assume_a=None,
          transposed=False):
    """As ``scipy.linalg.solve``: ``x`` with ``a @ x = b`` (``a.T @ x = b`` when ``transposed``).
    ``assume_a``: None or 'gen' (LU; SciPy's structure detection is skipped), 'sym' (a = a.T)
    and 'her' (a = a^H), both Bunch-Kaufman, 'pos' (Cholesky), the last three reading the
    triangle ``lower`` names."""
    kind = _ASSUME.get(assume_a) if isinstance(assume_a, (str, type(None))) else None
    if kind is None:
        if assume_a in _OTHER_STRUCTURES:
            raise _unsupported("solve", "assume_a", assume_a)
        raise ValueError(f"{assume_a} is not a recognized matrix structure")
    if transposed and np.iscomplexobj(a):  # as SciPy, which cannot either
        raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b or a^H x = b for complex matrices")
    if transposed and kind == "gen":  # a symmetric matrix is its transpose: only 'gen' changes
        a = np.swapaxes(np.asarray(a), -1, -2)
    return _la.solve(a, b, assume_a=kind, lower=bool(lower), check_finite=check_finite)


def inv(a, overwrite_a=False, check_finite=True, *, assume_a=None, lower=False):
    """As ``scipy.linalg.inv`` for general matrices (``assume_a`` None or 'gen')."""
    if assume_a not in (None, "gen", "general"):
        raise _unsupported("inv", "assume_a", assume_a)
    return _la.inv(a, check_finite=check_finite)


def det(a, overwrite_a=False, check_finite=True):
    """As ``scipy.linalg.det``: single precision is computed in double, as SciPy does."""
    a = np.asarray(a)
    if a.dtype in (np.float32, np.complex64):
        a = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    return _la.det(a, check_finite=check_finite)


def lstsq(a, b, cond=None, overwrite_a=False, overwrite_b=False, check_finite=True, lapack_driver=None):
    """As ``scipy.linalg.lstsq`` (driver gelsd): ``(x, residues, rank, s)``. Singular values up
    to ``cond * s_max`` count as zero, ``cond`` defaulting to machine epsilon (NumPy's default is
    ``eps * max(M, N)``). ``residues`` is a scalar for a 1-D ``b``, and empty unless M > N and
    ``a`` has full rank."""
    if lapack_driver not in (None, "gelsd"):
        if lapack_driver in ("gelsy", "gelss"):
            raise _unsupported("lstsq", "lapack_driver", lapack_driver)
        raise ValueError(f'LAPACK driver "{lapack_driver}" is not found')
    a, b = np.asarray(a), np.asarray(b)
    if cond is None:
        same = a.dtype == b.dtype and a.dtype.kind in "fc"  # else lapack_ai computes in float64
        cond = np.finfo(a.dtype if same else np.float64).eps
    x, residues, rank, s = _la.lstsq(a, b, cond, check_finite=check_finite)
    if b.ndim == 1 and residues.shape == (1,):
        residues = residues[0]
    elif a.ndim == 2 and a.shape[1] == 0:  # SciPy: b's squared norms for no unknowns, even with M = 0
        residues = _np_norm(b, axis=0) ** 2
    return x, residues, rank, s


# ---- the rest of scipy.linalg that lapack_ai implements ----


def norm(a, ord=None, axis=None, keepdims=False, check_finite=True):
    """As ``scipy.linalg.norm``."""
    if check_finite:  # lapack_ai.norm, like NumPy's, passes NaN through; SciPy refuses it
        a = np.asarray_chkfinite(a)
    a = np.asarray(a)
    if ord in (None, 2) and axis is None and a.ndim == 1 and a.size and a.dtype.kind in "fc":
        # SciPy's 2-norm of a vector is BLAS nrm2's, which scales: no overflow for 1e20 in float32
        scale = np.abs(a).max()
        if scale > 0 and np.isfinite(scale):
            r = scale * _np_norm(a / scale)
            return np.reshape(r, (1,)) if keepdims else r
    return _la.norm(a, ord, axis, keepdims)


def pinv(a, *, atol=None, rtol=None, return_rank=False, check_finite=True):
    """As ``scipy.linalg.pinv`` with ``atol`` 0: singular values up to ``rtol * s_max``
    (``rtol`` defaulting to ``max(M, N) * eps``) count as zero."""
    if atol:
        raise _unsupported("pinv", "atol", atol)
    if return_rank:
        raise _unsupported("pinv", "return_rank", return_rank)
    return _la.pinv(a, rtol=rtol, check_finite=check_finite)


def _complex_eigvals(w, homogeneous):
    """SciPy's eigenvalues: always complex, as ``(2, N)`` ``(alpha, beta)`` when homogeneous."""
    w = w.astype(np.result_type(w.dtype, np.complex64), copy=False)
    return np.stack((w, np.ones_like(w)), axis=-2) if homogeneous else w


def eig(a, b=None, left=False, right=True, overwrite_a=False, overwrite_b=False, check_finite=True,
        homogeneous_eigvals=False):
    """As ``scipy.linalg.eig`` for the standard problem: ``(w, vr)``, or ``w`` with
    ``right=False``; ``w`` is always complex (NumPy's is real when it can be)."""
    if b is not None:
        raise _unsupported("eig", "b", "<array>")
    if left:
        raise _unsupported("eig", "left", left)
    if not right:
        return _complex_eigvals(_la.eigvals(a, check_finite=check_finite), homogeneous_eigvals)
    w, v = _la.eig(a, check_finite=check_finite)
    return _complex_eigvals(w, homogeneous_eigvals), v

def eigvals(a, b=None, overwrite_a=False, check_finite=True, homogeneous_eigvals=False):
    """As ``scipy.linalg.eigvals`` for the standard problem: complex eigenvalues."""
    if b is not None:
        raise _unsupported("eigvals", "b", "<array>")
    return _complex_eigvals(_la.eigvals(a, check_finite=check_finite), homogeneous_eigvals)

def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """As ``scipy.linalg.lu``: ``(p, l, u)``, ``(pl, u)`` with ``permute_l``."""
    return _la.lu(a, permute_l=permute_l, check_finite=check_finite, p_indices=p_indices)

def lu_factor(a, overwrite_a=False, check_finite=True):
    """As ``scipy.linalg.lu_factor``: ``(lu, piv)``, piv 0-based."""
    return _la.lu_factor(a, check_finite=check_finite)

def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """As ``scipy.linalg.lu_solve``."""
    return _la.lu_solve(lu_and_piv, b, trans=trans, check_finite=check_finite)

def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """As ``scipy.linalg.cho_factor``: ``(c, lower)``, upper factor by default."""
    return _la.cho_factor(a, lower=lower, check_finite=check_finite)

def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """As ``scipy.linalg.cho_solve``."""
    return _la.cho_solve(c_and_lower, b, check_finite=check_finite)

def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    """As ``scipy.linalg.solve_triangular``."""
    return _la.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal,
                                check_finite=check_finite)

def schur(a, output="real", lwork=None, overwrite_a=False, sort=None, check_finite=True):
    """As ``scipy.linalg.schur``: ``(T, Z)`` (and ``sdim`` with ``sort``)."""
    return _la.schur(a, output=output, sort=sort, check_finite=check_finite)
