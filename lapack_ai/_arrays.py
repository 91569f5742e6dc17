"""Input validation and conversion, shared by every public routine.

Everything here runs before the core is called, so bad input never reaches LAPACK and each
error names the argument. Kept lean: it is on the path of every 4x4 call.
"""

from __future__ import annotations

import numpy as np

from .errors import DTypeError, ShapeError

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_C64, _C128 = np.dtype(np.complex64), np.dtype(np.complex128)
_LAPACK = (_F64, _F32, _C128, _C64)


def as_float(x, op: str, arg: str, min_ndim: int = 2) -> np.ndarray:
    """``x`` as an ndarray of one of LAPACK's four types (float32, float64, complex64,
    complex128) of at least ``min_ndim`` dimensions (no copy when it already is one). Integers
    and bools become float64, as in NumPy."""
    a = x if type(x) is np.ndarray else np.asarray(x)
    dt = a.dtype
    if dt is not _F64 and dt is not _F32 and dt not in _LAPACK:
        a = _convert(a, op, arg)
    elif not a.flags.aligned:  # e.g. a field of a packed structured array: the core reads aligned data
        a = np.array(a, copy=True)
    if a.ndim < min_ndim:
        raise ShapeError(op, arg, f"must have at least {min_ndim} dimensions (..., M, N), got shape {a.shape}")
    return a


def _convert(a: np.ndarray, op: str, arg: str) -> np.ndarray:
    kind = a.dtype.kind
    if kind in "biu":
        return a.astype(np.float64)
    if kind in "fc" and a.dtype.newbyteorder("=") in _LAPACK:  # non-native byte order
        return a.astype(a.dtype.newbyteorder("="))
    if kind == "f":
        target = "float32" if a.dtype.itemsize < 4 else "float64"
        raise DTypeError(op, arg, a.dtype,
                         f"LAPACK works in float32, float64, complex64 and complex128; convert with "
                         f"{arg}.astype(np.{target})")
    if kind == "c":
        raise DTypeError(op, arg, a.dtype,
                         f"LAPACK works in complex64 and complex128 at most; convert with {arg}.astype(np.complex128)")
    raise DTypeError(op, arg, a.dtype, "expected a numeric array (float32, float64, complex64, complex128, int or bool)")


def common_dtype(*dtypes: np.dtype) -> np.dtype:
    """NumPy linalg's common type of already converted arrays: float64 unless every real part
    is float32, complex when any is."""
    double = any(d == _F64 or d == _C128 for d in dtypes)
    if any(d.kind == "c" for d in dtypes):
        return _C128 if double else _C64
    return _F64 if double else _F32


def promote(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays in their common LAPACK type (``common_dtype``)."""
    if a.dtype == b.dtype:
        return a, b
    t = common_dtype(a.dtype, b.dtype)
    return a.astype(t, copy=False), b.astype(t, copy=False)


def square(op: str, arg: str, a: np.ndarray) -> None:
    if a.shape[-1] != a.shape[-2]:
        raise ShapeError(op, arg, f"must be square in its last two dimensions, got shape {a.shape}")


def broadcast_shapes(x: tuple, y: tuple) -> tuple:
    """NumPy's broadcasting of two shapes (``np.broadcast_shapes`` stops at 32 dimensions,
    arrays go to 64); ValueError when they do not broadcast."""
    n = max(len(x), len(y))
    x, y = (1,) * (n - len(x)) + tuple(x), (1,) * (n - len(y)) + tuple(y)
    if any(p != q and p != 1 and q != 1 for p, q in zip(x, y)):
        raise ValueError(f"shapes {x} and {y} do not broadcast")
    return tuple(q if p == 1 else p for p, q in zip(x, y))


def batch_broadcast(op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast the leading (batch) dimensions of two stacks of matrices, as NumPy's gufuncs
    do, without copying (read-only views)."""
    ba, bb = a.shape[:-2], b.shape[:-2]
    if ba == bb:
        return a, b
    try:
        batch = broadcast_shapes(ba, bb)
    except ValueError:
        raise ShapeError(op, "b", f"has batch dimensions {bb} that do not broadcast with a's {ba}") from None
    return np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])
