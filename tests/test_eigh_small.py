"""Stacks of small symmetric eigenproblems (n up to 64) on the OpenCL kernel of the small SVDs in
its EIG mode (one-sided Jacobi on A + c I, kernels/svd_small.cl; rust/core/src/opencl/
svd_small.rs: `eigh`) on whatever OpenCL device this machine has (PoCL in CI): LAPACK's
accuracy ratios (xDRVST) on symmetric versions of LAPACK's matrix types, both dtypes, with and
without vectors; the triangle UPLO names is the only one read; layouts and batch shapes; empty
stacks; NaN/Inf and non-convergence reported as on the CPU; dispatch by count; fallbacks on
injected faults; the kernel-timing binding; calibration of the crossover."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lapack_ai
from lapack_ai import ConvergenceError, DeviceError, DeviceFallbackWarning, NonFiniteError, _core

from conftest import as_layout, fresh_crossovers, opencl_device
from svd_checks import THRESHOLD, orthonormal

DEV = opencl_device(module=True)
SEL = DEV.selector


@pytest.fixture(autouse=True)
def clean_runtime():
    yield from fresh_crossovers("eigh_small/")


def ran_on_device(n):
    d = lapack_ai.last_decision()
    assert d.strategy == "opencl" and d.device_index == DEV.index and d.kernel == f"eigh-jacobi-{n}x{n}", d
    return d


def symmetric(rng, n, d, complex_=False):
    """Q diag(d) Q^H for a random orthogonal (unitary) Q, exactly symmetric (Hermitian)."""
    q = orthonormal(rng, n, n, complex_)
    a = (q * d) @ q.conj().T
    return np.tril(a, -1) + np.diag(np.diag(a).real) + np.tril(a, -1).conj().T


def matrix_types(rng, n, dtype):
    """xDRVST's kinds: zero, identity, eigenvalues spread from 1 to eps (cond 1/eps) with mixed
    signs, the same near underflow and overflow, random, rank-deficient, clustered, repeated,
    and pairs +-lambda (whose singular values coincide: the shift keeps them apart), and a
    Laplacian and a semidefinite diagonal with zeros (whose shifted matrices are singular)."""
    cx = np.dtype(dtype).kind == "c"
    fi = np.finfo(dtype)
    eps, tiny, huge = float(fi.eps), float(fi.tiny), float(fi.max)
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    graded = np.linspace(1.0, eps, n) * signs if n > 1 else np.ones(1)
    geometric = eps ** (np.arange(n) / max(n - 1, 1)) * signs
    x = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if cx else 0)
    sym = lambda d: symmetric(rng, n, d, cx)  # noqa: E731
    return {
        "zero": np.zeros((n, n)),
        "identity": np.eye(n),
        "negative identity": -np.eye(n),
        "graded": sym(graded),
        "cond 1/eps": sym(geometric),
        "near underflow": sym(geometric) * (tiny / eps),
        "near overflow": sym(graded) * (huge * eps / n),
        "random": np.tril(x, -1) + np.diag(np.diag(x).real) + np.tril(x, -1).conj().T,
        "rank-deficient": sym(np.where(np.arange(n) < (n + 1) // 2, 1.0 + np.arange(n), 0.0)),
        "clustered": sym(1.0 + eps * np.arange(n)),
        "repeated": sym(np.where(np.arange(n) < n // 2, 3.0, -1.0)),
        "plus-minus pairs": sym(np.where(np.arange(n) % 2 == 0, 2.0, -2.0)),
        "diagonal": np.diag(rng.standard_normal(n)),
        # semidefinite with exact zeros: no shift, so U's columns for them are completed
        "semidefinite, zeros": np.diag(np.where(np.arange(n) % 3 == 0, 0.0, 1.0 + np.arange(n))),
        # a path graph's Laplacian: Gershgorin's shift is 0, so B = A is singular (the kernel's
        # eigenvectors are U: its column for lambda = 0 is normalized from a tiny one)
        "Laplacian": np.diag(np.convolve(np.ones(max(n - 1, 0)), [1, 1])[:n] if n > 1 else np.zeros(1))
                     - np.eye(n, k=1) - np.eye(n, k=-1),
    }


def ratios(a, w, v):
    """xDRVST's ratios, largest over the stack: ||A - V W V^T|| / (n ||A|| eps) and
    ||I - V^T V|| / (n eps) (1-norms, in float64 on the input as given)."""
    n = a.shape[-1]
    eps = float(np.finfo(a.dtype).eps)
    a, v = (x.astype(np.complex128 if np.iscomplexobj(a) else np.float64) for x in (a, v))
    w = w.astype(np.float64)
    big = np.abs(a).max(initial=0.0)
    if big > 0:  # the ratios do not change under an exact power-of-two scaling
        e = -int(np.ceil(np.log2(big)))
        a, w = a * 2.0**e, w * 2.0**e
    one = lambda x: np.abs(x).sum(axis=-2).max(axis=-1)  # noqa: E731
    norm = one(a)
    res = one(a - (v * w[..., None, :]) @ np.swapaxes(v, -1, -2).conj()) / (np.where(norm > 0, norm, 1.0) * n * eps)
    orth = one(np.eye(n) - np.swapaxes(v, -1, -2).conj() @ v) / (n * eps)
    return float(res.max()), float(orth.max())


def check_values(w, a):
    """Ascending, and within THRESHOLD n eps ||A|| of LAPACK's (NumPy's, in float64)."""
    assert (np.diff(w, axis=-1) >= 0).all()
    a64 = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    want = np.linalg.eigvalsh(a64)
    n = a.shape[-1]
    scale = np.abs(a64).sum(axis=-2).max(axis=-1)[..., None]  # ||A||_1 >= ||A||_2
    bound = THRESHOLD * n * float(np.finfo(a.dtype).eps) * scale
    assert (np.abs(w.astype(np.float64) - want) <= bound).all(), np.abs(w - want).max()


# Every size is a kernel build (about a second on PoCL): odd and even sizes, both dtypes.
SIZES = [(n, np.float64) for n in (1, 2, 3, 4, 7, 16, 32)] + [(n, np.float32) for n in (4, 9, 32)]
SIZES += [(4, np.complex128), (32, np.complex128), (5, np.complex64)]  # Hermitian
# past the SVD's 32 (eigh's kernel keeps no V): two work-items per pair on a GPU, four in complex128
SIZES += [(33, np.float64), (64, np.float64), (64, np.float32), (48, np.complex128), (64, np.complex64)]


@pytest.mark.parametrize("n,dtype", SIZES)
def test_lapack_ratios_on_lapack_matrix_types(n, dtype):
    rng = np.random.default_rng(n)
    types = matrix_types(rng, n, dtype)
    a = np.stack([x.astype(dtype) for x in types.values()])
    keep = a.copy()
    w, v = lapack_ai.eigh(a, device=SEL)
    ran_on_device(n)
    assert w.shape == (len(types), n) and v.shape == (len(types), n, n)
    assert v.dtype == dtype and w.dtype == np.finfo(dtype).dtype
    for name, i in zip(types, range(len(types))):
        r = ratios(a[i], w[i], v[i])
        assert max(r) <= THRESHOLD, f"{name} {n}x{n} {np.dtype(dtype).name}: ratios {r}"
    check_values(w, a)
    if n in (4, 32) and np.dtype(dtype).kind == "f":  # values only: a build of its own
        np.testing.assert_array_equal(lapack_ai.eigvalsh(a, device=SEL), w)  # the same sweeps
    np.testing.assert_array_equal(a, keep)  # input untouched



@pytest.mark.parametrize("tpp", [1, 3, 8])
def test_lanes_per_pair(monkeypatch, tpp):
    """Each pair's rows shared by 1, 3 (not dividing 32) or 8 work-items
    (LAPACK_AI_SVD_SMALL_TPP; by default 2 here on a GPU, 1 on a CPU driver): the same
    accuracy, in complex128."""
    n, dtype = 32, np.complex128
    types = matrix_types(np.random.default_rng(tpp), n, dtype)
    a = np.stack([x.astype(dtype) for x in types.values()])
    monkeypatch.setenv("LAPACK_AI_SVD_SMALL_TPP", str(tpp))
    w, v = lapack_ai.eigh(a, device=SEL)
    ran_on_device(n)
    for name, i in zip(types, range(len(types))):
        assert max(ratios(a[i], w[i], v[i])) <= THRESHOLD, f"{name} tpp={tpp}"
    check_values(w, a)

@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False), min_size=25, max_size=25),
       st.integers(min_value=-1000, max_value=1000))
def test_any_values_and_scale(values, exponent):
    """5x5 float64 of any entries, scaled by 2^exponent out to near underflow and overflow."""
    x = np.array(values).reshape(5, 5)
    with np.errstate(all="ignore"):
        a = np.ldexp(np.tril(x) + np.tril(x, -1).T, exponent)
        if not np.isfinite(a).all() or not np.isfinite(np.linalg.eigvalsh(a)).all():
            return  # overflowed while building the input, or its norm does
    w, v = lapack_ai.eigh(a, device=SEL)
    assert max(ratios(a, w, v)) <= THRESHOLD
    check_values(w, a)


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("n,tpp", [(6, None), (45, "3")])
def test_only_the_named_triangle_is_read(monkeypatch, uplo, dtype, n, tpp):
    """45 rows with three work-items per pair: the scans for NaN, Inf and the largest entry are
    spread over the items' home columns and rows (odd n: a phantom column; 3 does not divide 45)."""
    if tpp:
        monkeypatch.setenv("LAPACK_AI_SVD_SMALL_TPP", tpp)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, n, n)) + (1j * rng.standard_normal((3, n, n)) if dtype == np.complex128 else 0)
    s = np.tril(x, -1) + np.tril(x, -1).swapaxes(-1, -2).conj() + np.eye(n) * x.real
    other = np.triu(np.ones((n, n), bool), 1) if uplo == "L" else np.tril(np.ones((n, n), bool), -1)
    g = np.where(other, 1e300, s)  # huge garbage there: must not scale or shift anything
    if dtype == np.complex128:
        g = g + 1j * np.eye(n)  # imaginary parts of the diagonal: ignored, as LAPACK's zheevd does
    w, v = lapack_ai.eigh(g, UPLO=uplo, device=SEL)
    ran_on_device(n)
    assert max(ratios(s, w, v)) <= THRESHOLD
    check_values(w, s)
    # NaN there: refused with check_finite=True (as the CPU does), ignored without
    g = np.where(other, np.nan, s)
    with pytest.raises(NonFiniteError):
        lapack_ai.eigh(g, UPLO=uplo, device=SEL)
    w2 = lapack_ai.eigvalsh(g, UPLO=uplo, device=SEL, check_finite=False)
    check_values(w2, s)


@pytest.mark.parametrize("layout", ["F", "strided", "negative", "broadcast", "fortran"])
def test_layouts(layout):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 5, 5))
    s = np.tril(x) + np.tril(x, -1).swapaxes(-1, -2)
    a = np.asfortranarray(s) if layout == "fortran" else as_layout(s, layout)
    w, v = lapack_ai.eigh(a, UPLO="U", device=SEL)
    ran_on_device(5)
    assert w.shape == (2, 3, 5) and v.shape == (2, 3, 5, 5)
    ref = np.ascontiguousarray(a)  # its values (a broadcast repeats one matrix)
    for i in np.ndindex(2, 3):
        assert max(ratios(ref[i], w[i], v[i])) <= THRESHOLD
    check_values(w, ref)
    if layout == "broadcast":  # one matrix moves once
        assert lapack_ai.last_decision().bytes_to_device == 5 * 5 * 8


def test_single_matrices_and_empty_stacks():
    x = np.random.default_rng(6).standard_normal((4, 4))
    a = x + x.T
    w, v = lapack_ai.eigh(a, device=SEL)
    ran_on_device(4)
    assert max(ratios(a, w, v)) <= THRESHOLD and lapack_ai.last_decision().bytes_from_device > 0
    for shape in [(0, 4, 4), (3, 0, 0)]:
        z = np.ones(shape)
        got, want = lapack_ai.eigh(z, device=SEL), np.linalg.eigh(z)
        assert [g.shape for g in got] == [x.shape for x in want], shape
        assert "nothing to decompose" in lapack_ai.last_decision().reason
    with pytest.raises(lapack_ai.ShapeError):
        lapack_ai.eigh(np.ones((3, 4)), device=SEL)


# ---- NaN, Inf and non-convergence: the CPU's errors, the first bad matrix ----

def test_non_finite_input_is_refused_as_on_the_cpu():
    x = np.random.default_rng(7).standard_normal((20, 4, 4))
    a = x + x.swapaxes(-1, -2)
    a[12, 1, 1], a[7, 2, 0] = np.inf, np.nan
    errs = []
    for dev in ("cpu", SEL):
        with pytest.raises(NonFiniteError) as ei:
            lapack_ai.eigh(a, device=dev)
        errs.append(ei.value)
    cpu, ocl = errs
    assert (ocl.batch, ocl.first_index, str(ocl)) == (cpu.batch, cpu.first_index, str(cpu))
    assert ocl.batch == (7,)
    # Without the check: whatever LAPACK on the CPU makes of it (NaN results or its error),
    # never another answer from the device.
    def outcome(x, dev):
        try:
            return lapack_ai.eigvalsh(x, device=dev, check_finite=False)
        except Exception as e:  # noqa: BLE001 - the error's type is the outcome compared
            return type(e)
    for x in (a[8:], a):  # Inf only; NaN and Inf
        cpu, ocl = outcome(x, "cpu"), outcome(x, SEL)
        if isinstance(cpu, type):
            assert ocl is cpu
        else:
            np.testing.assert_array_equal(ocl, cpu)  # NaN where the CPU has NaN
        d = lapack_ai.last_decision()
        assert d.strategy == "cpu" and "check_finite=False" in d.reason, d


def test_not_converging_is_a_convergence_error(monkeypatch):
    monkeypatch.setenv("LAPACK_AI_SVD_SMALL_SWEEPS", "1")  # one sweep cannot diagonalize random matrices
    x = np.random.default_rng(8).standard_normal((3, 6, 6))
    a = x + x.swapaxes(-1, -2)
    a[0] = np.diag([3.0, -2, 1, 1, 1, 5])  # already diagonal: converges in its one sweep
    with pytest.raises(ConvergenceError) as ei:
        lapack_ai.eigh(a, device=SEL)
    e = ei.value
    assert e.routine == "dsyevj_batched" and e.info == 1 and e.batch == (1,) and e.backend == "opencl"
    w = lapack_ai.eigvalsh(a[:1], device=SEL)  # the converged one is returned
    np.testing.assert_allclose(w, [[-2, 1, 1, 1, 3, 5]], rtol=1e-15)
    with pytest.raises(ConvergenceError) as ei:  # Hermitian: cuSOLVER's name for it
        lapack_ai.eigh((a + 1j * np.triu(a, 1))[1:], device=SEL)
    assert ei.value.routine == "zheevj_batched" and ei.value.batch == (0,)


# ---- dispatch: small stacks are weighed by their count ----

def test_auto_keeps_small_stacks_on_the_cpu_until_calibrated():
    d = lapack_ai.explain("eigh", (1 << 20, 4, 4))
    assert d.strategy == "cpu" and "stacks of eigh up to 64x64" in d.reason and "not calibrated" in d.reason
    x = np.random.default_rng(9).standard_normal((200, 4, 4))
    lapack_ai.eigh(x + x.swapaxes(-1, -2))
    assert lapack_ai.last_decision().strategy == "cpu"
    f = lapack_ai.explain("eigh", (200, 4, 4), device=SEL)
    assert f.strategy == "opencl" and "200 x 4x4 float64" in f.reason and "requested" in f.reason
    big = lapack_ai.explain("eigh", (8, 65, 65))
    assert big.strategy == "cpu" and "up to 64x64 so far" in big.reason
    with pytest.raises(DeviceError, match="up to 64x64 so far, not 8 x 65x65 float64"):
        lapack_ai.eigh(np.ones((8, 65, 65)), device=SEL)
    with pytest.raises(DeviceError, match="generalized"):
        lapack_ai.eigh(np.eye(4), b=np.eye(4), device=SEL)
    # LAPACK's driver by name stays LAPACK's, whatever the process default.
    lapack_ai.lapack.dsyevd(np.eye(4))
    assert lapack_ai.last_decision().strategy == "cpu"


def test_calibrated_count_crossover_drives_auto():
    _core.set_crossover(DEV.index, "eigh_small", "float64", 100)
    lapack_ai.reload_settings()
    above = lapack_ai.explain("eigh", (500, 32, 32))
    assert above.strategy == "opencl" and "measured crossover of 100 matrices" in above.reason, above.reason
    assert lapack_ai.explain("eigh", (99, 4, 4)).strategy == "cpu"
    assert lapack_ai.explain("svd", (500, 4, 4)).strategy == "cpu"  # a crossover of its own
    x = np.random.default_rng(10).standard_normal((150, 3, 3))
    a = x + x.swapaxes(-1, -2)
    with lapack_ai.measure("eigh") as m:
        w = lapack_ai.eigvalsh(a)  # auto
    ran_on_device(3)
    check_values(w, a)
    (rec,) = m.records
    assert rec.backend == "opencl" and rec.routine == "opencl eigh (eigh-jacobi-3x3)", rec.routine


def test_calibrate_measures_small_eigh_stacks():
    r = lapack_ai.calibrate(devices=[DEV.index], sizes=(), dtypes=("float64",), small_counts=(), svd_counts=(),
                            svd_tall_rows=(), eigh_counts=(16, 64), repeats=1, progress=False)
    assert set(r["crossovers"]) == {(DEV.index, "float64", "eigh_small")}
    assert [t["count"] for t in r["timings"]] == [16, 64]
    assert all(t["eigh"] == (4, 4) and t["cpu_s"] > 0 and t["device_s"] > 0 for t in r["timings"])
    cross = r["crossovers"][(DEV.index, "float64", "eigh_small")]
    assert _core.crossover(DEV.index, "eigh_small", "float64") == (cross if cross is not None else 2**64 - 1)


# ---- failures: each falls back to the CPU with a warning ----

@pytest.mark.parametrize("fault,kind", [("alloc", "out-of-memory"), ("build", "build"), ("lost", "device-lost")])
def test_fault_falls_back_to_cpu_with_a_warning(fault, kind):
    x = np.random.default_rng(11).standard_normal((30, 5, 5))
    a = x + x.swapaxes(-1, -2)
    _core.inject_fault(fault)
    match = "disabled for the rest of this process" if fault == "lost" else "eigh on OpenCL device .* computed on the CPU"
    with pytest.warns(DeviceFallbackWarning, match=match):
        w, v = lapack_ai.eigh(a, device=SEL)
    assert max(ratios(a, w, v)) <= THRESHOLD
    d = lapack_ai.last_decision()
    assert d.strategy == "cpu-fallback" and kind in d.reason, d
    _core.inject_fault(None, reset=True)
    lapack_ai.eigh(a, device=SEL)
    ran_on_device(5)


def test_kernel_times():
    name, times = _core.eigh_small_kernel_times(DEV.index, 300, 4, "float64", 2)
    assert name == "eigh-jacobi-4x4" and len(times) == 2 and all(t > 0 for t in times)
    name, times = _core.eigh_small_kernel_times(DEV.index, 20, 7, "float32", 1, vectors=False)
    assert name == "eigh-jacobi-7x7" and len(times) == 1
    with pytest.raises(RuntimeError, match="up to 64"):
        _core.eigh_small_kernel_times(DEV.index, 10, 65, "float64", 1)
