"""Tall-skinny SVDs (one side at most 512 and at most a quarter of the other) on the OpenCL
CholeskyQR kernels (kernels/svd_tall.cl, rust/core/src/opencl/svd_tall.rs) on whatever OpenCL
device this machine has (PoCL in CI): LAPACK's accuracy ratios (xDRVBD) on LAPACK's matrix
types, tall and wide, all four dtypes; what CholeskyQR cannot orthogonalize (zero, rank-deficient)
declined to the CPU and said so; NaN/Inf as on the CPU; scaling out to underflow and overflow;
layouts and stacks; full_matrices=True refused on the device; dispatch by a calibrated size;
fallbacks on every injected fault; the kernel-timing binding; calibration."""

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lapack_ai
from lapack_ai import DeviceError, DeviceFallbackWarning, NonFiniteError, _core

from conftest import as_layout, fresh_crossovers, opencl_device
from svd_checks import THRESHOLD, check_values, matrix_types, ratios, with_values

DEV = opencl_device(module=True)
SEL = DEV.selector


@pytest.fixture(autouse=True)
def clean_runtime():
    """No injected fault, devices enabled, no svd_tall crossover stored during a test."""
    yield from fresh_crossovers("svd_tall/")


def kernel(m, n):
    return f"svd-cholqr-{m}x{n}"


def ran_on_device(m, n):
    d = lapack_ai.last_decision()
    assert d.strategy == "opencl" and d.device_index == DEV.index and d.kernel == kernel(m, n), d
    return d


def declined(m, n, dtype):
    d = lapack_ai.last_decision()
    assert d.strategy == "cpu" and f"the OpenCL tall-skinny SVD declined {m}x{n} {np.dtype(dtype).name}" in d.reason, d
    return d


# Tall, wide, the smallest tall shape past the small kernel, float32; each a build per dtype
# and tile (about a second on PoCL).
SHAPES = [(300, 12, np.float64), (2000, 40, np.float64), (40, 700, np.float64), (65, 16, np.float64), (520, 100, np.float64),
          (500, 20, np.float32), (24, 400, np.float32), (300, 12, np.complex128), (36, 500, np.complex128),
          (400, 70, np.complex64), (20, 300, np.complex64)]
# The zero matrix has no orthonormal Q = A R^{-1}: declined to the CPU.
DECLINED = {"zero"}
# cond 1/eps, beyond what even shifted CholeskyQR3 promises (about 1/(11 (m n + n^2) eps)), and
# rank-deficient: on the device when its Cholesky factors hold, else declined; right either way.
EITHER = {"graded", "cond 1/eps", "near underflow", "near overflow", "rank-deficient"}


@pytest.mark.parametrize("m,n,dtype", SHAPES)
def test_lapack_ratios_on_lapack_matrix_types(m, n, dtype):
    rng = np.random.default_rng(m * 100 + n)
    keep = {}
    for name, x in matrix_types(rng, m, n, dtype).items():
        a = x.astype(dtype)
        keep = a.copy()
        u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
        k = min(m, n)
        assert u.shape == (m, k) and s.shape == (k,) and vt.shape == (k, n) and u.dtype == vt.dtype == dtype and s.dtype == np.finfo(dtype).dtype
        d = lapack_ai.last_decision()
        if name in DECLINED:
            declined(m, n, dtype)
        elif name not in EITHER:
            assert d.strategy == "opencl" and d.kernel == kernel(m, n), f"{name}: {d}"
        r = ratios(a, u, s, vt)
        assert max(r) <= THRESHOLD, f"{name} {m}x{n} {np.dtype(dtype).name} ({d.strategy}): ratios {r}"
        check_values(s, a)
        np.testing.assert_array_equal(a, keep)  # input untouched
    # Values only: the same passes without the last product.
    a = with_values(rng, m, n, np.linspace(2.0, 1.0, min(m, n))).astype(dtype)
    s = lapack_ai.svdvals(a, device=SEL)
    ran_on_device(m, n)
    check_values(s, a)


def test_ill_conditioned_takes_more_passes_and_stays_accurate():
    """cond 1e6 and 1e12 (float64): past CholeskyQR2's reach (1e8) the shifted first pass and
    a third pass take over; the ratios stay LAPACK's."""
    rng = np.random.default_rng(3)
    for cond in (1e6, 1e12):
        a = with_values(rng, 3000, 24, np.geomspace(1.0, 1.0 / cond, 24))
        u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
        ran_on_device(3000, 24)
        assert max(ratios(a, u, s, vt)) <= THRESHOLD, cond
        check_values(s, a)


def logged(caplog, call):
    """call() with debug records caught: its result and the svd_tall records."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="lapack_ai"):
        lapack_ai.reset_log_cache()
        out = call()
    lapack_ai.reset_log_cache()
    return out, [r.getMessage() for r in caplog.records if "svd_tall" in r.getMessage()]


def passes_log(caplog, a):
    """svd of `a` on the device, thin, and its svd_tall records."""
    out = logged(caplog, lambda: lapack_ai.svd(a, full_matrices=False, device=SEL))
    ran_on_device(*a.shape)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.complex64])
def test_well_conditioned_takes_the_eigh_shortcut(dtype, caplog):
    """cond 1.5: G = V L V^H on the host and U = X V L^(-1/2), kept because U^H U is within
    16 n ulp of the identity; no Cholesky pass. cond 3 (L's spread 9, past the shortcut's 4)
    and 1e3 take CholeskyQR's passes. LAPACK's ratios and values either way, tall and wide."""
    rng = np.random.default_rng(11)
    cx = np.dtype(dtype).kind == "c"
    for cond, short in ((1.5, True), (3.0, False), (1e3, False)):
        a = with_values(rng, 3000, 24, np.geomspace(1.0, 1.0 / cond, 24), cx).astype(dtype)
        for x in (a, a.T):
            (u, s, vt), log = passes_log(caplog, x)
            assert any(r.endswith(", kept") for r in log) == short, (cond, log)
            assert any("pass 1:" in r for r in log) != short, (cond, log)
            assert max(ratios(x, u, s, vt)) <= THRESHOLD, cond
            check_values(s, x)
    # without U: the shortcut still forms U to check it, and returns the values alone
    b = with_values(rng, 3000, 24, np.linspace(1.0, 0.8, 24), cx).astype(dtype)
    s_only, log = logged(caplog, lambda: lapack_ai.svd(b, compute_uv=False, device=SEL))
    ran_on_device(3000, 24)
    assert any(r.endswith(", kept") for r in log), log
    check_values(s_only, b)


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_a_rejected_shortcut_hands_over_to_the_passes(dtype, monkeypatch, caplog):
    """With the shortcut's tolerance at 0 n ulp (LAPACK_AI_SVD_TALL_SHORTCUT_ULPS=0) its U is
    computed, checked and dropped: CholeskyQR's passes, reusing its buffer, give the answer to
    LAPACK's ratios, tall and wide. (Unset, the same matrices keep it.)"""
    monkeypatch.setenv("LAPACK_AI_SVD_TALL_SHORTCUT_ULPS", "0")
    rng = np.random.default_rng(5)
    a = with_values(rng, 3000, 24, np.linspace(1.0, 0.7, 24), np.dtype(dtype).kind == "c").astype(dtype)
    for x in (a, a.T):
        (u, s, vt), log = passes_log(caplog, x)
        assert any(r.endswith("CholeskyQR instead") for r in log) and any("pass 2:" in r for r in log), log
        assert max(ratios(x, u, s, vt)) <= THRESHOLD
        check_values(s, x)
    monkeypatch.delenv("LAPACK_AI_SVD_TALL_SHORTCUT_ULPS")
    _, log = passes_log(caplog, a)
    assert any(r.endswith(", kept") for r in log), log


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_single_precision_accumulates_in_double(dtype, monkeypatch):
    """float32 and complex64 at 8e5 entries (where the shifted pass's shift exceeds ||X||^2 in
    single precision): with the Gram matrices and products accumulated in double (a device
    with fp64, PoCL's too) cond up to 1e7 runs on the device to LAPACK's ratios; accumulated
    in single (LAPACK_AI_SVD_TALL_WIDE=0, as on a device without fp64) cond 1e4 is already
    declined to the CPU, right either way."""
    rng = np.random.default_rng(7)
    cx = np.dtype(dtype).kind == "c"
    mats = [with_values(rng, 20000, 40, np.geomspace(1.0, 1.0 / c, 40), cx).astype(dtype) for c in (1e4, 1e7)]
    for a in mats:
        u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
        if DEV.fp64:
            ran_on_device(20000, 40)
        assert max(ratios(a, u, s, vt)) <= THRESHOLD
        check_values(s, a)
    monkeypatch.setenv("LAPACK_AI_SVD_TALL_WIDE", "0")
    a = mats[0]
    u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
    assert "did not settle" in declined(20000, 40, dtype).reason
    assert max(ratios(a, u, s, vt)) <= THRESHOLD


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exactly_rank_deficient_columns(dtype):
    """Repeated and proportional columns: Q1's Gram is singular, and a Cholesky factor that
    holds by rounding (cond 1e11) must not be inverted as it is: the shifted factor takes over,
    pass after pass, and the result is LAPACK-accurate on the device (float64; float32, whose
    shift gains less per pass, may run out of passes and be declined to the CPU)."""
    for seed in range(6):
        rng = np.random.default_rng(seed)
        a = rng.standard_normal((400, 20))
        a[:, 5] = a[:, 3]
        a[:, 7] = 2 * a[:, 1]
        a = a.astype(dtype)
        u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
        if dtype == np.float64:
            ran_on_device(400, 20)
        assert max(ratios(a, u, s, vt)) <= THRESHOLD, seed
        check_values(s, a)
        assert s[-1] <= 35 * 20 * np.finfo(dtype).eps * s[0]  # two zero singular values


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False), min_size=50 * 5,
                max_size=50 * 5),
       st.integers(min_value=-1000, max_value=1000), st.lists(st.integers(min_value=-20, max_value=20), min_size=5, max_size=5))
def test_any_scale_and_column_scaling(values, exponent, column_exponents):
    """50x5 float64 with entries of any size, scaled by 2^exponent (out to near underflow and
    overflow, where the Gram matrix would under- or overflow unscaled) and columns by up to
    2^+-20: on the device, or (rarely: a column scaled to nothing) declined to the CPU; right
    either way."""
    a = np.array(values).reshape(50, 5) * np.exp2(np.array(column_exponents, float))
    with np.errstate(all="ignore"):
        a = np.ldexp(a, exponent)
        if not np.isfinite(a).all() or not np.isfinite(np.linalg.svd(a, compute_uv=False)).all():
            return  # overflowed while building the input, or its norm does
    u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
    assert max(ratios(a, u, s, vt)) <= THRESHOLD
    check_values(s, a)


def test_underflow_and_overflow_scales_run_on_the_device():
    rng = np.random.default_rng(4)
    base = with_values(rng, 400, 16, np.linspace(1.0, 0.5, 16))
    for e in (-1000, -600, 600, 1000):  # -1000: the Gram matrix underflows unscaled
        a = np.ldexp(base, e)
        u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
        ran_on_device(400, 16)
        assert max(ratios(a, u, s, vt)) <= THRESHOLD, e
        check_values(s, a)


# ---- layouts, stacks, jobs ----

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("layout", ["F", "strided", "negative", "broadcast", "fortran"])
def test_layouts_and_stacks(layout, dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 160, 12)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        x += 1j * rng.standard_normal(x.shape)
    a = np.asfortranarray(x) if layout == "fortran" else as_layout(x, layout)
    u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
    ran_on_device(160, 12)
    assert u.shape == (2, 3, 160, 12) and s.shape == (2, 3, 12) and vt.shape == (2, 3, 12, 12)
    for i in np.ndindex(2, 3):
        assert max(ratios(a[i], u[i], s[i], vt[i])) <= THRESHOLD
    check_values(s, np.ascontiguousarray(a))
    if layout == "broadcast":  # one matrix moves once
        assert lapack_ai.last_decision().bytes_to_device == 160 * 12 * np.dtype(dtype).itemsize


def test_a_declined_matrix_sends_the_whole_stack_to_the_cpu():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((3, 200, 10))
    a[1] = 0.0
    u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
    d = declined(200, 10, np.float64)
    assert "matrix 1 of the stack: it is zero" in d.reason
    for i in range(3):
        assert max(ratios(a[i], u[i], s[i], vt[i])) <= THRESHOLD
    check_values(s, a)


def test_full_matrices_stay_on_the_cpu_and_say_why():
    a = np.random.default_rng(7).standard_normal((200, 10))
    with pytest.raises(DeviceError, match=r"square U and V\^T \(full_matrices=True\) for matrices up to 64x64 only, not 200x10"):
        lapack_ai.svd(a, device=SEL)
    with pytest.raises(DeviceError, match=r"full_matrices=True\) for matrices up to 64x64 only, not 200x10 complex128"):
        lapack_ai.svd(a.astype(complex), device=SEL)  # the same reason, not "real-only"
    d = lapack_ai.explain("svd", (200, 10))  # numpy's default: full_matrices=True
    assert d.strategy == "cpu"
    thin = lapack_ai.explain("svd", (200, 10), device=SEL, full_matrices=False)
    assert thin.strategy == "opencl" and "requested" in thin.reason


# ---- NaN and Inf: the CPU's errors ----

@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
@pytest.mark.parametrize("check_finite", [True, False])
def test_non_finite_input_is_refused_as_on_the_cpu(check_finite, dtype):
    a = np.random.default_rng(8).standard_normal((3, 120, 6)).astype(dtype)
    a[2, 100, 1], a[1, 3, 5] = np.inf, np.nan
    if np.dtype(dtype).kind == "c":  # in the imaginary parts
        a[2, 100, 1], a[1, 3, 5] = complex(1, np.inf), complex(0, np.nan)
    for x in (a, a[2:]):  # NaN first, then only the Inf
        errs = []
        for dev in ("cpu", SEL):
            with pytest.raises(NonFiniteError) as ei:
                lapack_ai.svd(x, full_matrices=False, device=dev, check_finite=check_finite)
            errs.append(ei.value)
        cpu, ocl = errs
        assert (ocl.batch, ocl.first_index, str(ocl)) == (cpu.batch, cpu.first_index, str(cpu))
        assert ocl.batch == ((1,) if x is a else (0,))


# ---- dispatch: by size, CPU until calibrated ----

def test_auto_keeps_tall_matrices_on_the_cpu_until_calibrated():
    d = lapack_ai.explain("svd", (100_000, 64), full_matrices=False)
    assert d.strategy == "cpu" and "tall-skinny SVDs stay on the CPU" in d.reason and "not calibrated" in d.reason, d.reason
    a = np.random.default_rng(9).standard_normal((600, 20))
    lapack_ai.svd(a, full_matrices=False)
    assert lapack_ai.last_decision().strategy == "cpu"
    # Neither small nor tall-skinny: no kernel.
    wide = lapack_ai.explain("svd", (700, 200), full_matrices=False)
    assert wide.strategy == "cpu" and "tall-skinny ones" in wide.reason


def test_calibrated_size_crossover_drives_auto():
    _core.set_crossover(DEV.index, "svd_tall", "float64", 100)  # the cube root of m n^2
    lapack_ai.reload_settings()
    above = lapack_ai.explain("svd", (8000, 16), full_matrices=False)  # size 127
    assert above.strategy == "opencl" and "measured crossover n=100" in above.reason, above.reason
    below = lapack_ai.explain("svd", (1000, 16), full_matrices=False)  # size 63
    assert below.strategy == "cpu" and "(the smallest: n=100)" in below.reason, below.reason
    # Wide weighs as its transpose: max(m, n) min(m, n)^2.
    assert lapack_ai.explain("svd", (16, 1000), full_matrices=False).strategy == "cpu"
    a = np.random.default_rng(10).standard_normal((16, 8000))  # wide: its transpose is tall
    with lapack_ai.measure("svd") as m:
        s = lapack_ai.svdvals(a)  # auto
    ran_on_device(16, 8000)
    check_values(s, a)
    (rec,) = m.records
    assert rec.backend == "opencl" and rec.routine == f"opencl svd ({kernel(16, 8000)})"


def test_calibrate_measures_tall_svds():
    r = lapack_ai.calibrate(devices=[DEV.index], sizes=(), dtypes=("float64", "complex64"), small_counts=(), eigh_counts=(),
                            svd_counts=(), svd_tall_rows=(256, 1024), repeats=1, progress=False)
    assert set(r["crossovers"]) == {(DEV.index, "float64", "svd_tall"), (DEV.index, "complex64", "svd_tall")}
    assert [t["svd_tall"] for t in r["timings"]] == [(256, 64), (1024, 64)] * 2
    assert all(t["cpu_s"] > 0 and t["device_s"] > 0 for t in r["timings"])
    cross = r["crossovers"][(DEV.index, "float64", "svd_tall")]
    assert cross in (None, 102, 161)
    assert _core.crossover(DEV.index, "svd_tall", "float64") == (cross if cross is not None else 2**64 - 1)


# ---- failures: each falls back to the CPU with a warning ----

@pytest.mark.parametrize("fault,kind", [("alloc", "out-of-memory"), ("launch", "out-of-memory"), ("build", "build"),
                                        ("lost", "device-lost")])
def test_fault_falls_back_to_cpu_with_a_warning(fault, kind):
    a = np.random.default_rng(11).standard_normal((300, 9))
    _core.inject_fault(fault)
    match = "disabled for the rest of this process" if fault == "lost" else "svd on OpenCL device .* computed on the CPU"
    with pytest.warns(DeviceFallbackWarning, match=match):
        u, s, vt = lapack_ai.svd(a, full_matrices=False, device=SEL)
    assert max(ratios(a, u, s, vt)) <= THRESHOLD
    d = lapack_ai.last_decision()
    assert d.strategy == "cpu-fallback" and kind in d.reason, d
    _core.inject_fault(None, reset=True)
    lapack_ai.svd(a, full_matrices=False, device=SEL)
    ran_on_device(300, 9)


# ---- the kernel-timing binding (benchmarks) ----

def test_kernel_times(caplog):
    name, wall, kern, host = _core.svd_tall_kernel_times(DEV.index, 2000, 24, "float64", 2)
    assert name == kernel(2000, 24) and len(wall) == len(kern) == len(host) == 2
    assert all(0 < k <= w and 0 < h <= w for w, k, h in zip(wall, kern, host))
    # random: the well-conditioned shortcut; columns graded to cond 1e4: CholeskyQR's passes
    for cond, short in ((1.0, True), (1e4, False)):
        _, log = logged(caplog, lambda: _core.svd_tall_kernel_times(DEV.index, 2000, 24, "float64", 1, cond=cond))
        assert any(m.endswith(", kept") for m in log) == short and any("pass 2:" in m for m in log) != short, (cond, log)
    name, wall, _, _ = _core.svd_tall_kernel_times(DEV.index, 400, 20, "float32", 1, vectors=False)
    assert name == kernel(400, 20) and len(wall) == 1
    with pytest.raises(RuntimeError, match="m >= 4 n"):
        _core.svd_tall_kernel_times(DEV.index, 100, 40, "float64", 1)
    name, wall, _, _ = _core.svd_tall_kernel_times(DEV.index, 400, 20, "complex128", 1)
    assert name == kernel(400, 20) and len(wall) == 1
    with pytest.raises(ValueError, match="dtype"):
        _core.svd_tall_kernel_times(DEV.index, 400, 4, "int64", 1)


# ---- LAPACK-style: dgesvdocl / sgesvdocl ----

def test_gesvdocl_jobs_on_the_device():
    rng = np.random.default_rng(12)
    a = rng.standard_normal((400, 20))
    u, s, vt = lapack_ai.lapack.dgesvdocl(a, "S", "S", device=SEL)
    ran_on_device(400, 20)
    assert u.shape == (400, 20) and vt.shape == (20, 20) and max(ratios(a, u, s, vt)) <= THRESHOLD
    u, s32, vt = lapack_ai.lapack.sgesvdocl(a.T, "N", "N", device=SEL)
    ran_on_device(20, 400)
    assert u is None and vt is None and s32.dtype == np.float32
    check_values(s32, a.T.astype(np.float32))
    u, s, vt = lapack_ai.lapack.dgesvdocl(a[:30, :5], "A", "A", device=SEL)  # small: square U too
    assert u.shape == (30, 30) and vt.shape == (5, 5) and lapack_ai.last_decision().kernel == "svd-jacobi-30x5"
    with pytest.raises(DeviceError, match="tall-skinny ones like it run with full_matrices=False"):
        lapack_ai.lapack.dgesvdocl(a, "A", "S", device=SEL)  # a 400 x 400 U
    u, s, vt = lapack_ai.lapack.dgesvdocl(a, "S", "A", device=SEL)  # V^T is 20 x 20 either way
    ran_on_device(400, 20)
    assert vt.shape == (20, 20) and max(ratios(a, u, s, vt)) <= THRESHOLD
    with pytest.raises(ValueError, match="'A', 'S' or 'N'"):
        lapack_ai.lapack.dgesvdocl(a, "O", "S", device=SEL)
    with pytest.raises(ValueError, match="device must be 'opencl'"):
        lapack_ai.lapack.dgesvdocl(a, "S", "S", device="cpu")
