"""The error model: exception classes, the table of LAPACK ``info`` meanings, and the one
function that turns the core's facts into a report.

``info > 0`` becomes a :class:`LinAlgError` subclass (which is a ``numpy.linalg.LinAlgError``);
``info < 0`` (LAPACK rejected an argument, a bug on our side) becomes
:class:`LapackArgumentError`; bad input is refused before LAPACK with :class:`NonFiniteError`,
:class:`ShapeError` or :class:`DTypeError`. Every error has ``to_dict()`` and ``_repr_html_()``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import _core  # loaded (with its BLAS) by lapack_ai/__init__.py before this module

__all__ = [
    "LinAlgError", "SingularMatrixError", "NotPositiveDefiniteError", "ConvergenceError",
    "InternalError", "OutOfMemoryError", "LapackArgumentError", "InputError", "NonFiniteError", "ShapeError", "DTypeError",
    "LinAlgWarning", "IllConditionedWarning", "INFO_TABLE", "InfoEntry", "ConfigError",
]


def ordinal(i: int) -> str:
    suffix = "th" if 10 <= i % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th")
    return f"{i}{suffix}"


class _Report:
    """Shared behaviour of every lapack_ai error: fields, dict, HTML."""

    _fields: tuple[str, ...] = ()
    title = "lapack_ai error"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"error": type(self).__name__, "message": str(self)}
        for f in self._fields:
            v = getattr(self, f, None)
            if isinstance(v, tuple):
                v = list(v)
            if isinstance(v, np.generic):
                v = v.item()
            d[f] = v
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
            f"<td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.to_dict().items()
            if k not in ("error", "message", "recommendations") and v is not None
        )
        recs = "".join(f"<li>{html.escape(r)}</li>" for r in getattr(self, "recommendations", ()))
        return (
            "<div class='lapack-ai-error' style='border-left:4px solid #c0392b;padding:.5em 1em'>"
            f"<b>{html.escape(type(self).__name__)}</b><p>{html.escape(str(self))}</p>"
            f"<table>{rows}</table>"
            + (f"<p><b>What to do</b></p><ul>{recs}</ul>" if recs else "")
            + "</div>"
        )


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


class LinAlgError(_Report, np.linalg.LinAlgError):
    """A LAPACK routine could not complete on (one matrix of) the input.

    Fields: ``operation`` (public function), ``routine`` (LAPACK routine actually called, e.g.
    ``dgetrf``), ``info``, ``meaning``, ``index`` (1-based pivot, minor or count, as LAPACK
    reports it) and ``index_kind``, ``batch`` (index of the failing matrix in a stack, or None),
    ``shape``, ``dtype``, ``backend``, ``rcond`` (estimate, where cheap) and ``recommendations``.
    """

    _fields = ("operation", "routine", "info", "meaning", "index", "index_kind", "batch",
               "shape", "dtype", "backend", "rcond", "recommendations")

    def __init__(self, meaning: str = "", *, operation: str | None = None,
                 routine: str | None = None, info: int | None = None, index: int | None = None,
                 index_kind: str | None = None, batch: tuple[int, ...] | None = None,
                 shape: tuple[int, ...] | None = None, dtype: str | None = None,
                 backend: str = "cpu", rcond: float | None = None,
                 recommendations: tuple[str, ...] = ()):
        self.meaning, self.operation, self.routine, self.info = meaning, operation, routine, info
        self.index, self.index_kind, self.batch = index, index_kind, batch
        self.shape, self.dtype, self.backend = shape, dtype, backend
        self.rcond, self.recommendations = rcond, tuple(recommendations)
        super().__init__(self._paragraph())

    def _paragraph(self) -> str:
        where = []
        if self.batch is not None:
            where.append(f"matrix {self.batch} of a stack of shape {self.shape}")
        elif self.shape is not None:
            where.append(f"shape {self.shape}")
        if self.dtype:
            where.append(self.dtype)
        # Our own kernels (INFO_TABLE's "_batched" entries) are not LAPACK's routines.
        source = "kernel" if (self.routine or "").endswith("_batched") else "LAPACK"
        where.append(f"{self.backend}, {source} {self.routine} info={self.info}" if self.routine else self.backend)
        s = f"{self.operation or self.routine} failed: {self.meaning} ({', '.join(where)})."
        if self.rcond is not None:
            s += f" rcond \u2248 {self.rcond:.2g}."
        if self.recommendations:
            s += " " + " ".join(self.recommendations)
        return s

    def __str__(self) -> str:
        return self._paragraph()

    def __reduce__(self):
        kw = {f: getattr(self, f) for f in self._fields if f != "meaning"}
        return (_rebuild, (type(self), self.meaning, kw))


def _rebuild(cls, meaning, kw):
    return cls(meaning, **kw)


class SingularMatrixError(LinAlgError):
    """The matrix is exactly singular (a zero pivot in LU or in a symmetric factorisation)."""


class NotPositiveDefiniteError(LinAlgError):
    """A leading minor is not positive: Cholesky cannot proceed."""


class ConvergenceError(LinAlgError):
    """An iterative LAPACK algorithm (SVD, eigensolver) did not converge."""


class InternalError(LinAlgError):
    """lapack_ai broke one of its own invariants (a bug, never the input's fault). Nothing was
    returned; the message names the routine. Please report it."""

    def __init__(self, meaning: str = "", **kw):
        kw.setdefault("recommendations", (
            "This is a bug in lapack_ai, not in your data: please report it with this message "
            "(lapack_ai.blas_config() and the input's shape and dtype help).",))
        super().__init__(meaning, **kw)

    def _paragraph(self) -> str:
        return f"{self.operation}: {self.meaning}. " + " ".join(self.recommendations)


class OutOfMemoryError(_Report, MemoryError):
    """The call needs more memory than this process can get (the cgroup limit, else the
    machine's available memory). Raised before any work starts; nothing was modified."""

    _fields = ("operation", "routine", "bytes", "available", "recommendations")

    def __init__(self, *, operation: str, routine: str, bytes: int | None, available: int | None):
        self.operation, self.routine, self.bytes, self.available = operation, routine, bytes, available
        self.recommendations = [
            "work on smaller blocks (slice the stack, or use a smaller dtype such as float32)",
            "free memory held by other arrays, or raise the container's memory limit",
        ]
        need = "more than 2^64 bytes" if bytes is None else _bytes(bytes)
        have = "unknown" if available is None else _bytes(available)
        super().__init__(f"{operation}: needs {need} of memory ({routine}); available: {have}. "
                         + "; ".join(self.recommendations) + ".")


def _bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class LapackArgumentError(_Report, ValueError):
    """LAPACK rejected an argument (``info < 0``). Input is validated first, so this is a bug
    in lapack_ai; the message names the argument so it can be reported."""

    _fields = ("operation", "routine", "info", "argument", "shape", "dtype")

    def __init__(self, *, operation, routine, info, argument, shape, dtype):
        self.operation, self.routine, self.info = operation, routine, info
        self.argument, self.shape, self.dtype = argument, shape, dtype
        super().__init__(
            f"{operation}: LAPACK {routine} rejected its argument {-info} ({argument}) for "
            f"input of shape {shape}, {dtype}. This is a bug in lapack_ai, not in your data: "
            "please report it with this message."
        )


class InputError(_Report):
    """Base of errors about the caller's input, raised before any LAPACK call."""

    _fields = ("operation", "argument", "problem")


# Operations that refuse NaN and Inf whatever check_finite says (xGEEV, xGEES).
_ALWAYS_FINITE = ("eig", "eigvals", "schur")


class NonFiniteError(InputError, ValueError):
    """An argument contains NaN or Inf (disable with ``check_finite=False`` at your own risk)."""

    _fields = InputError._fields + ("nan_count", "inf_count", "first_index", "batch")

    def __init__(self, *, operation: str, argument: str, nan_count: int, inf_count: int,
                 first_index: tuple[int, ...] | None, batch: tuple[int, ...] | None = None,
                 always: bool = False):
        self.operation, self.argument = operation, argument
        self.nan_count, self.inf_count = nan_count, inf_count
        self.first_index, self.batch = first_index, batch
        parts = [f"{nan_count} NaN" if nan_count else "", f"{inf_count} Inf" if inf_count else ""]
        self.problem = " and ".join(p for p in parts if p) or "non-finite values"
        advice = (("Clean the data (np.nan_to_num, or drop the rows). NaN and Inf are refused even with "
                   "check_finite=False here: the eigenvalue iteration has no answer for them, as in NumPy."
                   if operation in _ALWAYS_FINITE else
                   "Clean the data (np.nan_to_num, or drop the rows). Inf is refused even with "
                   "check_finite=False here: OpenBLAS's SVD can loop forever on it.")
                  if always else
                  "Clean the data (np.nan_to_num, or drop the rows), or pass check_finite=False "
                  "if you accept undefined results.")
        super().__init__(
            f"{operation}: argument '{argument}' contains {self.problem} (first at "
            f"{argument}[{', '.join(map(str, first_index or ()))}]); LAPACK needs finite input. " + advice
        )


class ShapeError(InputError, ValueError):
    """An argument has the wrong number of dimensions or a shape that does not fit."""

    def __init__(self, operation: str, argument: str, problem: str):
        self.operation, self.argument, self.problem = operation, argument, problem
        super().__init__(f"{operation}: argument '{argument}' {problem}")


class DTypeError(InputError, TypeError):
    """An argument's dtype is not supported."""

    _fields = InputError._fields + ("dtype",)

    def __init__(self, operation: str, argument: str, dtype: Any, problem: str):
        self.operation, self.argument, self.dtype, self.problem = operation, argument, str(dtype), problem
        super().__init__(f"{operation}: argument '{argument}' has dtype {dtype}: {problem}")


class DeviceError(_Report, RuntimeError):
    """The requested device cannot run the call (none found, no float64, not enough memory,
    turned off), or a device setting is invalid. ``device="auto"`` never raises this."""

    _fields = ("operation", "device", "problem", "recommendations")

    def __init__(self, operation: str, device: str | None, problem: str):
        self.operation, self.device, self.problem = operation, device, problem
        self.recommendations = [
            "use device='auto' to let lapack_ai pick a device that can run the call, or device='cpu'",
            "lapack_ai.devices() lists the OpenCL devices and why any is unusable",
        ]
        where = f" on device {device!r}" if device else ""
        super().__init__(f"{operation}{where}: {problem}")


class ConfigError(_Report, ValueError):
    """A setting (environment variable or ``lapack_ai.config``) has a value that is not accepted."""

    _fields = ("variable", "value", "accepted")

    def __init__(self, variable: str, value: Any, accepted: str):
        self.variable, self.value, self.accepted = variable, str(value), accepted
        super().__init__(f"{variable}={str(value)!r} is not accepted: expected {accepted}")


class DeviceFallbackWarning(RuntimeWarning):
    """An OpenCL device failed during the call (out of memory or resources, a kernel that did
    not build, a lost device) and the CPU computed the result instead. The result is correct;
    ``lapack_ai.last_decision()`` records the reason."""


class LinAlgWarning(RuntimeWarning):
    """Base of lapack_ai's numerical warnings (SciPy's LinAlgWarning is also a RuntimeWarning)."""


class IllConditionedWarning(LinAlgWarning):
    """The result may be inaccurate: the reciprocal condition estimate is below machine epsilon."""

    def __init__(self, operation: str, rcond: float, batch: tuple[int, ...] | None, dtype: str):
        self.operation, self.rcond, self.batch, self.dtype = operation, rcond, batch, dtype
        where = f" (matrix {batch} of the stack)" if batch is not None else ""
        super().__init__(
            f"{operation}: Ill-conditioned matrix{where}: rcond = {rcond:.3g} is below {dtype} "
            f"machine epsilon {np.finfo(dtype).eps:.3g}, so the result may have no correct "
            "digits. Check the model for dependent columns, rescale, or use lstsq."
        )


# ---------------------------------------------------------------------------------------------
# The table: what each wrapped routine's info means. One entry per routine (type letter
# dropped); `args` names LAPACK's arguments in order, for info < 0; `positive` describes
# info > 0, or is None where LAPACK never returns it. docs/errors.md is checked against this.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Positive:
    error: type[LinAlgError]
    index_kind: str | None
    meaning: Callable[[int, tuple[int, ...]], str]
    recommendations: tuple[str, ...]


@dataclass(frozen=True)
class InfoEntry:
    args: tuple[str, ...]
    positive: Positive | None
    beyond_n: Positive | None = None
    """What ``info > n`` means where it means something else (xSYGVD: B is not positive
    definite); ``info - n`` is then the index."""


_SINGULAR_RECS = (
    "For a least-squares answer use lapack_ai.lstsq(a, b);",
    "to see why, run lapack_ai.diagnose(a).",
)
_LU_SINGULAR = Positive(
    SingularMatrixError, "pivot",
    lambda i, s: (f"the {ordinal(i)} pivot of the LU factorisation, U[{i - 1}, {i - 1}], is "
                  "exactly zero: the matrix is singular"),
    _SINGULAR_RECS,
)
_CHOL = Positive(
    NotPositiveDefiniteError, "leading minor",
    lambda i, s: (f"the leading minor of order {i} is not positive: the matrix is not positive "
                  "definite"),
    ("If the matrix should be positive definite, it may be only semi-definite or rounding made it "
     "indefinite: add a small multiple of the identity (a + eps*I);",
     "otherwise use solve(a, b, assume_a='sym') or 'gen'; lapack_ai.diagnose(a) shows the spectrum."),
)
_SYM = Positive(
    SingularMatrixError, "pivot",
    lambda i, s: (f"the {ordinal(i)} diagonal block of the Bunch-Kaufman factorisation, "
                  f"D[{i - 1}, {i - 1}], is exactly zero: the matrix is singular"),
    _SINGULAR_RECS,
)
_NO_CONV_RECS = (
    "This usually means extreme scaling or NaN/Inf that check_finite=False let through:",
    "rescale the matrix, or try the other driver (driver='gesvd' or 'gesdd');",
    "lapack_ai.diagnose(a) shows the scales.",
)

INFO_TABLE: dict[str, InfoEntry] = {
    "gemm": InfoEntry(("TRANSA", "TRANSB", "M", "N", "K", "ALPHA", "A", "LDA", "B", "LDB", "BETA", "C", "LDC"), None),
    "getrf": InfoEntry(("M", "N", "A", "LDA", "IPIV", "INFO"), _LU_SINGULAR),
    "getrs": InfoEntry(("TRANS", "N", "NRHS", "A", "LDA", "IPIV", "B", "LDB", "INFO"), None),
    "getri": InfoEntry(("N", "A", "LDA", "IPIV", "WORK", "LWORK", "INFO"), _LU_SINGULAR),
    "gecon": InfoEntry(("NORM", "N", "A", "LDA", "ANORM", "RCOND", "WORK", "IWORK", "INFO"), None),
    "potrf": InfoEntry(("UPLO", "N", "A", "LDA", "INFO"), _CHOL),
    "potrs": InfoEntry(("UPLO", "N", "NRHS", "A", "LDA", "B", "LDB", "INFO"), None),
    "pocon": InfoEntry(("UPLO", "N", "A", "LDA", "ANORM", "RCOND", "WORK", "IWORK", "INFO"), None),
    "sytrf": InfoEntry(("UPLO", "N", "A", "LDA", "IPIV", "WORK", "LWORK", "INFO"), _SYM),
    "sytrs": InfoEntry(("UPLO", "N", "NRHS", "A", "LDA", "IPIV", "B", "LDB", "INFO"), None),
    "sycon": InfoEntry(("UPLO", "N", "A", "LDA", "IPIV", "ANORM", "RCOND", "WORK", "IWORK", "INFO"), None),
    "geqrf": InfoEntry(("M", "N", "A", "LDA", "TAU", "WORK", "LWORK", "INFO"), None),
    "orgqr": InfoEntry(("M", "N", "K", "A", "LDA", "TAU", "WORK", "LWORK", "INFO"), None),
    "syevd": InfoEntry(
        ("JOBZ", "UPLO", "N", "A", "LDA", "W", "WORK", "LWORK", "IWORK", "LIWORK", "INFO"),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: ("the divide-and-conquer eigensolver did not converge "
                               f"(LAPACK reports {i}: with eigenvectors, the submatrix in rows and "
                               f"columns {i // (s[-1] + 1)} to {i % (s[-1] + 1)} failed; without, "
                               f"{i} off-diagonal elements did not converge to zero)"),
                 _NO_CONV_RECS)),
    "gelsd": InfoEntry(
        ("M", "N", "NRHS", "A", "LDA", "B", "LDB", "S", "RCOND", "RANK", "WORK", "LWORK", "IWORK", "INFO"),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: (f"the SVD inside the least-squares solver did not converge: {i} "
                               "off-diagonal elements of an intermediate bidiagonal form did not "
                               "converge to zero"),
                 _NO_CONV_RECS)),
    "gesdd": InfoEntry(
        ("JOBZ", "M", "N", "A", "LDA", "S", "U", "LDU", "VT", "LDVT", "WORK", "LWORK", "IWORK", "INFO"),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: ("the divide-and-conquer SVD (bdsdc) did not converge; its update "
                               "process failed"),
                 _NO_CONV_RECS)),
    "gesvd": InfoEntry(
        ("JOBU", "JOBVT", "M", "N", "A", "LDA", "S", "U", "LDU", "VT", "LDVT", "WORK", "LWORK", "INFO"),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: (f"the QR-iteration SVD did not converge: {i} superdiagonals of an "
                               "intermediate bidiagonal form did not converge to zero"),
                 _NO_CONV_RECS)),
    # Not LAPACK: the one-sided Jacobi SVD of stacks up to 64x64 on an OpenCL device
    # (kernels/svd_small.cl); info is the sweep cap that was reached.
    "gesvj_batched": InfoEntry(
        (),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: (f"the one-sided Jacobi SVD on the OpenCL device did not converge in {i} sweeps "
                               "(some pair of columns was still being rotated)"),
                 ("Run it on the CPU (device='cpu'), whose LAPACK gesdd/gesvd may succeed;",
                  "lapack_ai.diagnose(a) shows the scales."))),
    # Not LAPACK: eigh of stacks up to 64x64 on an OpenCL device (the same kernel on A + c I).
    "syevj_batched": InfoEntry(
        (),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: (f"the Jacobi eigensolver on the OpenCL device did not converge in {i} sweeps "
                               "(some pair of columns was still being rotated)"),
                 ("Run it on the CPU (device='cpu'), whose LAPACK syevd may succeed;",
                  "lapack_ai.diagnose(a) shows the scales."))),
    "heevj_batched": InfoEntry(
        (),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: (f"the Jacobi eigensolver on the OpenCL device did not converge in {i} sweeps "
                               "(some pair of columns was still being rotated)"),
                 ("Run it on the CPU (device='cpu'), whose LAPACK syevd may succeed;",
                  "lapack_ai.diagnose(a) shows the scales."))),
    "trtrs": InfoEntry(
        ("UPLO", "TRANS", "DIAG", "N", "NRHS", "A", "LDA", "B", "LDB", "INFO"),
        Positive(SingularMatrixError, "pivot",
                 lambda i, s: (f"the {ordinal(i)} diagonal element of the triangular matrix, "
                               f"A[{i - 1}, {i - 1}], is exactly zero: the matrix is singular"),
                 _SINGULAR_RECS)),
    "geev": InfoEntry(
        ("JOBVL", "JOBVR", "N", "A", "LDA", "WR", "WI", "VL", "LDVL", "VR", "LDVR", "WORK", "LWORK", "INFO"),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: (f"the QR algorithm did not compute all the eigenvalues: eigenvalues "
                               f"1 to {i} (w[0:{i}]) did not converge, eigenvalues {i + 1} to "
                               f"{s[-1] if s else 'n'} did; no eigenvectors were computed"),
                 _NO_CONV_RECS)),
    "gees": InfoEntry(
        ("JOBVS", "SORT", "SELECT", "N", "A", "LDA", "SDIM", "WR", "WI", "VS", "LDVS", "WORK", "LWORK", "BWORK",
         "INFO"),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: (f"the QR algorithm did not compute all the eigenvalues of the Schur "
                               f"form: eigenvalues 1 to {i} did not converge"),
                 _NO_CONV_RECS)),
    "sygvd": InfoEntry(
        ("ITYPE", "JOBZ", "UPLO", "N", "A", "LDA", "B", "LDB", "W", "WORK", "LWORK", "IWORK", "LIWORK", "INFO"),
        Positive(ConvergenceError, "unconverged",
                 lambda i, s: ("the divide-and-conquer eigensolver did not converge on the reduced "
                               f"standard problem (LAPACK reports {i})"),
                 _NO_CONV_RECS),
        beyond_n=Positive(
            NotPositiveDefiniteError, "leading minor",
            lambda i, s: (f"b is not positive definite: its leading minor of order {i} is not "
                          "positive, so the generalized problem a x = w b x cannot be reduced"),
            ("b must be symmetric (Hermitian) positive definite; if it is only semi-definite, add "
             "a small multiple of the identity;",
             "for a general pencil use scipy.linalg.eig(a, b).")),
    ),
}
# Complex types' names for the same routines.
INFO_TABLE.update({
    "ungqr": INFO_TABLE["orgqr"],
    "hetrf": INFO_TABLE["sytrf"],
    "hetrs": INFO_TABLE["sytrs"],
    "hecon": INFO_TABLE["sycon"],
    "heevd": InfoEntry(("JOBZ", "UPLO", "N", "A", "LDA", "W", "WORK", "LWORK", "RWORK", "LRWORK", "IWORK",
                        "LIWORK", "INFO"), INFO_TABLE["syevd"].positive),
    "hegvd": InfoEntry(("ITYPE", "JOBZ", "UPLO", "N", "A", "LDA", "B", "LDB", "W", "WORK", "LWORK", "RWORK",
                        "LRWORK", "IWORK", "LIWORK", "INFO"), INFO_TABLE["sygvd"].positive,
                       INFO_TABLE["sygvd"].beyond_n),
})

# Argument lists of complex routines where they differ from the real twin's (a real workspace
# RWORK, one eigenvalue array W): what an info < 0 names.
_COMPLEX_ARGS: dict[str, tuple[str, ...]] = {
    "gecon": ("NORM", "N", "A", "LDA", "ANORM", "RCOND", "WORK", "RWORK", "INFO"),
    "pocon": ("UPLO", "N", "A", "LDA", "ANORM", "RCOND", "WORK", "RWORK", "INFO"),
    "sycon": ("UPLO", "N", "A", "LDA", "IPIV", "ANORM", "RCOND", "WORK", "INFO"),
    "hecon": ("UPLO", "N", "A", "LDA", "IPIV", "ANORM", "RCOND", "WORK", "INFO"),
    "gesdd": ("JOBZ", "M", "N", "A", "LDA", "S", "U", "LDU", "VT", "LDVT", "WORK", "LWORK", "RWORK", "IWORK", "INFO"),
    "gesvd": ("JOBU", "JOBVT", "M", "N", "A", "LDA", "S", "U", "LDU", "VT", "LDVT", "WORK", "LWORK", "RWORK", "INFO"),
    "gelsd": ("M", "N", "NRHS", "A", "LDA", "B", "LDB", "S", "RCOND", "RANK", "WORK", "LWORK", "RWORK", "IWORK",
              "INFO"),
    "geev": ("JOBVL", "JOBVR", "N", "A", "LDA", "W", "VL", "LDVL", "VR", "LDVR", "WORK", "LWORK", "RWORK", "INFO"),
    "gees": ("JOBVS", "SORT", "SELECT", "N", "A", "LDA", "SDIM", "W", "VS", "LDVS", "WORK", "LWORK", "RWORK", "BWORK",
             "INFO"),
}


def _batch_index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    batch_shape = shape[:-2]
    if not batch_shape:
        return None
    return tuple(int(i) for i in np.unravel_index(flat, batch_shape))


def _matrix(arr: np.ndarray, batch: tuple[int, ...] | None) -> np.ndarray:
    return arr[batch] if batch is not None else arr


def from_core(exc: Exception, operation: str, args: dict[str, np.ndarray]) -> Exception:
    """Build the user-facing error from a ``_core.CoreError``'s facts.

    ``args`` maps argument names to the arrays handed to the core (first one is ``a``), so the
    report can name shapes, count NaNs and estimate rcond.
    """
    facts = exc.args[0]
    a = next(iter(args.values()), None)
    shape, dtype = (tuple(a.shape), str(a.dtype)) if isinstance(a, np.ndarray) else (None, None)
    kind = facts["kind"]
    if kind == "nonfinite":
        arr = args[facts["arg"]]
        batch = _batch_index(facts["batch"], tuple(arr.shape)) if arr.ndim > 2 else None
        bad = ~np.isfinite(arr)
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else None
        return NonFiniteError(operation=operation, argument=facts["arg"],
                              nan_count=int(np.isnan(arr).sum()), inf_count=int(np.isinf(arr).sum()),
                              first_index=first, batch=batch, always=bool(facts.get("always")))
    if kind == "shape":
        return ShapeError(operation, "a", facts["message"])
    if kind == "device":
        return DeviceError(operation, None, facts["message"])
    if kind == "memory":
        return OutOfMemoryError(operation=operation, routine=facts["routine"], bytes=facts["bytes"],
                                available=facts["available"])
    if kind in ("internal", "library"):
        return InternalError(facts["message"], operation=operation, shape=shape, dtype=dtype,
                             backend=facts["backend"])
    routine, info = facts["routine"], facts["info"]
    entry = INFO_TABLE[routine[1:]]
    if info < 0:
        names = _COMPLEX_ARGS.get(routine[1:], entry.args) if routine[0] in "cz" else entry.args
        name = names[-info - 1] if -info <= len(names) else f"#{-info}"
        arr = args.get(name.lower())
        if arr is not None and not np.isfinite(arr).all():
            # Newer LAPACK refuses NaN in A with info < 0; only reachable with check_finite=False.
            bad = ~np.isfinite(arr)
            return NonFiniteError(operation=operation, argument=name.lower(),
                                  nan_count=int(np.isnan(arr).sum()), inf_count=int(np.isinf(arr).sum()),
                                  first_index=tuple(int(i) for i in np.argwhere(bad)[0]),
                                  batch=_batch_index(facts["batch"], shape))
        return LapackArgumentError(operation=operation, routine=routine, info=info,
                                   argument=name, shape=shape, dtype=dtype)
    pos = entry.positive
    n = shape[-1] if shape else 0
    index = info
    # xSYGVD: n < info <= 2n is B's minor; above, xSYEVD's code for a failed submatrix
    if entry.beyond_n is not None and n < info <= 2 * n:
        pos, index = entry.beyond_n, info - n
    if pos is None:  # not documented by LAPACK: still structured, never a bare number
        return LinAlgError(f"{routine} returned an undocumented info={info}", operation=operation,
                           routine=routine, info=info, shape=shape, dtype=dtype, backend=facts["backend"])
    batch = _batch_index(facts["batch"], shape)
    rcond = 0.0 if pos.error is SingularMatrixError else _cheap_rcond(_matrix(a, batch))
    recs = pos.recommendations
    if pos.error is ConvergenceError and not np.isfinite(_matrix(a, batch)).all():
        recs = ("The input contains NaN or Inf (check_finite=False was passed): clean it first.",) + recs
    return pos.error(pos.meaning(index, shape), operation=operation, routine=routine, info=info,
                     index=index if pos.index_kind else None, index_kind=pos.index_kind, batch=batch,
                     shape=shape, dtype=dtype, backend=facts["backend"], rcond=rcond,
                     recommendations=recs)


def call(operation: str, fn: Callable, args: dict[str, np.ndarray], *rest):
    """Call a core function with ``args`` (in order) and ``rest``; turn its failure into the
    user-facing error. Every Python module reaches the core through here or, on fast paths,
    falls back to it when the core refuses."""
    try:
        return fn(*args.values(), *rest)
    except _core.CoreError as e:
        raise from_core(e, operation, args) from None


def _cheap_rcond(m: np.ndarray) -> float | None:
    """1-norm rcond estimate of a square, finite matrix of modest size; None otherwise."""
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] > 2000 or not np.isfinite(m).all():
        return None
    from . import _core

    return float(_core.rcond(m, "1", False, False))
