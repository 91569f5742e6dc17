"""Stacks of small products (every dimension up to 16) on the OpenCL small-product kernel
(kernels/gemm_small.cl, rust/core/src/opencl/gemm_small.rs) on whatever OpenCL device this
machine has (PoCL, a CPU driver, in CI): results against NumPy over shapes, dtypes, transposes,
alpha/beta, layouts, broadcast operands, batch dimensions and group remainders for each kernel
variant; how dispatch weighs such stacks (by their count, not their size); fallbacks on every
injected fault; the kernel-timing binding; calibration of the count crossover."""

import json
import os

import numpy as np
import pytest

import lapack_ai
from lapack_ai import DeviceFallbackWarning, _core

from conftest import as_layout, opencl_device

DEV = opencl_device(module=True)
SEL = DEV.selector
COUNT = 1000 + 7  # several work-groups of every variant, the last one partly filled
VARIANTS = ["element", "matrix", "direct"]


CROSSOVERS = os.path.join(os.environ["LAPACK_AI_CACHE_DIR"], "crossover.json")


def read_crossovers():
    if not os.path.exists(CROSSOVERS):
        return None
    with open(CROSSOVERS) as f:
        return json.load(f)


def write_crossovers(stored):
    if stored is None:
        if os.path.exists(CROSSOVERS):
            os.remove(CROSSOVERS)
        return
    with open(CROSSOVERS, "w") as f:
        json.dump(stored, f)


@pytest.fixture(autouse=True)
def clean_runtime():
    """No injected fault, devices enabled, no small-stack crossover stored, env settings
    re-read; the crossovers a test stored are put back as they were."""
    _core.inject_fault(None, reset=True)
    before = read_crossovers()
    if before:  # there is no API to un-calibrate
        write_crossovers({dev: {k: v for k, v in per.items() if not k.startswith("gemm_small/")} for dev, per in before.items()})
    lapack_ai.reload_settings()
    yield
    _core.inject_fault(None, reset=True)
    write_crossovers(before)
    lapack_ai.reload_settings()


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def reference(a, b, c, alpha, beta, ta=False, tb=False):
    oa = np.swapaxes(a, -1, -2) if ta else a
    ob = np.swapaxes(b, -1, -2) if tb else b
    r = alpha * (oa.astype(np.float64) @ ob.astype(np.float64))
    return r if c is None or beta == 0 else r + beta * c.astype(np.float64)


def check(got, want, dtype, k):
    """A dot product of length k: k eps relative to the largest entry, at worst."""
    assert got.shape == want.shape and got.dtype == dtype
    if want.size == 0:
        return
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got.astype(np.float64) - want).max())
    assert err <= 4 * np.finfo(dtype).eps * max(k, 1) * scale, f"error {err:.3g} (k={k}, {np.dtype(dtype).name})"


def ran_small(m, n, k, variant="element"):
    """The last call ran the small-product kernel (named with the caller's m x n x k)."""
    d = lapack_ai.last_decision()
    assert d.strategy == "opencl" and d.device_index == DEV.index, d
    assert d.kernel == f"small-{m}x{n}x{k}-{variant}", d
    return d


# Every shape is a kernel build (about a second on PoCL): float64 takes the whole sample,
# float32 a part of it.
SHAPES = [(m, n, k, np.float64) for m, n, k in [(1, 1, 1), (3, 3, 3), (4, 4, 4), (5, 5, 5), (8, 8, 8), (16, 16, 16),
                                                (2, 3, 5), (16, 1, 7), (1, 16, 16), (13, 6, 11)]]
SHAPES += [(m, n, k, np.float32) for m, n, k in [(1, 1, 1), (4, 4, 4), (8, 8, 8), (16, 16, 16), (7, 16, 2)]]


@pytest.mark.parametrize("m,n,k,dtype", SHAPES)
def test_stacks_match_numpy(m, n, k, dtype):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a, b, c = rand(rng, (COUNT, m, k), dtype), rand(rng, (COUNT, k, n), dtype), rand(rng, (COUNT, m, n), dtype)
    want = reference(a, b, c, 1.5, -0.5)
    keep = (a.copy(), b.copy())
    assert lapack_ai.gemm(a, b, c, alpha=1.5, beta=-0.5, device=SEL) is c  # in place
    check(c, want, dtype, k)
    d = ran_small(m, n, k)
    assert d.bytes_to_device == (a.size + b.size + c.size) * a.itemsize  # C read: beta != 0
    assert d.bytes_from_device == c.size * a.itemsize
    np.testing.assert_array_equal(a, keep[0])
    np.testing.assert_array_equal(b, keep[1])
    out = lapack_ai.gemm(a, b, device=SEL)  # a new C, never read
    check(out, reference(a, b, None, 1.0, 0.0), dtype, k)
    assert ran_small(m, n, k).bytes_to_device == (a.size + b.size) * a.itemsize


@pytest.mark.parametrize("ta,tb", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposes(ta, tb, dtype):
    rng = np.random.default_rng(4)
    m, n, k = 3, 5, 4
    a = rand(rng, (203, k, m) if ta else (203, m, k), dtype)
    b = rand(rng, (203, n, k) if tb else (203, k, n), dtype)
    c = rand(rng, (203, m, n), dtype)
    want = reference(a, b, c, 0.5, 2.0, ta, tb)
    lapack_ai.gemm(a, b, c, alpha=0.5, beta=2.0, trans_a=ta, trans_b=tb, device=SEL)
    check(c, want, dtype, k)
    ran_small(m, n, k)


def fortran(x):
    """The whole stack in Fortran order: no matrix is contiguous (the host copies it)."""
    return np.asfortranarray(x)


# F: each matrix column-major, the stack dense (uploaded as it lies; a column-major C is the
# transposed product); strided, negative and Fortran-ordered stacks are copied on the host
# (C too, and written back).
@pytest.mark.parametrize("la,lb,lc", [("F", "F", "C"), ("F", "C", "F"), ("C", "F", "F"), ("strided", "negative", "strided"),
                                      ("fortran", "F", "fortran"), ("negative", "fortran", "C")])
def test_layouts(la, lb, lc):
    rng = np.random.default_rng(6)
    m, n, k = 4, 4, 4
    lay = lambda x, layout: fortran(x) if layout == "fortran" else as_layout(x, layout)  # noqa: E731
    a, b, c = lay(rand(rng, (37, m, k), np.float64), la), lay(rand(rng, (37, k, n), np.float64), lb), lay(rand(rng, (37, m, n), np.float64), lc)
    want = reference(a, b, c, -1.0, 0.75)
    base = c.base if c.base is not None else c
    before = base.copy()
    lapack_ai.gemm(a, b, c, alpha=-1.0, beta=0.75, device=SEL)
    check(c, want, np.float64, k)
    ran_small(m, n, k)
    if lc == "strided":  # the parent array's other elements are untouched
        mask = np.ones(base.shape, bool)
        mask[..., 1::2, ::3][..., :m, :n] = False
        np.testing.assert_array_equal(base[mask], before[mask])


def test_batch_dimensions_and_single_products():
    rng = np.random.default_rng(7)
    a, b = rand(rng, (3, 5, 4, 4), np.float64), rand(rng, (3, 5, 4, 4), np.float64)
    check(lapack_ai.gemm(a, b, device=SEL), reference(a, b, None, 1.0, 0.0), np.float64, 4)
    ran_small(4, 4, 4)
    a1, b1 = rand(rng, (3, 1, 4, 4), np.float64), rand(rng, (1, 5, 4, 4), np.float64)  # batch axes broadcast
    check(lapack_ai.gemm(a1, b1, device=SEL), reference(a1, b1, None, 1.0, 0.0), np.float64, 4)
    ran_small(4, 4, 4)
    a2, b2 = rand(rng, (4, 4), np.float64), rand(rng, (4, 4), np.float64)  # one product: the same kernel
    check(lapack_ai.gemm(a2, b2, device=SEL), a2 @ b2, np.float64, 4)
    assert ran_small(4, 4, 4).bytes_from_device == 16 * 8


def test_empty_stacks_and_nothing_to_multiply():
    out = lapack_ai.gemm(np.ones((0, 4, 4)), np.ones((0, 4, 4)), device=SEL)
    assert out.shape == (0, 4, 4)
    assert "nothing to multiply" in lapack_ai.last_decision().reason
    assert lapack_ai.gemm(np.ones((5, 0, 4)), np.ones((5, 4, 3)), device=SEL).shape == (5, 0, 3)
    c = np.full((5, 4, 3), 2.0)
    lapack_ai.gemm(np.ones((5, 4, 0)), np.ones((5, 0, 3)), c, beta=0.5, device=SEL)  # k = 0: C = beta C
    np.testing.assert_array_equal(c, np.ones((5, 4, 3)))


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants(variant, monkeypatch):
    """Each kernel variant (LAPACK_AI_SMALL_GEMM_VARIANT): shapes with vector loads and with
    scalar tails, a partly filled last group, both dtypes, beta != 0, beta = 0 with NaN in C
    (never read), and one operand broadcast over the stack (batch stride 0)."""
    monkeypatch.setenv("LAPACK_AI_SMALL_GEMM_VARIANT", variant)
    rng = np.random.default_rng(8)
    for (m, n, k), dtype in [((4, 4, 4), np.float64), ((4, 4, 4), np.float32), ((3, 5, 7), np.float64),
                             ((16, 16, 16), np.float64)]:
        a, b, c = rand(rng, (COUNT, m, k), dtype), rand(rng, (COUNT, k, n), dtype), rand(rng, (COUNT, m, n), dtype)
        want = reference(a, b, c, 2.0, -1.0)
        lapack_ai.gemm(a, b, c, alpha=2.0, beta=-1.0, device=SEL)
        check(c, want, dtype, k)
        ran_small(m, n, k, variant)
        nan = np.full((COUNT, m, n), np.nan, dtype)
        lapack_ai.gemm(a, b, nan, alpha=-0.5, beta=0.0, device=SEL)
        check(nan, reference(a, b, None, -0.5, 0.0), dtype, k)
    m, n, k = 4, 4, 4
    a, b1 = rand(rng, (COUNT, m, k), np.float64), rand(rng, (k, n), np.float64)
    check(lapack_ai.gemm(a, b1, device=SEL), a @ b1, np.float64, k)  # one B for every A
    d = ran_small(m, n, k, variant)
    assert d.bytes_to_device == (a.size + b1.size) * 8  # the broadcast B moves once
    a1, b = rand(rng, (m, k), np.float64), rand(rng, (COUNT, k, n), np.float64)
    check(lapack_ai.gemm(a1, b, device=SEL), a1 @ b, np.float64, k)  # one A for every B
    ran_small(m, n, k, variant)


def test_tuning_knobs_and_an_unknown_variant(monkeypatch, caplog):
    """Rows per work-item, matrices per group and vector width as set (R = 2 of 4 rows, 50
    matrices rounded up to whole rounds, 4-wide loads of float64); an unknown variant name is
    logged and the default runs."""
    rng = np.random.default_rng(9)
    a, b, c = rand(rng, (COUNT, 4, 4), np.float64), rand(rng, (COUNT, 4, 4), np.float64), rand(rng, (COUNT, 4, 4), np.float64)
    monkeypatch.setenv("LAPACK_AI_SMALL_GEMM_ROWS", "2")
    monkeypatch.setenv("LAPACK_AI_SMALL_GEMM_MPG", "50")
    monkeypatch.setenv("LAPACK_AI_SMALL_GEMM_VW", "4")
    want = reference(a, b, c, 1.0, 1.0)
    lapack_ai.gemm(a, b, c, beta=1.0, device=SEL)
    check(c, want, np.float64, 4)
    ran_small(4, 4, 4)
    for var in ("LAPACK_AI_SMALL_GEMM_ROWS", "LAPACK_AI_SMALL_GEMM_MPG", "LAPACK_AI_SMALL_GEMM_VW"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("LAPACK_AI_SMALL_GEMM_VARIANT", "tiles")
    lapack_ai.reset_log_cache()
    with caplog.at_level("WARNING", logger="lapack_ai"):
        check(lapack_ai.gemm(a, b, device=SEL), a @ b, np.float64, 4)
    ran_small(4, 4, 4, "element")
    assert "LAPACK_AI_SMALL_GEMM_VARIANT" in caplog.text


# ---- dispatch: small stacks are weighed by their count ----

def test_auto_keeps_small_stacks_on_the_cpu_until_calibrated():
    big = lapack_ai.explain("gemm", (1 << 22, 4, 4), (1 << 22, 4, 4))
    assert big.strategy == "cpu" and "calibrate() measures it" in big.reason and "not calibrated" in big.reason
    _core.set_crossover(DEV.index, "gemm", "float64", 8)  # a size crossover does not apply to them
    lapack_ai.reload_settings()
    assert lapack_ai.explain("gemm", (1 << 22, 4, 4), (1 << 22, 4, 4)).strategy == "cpu"
    assert lapack_ai.explain("gemm", (64, 64), (64, 64)).strategy == "opencl"  # ... but to larger products
    a = np.random.default_rng(1).standard_normal((4096, 4, 4))
    check(lapack_ai.gemm(a, a), a @ a, np.float64, 4)
    assert lapack_ai.last_decision().strategy == "cpu"
    forced = lapack_ai.explain("gemm", (4096, 4, 4), (4096, 4, 4), device=SEL)
    assert forced.strategy == "opencl" and "4096 x 4x4x4 float64" in forced.reason and "requested" in forced.reason


def test_calibrated_count_crossover_drives_auto():
    _core.set_crossover(DEV.index, "gemm_small", "float64", 1000)
    lapack_ai.reload_settings()
    above = lapack_ai.explain("gemm", (4096, 8, 8), (4096, 8, 8))
    assert above.strategy == "opencl" and above.device_index == DEV.index
    assert "measured crossover of 1000 products" in above.reason, above.reason
    below = lapack_ai.explain("gemm", (999, 4, 4), (999, 4, 4))
    assert below.strategy == "cpu" and "1000 products" in below.reason, below.reason
    assert lapack_ai.explain("gemm", (4096, 4, 4), (4096, 4, 4), dtype="float32").strategy == "cpu"  # per dtype
    assert lapack_ai.explain("gemm", (4096, 17, 4), (4096, 4, 4)).strategy == "cpu"  # 17 rows: weighed by size
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((1500, 4, 4)), rng.standard_normal((1500, 4, 4))
    check(lapack_ai.gemm(a, b), a @ b, np.float64, 4)  # auto
    ran_small(4, 4, 4)
    _core.set_crossover(DEV.index, "gemm_small", "float64", None)  # measured: never won
    never = lapack_ai.explain("gemm", (1 << 20, 4, 4), (1 << 20, 4, 4))
    assert never.strategy == "cpu"
    assert any(v.get("gemm_small/float64") == 2**64 - 1 for v in read_crossovers().values())


def test_calibrate_measures_small_stacks():
    _core.set_crossover(DEV.index, "gemm", "float64", 77)
    r = lapack_ai.calibrate(devices=[DEV.index], sizes=(), dtypes=("float64",), small_counts=(64, 256), eigh_counts=(), svd_counts=(),
                            svd_tall_rows=(), repeats=1, progress=False)
    assert set(r["crossovers"]) == {(DEV.index, "float64", "gemm_small")}
    assert [t["count"] for t in r["timings"]] == [64, 256]
    assert all(t["shape"] == (4, 4, 4) and t["cpu_s"] > 0 and t["device_s"] > 0 for t in r["timings"])
    cross = r["crossovers"][(DEV.index, "float64", "gemm_small")]
    assert cross in (None, 64, 256)
    assert _core.crossover(DEV.index, "gemm_small", "float64") == (cross if cross is not None else 2**64 - 1)
    assert _core.crossover(DEV.index, "gemm", "float64") == 77  # an empty ladder keeps what was stored


# ---- failures: each falls back to the CPU with a warning, C never half-written ----

@pytest.mark.parametrize("fault,kind", [("alloc", "out-of-memory"), ("launch", "out-of-memory"), ("build", "build"),
                                        ("lost", "device-lost")])
def test_fault_falls_back_to_cpu_with_a_warning(fault, kind):
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((COUNT, 4, 4)), rng.standard_normal((COUNT, 4, 4)), rng.standard_normal((COUNT, 4, 4))
    want = reference(a, b, c, 1.0, 0.5)
    _core.inject_fault(fault)
    match = "disabled for the rest of this process" if fault == "lost" else "computed on the CPU"
    with pytest.warns(DeviceFallbackWarning, match=match):
        lapack_ai.gemm(a, b, c, beta=0.5, device=SEL)
    check(c, want, np.float64, 4)  # beta != 0: C was read once, by the CPU
    d = lapack_ai.last_decision()
    assert d.strategy == "cpu-fallback" and kind in d.reason, d
    _core.inject_fault(None, reset=True)
    lapack_ai.gemm(a, b, c, device=SEL)
    ran_small(4, 4, 4)


# ---- the kernel-timing binding (benchmarks) ----

def test_kernel_times():
    name, times = _core.gemm_small_kernel_times(DEV.index, 300, 4, 4, 4, "float64", 3, "matrix")
    assert name == "small-4x4x4-matrix" and len(times) == 3 and all(t > 0 for t in times)
    name, times = _core.gemm_small_kernel_times(DEV.index, COUNT, 4, 4, 4, "float64", 1, beta=1.0)
    assert name == "small-4x4x4-element" and len(times) == 1
    with pytest.raises(ValueError, match="variant"):
        _core.gemm_small_kernel_times(DEV.index, 10, 4, 4, 4, "float64", 1, "tiles")
    with pytest.raises(RuntimeError, match="up to 16"):
        _core.gemm_small_kernel_times(DEV.index, 10, 17, 4, 4, "float64", 1)
