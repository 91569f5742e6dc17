"""Low-level routines named as in LAPACK, for users who think in LAPACK.

Each ``d*`` routine works in float64, its ``s*`` twin in float32, and the complex ``z*`` and ``c*``
twins in complex128 and complex64 (where LAPACK names the complex routine otherwise, so does
this module: ``zungqr`` for ``dorgqr``, ``zheevd`` for ``dsyevd``). Any input the type can hold is
converted to it (a copy), the caller's arrays are never modified, and matrices are 2-D. Outputs
are LAPACK's own (packed factors, 1-based pivots, Householder ``tau``). Instead of returning
``info``, a routine raises: ``info > 0`` as the LinAlgError subclass of ``errors.INFO_TABLE``
(for example ``dgetrf`` on a singular matrix raises SingularMatrixError with the pivot index),
bad input as NonFiniteError / ShapeError / DTypeError.

=========  ===================================  ==========================================
routine    arguments                            returns
=========  ===================================  ==========================================
gesvd      a, jobu='A', jobvt='A'               u, s, vt  (u/vt None for job 'N')
gesdd      a, jobz='A'                          u, s, vt  (jobz 'A', 'S' or 'N')
gesv       a, b                                 lu, ipiv, x
posv       a, b, uplo='L'                       c, x
potrf      a, uplo='L', clean=True              c   (other triangle zeroed when clean)
getrf      a                                    lu, ipiv
getri      lu, ipiv                             inverse  (from getrf's outputs)
geqrf      a                                    qr, tau
orgqr      qr, tau                              q   (shape of qr, from len(tau) reflectors;
                                                     ungqr in complex types)
syevd      a, jobz='V', uplo='L'                w, v  (v None for jobz 'N'; heevd in complex types)
gelsd      a, b, rcond=-1                       x, s, rank
gecon      lu, anorm, norm='1'                  rcond
pocon      c, anorm, uplo='L'                   rcond
gemm_alpha alpha, a, b, beta=0, c=None,         alpha op(a) op(b) + beta c  (d and s only:
           trans_a=0, trans_b=0, overwrite_c=0, scipy.linalg.blas.xgemm's arguments, by a
           scheme='auto', device=None           fast 4x4 scheme; see lapack_ai.gemm_alpha)
gesvdocl   a, jobu='A', jobvt='A',              u, s, vt  (d and s only: gesvd's jobs 'A',
           device='opencl'                      'S', 'N' on an OpenCL device; DeviceError
                                                where no kernel covers the shape and jobs)
=========  ===================================  ==========================================
"""

from __future__ import annotations

import numpy as np

from . import _core
from .errors import DTypeError, ShapeError
from .errors import call as _call
from .metrics import instrument as _instrument

_ROUTINES = ("gesvd", "gesdd", "gesv", "posv", "potrf", "getrf", "getri", "geqrf", "orgqr", "syevd",
             "gelsd", "gecon", "pocon")
# The complex types' names for routines LAPACK calls otherwise there.
_COMPLEX_NAMES = {"orgqr": "ungqr", "syevd": "heevd"}
__all__ = [p + (_COMPLEX_NAMES.get(r, r) if p in "cz" else r) for r in _ROUTINES for p in "sdcz"]


def _mat(x, name, dtype, op, ndim=2):
    a = np.asarray(x)
    if a.dtype.kind not in ("biufc" if np.dtype(dtype).kind == "c" else "biuf"):
        raise DTypeError(op, name, a.dtype, f"expected a real array for {op} (its complex twin takes complex input)"
                         if np.dtype(dtype).kind != "c" else "expected a numeric array")
    a = a.astype(dtype, copy=False)
    if not a.flags.aligned:  # the core reads aligned data (a field of a packed structured array is not)
        a = np.array(a, copy=True)
    if a.ndim != ndim:
        raise ShapeError(op, name, f"must be {ndim}-D, got shape {a.shape}")
    return a


def _square(op, a):
    if a.shape[0] != a.shape[1]:
        raise ShapeError(op, "a", f"must be square, got shape {a.shape}")


def _make(prefix: str, dtype):
    names = {r: (_COMPLEX_NAMES.get(r, r) if prefix in "cz" else r) for r in _ROUTINES}

    def gesvd(a, jobu="A", jobvt="A", *, check_finite=True):
        op = prefix + "gesvd"
        a = _mat(a, "a", dtype, op)
        u, s, vt, *_ = _call(op, _core.svd, {"a": a}, jobu, jobvt, "gesvd", check_finite, "cpu")  # LAPACK's, by name
        return u, s, vt

    def gesdd(a, jobz="A", *, check_finite=True):
        op = prefix + "gesdd"
        a = _mat(a, "a", dtype, op)
        u, s, vt, *_ = _call(op, _core.svd, {"a": a}, jobz, jobz, "gesdd", check_finite, "cpu")
        return u, s, vt

    def gesv(a, b, *, check_finite=True):
        op = prefix + "gesv"
        a, b = _mat(a, "a", dtype, op), _mat(b, "b", dtype, op)
        _square(op, a)
        if b.shape[0] != a.shape[0]:
            raise ShapeError(op, "b", f"must have {a.shape[0]} rows, got shape {b.shape}")
        return _call(op, _core.gesv, {"a": a, "b": b}, check_finite)

    def posv(a, b, uplo="L", *, check_finite=True):
        op = prefix + "posv"
        a, b = _mat(a, "a", dtype, op), _mat(b, "b", dtype, op)
        _square(op, a)
        if b.shape[0] != a.shape[0]:
            raise ShapeError(op, "b", f"must have {a.shape[0]} rows, got shape {b.shape}")
        return _call(op, _core.posv, {"a": a, "b": b}, uplo, check_finite)

    def potrf(a, uplo="L", clean=True, *, check_finite=True):
        op = prefix + "potrf"
        a = _mat(a, "a", dtype, op)
        _square(op, a)
        return _call(op, _core.potrf, {"a": a}, uplo, bool(clean), check_finite)

    def getrf(a, *, check_finite=True):
        op = prefix + "getrf"
        return _call(op, _core.getrf, {"a": _mat(a, "a", dtype, op)}, check_finite)

    def getri(lu, ipiv):
        op = prefix + "getri"
        lu = _mat(lu, "lu", dtype, op)
        ipiv = np.asarray(ipiv)
        if ipiv.dtype.kind not in "iu" or ipiv.ndim != 1:
            raise ShapeError(op, "ipiv", f"must be a 1-D integer array of 1-based pivots, got {ipiv.dtype} {ipiv.shape}")
        return _call(op, _core.getri, {"lu": lu, "ipiv": ipiv.astype(np.int64)})

    def geqrf(a, *, check_finite=True):
        op = prefix + "geqrf"
        return _call(op, _core.geqrf, {"a": _mat(a, "a", dtype, op)}, check_finite)

    def orgqr(qr, tau):
        op = prefix + names["orgqr"]
        qr, tau = _mat(qr, "qr", dtype, op), _mat(tau, "tau", dtype, op, ndim=1)
        return _call(op, _core.orgqr, {"qr": qr, "tau": tau})

    def syevd(a, jobz="V", uplo="L", *, check_finite=True):
        op = prefix + names["syevd"]
        a = _mat(a, "a", dtype, op)
        _square(op, a)
        if jobz not in ("V", "N") or uplo not in ("L", "U"):
            raise ValueError(f"{op}: jobz must be 'V' or 'N' and uplo 'L' or 'U', got {jobz!r}, {uplo!r}")
        return _call(op, _core.eigh, {"a": a}, uplo == "L", jobz == "V", check_finite, "cpu")[:2]

    def gelsd(a, b, rcond=-1.0, *, check_finite=True):
        op = prefix + "gelsd"
        a, b = _mat(a, "a", dtype, op), _mat(b, "b", dtype, op)
        if b.shape[0] != a.shape[0]:
            raise ShapeError(op, "b", f"must have {a.shape[0]} rows, got shape {b.shape}")
        x, _, rank, s = _call(op, _core.lstsq, {"a": a, "b": b}, float(rcond), check_finite)
        return x, s, rank

    def gecon(lu, anorm, norm="1"):
        op = prefix + "gecon"
        lu = _mat(lu, "lu", dtype, op)
        _square(op, lu)
        return _call(op, _core.gecon, {"lu": lu}, float(anorm), norm)

    def pocon(c, anorm, uplo="L"):
        op = prefix + "pocon"
        c = _mat(c, "c", dtype, op)
        _square(op, c)
        return _call(op, _core.pocon, {"c": c}, float(anorm), uplo)

    made = dict(gesvd=gesvd, gesdd=gesdd, gesv=gesv, posv=posv, potrf=potrf, getrf=getrf, getri=getri,
                geqrf=geqrf, orgqr=orgqr, syevd=syevd, gelsd=gelsd, gecon=gecon, pocon=pocon)
    out = {}
    for name, f in made.items():
        f.__name__ = f.__qualname__ = prefix + names[name]
        f.__doc__ = (f"LAPACK {prefix.upper()}{names[name].upper()} in {np.dtype(dtype).name}. "
                     "See the module docstring for arguments, returns and errors.")
        out[prefix + names[name]] = f
    return out




def _gemm_alpha(prefix: str, dtype):
    def gemm_alpha(alpha, a, b, beta=0.0, c=None, trans_a=False, trans_b=False, overwrite_c=False, *, scheme="auto",
                   device=None):
        op = prefix + "gemm_alpha"
        a, b = _mat(a, "a", dtype, op), _mat(b, "b", dtype, op)
        if c is not None:
            c = _mat(c, "c", dtype, op)
            if not overwrite_c:
                c = c.copy()
        from .linalg import gemm_alpha as _high

        return _high(a, b, c, alpha=alpha, beta=beta if c is not None else 0.0, trans_a=bool(trans_a),
                     trans_b=bool(trans_b), scheme=scheme, device=device)

    gemm_alpha.__name__ = gemm_alpha.__qualname__ = prefix + "gemm_alpha"
    gemm_alpha.__doc__ = (f"{prefix.upper()}GEMM_ALPHA in {np.dtype(dtype).name}: ``alpha op(a) op(b) + beta c`` with "
                          f"scipy.linalg.blas.{prefix}gemm's arguments, by one level of a fast 4x4 scheme (a variant of "
                          f"{prefix.upper()}GEMM selected by ``scheme``; see lapack_ai.gemm_alpha). ``c`` is copied unless "
                          "``overwrite_c`` and it already has the right dtype and alignment.")
    return {prefix + "gemm_alpha": gemm_alpha}


def _gesvdocl(prefix: str, dtype):
    def gesvdocl(a, jobu="A", jobvt="A", *, check_finite=True, device="opencl"):
        op = prefix + "gesvdocl"
        a = _mat(a, "a", dtype, op)
        if jobu not in ("A", "S", "N") or jobvt not in ("A", "S", "N"):
            raise ValueError(f"{op}: jobu and jobvt must be 'A', 'S' or 'N' (gesvd's 'O' overwrites a, which is never "
                             f"modified here), got {jobu!r}, {jobvt!r}")
        if device != "opencl" and not str(device).startswith("opencl:"):
            raise ValueError(f"{op}: device must be 'opencl' or 'opencl:<index or name>', got {device!r}; "
                             f"{prefix}gesvd is LAPACK's on the CPU")
        u, s, vt, *_ = _call(op, _core.svd, {"a": a}, jobu, jobvt, "gesvd", check_finite, device)
        return u, s, vt

    gesvdocl.__name__ = gesvdocl.__qualname__ = prefix + "gesvdocl"
    gesvdocl.__doc__ = (f"{prefix.upper()}GESVDOCL in {np.dtype(dtype).name}: {prefix}gesvd's jobs ('A', 'S', 'N' for U "
                        "and V^T) on an OpenCL device: stacks up to 64x64 by one-sided Jacobi, tall-skinny matrices (one "
                        "side at most 512 and at most a quarter of the other; jobs 'S' or 'N') by CholeskyQR. Raises "
                        "DeviceError where no kernel covers the shape and jobs, or no device can run it; a device "
                        "failure falls back to the CPU with DeviceFallbackWarning, as lapack_ai.svd does.")
    return {prefix + "gesvdocl": gesvdocl}


for _name, _f in {**_make("d", np.float64), **_make("s", np.float32), **_make("z", np.complex128),
                  **_make("c", np.complex64), **_gemm_alpha("d", np.float64), **_gemm_alpha("s", np.float32),
                  **_gesvdocl("d", np.float64), **_gesvdocl("s", np.float32)}.items():
    globals()[_name] = _instrument(_f, _name)
del _name, _f
__all__ += ["dgemm_alpha", "sgemm_alpha", "dgesvdocl", "sgesvdocl"]
