"""Shared test helpers: Hypothesis profiles, tolerances scaled by size and dtype, layouts."""

import os
import tempfile

# Compiled kernels and calibrated crossovers go to a cache of this test run, not the user's.
os.environ.setdefault("LAPACK_AI_CACHE_DIR", tempfile.mkdtemp(prefix="lapack_ai_test_cache_"))

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=15, deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
LAYOUTS = ["C", "F", "strided", "negative", "broadcast"]


def tol(dtype, *dims, factor=50.0):
    """Relative tolerance for a result computed from matrices of the given dimensions:
    a constant times eps times the largest dimension (backward-stable algorithms)."""
    n = max([1, *dims])
    return factor * np.finfo(dtype).eps * n


def close(x, y, dtype, *dims, scale=None, factor=50.0):
    """``|x - y| <= tol * scale`` elementwise, scale defaulting to max |y| (a norm-wise bound)."""
    dt = np.complex128 if np.iscomplexobj(x) or np.iscomplexobj(y) else np.float64
    x, y = np.asarray(x, dtype=dt), np.asarray(y, dtype=dt)
    assert x.shape == y.shape, (x.shape, y.shape)
    if x.size == 0:
        return
    s = scale if scale is not None else max(1.0, float(np.abs(y).max()))
    err = float(np.abs(x - y).max())
    assert err <= tol(dtype, *dims, factor=factor) * s, f"max error {err:.3g} > {tol(dtype, *dims, factor=factor) * s:.3g}"


def rand(seed, shape, dtype):
    """Standard normal values of ``dtype`` from ``seed``; complex dtypes get an imaginary part."""
    g = np.random.default_rng(seed)
    x = g.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * g.standard_normal(shape)
    return x.astype(dtype)


def wide(dtype):
    """The double-precision type a reference runs in."""
    return np.complex128 if np.dtype(dtype).kind == "c" else np.float64


def ct(x):
    """Conjugate transpose of the last two axes."""
    return np.swapaxes(x, -1, -2).conj()


def as_layout(a: np.ndarray, layout: str) -> np.ndarray:
    """The same values as ``a`` in another memory layout (views where the layout is a view)."""
    if layout == "C":
        return np.ascontiguousarray(a)
    if layout == "F":
        return np.swapaxes(np.ascontiguousarray(np.swapaxes(a, -1, -2)), -1, -2)
    if layout == "strided":
        big = np.zeros(a.shape[:-2] + (2 * a.shape[-2] + 1, 3 * a.shape[-1] + 1), a.dtype)
        big[..., 1::2, ::3][..., : a.shape[-2], : a.shape[-1]] = a
        return big[..., 1::2, ::3][..., : a.shape[-2], : a.shape[-1]]
    if layout == "negative":
        return a[..., ::-1, ::-1].copy()[..., ::-1, ::-1]
    if layout == "broadcast":
        if a.ndim < 3:
            return a
        first = a[(0,) * (a.ndim - 2)]
        return np.broadcast_to(first, a.shape)
    raise ValueError(layout)


def flatten(out):
    """A routine's output as a flat list of arrays (named tuples, tuples, scalars)."""
    if isinstance(out, tuple):
        res = []
        for o in out:
            res.extend(flatten(o))
        return res
    return [np.asarray(out)]


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def opencl_device(*, module: bool = False):
    """The OpenCL device (with fp64) tests use; LAPACK_AI_TEST_DEVICE=<index> picks one (e.g. a
    GPU). Without one it skips (the whole module when ``module``), unless ./dev test requires
    OpenCL (LAPACK_AI_REQUIRE_OPENCL=1): then it fails."""
    import lapack_ai

    devs = [d for d in lapack_ai.devices() if not d.unusable and d.fp64]
    if not devs:
        if os.environ.get("LAPACK_AI_REQUIRE_OPENCL") == "1":
            raise RuntimeError(f"LAPACK_AI_REQUIRE_OPENCL=1 but no usable OpenCL device with fp64: {lapack_ai.devices()}")
        pytest.skip("no OpenCL device (install pocl-opencl-icd)", allow_module_level=module)
    pick = os.environ.get("LAPACK_AI_TEST_DEVICE")
    return next((d for d in devs if str(d.index) == pick), devs[0])


def fresh_crossovers(prefix: str):
    """For an autouse fixture (``yield from fresh_crossovers("svd_small/")``): no injected
    fault, devices enabled, no stored crossover whose key starts with ``prefix`` during the
    test; the crossover file is put back as it was afterwards."""
    import json

    import lapack_ai
    from lapack_ai import _core

    path = os.path.join(os.environ["LAPACK_AI_CACHE_DIR"], "crossover.json")
    _core.inject_fault(None, reset=True)
    before = None
    if os.path.exists(path):
        with open(path) as f:
            before = json.load(f)
    if before:
        with open(path, "w") as f:
            json.dump({d: {k: v for k, v in per.items() if not k.startswith(prefix)} for d, per in before.items()}, f)
    lapack_ai.reload_settings()
    yield
    _core.inject_fault(None, reset=True)
    if before is None:
        if os.path.exists(path):
            os.remove(path)
    else:
        with open(path, "w") as f:
            json.dump(before, f)
    lapack_ai.reload_settings()


@pytest.fixture
def opencl_sel():
    """The ``device=`` string of the OpenCL device tests use (``opencl_device``)."""
    return opencl_device().selector
