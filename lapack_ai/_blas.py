"""Bind the BLAS/LAPACK library before anything touches the core.

lapack_ai runs on an ILP64 OpenBLAS (64-bit integers) from the ``scipy-openblas64`` family.
NumPy 2 wheels load one; when it is recent enough the core binds that very copy, so the process
has one OpenBLAS and one thread pool, and ``OPENBLAS_NUM_THREADS`` / ``threadpoolctl`` govern
both. Otherwise it loads the ``scipy-openblas64`` package lapack-ai depends on. The choice and
the reasons are in ``lapack_ai.blas_config()``; ``LAPACK_AI_OPENBLAS`` (``numpy``, ``package``
or a path) overrides it.
"""

from __future__ import annotations

import importlib.util
import os

import numpy  # noqa: F401  (loaded first: its OpenBLAS is the one to share)


def package_library() -> str | None:
    """The scipy-openblas64 package's library, found without importing the package (its
    ``__init__`` would load the library into the global namespace)."""
    spec = importlib.util.find_spec("scipy_openblas64")
    if spec is None or not spec.submodule_search_locations:
        return None
    lib = os.path.join(spec.submodule_search_locations[0], "lib")
    try:
        names = sorted(n for n in os.listdir(lib) if n.startswith("libscipy_openblas64_") and ".so" in n)
    except OSError:
        return None
    return os.path.join(lib, names[0]) if names else None


def load() -> dict:
    from . import _core

    return _core.load_blas(package_library())
