"""Each routine against NumPy/SciPy on random inputs (Hypothesis), with reconstruction checks
and tolerances scaled by size and dtype."""

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given
from hypothesis import strategies as st

import lapack_ai as la

from conftest import DTYPES, LAYOUTS, as_layout, close, ct, rand, tol, wide

dtypes = st.sampled_from(DTYPES)
dims = st.integers(0, 9)
batches = st.sampled_from([(), (2,), (2, 3)])
layouts = st.sampled_from(LAYOUTS)
seeds = st.integers(0, 2**32 - 1)


def well_conditioned(seed, batch, n, dtype):
    return (rand(seed, batch + (n, n), wide(dtype)) + 3 * np.sqrt(max(n, 1)) * np.eye(n)).astype(dtype)


def spd(seed, batch, n, dtype):
    g = rand(seed, batch + (n, n), wide(dtype))
    return (g @ ct(g) + n * np.eye(n)).astype(dtype)


def orthonormal_columns(q, dtype, n):
    k = q.shape[-1]
    close(ct(q) @ q, np.broadcast_to(np.eye(k), q.shape[:-2] + (k, k)), dtype, n)


@given(seeds, batches, dims, dims, dtypes, layouts, st.booleans(), st.sampled_from(["gesdd", "gesvd"]))
def test_svd(seed, batch, m, n, dtype, layout, full, driver):
    a = as_layout(rand(seed, batch + (m, n), dtype), layout)
    u, s, vt = la.svd(a, full_matrices=full, driver=driver)
    k = min(m, n)
    assert u.shape == batch + ((m, m) if full else (m, k)) and vt.shape == batch + ((n, n) if full else (k, n))
    assert s.dtype == np.finfo(dtype).dtype and u.dtype == vt.dtype == dtype
    close(s, np.linalg.svd(a.astype(wide(dtype)), compute_uv=False), dtype, m, n)
    assert np.all(np.diff(s, axis=-1) <= 0)
    orthonormal_columns(u, dtype, m)
    orthonormal_columns(ct(vt), dtype, n)
    rec = (u[..., :, :k] * s[..., None, :]) @ vt[..., :k, :]
    close(rec, a, dtype, m, n)
    close(la.svdvals(a), s, dtype, m, n)


@given(seeds, batches, st.integers(0, 8), st.integers(0, 3), dtypes, layouts,
       st.sampled_from(["gen", "sym", "her", "pos"]))
def test_solve(seed, batch, n, k, dtype, layout, assume):
    if assume == "sym":  # A = A^T: complex symmetric (not Hermitian) for complex types
        g = well_conditioned(seed, batch, n, dtype)
        a = (g + np.swapaxes(g, -1, -2)) / 2
    else:
        a = spd(seed, batch, n, dtype) if assume != "gen" else well_conditioned(seed, batch, n, dtype)
    a, b = as_layout(a, layout), as_layout(rand(seed + 1, batch + (n, k), dtype), layout)
    x = la.solve(a, b, assume_a=assume)
    assert x.shape == b.shape and x.dtype == dtype
    close(x, np.linalg.solve(a.astype(wide(dtype)), b.astype(wide(dtype))), dtype, n, factor=200)


def test_solve_vector_and_broadcast(rng):
    a = rng.standard_normal((4, 1, 5, 5)) + 5 * np.eye(5)
    b = rng.standard_normal((3, 5, 2))
    close(la.solve(a, b), np.linalg.solve(a, b), np.float64, 5)
    v = rng.standard_normal(5)
    close(la.solve(a[0, 0], v), np.linalg.solve(a[0, 0], v), np.float64, 5)
    assert la.solve(a[0, 0], v).shape == (5,)
    assert la.solve(a[0, 0], np.zeros((5, 0))).shape == (5, 0)
    # NumPy 2: a 1-D b is one right-hand side for every matrix of a stack.
    close(la.solve(a, v), np.linalg.solve(a, v), np.float64, 5)
    assert la.solve(a, v).shape == (4, 1, 5)


def test_solve_sym_reads_one_triangle(rng):
    s = spd(1, (), 6, np.float64)
    junk = s.copy()
    junk[np.triu_indices(6, 1)] = 1e6  # upper triangle is garbage; lower=True must ignore it
    for assume in ("sym", "pos"):
        close(la.solve(junk, np.ones(6), assume_a=assume, lower=True), np.linalg.solve(s, np.ones(6)), np.float64, 6)


@given(seeds, batches, st.integers(0, 8), dtypes, layouts)
def test_inv_det_slogdet(seed, batch, n, dtype, layout):
    a = as_layout(well_conditioned(seed, batch, n, dtype), layout)
    a64 = a.astype(wide(dtype))
    close(la.inv(a), np.linalg.inv(a64), dtype, n, factor=200)
    sign, logdet = la.slogdet(a)
    rs, rl = np.linalg.slogdet(a64)
    assert sign.dtype == dtype and logdet.dtype == np.finfo(dtype).dtype
    close(sign, rs, dtype, n, factor=200)
    close(logdet, rl, dtype, n, factor=200)
    close(la.det(a), np.linalg.det(a64), dtype, n, scale=float(np.abs(np.linalg.det(a64)).max(initial=1)), factor=200)


def test_det_singular_is_zero_not_error():
    assert la.det(np.ones((3, 3))) == 0.0
    assert tuple(la.slogdet(np.ones((3, 3)))) == (0.0, -np.inf)


@given(seeds, batches, st.integers(0, 8), dtypes, layouts, st.booleans())
def test_cholesky(seed, batch, n, dtype, layout, lower):
    a = as_layout(spd(seed, batch, n, dtype), layout)
    c = la.cholesky(a, lower=lower)
    if lower:
        close(c, np.linalg.cholesky(a.astype(wide(dtype))), dtype, n, factor=200)
        assert np.all(np.triu(c, 1) == 0)
    else:
        close(ct(c) @ c, a, dtype, n, factor=200)
        assert np.all(np.tril(c, -1) == 0)


@given(seeds, batches, dims, dims, dtypes, layouts, st.sampled_from(["reduced", "complete", "r"]))
def test_qr(seed, batch, m, n, dtype, layout, mode):
    a = as_layout(rand(seed, batch + (m, n), dtype), layout)
    ref = np.linalg.qr(a.astype(wide(dtype)), mode=mode)
    out = la.qr(a, mode=mode)
    if mode == "r":
        assert out.shape == ref.shape
        close(np.abs(out), np.abs(ref), dtype, m, n)
        return
    q, r = out
    assert q.shape == ref.Q.shape and r.shape == ref.R.shape
    orthonormal_columns(q, dtype, m)
    assert np.all(np.tril(r, -1) == 0)
    close(q @ r, a, dtype, m, n)


@given(seeds, batches, st.integers(0, 9), dtypes, layouts, st.sampled_from(["L", "U"]))
def test_eigh(seed, batch, n, dtype, layout, uplo):
    g = rand(seed, batch + (n, n), wide(dtype))
    a = as_layout(((g + ct(g)) / 2).astype(dtype), layout)
    w, v = la.eigh(a, UPLO=uplo)
    assert w.dtype == np.finfo(dtype).dtype and v.dtype == dtype
    close(w, np.linalg.eigvalsh(a.astype(wide(dtype))), dtype, n)
    orthonormal_columns(v, dtype, n)
    close(a @ v, v * w[..., None, :], dtype, n, scale=max(1.0, float(np.abs(a).max(initial=0)) * n))
    close(la.eigvalsh(a, UPLO=uplo), w, dtype, n)


@given(seeds, st.integers(0, 9), st.integers(0, 9), st.integers(0, 3), dtypes, layouts, st.booleans())
def test_lstsq(seed, m, n, k, dtype, layout, vector):
    a = as_layout(rand(seed, (m, n), dtype), layout)
    b = rand(seed + 1, (m,) if vector else (m, k), dtype)
    x, res, rank, s = la.lstsq(a, b)
    rx, rres, rrank, rs = np.linalg.lstsq(a.astype(wide(dtype)), b.astype(wide(dtype)), rcond=None)
    assert x.shape == rx.shape and res.shape == rres.shape and rank == rrank
    close(s, rs, dtype, m, n)
    if rank == n:  # unique solution
        close(x, rx, dtype, m, n, factor=2000)
        close(res, rres, dtype, m, n, scale=max(1.0, float(np.abs(b).max(initial=0)) ** 2 * m), factor=2000)


def test_lstsq_rank_deficient_min_norm(rng):
    a = rng.standard_normal((8, 3)) @ rng.standard_normal((3, 5))  # rank 3
    b = rng.standard_normal(8)
    x, res, rank, s = la.lstsq(a, b)
    assert rank == 3 and res.shape == (0,)
    close(x, np.linalg.pinv(a) @ b, np.float64, 8, factor=1000)


@given(seeds, batches, st.integers(1, 7), dtypes, st.sampled_from([None, 2, -2, 1, -1, np.inf, -np.inf, "fro"]))
def test_cond(seed, batch, n, dtype, p):
    a = well_conditioned(seed, batch, n, dtype)
    close(la.cond(a, p), np.linalg.cond(a.astype(wide(dtype)), p), dtype, n, factor=500)


def test_cond_singular_is_inf():
    assert la.cond(np.ones((3, 3)), 1) == np.inf
    assert la.cond(np.zeros((3, 3))) == np.inf


@given(seeds, batches, st.integers(1, 8), dtypes, layouts)
def test_rcond_bounds_exact(seed, batch, n, dtype, layout):
    a = as_layout(well_conditioned(seed, batch, n, dtype), layout)
    r1 = la.rcond(a)
    ri = la.rcond(a, norm="inf")
    e1 = 1 / np.linalg.cond(a.astype(wide(dtype)), 1)
    ei = 1 / np.linalg.cond(a.astype(wide(dtype)), np.inf)
    slack = tol(dtype, n) * 10
    assert np.all(r1 >= e1 * (1 - slack)) and np.all(r1 <= e1 * n * (1 + slack))
    assert np.all(ri >= ei * (1 - slack)) and np.all(ri <= ei * n * (1 + slack))
    s = spd(seed, batch, n, dtype)
    rp = la.rcond(s, assume_a="pos")
    ep = 1 / np.linalg.cond(s.astype(wide(dtype)), 1)
    assert np.all(rp >= ep * (1 - slack)) and np.all(rp <= ep * n * (1 + slack))


def test_rcond_singular_is_zero():
    assert la.rcond(np.ones((4, 4))) == 0.0


# ---- gemm ----

@given(seeds, batches, st.integers(0, 12), st.integers(0, 12), st.integers(0, 12), dtypes,
       layouts, layouts, st.booleans(), st.booleans(), st.sampled_from([1.0, -0.5, 0.0]),
       st.sampled_from([0.0, 1.0, 2.5]))
def test_gemm(seed, batch, m, n, k, dtype, la_, lb, ta, tb, alpha, beta):
    a = rand(seed, batch + ((k, m) if ta else (m, k)), dtype)
    b = rand(seed + 1, batch + ((n, k) if tb else (k, n)), dtype)
    c = rand(seed + 2, batch + (m, n), dtype)
    opa = np.swapaxes(a, -1, -2) if ta else a
    opb = np.swapaxes(b, -1, -2) if tb else b
    c2 = c.copy()
    a, b = as_layout(a, la_), as_layout(b, lb)
    opa = np.swapaxes(a, -1, -2) if ta else a
    opb = np.swapaxes(b, -1, -2) if tb else b
    ref = alpha * (opa.astype(wide(dtype)) @ opb.astype(wide(dtype))) + beta * c
    out = la.gemm(a, b, c2, alpha=alpha, beta=beta, trans_a=ta, trans_b=tb)
    assert out is c2
    close(c2, ref, dtype, k, scale=max(1.0, float(np.abs(ref).max(initial=0))))
    fresh = la.gemm(a, b, trans_a=ta, trans_b=tb, alpha=alpha)
    close(fresh, alpha * (opa.astype(wide(dtype)) @ opb.astype(wide(dtype))), dtype, k)


@pytest.mark.parametrize("n", [3, 40])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_gemm_beta_zero_never_reads_c(n, layout):
    a = np.ones((n, n))
    c = as_layout(np.full((n, n), np.nan), layout)
    la.gemm(a, a, c, beta=0.0)
    np.testing.assert_array_equal(c, np.full((n, n), float(n)))
    c = np.full((n, n), np.nan)
    la.gemm(a, a, c, alpha=0.0, beta=0.0)
    np.testing.assert_array_equal(c, 0)


@pytest.mark.parametrize("n", [3, 40])
def test_gemm_output_aliases_input(n, rng):
    a = rng.standard_normal((n, n))
    ref = a @ a + a
    la.gemm(a, a, a, beta=1.0)  # c is a: computed as if a were copied first
    close(a, ref, np.float64, n)


def test_gemm_readonly_c_is_refused(rng):
    a = rng.standard_normal((5, 5))
    c = np.ones((5, 5))
    c.flags.writeable = False
    with pytest.raises(ValueError, match="'c' is read-only"):
        la.gemm(a, a, c, beta=1.0)
    assert np.all(c == 1)


def test_gemm_broadcasts_batches(rng):
    a = rng.standard_normal((4, 1, 3, 5))
    b = rng.standard_normal((2, 5, 6))
    close(la.gemm(a, b), a @ b, np.float64, 5)


def test_gemm_big_noncontiguous_c(rng):
    a, b = rng.standard_normal((70, 60)), rng.standard_normal((60, 50))
    big = rng.standard_normal((140, 150))
    c = big[::2, ::3]
    ref = 2 * a @ b + 0.5 * c
    la.gemm(a, b, c, alpha=2.0, beta=0.5)
    close(big[::2, ::3], ref, np.float64, 60)


def test_int_and_bool_inputs_become_float64():
    a = np.array([[2, 1], [1, 3]])
    assert la.inv(a).dtype == np.float64
    assert la.solve(a, np.array([True, False])).dtype == np.float64
    close(la.gemm(a, a), a @ a, np.float64, 2)


def test_mixed_precision_promotes(rng):
    a = rng.standard_normal((3, 3)).astype(np.float32) + 3 * np.eye(3, dtype=np.float32)
    b = rng.standard_normal(3)
    assert la.solve(a, b).dtype == np.float64
    assert la.solve(a, b.astype(np.float32)).dtype == np.float32


def test_nonnative_byte_order(rng):
    a = (rng.standard_normal((4, 4)) + 4 * np.eye(4)).astype(">f8")
    close(la.inv(a), np.linalg.inv(a.astype(np.float64)), np.float64, 4)


def test_svd_empty_conventions():
    for shape in [(0, 3), (3, 0), (0, 0), (2, 0, 4)]:
        a = np.zeros(shape)
        ours, ref = la.svd(a), np.linalg.svd(a)
        for o, r in zip(ours, ref):
            assert o.shape == r.shape
            np.testing.assert_array_equal(o, r)


def test_lstsq_empty():
    for m, n in [(0, 3), (3, 0), (0, 0)]:
        x, res, rank, s = la.lstsq(np.zeros((m, n)), np.zeros((m, 2)))
        rx, rres, rrank, rs = np.linalg.lstsq(np.zeros((m, n)), np.zeros((m, 2)), rcond=None)
        assert x.shape == rx.shape and res.shape == rres.shape and rank == rrank and s.shape == rs.shape


def test_cholesky_upper_matches_scipy(rng):
    a = spd(3, (), 5, np.float64)
    close(la.cholesky(a, lower=False), sla.cholesky(a, lower=False), np.float64, 5)


def test_complex_gemm_stays_on_the_cpu_and_says_why(rng):
    a = rng.standard_normal((100, 100)) + 1j * rng.standard_normal((100, 100))
    close(la.gemm(a, a), a @ a, np.complex128, 100)
    assert "real-only" in la.last_decision().reason
    with pytest.raises(la.DeviceError, match="real-only"):
        la.gemm(a, a, device="opencl")


def test_complex_coefficients_promote_like_numpy(rng):
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32)
    out = la.gemm(a, b, alpha=2j)
    assert out.dtype == np.complex64
    close(out, 2j * (a.astype(np.float64) @ b), np.float32, 4)
    with pytest.raises(la.DTypeError):  # a real c cannot hold a complex product
        la.gemm(a, b, np.zeros((3, 2), np.float32), alpha=1j)


@pytest.mark.parametrize("da, db", [(np.float32, np.complex64), (np.float32, np.complex128),
                                    (np.float64, np.complex64), (np.int64, np.complex64)])
def test_mixed_real_complex_promotes_like_numpy(da, db, rng):
    a = (rng.standard_normal((4, 4)) + 4 * np.eye(4)).astype(da)
    b = (rng.standard_normal(4) + 1j * rng.standard_normal(4)).astype(db)
    want = np.linalg.solve(a, b)
    got = la.solve(a, b)
    assert got.dtype == want.dtype
    close(got, want, got.dtype, 4, factor=200)
    assert la.gemm(a, b[:, None]).dtype == np.matmul(a, b[:, None]).dtype


@pytest.mark.parametrize("n", [2, 5, 12])  # the native small path and LAPACK
@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_complex_extreme_scales_divide_safely(n, scale, rng):
    """|z|^2 under- or overflows for such entries: the quotients must not (NaN otherwise)."""
    a = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)) + 4 * np.eye(n)) * scale
    b = rng.standard_normal(n) + 0j
    close(la.inv(a) * scale, np.linalg.inv(a) * scale, np.complex128, n, factor=200)
    close(la.solve(a, b) * scale, np.linalg.solve(a, b) * scale, np.complex128, n, factor=200)
    sign, logdet = la.slogdet(a)
    rs, rl = np.linalg.slogdet(a)
    close(sign, rs, np.complex128, n, factor=200)
    close(logdet, rl, np.complex128, n, scale=abs(rl), factor=200)
    g = a / scale
    h = (g @ g.conj().T + np.eye(n)) * scale
    close(la.cholesky(h) / np.sqrt(scale), np.linalg.cholesky(h) / np.sqrt(scale), np.complex128, n, factor=200)


def test_cond_of_complex_is_real():
    m = np.array([[1e-3j, 0.5], [0, 1]])
    for p in (None, 1, np.inf, "fro"):
        got, want = la.cond(m, p), np.linalg.cond(m, p)
        assert np.asarray(got).dtype == np.asarray(want).dtype == np.float64
        close(got, want, np.float64, 2, scale=float(want))
