"""gemm_alpha through the public API, on real OpenBLAS and (where there is one) a real OpenCL
device (PoCL in CI): every offered 4x4 scheme gives exactly a @ b on integer-valued float64
matrices (every partial sum is exact, so any wrong coefficient, block or peeled edge shows),
its rounding on random input stays near the standard product's, gemm's whole contract holds,
``scheme=`` and the measured CPU crossover decide as documented (and ``explain`` says so),
device failures fall back to the CPU without double-updating a stack, the LAPACK-style
``dgemm_alpha``/``sgemm_alpha`` agree with SciPy's ``dgemm``/``sgemm``, metrics record the call,
and a product too large for memory raises instead of aborting.

The OpenCL tests compile each scheme's generated kernels once per process (PoCL keeps its own
binary cache, so re-runs are fast); float32 on the device is limited to two schemes for that
reason."""

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import lapack_ai as la
from lapack_ai import DeviceError, DeviceFallbackWarning, DTypeError, ShapeError, _core

from conftest import as_layout

SCHEMES = [s["name"] for s in la.schemes()]
# Sizes of every kind: multiples of 4 (one level, no peeling), remainders in one, two or all
# three dimensions (peeled rows, columns and inner terms), and a dimension below 4 (no 4x4
# grid: the standard product).
SIZES = [(4, 4, 4), (16, 16, 16), (13, 10, 9), (17, 21, 19), (20, 8, 12), (12, 9, 16), (8, 16, 11),
         (3, 12, 8), (12, 2, 8), (8, 12, 3)]


@pytest.fixture(autouse=True)
def no_fault():
    """No injected fault leaks into or out of a test (a failing assertion included)."""
    _core.inject_fault(None)
    yield
    _core.inject_fault(None)


@pytest.fixture(params=["cpu", "opencl"])
def device(request):
    """``device=`` for the backend under test: the CPU, or the OpenCL test device (skipped
    without one, as conftest's opencl_sel does)."""
    return "cpu" if request.param == "cpu" else request.getfixturevalue("opencl_sel")


@pytest.fixture
def isolated_cache(tmp_path):
    """A cache directory of this test's own (crossover.json starts empty), restored after."""
    old = os.environ.get("LAPACK_AI_CACHE_DIR")
    os.environ["LAPACK_AI_CACHE_DIR"] = str(tmp_path)
    la.reload_settings()
    try:
        yield tmp_path
    finally:
        if old is None:
            del os.environ["LAPACK_AI_CACHE_DIR"]
        else:
            os.environ["LAPACK_AI_CACHE_DIR"] = old
        la.reload_settings()


def ints(rng, shape, dtype=np.float64):
    return rng.integers(-4, 5, shape).astype(dtype)


def exact(a, b, c=None, alpha=1, beta=0, ta=False, tb=False):
    """alpha op(a) op(b) + beta c in exact integer (then float64) arithmetic, over stacks."""
    oa = np.swapaxes(a, -1, -2) if ta else a
    ob = np.swapaxes(b, -1, -2) if tb else b
    r = alpha * (oa.astype(np.int64) @ ob.astype(np.int64))
    return r.astype(np.float64) if c is None or beta == 0 else r + beta * c.astype(np.float64)


def is_opencl(device):
    return device.startswith("opencl")


def ran(name, device):
    """Assert the last call ran scheme ``name`` (or the standard product for None) on ``device``.
    On OpenCL, products up to 16x16x16 run the standard product on the batched kernel."""
    d = la.last_decision()
    dims = re.search(r"(\d+)x(\d+)x(\d+) float", d.reason)
    if is_opencl(device) and name and dims and max(map(int, dims.groups())) <= 16:
        assert "scheme: standard (products up to 16x16x16 run the batched small-product kernel)" in d.reason, d.reason
        assert d.strategy == "opencl" and d.kernel.startswith("small-"), d
        return
    want = f"scheme: {name} (" if name else "scheme: standard ("
    assert want in d.reason, d.reason
    assert d.strategy == ("opencl" if is_opencl(device) else "cpu"), d
    if is_opencl(device) and name:
        assert d.kernel and d.kernel.startswith(f"{name} over "), d.kernel


# ---- 1. exactness ----

@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_is_exact_on_integers(scheme, device):
    rng = np.random.default_rng(len(scheme))
    for m, n, k in SIZES:
        a, b = ints(rng, (m, k)), ints(rng, (k, n))
        keep = a.copy(), b.copy()
        got = la.gemm_alpha(a, b, scheme=scheme, device=device)
        assert got.shape == (m, n) and got.dtype == np.float64
        np.testing.assert_array_equal(got, exact(a, b), err_msg=f"{scheme} {m}x{n}x{k} on {device}")
        small = min(m, n, k) < 4
        ran(None if small else scheme, device)
        if small:
            reason = la.last_decision().reason
            assert "needs every dimension >= 4" in reason or (is_opencl(device) and "batched small-product" in reason), reason
        np.testing.assert_array_equal(a, keep[0])
        np.testing.assert_array_equal(b, keep[1])
    # alpha, beta and C on the peeled edges too: C = 2 A B - 0.5 C (dyadic, so still exact)
    a, b, c = ints(rng, (17, 21)), ints(rng, (21, 19)), ints(rng, (17, 19))
    want = exact(a, b, c, 2, -0.5)
    out = la.gemm_alpha(a, b, c, alpha=2.0, beta=-0.5, scheme=scheme, device=device)
    assert out is c
    np.testing.assert_array_equal(c, want)
    ran(scheme, device)


def test_the_file_key_names_the_same_scheme():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((24, 20)), rng.standard_normal((20, 28))
    for s in la.schemes():
        by_name = la.gemm_alpha(a, b, scheme=s["name"], device="cpu")
        by_key = la.gemm_alpha(a, b, scheme=s["key"], device="cpu")
        np.testing.assert_array_equal(by_key, by_name)
        ran(s["name"], "cpu")  # reported by its short name either way


def test_schemes_lists_only_valid_schemes():
    ss = la.schemes()
    names = [s["name"] for s in ss]
    assert {"rank49", "strassen2", "rank48"} <= set(names) and len(set(names)) == len(names)
    assert all(s["rank"] in (48, 49) and s["additions"] > 0 for s in ss)
    assert not any("negative_control" in s["key"] or s["rank"] < 48 for s in ss)
    # strassen2 (what "auto" uses) has the fewest additions of the rank-49 schemes
    r49 = [s for s in ss if s["rank"] == 49]
    assert min(r49, key=lambda s: s["additions"])["name"] == "strassen2"


# ---- 2. accuracy on random input ----

def rel_error(got, want, a, b):
    """max |got - want| in units of sqrt(k) eps max|a| max|b| (k = a's columns)."""
    k = a.shape[-1]
    eps = np.finfo(a.dtype).eps
    unit = np.sqrt(k) * eps * float(np.abs(a).max()) * float(np.abs(b).max())
    return float(np.abs(got.astype(want.dtype) - want).max()) / unit


ACCURACY_SHAPES = [(64, 64, 64), (70, 67, 97)]


@pytest.mark.parametrize("backend,dtype", [("cpu", np.float32), ("cpu", np.float64), ("cpu", np.complex128),
                                           ("opencl", np.float32), ("opencl", np.float64)])
def test_accuracy_against_a_wide_reference(backend, dtype, request):
    # complex is CPU-only: test_complex_on_a_forced_device_is_refused
    device = "cpu" if backend == "cpu" else request.getfixturevalue("opencl_sel")
    # float32 on the device: two schemes (integer and rational coefficients), to keep compiles few
    names = ["strassen2", "rank48"] if is_opencl(device) and dtype == np.float32 else SCHEMES
    wide = {np.float32: np.float64, np.float64: np.longdouble, np.complex128: np.clongdouble}[dtype]
    rng = np.random.default_rng(7)
    for m, n, k in ACCURACY_SHAPES:
        a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        if np.dtype(dtype).kind == "c":
            a, b = a + 1j * rng.standard_normal((m, k)), b + 1j * rng.standard_normal((k, n))
        a, b = a.astype(dtype), b.astype(dtype)
        want = a.astype(wide) @ b.astype(wide)
        standard = la.gemm_alpha(a, b, scheme="standard", device=device)
        ran(None, device)
        e_std = rel_error(standard, want, a, b)
        assert e_std <= 4, f"standard product: {e_std:.3g} units"
        for name in names:
            got = la.gemm_alpha(a, b, scheme=name, device=device)
            ran(name, device)
            assert got.dtype == dtype
            e = rel_error(got, want, a, b)
            # absolute: a small multiple of the sqrt(k) eps growth of a dot product
            assert e <= 20, f"{name} {m}x{n}x{k} {np.dtype(dtype).name} on {device}: {e:.3g} units"
            # the criterion: within 10x the standard product's error (plus a floor)
            assert e <= 10 * e_std + 1.0, f"{name}: {e:.3g} units against standard {e_std:.3g}"
            # and it is a different computation: its rounding differs from the standard one
            assert not np.array_equal(got, standard), name


def test_complex_on_a_forced_device_is_refused(opencl_sel):
    a = np.ones((8, 8), np.complex128)
    for scheme in ("strassen2", "standard", "auto"):
        with pytest.raises(DeviceError, match="real-only"):
            la.gemm_alpha(a, a, scheme=scheme, device=opencl_sel)
    with pytest.raises(DeviceError, match="real-only"):
        la.explain("gemm_alpha", (8, 8), (8, 8), dtype="complex128", device=opencl_sel)
    # a complex coefficient makes the product complex: refused on the device too
    with pytest.raises(DeviceError, match="real-only"):
        la.gemm_alpha(np.ones((8, 8)), np.ones((8, 8)), alpha=1j, scheme="strassen2", device=opencl_sel)
    # without a forced device it runs on the CPU, by the scheme asked for
    out = la.gemm_alpha(a, a * 1j, alpha=2.0, scheme="strassen2")
    np.testing.assert_array_equal(out, np.full((8, 8), 16j))
    ran("strassen2", "cpu")


def test_complex_coefficients_and_complex64_on_the_cpu():
    rng = np.random.default_rng(9)
    a, b = ints(rng, (12, 16)), ints(rng, (16, 20))
    out = la.gemm_alpha(a, b, alpha=0.5 - 2j, scheme="rank49", device="cpu")  # makes the product complex
    assert out.dtype == np.complex128
    np.testing.assert_array_equal(out, (0.5 - 2j) * exact(a, b))
    ran("rank49", "cpu")
    ac, bc = (a + 1j * a[::-1]).astype(np.complex64), (b - 1j * b[::-1]).astype(np.complex64)
    out = la.gemm_alpha(ac, bc, scheme="strassen2", device="cpu")
    assert out.dtype == np.complex64
    np.testing.assert_array_equal(out, ac.astype(np.complex128) @ bc.astype(np.complex128))
    ran("strassen2", "cpu")


# ---- 3. gemm's contract ----

@pytest.mark.parametrize("scheme", ["strassen2", "rank48"])
def test_alpha_beta_transposes_and_c_in_place(scheme, device):
    rng = np.random.default_rng(11)
    m, n, k = 17, 14, 21
    for ta in (False, True):
        for tb in (False, True):
            a = ints(rng, (k, m) if ta else (m, k))
            b = ints(rng, (n, k) if tb else (k, n))
            c = ints(rng, (m, n))
            want = exact(a, b, c, -1.5, 0.25, ta, tb)
            out = la.gemm_alpha(a, b, c, alpha=-1.5, beta=0.25, trans_a=ta, trans_b=tb, scheme=scheme, device=device)
            assert out is c
            np.testing.assert_array_equal(c, want, err_msg=f"trans_a={ta} trans_b={tb}")
            ran(scheme, device)
            # without c: a new array, beta ignored
            np.testing.assert_array_equal(
                la.gemm_alpha(a, b, alpha=3.0, beta=7.0, trans_a=ta, trans_b=tb, scheme=scheme, device=device),
                exact(a, b, None, 3, 0, ta, tb))


def test_beta_zero_never_reads_c(device):
    rng = np.random.default_rng(12)
    for m, n, k in [(16, 16, 16), (17, 13, 10), (3, 8, 8)]:  # one level; peeled edges; standard
        a, b = ints(rng, (m, k)), ints(rng, (k, n))
        c = np.full((m, n), np.nan)
        out = la.gemm_alpha(a, b, c, beta=0.0, scheme="strassen2", device=device)
        assert out is c and not np.isnan(c).any()
        np.testing.assert_array_equal(c, exact(a, b))
        stack = np.full((2, m, n), np.inf)
        la.gemm_alpha(np.stack([a, -a]), b, stack, beta=0.0, scheme="rank49", device=device)
        np.testing.assert_array_equal(stack, np.stack([exact(a, b), -exact(a, b)]))


@pytest.mark.parametrize("la_,lb,lc", [("F", "F", "F"), ("strided", "negative", "strided"),
                                       ("negative", "strided", "F"), ("C", "F", "strided")])
def test_any_layout(la_, lb, lc, device):
    rng = np.random.default_rng(13)
    m, n, k = 19, 18, 23
    a, b, c0 = ints(rng, (m, k)), ints(rng, (k, n)), ints(rng, (m, n))
    a, b, c = as_layout(a, la_), as_layout(b, lb), as_layout(c0, lc)
    base = c.base if c.base is not None else c
    before = base.copy()
    keep = a.copy(), b.copy()
    out = la.gemm_alpha(a, b, c, alpha=2.0, beta=-1.0, scheme="strassen2", device=device)
    assert out is c
    np.testing.assert_array_equal(c, exact(a, b, c0, 2, -1))
    ran("strassen2", device)
    if lc == "strided":  # the parent array outside the view is untouched
        mask = np.ones(base.shape, bool)
        mask[1::2, ::3][:m, :n] = False
        np.testing.assert_array_equal(base[mask], before[mask])
    np.testing.assert_array_equal(a, keep[0])
    np.testing.assert_array_equal(b, keep[1])
    # Fortran-ordered and strided operands, transposed by trans_a / trans_b
    at, bt = as_layout(np.ascontiguousarray(keep[0].T), la_), as_layout(np.ascontiguousarray(keep[1].T), lb)
    np.testing.assert_array_equal(la.gemm_alpha(at, bt, trans_a=True, trans_b=True, scheme="rank49", device=device),
                                  exact(a, b))


def test_stacks_and_broadcast_batches(device):
    rng = np.random.default_rng(14)
    # (N, m, k) @ (N, k, n) with c and beta != 0
    a, b, c = ints(rng, (3, 13, 10)), ints(rng, (3, 10, 9)), ints(rng, (3, 13, 9))
    want = exact(a, b, c, 1, 2)
    assert la.gemm_alpha(a, b, c, beta=2.0, scheme="strassen2", device=device) is c
    np.testing.assert_array_equal(c, want)
    ran("strassen2", device)
    # broadcast batch dimensions: (2, 1, m, k) @ (3, k, n) -> (2, 3, m, n), and 2-D b for all
    a, b = ints(rng, (2, 1, 12, 8)), ints(rng, (3, 8, 16))
    out = la.gemm_alpha(a, b, scheme="rank48", device=device)
    assert out.shape == (2, 3, 12, 16)
    np.testing.assert_array_equal(out, exact(a, b))
    b2 = ints(rng, (8, 5))
    np.testing.assert_array_equal(la.gemm_alpha(a, b2, scheme="rank49", device=device), exact(a, b2))
    # a stride-0 batch (np.broadcast_to) and a C whose batch axes do not merge into one
    a1 = np.broadcast_to(ints(rng, (16, 12)), (2, 4, 16, 12))
    b1 = ints(rng, (2, 4, 12, 20))
    big = ints(rng, (2, 7, 16, 20))
    c = big[:, ::2]  # batch strides 7 and 2 matrices: (2, 4) is not one run
    before, c0 = big.copy(), c.copy()
    assert la.gemm_alpha(a1, b1, c, alpha=-1.0, beta=1.0, scheme="strassen2", device=device) is c
    np.testing.assert_array_equal(c, exact(a1, b1, c0, -1, 1))
    np.testing.assert_array_equal(big[:, 1::2], before[:, 1::2])  # the matrices between are untouched


def test_empty_inputs(device):
    r = la.gemm_alpha(np.ones((0, 8)), np.ones((8, 8)), scheme="strassen2", device=device)
    assert r.shape == (0, 8)
    assert "nothing to multiply" in la.last_decision().reason
    r = la.gemm_alpha(np.ones((0, 8, 8)), np.ones((0, 8, 8)), scheme="strassen2", device=device)
    assert r.shape == (0, 8, 8)
    c = np.full((8, 8), 4.0)  # k = 0: C = beta C
    assert la.gemm_alpha(np.ones((8, 0)), np.ones((0, 8)), c, beta=0.5, scheme="rank49", device=device) is c
    np.testing.assert_array_equal(c, np.full((8, 8), 2.0))
    assert "scheme: standard (nothing to multiply)" in la.last_decision().reason
    c = np.full((8, 8), 4.0)  # alpha = 0: C = beta C as well
    la.gemm_alpha(np.ones((8, 8)), np.ones((8, 8)), c, alpha=0.0, beta=-0.25, scheme="rank49", device=device)
    np.testing.assert_array_equal(c, np.full((8, 8), -1.0))


def test_read_only_c_is_refused_and_unchanged():
    c = np.ones((8, 8))
    c.flags.writeable = False
    with pytest.raises(ValueError, match="'c' is read-only"):
        la.gemm_alpha(np.eye(8), np.eye(8), c, beta=1.0, scheme="strassen2")
    assert (c == 1).all()


BAD = [  # (a, b, c, kwargs) -> the same error class and argument from gemm and gemm_alpha
    (np.ones((8, 5)), np.ones((6, 8)), None, {}),
    (np.ones((8, 5)), np.ones((8, 6)), None, {"trans_a": True, "trans_b": True}),
    (np.ones((8, 8)), np.ones((8, 8)), np.ones((8, 7)), {}),
    (np.ones((8, 8)), np.ones((8, 8)), np.ones((8, 8), np.float32), {}),
    (np.ones(8), np.ones((8, 8)), None, {}),
    (np.ones((8, 8)), np.ones((8,)), None, {}),
    (np.ones((2, 8, 8)), np.ones((3, 8, 8)), None, {}),
    (np.ones((8, 8), np.float16), np.ones((8, 8)), None, {}),
    (np.ones((8, 8)), np.array([["x"] * 8] * 8), None, {}),
]


@pytest.mark.parametrize("a,b,c,kw", BAD)
def test_errors_name_the_argument_like_gemm(a, b, c, kw):
    with pytest.raises((ShapeError, DTypeError)) as want:
        la.gemm(a, b, None if c is None else c.copy(), device="cpu", **kw)
    with pytest.raises(type(want.value)) as got:
        la.gemm_alpha(a, b, None if c is None else c.copy(), scheme="strassen2", device="cpu", **kw)
    assert got.value.argument == want.value.argument
    assert got.value.operation == "gemm_alpha"
    assert f"argument '{got.value.argument}'" in str(got.value)


# ---- 4. scheme= and the measured crossover ----

def test_standard_and_uncalibrated_auto_run_the_standard_product(isolated_cache):
    rng = np.random.default_rng(15)
    a, b = rng.standard_normal((128, 96)), rng.standard_normal((96, 112))
    plain = la.gemm(a, b, device="cpu")
    for scheme in ("standard", "auto", "AUTO", " Standard "):
        got = la.gemm_alpha(a, b, scheme=scheme, device="cpu")
        np.testing.assert_array_equal(got, plain)  # the very same OpenBLAS product
    la.gemm_alpha(a, b, scheme="standard")
    assert "scheme: standard (requested)" in la.last_decision().reason
    la.gemm_alpha(a, b)  # scheme="auto" is the default
    assert "scheme: standard (strassen2 not measured on the CPU; calibrate(schemes=True) measures it)" in \
        la.last_decision().reason
    assert "not measured" in la.explain("gemm_alpha", (4096, 4096), (4096, 4096)).reason


def test_bad_scheme_names():
    a = np.ones((8, 8))
    with pytest.raises(ValueError) as e:
        la.gemm_alpha(a, a, scheme="rank50")
    msg = str(e.value)
    assert "rank50" in msg and all(s["name"] in msg and s["key"] in msg for s in la.schemes())
    assert "auto" in msg and "standard" in msg
    for refused in ("rank47", "rank47_mod2_negative_control"):  # valid modulo 2 only
        with pytest.raises(ValueError, match="scheme must be one of") as e:
            la.gemm_alpha(a, a, scheme=refused)
        assert "rank47" not in str(e.value).split("; got")[0]
    for bad in (49, None, b"strassen2", ["rank49"]):
        with pytest.raises(TypeError, match="scheme must be a string"):
            la.gemm_alpha(a, a, scheme=bad)
    # explain takes the same names and refuses the same way (a ValueError, not a DeviceError)
    with pytest.raises(ValueError, match="scheme must be one of"):
        la.explain("gemm_alpha", (8, 8), (8, 8), scheme="rank47")
    assert "scheme: rank49 (49 products per level, requested)" in \
        la.explain("gemm_alpha", (8, 8), (8, 8), scheme="rank49").reason


def test_cpu_crossover_drives_auto(isolated_cache):
    path = _core.set_crossover(None, "gemm_alpha", "float64", 64)
    assert path.startswith(str(isolated_cache))
    la.reload_settings()
    assert _core.crossover(None, "gemm_alpha", "float64") == 64
    assert _core.crossover(None, "gemm_alpha", "float32") is None
    rng = np.random.default_rng(16)
    for (m, n, k), fast in [((64, 64, 64), True), ((96, 64, 80), True), ((63, 64, 64), False),
                            ((64, 200, 40), False), ((65, 67, 66), True)]:
        a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        got = la.gemm_alpha(a, b, device="cpu")  # scheme="auto"
        reason = la.last_decision().reason
        said = la.explain("gemm_alpha", (m, k), (k, n), device="cpu").reason
        size = min(m, n, k)
        if fast:
            assert f"scheme: strassen2 (min(m, n, k) = {size} is at or above its measured crossover 64 on the CPU)" \
                in reason, reason
            np.testing.assert_array_equal(got, la.gemm_alpha(a, b, scheme="strassen2", device="cpu"))
            assert not np.array_equal(got, la.gemm(a, b, device="cpu"))
        else:
            assert f"scheme: standard (min(m, n, k) = {size} is below strassen2's measured crossover 64" in reason, reason
            np.testing.assert_array_equal(got, la.gemm(a, b, device="cpu"))
        assert said.split("; ")[-1] == reason.split("; ")[-1]  # explain says the same without running
    # float32 was not measured; "standard" still overrides the crossover
    la.gemm_alpha(np.ones((64, 64), np.float32), np.ones((64, 64), np.float32))
    assert "strassen2 not measured on the CPU" in la.last_decision().reason
    la.gemm_alpha(np.ones((64, 64)), np.ones((64, 64)), scheme="standard")
    assert "scheme: standard (requested)" in la.last_decision().reason
    # "never won" is remembered as such
    _core.set_crossover(None, "gemm_alpha", "float64", None)
    la.reload_settings()
    assert "never beat it" in la.explain("gemm_alpha", (512, 512), (512, 512)).reason


def test_cpu_crossover_does_not_steer_a_device(isolated_cache, opencl_sel):
    _core.set_crossover(None, "gemm_alpha", "float64", 8)
    la.reload_settings()
    assert "scheme: strassen2" in la.explain("gemm_alpha", (64, 64), (64, 64), device="cpu").reason
    d = la.explain("gemm_alpha", (64, 64), (64, 64), device=opencl_sel)
    assert d.strategy == "opencl" and "scheme: standard (strassen2 not measured on" in d.reason


# ---- 5. device failure ----

def fallback_call(fault, *args, **kwargs):
    """gemm_alpha with ``fault`` injected: must warn DeviceFallbackWarning and fall back."""
    _core.inject_fault(fault)
    try:
        with pytest.warns(DeviceFallbackWarning, match="(failed.*computed on the CPU instead|was lost.*disabled for the rest of this process)"):
            out = la.gemm_alpha(*args, **kwargs)
    finally:
        _core.inject_fault(None, reset=True)  # reset: re-enable a device a "lost" fault disabled
    return out


@pytest.mark.parametrize("fault,kind", [("alloc", "out-of-memory"), ("launch", "out-of-memory"), ("build", "build"),
                                        ("lost", "device-lost")])
def test_fault_falls_back_to_the_cpu(fault, kind, opencl_sel):
    rng = np.random.default_rng(17)
    a, b, c = ints(rng, (17, 21)), ints(rng, (21, 19)), ints(rng, (17, 19))
    want = exact(a, b, c, 2, 0.5)
    out = fallback_call(fault, a, b, c, alpha=2.0, beta=0.5, scheme="strassen2", device=opencl_sel)
    assert out is c
    np.testing.assert_array_equal(c, want)
    d = la.last_decision()
    assert d.strategy == "cpu-fallback" and kind in d.reason, d
    # the device works again once the fault is gone
    np.testing.assert_array_equal(la.gemm_alpha(a, b, scheme="strassen2", device=opencl_sel), exact(a, b))
    ran("strassen2", opencl_sel)


def test_lost_device_is_disabled_until_reset(opencl_sel):
    a = ints(np.random.default_rng(18), (16, 16))
    _core.inject_fault("lost")
    try:
        with pytest.warns(DeviceFallbackWarning):
            np.testing.assert_array_equal(la.gemm_alpha(a, a, scheme="rank49", device=opencl_sel), exact(a, a))
        _core.inject_fault(None)
        with pytest.raises(DeviceError, match="disabled for this process"):
            la.gemm_alpha(a, a, scheme="rank49", device=opencl_sel)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # device="auto": the CPU, without another warning
            np.testing.assert_array_equal(la.gemm_alpha(a, a, scheme="rank49"), exact(a, a))
    finally:
        _core.inject_fault(None, reset=True)


@pytest.mark.parametrize("beta", [0.0, 1.0, -0.5])
def test_fault_on_a_stack_updates_each_matrix_once(beta, opencl_sel):
    rng = np.random.default_rng(19)
    a, b, c = ints(rng, (4, 19, 18)), ints(rng, (18, 17)), ints(rng, (4, 19, 17))  # past 16: the scheme's path
    want = exact(a, b, c, 2, beta)
    out = fallback_call("launch", a, b, c, alpha=2.0, beta=beta, scheme="strassen2", device=opencl_sel)
    assert out is c
    np.testing.assert_array_equal(c, want)  # the CPU's alpha A B + beta C0, exactly


def test_fault_in_the_middle_of_a_stack(opencl_sel):
    """The fault strikes while the stack runs, after some matrices were computed on the device:
    their C must not have been written, or the CPU's fallback would apply beta twice. The core
    computes such stacks aside; the result must be alpha A B + beta C0 exactly."""
    rng = np.random.default_rng(20)
    a, b, c0 = ints(rng, (32, 128, 128)), ints(rng, (32, 128, 128)), ints(rng, (32, 128, 128))
    want = exact(a, b, c0, 2, 1)
    kw = dict(alpha=2.0, beta=1.0, scheme="strassen2", device=opencl_sel)
    la.gemm_alpha(a, b, c0.copy(), **kw)  # compiled and warm
    t0 = time.perf_counter()
    c = c0.copy()
    la.gemm_alpha(a, b, c, **kw)
    whole = time.perf_counter() - t0
    np.testing.assert_array_equal(c, want)
    fell_back = 0
    for frac in (0.25, 0.5, 0.75, 0.5, 0.35):
        c = c0.copy()
        timer = threading.Timer(whole * frac, _core.inject_fault, args=("launch",))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                timer.start()
                out = la.gemm_alpha(a, b, c, **kw)
        finally:
            timer.cancel()
            timer.join()
            _core.inject_fault(None)
        assert out is c
        np.testing.assert_array_equal(c, want, err_msg=f"fault after {frac:.0%} of the stack")
        fell_back += any(issubclass(w.category, DeviceFallbackWarning) for w in caught)
    # The injections came a quarter of the stack's time or more after the call started, so a
    # fallback here is a failure after earlier matrices ran; at least one must have struck.
    assert fell_back >= 1, f"no injected fault landed inside a {whole * 1e3:.1f} ms stack"


@pytest.mark.parametrize("group", ["20", "48"])
def test_products_in_groups(group, opencl_sel, monkeypatch):
    """With less device memory the products run in groups (LAPACK_AI_ALPHA_GROUP forces it):
    the first group writes beta C (or fresh values), later ones add to it."""
    monkeypatch.setenv("LAPACK_AI_ALPHA_GROUP", group)
    rng = np.random.default_rng(21)
    a, b = ints(rng, (17, 21)), ints(rng, (21, 19))
    for beta in (0.0, -2.0):
        c = np.full((17, 19), np.nan) if beta == 0 else ints(rng, (17, 19))
        want = exact(a, b, c, 1, beta)
        la.gemm_alpha(a, b, c, beta=beta, scheme="strassen2", device=opencl_sel)
        np.testing.assert_array_equal(c, want)
        ran("strassen2", opencl_sel)


# ---- 6. lapack.dgemm_alpha / sgemm_alpha against SciPy ----

@pytest.mark.parametrize("prefix,dtype", [("d", np.float64), ("s", np.float32)])
def test_lapack_routines_match_scipy(prefix, dtype):
    blas = pytest.importorskip("scipy.linalg.blas")
    ours, theirs = getattr(la.lapack, prefix + "gemm_alpha"), getattr(blas, prefix + "gemm")
    rng = np.random.default_rng(22)
    m, n, k = 13, 18, 21
    a, b, c = ints(rng, (m, k), dtype), ints(rng, (k, n), dtype), ints(rng, (m, n), dtype)
    at, bt = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    cases = [  # positional, in scipy's order: alpha, a, b, beta, c, trans_a, trans_b, overwrite_c
        (1.5, a, b),
        (2.0, a, b, -0.5, c),
        (1.0, at, b, 0.0, None, 1),
        (-1.0, a, bt, 1.0, c, 0, 1),
        (0.5, at, bt, 2.0, c, 1, 1, 0),
        (1.0, at, bt, 0.0, None, 2, 2),  # 2: conjugate transpose, the transpose for real types
    ]
    for scheme in ("standard", "strassen2", "rank48"):
        for args in cases:
            keep = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
            got = ours(*args, scheme=scheme)
            want = theirs(*args)
            assert got.dtype == dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want, err_msg=f"{scheme} {[getattr(x, 'shape', x) for x in args]}")
            for x, y in zip(args, keep):  # overwrite_c=False (the default): nothing written
                if isinstance(x, np.ndarray):
                    np.testing.assert_array_equal(x, y)
    # random input: the same to rounding
    g = rng.standard_normal((40, 36)).astype(dtype)
    h = rng.standard_normal((36, 44)).astype(dtype)
    np.testing.assert_allclose(ours(1.0, g, h, scheme="strassen2"), theirs(1.0, g, h),
                               rtol=0, atol=30 * np.sqrt(36) * np.finfo(dtype).eps * np.abs(g).max() * np.abs(h).max())
    # int input is converted, as SciPy does
    ai, bi = rng.integers(-5, 6, (12, 8)), rng.integers(-5, 6, (8, 16))
    got = ours(1, ai, bi, scheme="rank49")
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, theirs(1, ai, bi))
    # overwrite_c=True with a c of the right type: updated in place and returned
    c2, c0 = ints(rng, (m, n), dtype), None
    c0 = c2.copy()
    out = ours(1.0, a, b, 1.0, c2, 0, 0, 1, scheme="strassen2")
    assert out is c2
    np.testing.assert_array_equal(c2, theirs(1.0, a, b, 1.0, c0))
    # errors: a complex a, a 3-D a, a c of the wrong shape
    with pytest.raises(DTypeError):
        ours(1.0, a.astype(np.complex128), b)
    with pytest.raises(ShapeError):
        ours(1.0, a[None], b)
    with pytest.raises(ShapeError) as e:
        ours(1.0, a, b, 1.0, c[:, :-1])
    assert e.value.argument == "c"


# ---- 7. metrics ----

def test_measure_records_gemm_alpha():
    rng = np.random.default_rng(23)
    a, b = rng.standard_normal((21, 20)), rng.standard_normal((21, 12))
    with la.measure("alpha") as m:
        out = la.gemm_alpha(a, b, trans_a=True, scheme="strassen2", device="cpu")
    (r,) = [r for r in m.records if r.operation == "gemm_alpha"]
    assert (r.routine, r.shapes, r.dtype, r.backend, r.error) == ("dgemm", ((21, 20), (21, 12)), "float64", "cpu", None)
    assert r.flops == 2 * 20 * 12 * 21 and r.seconds > 0
    assert "scheme: strassen2" in r.reason
    assert m.summary.by_routine[("gemm_alpha", "cpu")]["calls"] == 1
    np.testing.assert_allclose(out, a.T @ b, rtol=1e-12, atol=1e-12)


# ---- 8. out of memory ----

def test_too_large_raises_memory_error_not_an_abort():
    code = textwrap.dedent("""
        import numpy as np, lapack_ai as la
        big = np.broadcast_to(np.ones(1), (200000, 200000))
        try:
            la.gemm_alpha(big, big, scheme="strassen2", device="cpu")
            print("no error")
        except MemoryError as e:
            print("MemoryError", type(e).__name__, "|", e)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "RUST_BACKTRACE": "0"})
    assert r.returncode == 0, r.stderr[-2000:]
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("MemoryError "), last
    assert "panicked" not in r.stderr and "memory allocation" not in r.stderr


def test_calibrate_measures_the_scheme_on_the_cpu(isolated_cache, monkeypatch):
    import json

    from lapack_ai import calibration

    monkeypatch.setattr(calibration, "SCHEME_LADDER", (64, 128))
    r = la.calibrate(devices=[], dtypes=("float64",), schemes=True, progress=False, repeats=1)
    cross = r["crossovers"][("cpu", "float64", "gemm_alpha")]
    runs = [t for t in r["timings"] if t.get("scheme") == _core.AUTO_SCHEME]
    assert [t["n"] for t in runs] == [64, 128] and all(t["standard_s"] > 0 and t["scheme_s"] > 0 for t in runs)
    assert cross in (64, 128, None)
    stored = json.loads((isolated_cache / "crossover.json").read_text())["cpu"]["gemm_alpha/float64"]
    assert stored == (cross if cross is not None else 2**64 - 1)
    want = "never beat it" if cross is None else f"measured crossover {cross}"
    assert want in la.explain("gemm_alpha", (128, 128), (128, 128), device="cpu").reason
