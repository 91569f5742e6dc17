"""lapack_ai: NumPy-style linear algebra over LAPACK, with errors that say what went wrong.

High-level routines (``lapack_ai.svd``, ``solve``, ...) follow NumPy/SciPy names and return
conventions; ``lapack_ai.lapack`` has the LAPACK-named low level; ``lapack_ai.errors`` the
error model. Everything runs through the Rust extension ``lapack_ai._core``.
"""

import logging as _logging

from . import _blas

_BLAS = _blas.load()  # before anything else touches _core: binds the BLAS/LAPACK library

from . import errors, lapack, metrics
from .config import config, config_context
from .devices import Decision, Device, container, devices, explain, last_decision, reload_settings
from .diagnose import Report, diagnose
from .errors import (ConfigError, ConvergenceError, DeviceError, DeviceFallbackWarning, DTypeError, IllConditionedWarning, InputError,
                     InternalError, OutOfMemoryError,
                     LapackArgumentError, LinAlgError, LinAlgWarning, NonFiniteError,
                     NotPositiveDefiniteError, ShapeError, SingularMatrixError)
from .linalg import (EighResult, EigResult, LstsqResult, QRResult, SlogdetResult, SVDResult, cho_factor,
                     cho_solve, cholesky, cond, det, eig, eigh, eigvals, eigvalsh, gemm, gemm_alpha, inv, lstsq, lu, lu_factor,
                     lu_solve, matrix_rank, norm, pinv, qr, rcond, schur, schemes, slogdet, solve, solve_triangular,
                     svd, svdvals)
from .metrics import MetricsCollector, measure
from .registry import REGISTRY
from .patch import patch, patched, unpatch  # lapack_ai.patch is the function; the module stays importable by name
from .server import serve  # imports uvicorn only when called

__version__ = "0.1.0"

# Rust log records arrive here (pyo3-log); silent unless the application configures logging.
logger = _logging.getLogger("lapack_ai")
logger.addHandler(_logging.NullHandler())


def blas_config() -> dict:
    """The BLAS/LAPACK library lapack_ai runs on: ``library`` (path), ``origin`` ("shared with
    NumPy", "scipy-openblas64 package" or "LAPACK_AI_OPENBLAS"), ``version``, ``config``
    (OpenBLAS's build string), ``corename`` (the kernel picked for this CPU), ``threads``
    (OpenBLAS's, for one large call; also the width stacks of small matrices spread over),
    ``batch_threads`` (rayon's pool, the CPUs the cgroup allows), ``catches_xerbla`` and
    ``passed_over`` (other candidates and why they were not used)."""
    from . import _core

    info = _core.load_blas(None)
    return {"library": info["path"], "origin": info["origin"], "version": info["version"],
            "config": info["config"], "corename": info["corename"], "threads": info["threads"],
            "batch_threads": _core.num_threads(), "catches_xerbla": info["catches_xerbla"],
            "passed_over": list(info["passed_over"])}


def reset_log_cache() -> None:
    """Call after changing the ``lapack_ai`` logger's level, so the Rust side sees it."""
    from . import _core

    _core.reset_log_cache()


__all__ = [
    "gemm", "gemm_alpha", "schemes", "svd", "svdvals", "solve", "lstsq", "inv", "det", "slogdet", "cholesky", "qr",
    "eigh", "eigvalsh", "cond", "rcond", "pinv", "matrix_rank", "norm", "eig", "eigvals", "schur",
    "lu", "lu_factor", "lu_solve", "cho_factor", "cho_solve", "solve_triangular", "EigResult", "diagnose", "Report", "lapack", "errors", "REGISTRY",
    "LinAlgError", "SingularMatrixError", "NotPositiveDefiniteError", "ConvergenceError",
    "InternalError", "OutOfMemoryError", "LapackArgumentError", "InputError", "NonFiniteError", "ShapeError", "DTypeError",
    "LinAlgWarning", "IllConditionedWarning", "SVDResult", "EighResult", "QRResult",
    "SlogdetResult", "LstsqResult", "reset_log_cache", "blas_config",
    "devices", "Device", "explain", "Decision", "last_decision", "container", "reload_settings",
    "calibrate", "DeviceError", "DeviceFallbackWarning",
    "config", "config_context", "ConfigError", "metrics", "measure", "MetricsCollector",
    "dashboard", "compare", "serve", "jupyter", "patch", "unpatch", "patched", "scipy",
]


def calibrate(*args, **kwargs):
    """Measure CPU against each OpenCL device and store the crossovers; see
    ``lapack_ai.calibration.calibrate``."""
    from .calibration import calibrate as _calibrate

    return _calibrate(*args, **kwargs)


def dashboard(*args, **kwargs):
    """An inline live dashboard widget (needs ``lapack-ai[jupyter]``); see
    ``lapack_ai.jupyter.dashboard``."""
    from .jupyter.dashboard import dashboard as _dashboard

    return _dashboard(*args, **kwargs)


def compare(*args, **kwargs):
    """Time a routine over sizes on the CPU, each OpenCL device and NumPy; see
    ``lapack_ai.sweep.compare``."""
    from .sweep import compare as _compare

    return _compare(*args, **kwargs)


def load_ipython_extension(ipython) -> None:
    """``%load_ext lapack_ai``: rich HTML error reports and metrics on (see ``lapack_ai.jupyter``)."""
    from .jupyter import enable

    enable(ipython)


def unload_ipython_extension(ipython) -> None:
    from .jupyter import disable

    disable(ipython)


def __getattr__(name):
    if name in ("jupyter", "scipy"):  # imported on use: jupyter needs IPython; scipy is seldom used
        import importlib

        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'lapack_ai' has no attribute {name!r}")
