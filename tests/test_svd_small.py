"""Stacks of small SVDs (max(m, n) up to 64) on the OpenCL one-sided Jacobi kernel
(kernels/svd_small.cl, rust/core/src/opencl/svd_small.rs) on whatever OpenCL device this machine
has (PoCL, a CPU driver, in CI): LAPACK's accuracy ratios (xDRVBD) on LAPACK's matrix types,
shapes, both dtypes and every job; layouts and batch shapes; empty stacks; NaN/Inf and
non-convergence reported as on the CPU; how dispatch weighs such stacks (by their count);
fallbacks on every injected fault; the kernel-timing binding; calibration of the crossover."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lapack_ai
from lapack_ai import ConvergenceError, DeviceError, DeviceFallbackWarning, NonFiniteError, _core

from conftest import as_layout, fresh_crossovers, opencl_device
from svd_checks import THRESHOLD, check_values, matrix_types, ratios

DEV = opencl_device(module=True)
SEL = DEV.selector


@pytest.fixture(autouse=True)
def clean_runtime():
    """No injected fault, devices enabled, no svd_small crossover stored during a test."""
    yield from fresh_crossovers("svd_small/")


def ran_on_device(m, n):
    d = lapack_ai.last_decision()
    assert d.strategy == "opencl" and d.device_index == DEV.index and d.kernel == f"svd-jacobi-{m}x{n}", d
    return d


# Every shape and job is a kernel build (about a second on PoCL): float64 takes the whole
# sample of sizes (4, 8, 16, 32, odd ones, tall and wide), float32 a part of it.
SHAPES = [(m, n, np.float64) for m, n in [(1, 1), (4, 4), (8, 8), (16, 16), (32, 32), (5, 3), (3, 7), (1, 9), (32, 13),
                                          (11, 32)]]
SHAPES += [(m, n, np.float32) for m, n in [(4, 4), (8, 8), (32, 32), (7, 2)]]
# Complex: the phases of w_i^H w_j in the rotations, V^H conjugated (a wide matrix's U too).
SHAPES += [(m, n, np.complex128) for m, n in [(4, 4), (32, 32), (5, 3), (3, 7)]]
SHAPES += [(m, n, np.complex64) for m, n in [(8, 8), (2, 9)]]
# Past 32 columns V is accumulated in global memory (V_GLOBAL), reordered through local memory.
SHAPES += [(64, 64, np.float64), (45, 33, np.float64), (35, 64, np.float64), (64, 64, np.float32), (48, 48, np.complex128),
           (40, 64, np.complex64)]
VALUES_ONLY = {(4, 4), (3, 7), (32, 32), (7, 2)}


@pytest.mark.parametrize("m,n,dtype", SHAPES)
def test_lapack_ratios_on_lapack_matrix_types(m, n, dtype):
    rng = np.random.default_rng(m * 100 + n)
    types = matrix_types(rng, m, n, dtype)
    a = np.stack([x.astype(dtype) for x in types.values()])
    keep = a.copy()
    for full in (False, True):
        u, s, vt = lapack_ai.svd(a, full_matrices=full, device=SEL)
        ran_on_device(m, n)
        k = min(m, n)
        assert u.shape == (len(types), m, m if full else k) and vt.shape == (len(types), n if full else k, n)
        assert u.dtype == vt.dtype == dtype and s.dtype == np.finfo(dtype).dtype
        for name, i in zip(types, range(len(types))):
            r = ratios(a[i], u[i], s[i], vt[i])
            assert max(r) <= THRESHOLD, f"{name} {m}x{n} {np.dtype(dtype).name} full={full}: ratios {r}"
        check_values(s, a)
    if (m, n) in VALUES_ONLY:  # a build of its own: a few shapes (CI time)
        vals = lapack_ai.svdvals(a, device=SEL)
        np.testing.assert_array_equal(vals, s)  # the same sweeps, with or without vectors
    np.testing.assert_array_equal(a, keep)  # input untouched


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False), min_size=15, max_size=15),
       st.integers(min_value=-1000, max_value=1000), st.lists(st.integers(min_value=-60, max_value=60), min_size=3, max_size=3))
def test_any_scale_and_column_scaling(values, exponent, column_exponents):
    """5x3 float64 with entries of any size, the whole matrix scaled by 2^exponent (out to
    near underflow and overflow) and its columns by up to 2^+-60: graded columns are where
    Jacobi's relative accuracy shows, and the power-of-two scaling must keep it."""
    a = np.array(values).reshape(5, 3) * np.exp2(np.array(column_exponents, float))
    with np.errstate(all="ignore"):
        a = np.ldexp(a, exponent)
        if not np.isfinite(a).all() or not np.isfinite(np.linalg.svd(a, compute_uv=False)).all():
            return  # overflowed while building the input, or its norm does
    u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
    assert max(ratios(a, u, s, vt)) <= THRESHOLD
    check_values(s, a)



@pytest.mark.parametrize("tpp", [1, 3, 8])
@pytest.mark.parametrize("m,n,dtype", [(32, 32, np.complex128), (13, 20, np.float32), (45, 33, np.float64)])
def test_lanes_per_pair(monkeypatch, tpp, m, n, dtype):
    """LAPACK_AI_SVD_SMALL_TPP work-items share each pair's rows (by default 2 for complex128
    past 16 rows on a GPU, else 1): one lane, a count that does not divide the rows, and more
    lanes than some pairs have rows give the same accuracy, and values equal to the default's
    to rounding; 45x33 also with V in global memory, a phantom column and U completed."""
    rng = np.random.default_rng(tpp)
    types = matrix_types(rng, m, n, dtype)
    a = np.stack([x.astype(dtype) for x in types.values()])
    base = lapack_ai.svdvals(a, device=SEL)
    monkeypatch.setenv("LAPACK_AI_SVD_SMALL_TPP", str(tpp))
    u, s, vt = lapack_ai.svd(a, full_matrices=True, device=SEL)
    ran_on_device(m, n)
    for name, i in zip(types, range(len(types))):
        assert max(ratios(a[i], u[i], s[i], vt[i])) <= THRESHOLD, f"{name} tpp={tpp}"
    check_values(s, a)
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(s - base) <= 35 * max(m, n) * eps * base[..., :1]), tpp

# ---- layouts, batch shapes, empty stacks ----

@pytest.mark.parametrize("layout", ["F", "strided", "negative", "broadcast", "fortran"])
def test_layouts(layout):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 6, 4))
    a = np.asfortranarray(x) if layout == "fortran" else as_layout(x, layout)
    u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
    ran_on_device(6, 4)
    assert u.shape == (2, 3, 6, 4) and s.shape == (2, 3, 4) and vt.shape == (2, 3, 4, 4)
    for i in np.ndindex(2, 3):
        assert max(ratios(a[i], u[i], s[i], vt[i])) <= THRESHOLD
    check_values(s, np.ascontiguousarray(a))
    if layout == "broadcast":  # one matrix moves once
        assert lapack_ai.last_decision().bytes_to_device == 6 * 4 * 8


def test_single_matrices_and_empty_stacks():
    a = np.random.default_rng(6).standard_normal((4, 4))
    u, s, vt = lapack_ai.svd(a, device=SEL)
    ran_on_device(4, 4)
    assert max(ratios(a, u, s, vt)) <= THRESHOLD and lapack_ai.last_decision().bytes_from_device > 0
    for shape in [(0, 4, 4), (3, 0, 4), (3, 4, 0), (2, 0, 0)]:
        z = np.ones(shape)
        got, want = lapack_ai.svd(z, device=SEL), np.linalg.svd(z)
        assert [g.shape for g in got] == [w.shape for w in want], shape
        assert "nothing to decompose" in lapack_ai.last_decision().reason
        assert lapack_ai.svdvals(z, device=SEL).shape == want[1].shape


# ---- NaN, Inf and non-convergence: the CPU's errors, the first bad matrix ----

@pytest.mark.parametrize("check_finite", [True, False])
def test_non_finite_input_is_refused_as_on_the_cpu(check_finite):
    a = np.random.default_rng(7).standard_normal((20, 4, 3))
    a[12, 1, 1], a[7, 0, 2] = np.inf, np.nan
    for x in (a, a[8:]):  # NaN first, then only the Inf
        errs = []
        for dev in ("cpu", SEL):
            with pytest.raises(NonFiniteError) as ei:
                lapack_ai.svd(x, device=dev, check_finite=check_finite)
            errs.append(ei.value)
        cpu, ocl = errs
        assert (ocl.batch, ocl.first_index, str(ocl)) == (cpu.batch, cpu.first_index, str(cpu))
        assert ocl.batch == ((7,) if x is a else (4,))
        # Inf alone with check_finite=False: refused anyway, and said so (as on the CPU)
        assert ("refused even with check_finite=False" in str(ocl)) == (x is not a and not check_finite)


def test_not_converging_is_a_convergence_error(monkeypatch):
    monkeypatch.setenv("LAPACK_AI_SVD_SMALL_SWEEPS", "1")  # one sweep cannot orthogonalize random columns
    a = np.random.default_rng(8).standard_normal((3, 6, 6))
    a[0] = np.diag([3.0, 2, 1, 1, 1, 1])  # already orthogonal: converges in its one sweep
    with pytest.raises(ConvergenceError) as ei:
        lapack_ai.svd(a, device=SEL)
    e = ei.value
    assert e.routine == "dgesvj_batched" and e.info == 1 and e.batch == (1,) and e.backend == "opencl"
    assert "opencl, kernel dgesvj_batched info=1" in str(e), str(e)
    assert "did not converge in 1 sweeps" in str(e) and "device='cpu'" in str(e)
    s = lapack_ai.svdvals(a[:1], device=SEL)  # the converged one is returned
    np.testing.assert_allclose(s, [[3, 2, 1, 1, 1, 1]], rtol=1e-15)


# ---- dispatch: small stacks are weighed by their count ----

def test_auto_keeps_small_stacks_on_the_cpu_until_calibrated():
    d = lapack_ai.explain("svd", (1 << 20, 4, 4))
    assert d.strategy == "cpu" and "stacks of SVDs up to 64x64" in d.reason and "not calibrated" in d.reason
    a = np.random.default_rng(9).standard_normal((200, 4, 4))
    lapack_ai.svd(a)
    assert lapack_ai.last_decision().strategy == "cpu"
    f = lapack_ai.explain("svd", (200, 4, 4), device=SEL)
    assert f.strategy == "opencl" and "200 x 4x4 float64" in f.reason and "requested" in f.reason
    big = lapack_ai.explain("svd", (8, 65, 30))  # past 64x64, and not tall-skinny (test_svd_tall)
    assert big.strategy == "cpu" and "max(m, n) <= 64" in big.reason
    with pytest.raises(DeviceError, match=r"max\(m, n\) <= 64 and tall-skinny ones .* so far, not 8 x 65x30 float64"):
        lapack_ai.svd(np.ones((8, 65, 30)), device=SEL)
    with pytest.raises(DeviceError, match="real-only .* except for stacks of SVDs and eigh up to 64x64, and tall-skinny"):
        lapack_ai.svd(np.ones((8, 70, 70), complex), device=SEL)  # neither small nor tall-skinny
    # hermitian=True runs eigh, on the device too (tests/test_eigh_small.py)
    x = np.random.default_rng(12).standard_normal((3, 5, 5))
    h = x + x.swapaxes(-1, -2)
    u, s, vt = lapack_ai.svd(h, hermitian=True, device=SEL)
    d = lapack_ai.last_decision()
    assert d.strategy == "opencl" and d.kernel == "eigh-jacobi-5x5", d
    assert max(ratios(h, u, s, vt)) <= THRESHOLD
    check_values(s, h)
    with pytest.raises(DeviceError, match="eigh covers stacks of matrices up to 64x64"):
        lapack_ai.svd(np.eye(70), hermitian=True, device=SEL)
    # LAPACK's drivers by name stay LAPACK's, whatever the process default.
    u, s, vt = lapack_ai.lapack.dgesdd(np.eye(4))
    assert lapack_ai.last_decision().strategy == "cpu"


def test_calibrated_count_crossover_drives_auto():
    _core.set_crossover(DEV.index, "svd_small", "float64", 100)
    lapack_ai.reload_settings()
    above = lapack_ai.explain("svd", (500, 32, 32))
    assert above.strategy == "opencl" and "measured crossover of 100 matrices" in above.reason, above.reason
    below = lapack_ai.explain("svd", (99, 4, 4))
    assert below.strategy == "cpu" and "(the smallest: 100 matrices)" in below.reason, below.reason
    assert lapack_ai.explain("svd", (500, 4, 4), dtype="float32").strategy == "cpu"  # per dtype
    a = np.random.default_rng(10).standard_normal((150, 3, 5))
    with lapack_ai.measure("svd") as m:
        s = lapack_ai.svdvals(a)  # auto
    ran_on_device(3, 5)
    check_values(s, a)
    (rec,) = m.records
    assert rec.backend == "opencl" and rec.routine == "opencl svd (svd-jacobi-3x5)"
    _core.set_crossover(DEV.index, "svd_small", "float64", None)  # measured: never won
    lapack_ai.reload_settings()
    never = lapack_ai.explain("svd", (1 << 20, 4, 4))
    assert never.strategy == "cpu" and "beat it when calibrate() measured them" in never.reason


def test_calibrate_measures_small_svd_stacks():
    r = lapack_ai.calibrate(devices=[DEV.index], sizes=(), dtypes=("float64",), small_counts=(), eigh_counts=(), svd_counts=(16, 64), svd_tall_rows=(),
                            repeats=1, progress=False)
    assert set(r["crossovers"]) == {(DEV.index, "float64", "svd_small")}
    assert [t["count"] for t in r["timings"]] == [16, 64]
    assert all(t["svd"] == (4, 4) and t["cpu_s"] > 0 and t["device_s"] > 0 for t in r["timings"])
    cross = r["crossovers"][(DEV.index, "float64", "svd_small")]
    assert cross in (None, 16, 64)
    assert _core.crossover(DEV.index, "svd_small", "float64") == (cross if cross is not None else 2**64 - 1)


# ---- failures: each falls back to the CPU with a warning ----

@pytest.mark.parametrize("fault,kind", [("alloc", "out-of-memory"), ("launch", "out-of-memory"), ("build", "build"),
                                        ("lost", "device-lost")])
def test_fault_falls_back_to_cpu_with_a_warning(fault, kind):
    a = np.random.default_rng(11).standard_normal((30, 5, 4))
    _core.inject_fault(fault)
    match = "disabled for the rest of this process" if fault == "lost" else "svd on OpenCL device .* computed on the CPU"
    with pytest.warns(DeviceFallbackWarning, match=match):
        u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
    assert max(ratios(a, u, s, vt)) <= THRESHOLD
    d = lapack_ai.last_decision()
    assert d.strategy == "cpu-fallback" and kind in d.reason, d
    _core.inject_fault(None, reset=True)
    lapack_ai.svd(a, device=SEL)
    ran_on_device(5, 4)


# ---- the kernel-timing binding (benchmarks) ----

def test_kernel_times():
    name, times = _core.svd_small_kernel_times(DEV.index, 300, 4, 4, "float64", 2)
    assert name == "svd-jacobi-4x4" and len(times) == 2 and all(t > 0 for t in times)
    name, times = _core.svd_small_kernel_times(DEV.index, 20, 3, 8, "float32", 1, vectors=False)
    assert name == "svd-jacobi-3x8" and len(times) == 1
    with pytest.raises(RuntimeError, match="up to 64"):
        _core.svd_small_kernel_times(DEV.index, 10, 65, 4, "float64", 1)
    with pytest.raises(ValueError, match="dtype"):
        _core.svd_small_kernel_times(DEV.index, 10, 4, 4, "int32", 1)
