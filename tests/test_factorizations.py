"""Factorisations and the solvers built on them (lu_factor/lu_solve, lu, cho_factor/cho_solve,
solve_triangular, schur, eig/eigvals, generalized eigh/eigvalsh, solve(assume_a='her')) against
SciPy and NumPy on random inputs (Hypothesis): every keyword, stacks and broadcasting, empty
inputs, dtype promotion, inputs left untouched, and the error paths."""

import warnings

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

import lapack_ai as la

from conftest import DTYPES, LAYOUTS, as_layout, close, ct, rand, tol, wide

dtypes = st.sampled_from(DTYPES)
# small matrices, and now and then one of 30 to leave the native small-matrix path
sizes = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 30])
batches = st.sampled_from([(), (2,), (2, 3)])
layouts = st.sampled_from(LAYOUTS)
seeds = st.integers(0, 2**32 - 1)
# (factor's batch, b's batch): equal, one side unbatched, and broadcasting size-1 dimensions
batch_pairs = st.sampled_from([((), ()), ((2,), (2,)), ((2, 3), (2, 3)), ((), (2,)), ((2,), ()),
                               ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3))])


def real_of(dtype):
    return np.finfo(dtype).dtype



def tr(x):
    return np.swapaxes(x, -1, -2)


def well_conditioned(seed, batch, n, dtype):
    return (rand(seed, batch + (n, n), wide(dtype)) + 3 * np.sqrt(max(n, 1)) * np.eye(n)).astype(dtype)


def spd(seed, batch, n, dtype):
    g = rand(seed, batch + (n, n), wide(dtype))
    return (g @ ct(g) + n * np.eye(n)).astype(dtype)


def hermitian(seed, batch, n, dtype):
    g = rand(seed, batch + (n, n), wide(dtype))
    return ((g + ct(g)) / 2).astype(dtype)


def junk_outside(a, lower, seed, diagonal=False):
    """``a`` with the strict triangle that ``lower`` does not name (and the diagonal when asked)
    overwritten by large garbage: a routine that reads it gives a visibly wrong answer."""
    n = a.shape[-1]
    mask = np.triu(np.ones((n, n), bool), 1) if lower else np.tril(np.ones((n, n), bool), -1)
    if diagonal:
        mask |= np.eye(n, dtype=bool)
    return np.where(mask, 1e3 * (1 + np.abs(rand(seed, a.shape, a.dtype))), a).astype(a.dtype)


def rhs(seed, batch, n, k, vector, dtype, layout):
    b = rand(seed, (n,) if vector else batch + (n, k), dtype)
    return b if vector else as_layout(b, layout)


def snapshot(*xs):
    return [np.array(x, copy=True) for x in xs]


def unchanged(before, *xs):
    for b, x in zip(before, xs):
        np.testing.assert_array_equal(np.asarray(x), b)


def matched(w, ref):
    """``w`` reordered to pair each of ref's eigenvalues with its nearest (an assignment per
    matrix of the stack): eigenvalue order is not part of eig's contract."""
    w, ref = np.asarray(w, np.complex128), np.asarray(ref, np.complex128)
    out = np.empty_like(ref)
    for idx in np.ndindex(ref.shape[:-1]):
        r, c = linear_sum_assignment(np.abs(w[idx][:, None] - ref[idx][None, :]))
        out[idx][c] = w[idx][r]
    return out


def op(a, trans):
    return {0: a, "N": a, 1: tr(a), "T": tr(a), 2: ct(a), "C": ct(a)}[trans]


# ---- lu_factor / lu_solve ----

@given(seeds, batches, sizes, dtypes, layouts)
def test_lu_factor_matches_scipy(seed, batch, n, dtype, layout):
    a = as_layout(rand(seed, batch + (n, n), dtype), layout)
    before = snapshot(a)
    lu, piv = la.lu_factor(a)
    unchanged(before, a)
    assert lu.shape == a.shape and lu.dtype == dtype
    assert piv.shape == batch + (n,) and piv.dtype == np.int32
    a64 = a.astype(wide(dtype))
    for idx in np.ndindex(batch):
        rlu, rpiv = sla.lu_factor(a64[idx])
        np.testing.assert_array_equal(piv[idx], rpiv)
        close(lu[idx], rlu, dtype, n, scale=max(1.0, float(np.abs(rlu).max(initial=0))), factor=200)
    # the factors rebuild a: apply the interchanges to the rows of L U, in reverse
    lower = np.tril(lu, -1) + np.eye(n, dtype=dtype)
    rec = (lower @ np.triu(lu)).astype(wide(dtype))
    for i in reversed(range(n)):
        j = piv[..., i]
        for idx in np.ndindex(batch):
            rec[idx + (i,)], rec[idx + (j[idx],)] = rec[idx + (j[idx],)].copy(), rec[idx + (i,)].copy()
    close(rec, a, dtype, n, scale=max(1.0, float(np.abs(a).max(initial=0)) * n))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (2, 4, 6), (2, 6, 4)])
def test_lu_factor_rectangular(shape, dtype):
    a = rand(8, shape, dtype)
    lu, piv = la.lu_factor(a)
    assert lu.shape == shape and lu.dtype == dtype and piv.shape == shape[:-2] + (min(shape[-2:]),)
    for idx in np.ndindex(shape[:-2]):
        rlu, rpiv = sla.lu_factor(a[idx].astype(wide(dtype)))
        np.testing.assert_array_equal(piv[idx], rpiv)
        close(lu[idx], rlu, dtype, *shape[-2:], factor=200)


@given(seeds, batch_pairs, sizes, st.integers(0, 3), st.booleans(), dtypes, layouts,
       st.sampled_from([0, 1, 2]))
def test_lu_solve(seed, bpair, n, k, vector, dtype, layout, trans):
    fbatch, bbatch = bpair
    a = as_layout(well_conditioned(seed, fbatch, n, dtype), layout)
    lu, piv = la.lu_factor(a)
    lu, b = as_layout(lu, layout), rhs(seed + 1, bbatch, n, k, vector, dtype, layout)
    before = snapshot(lu, piv, b)
    x = la.lu_solve((lu, piv), b, trans=trans)
    unchanged(before, lu, piv, b)
    ref = np.linalg.solve(op(a.astype(wide(dtype)), trans), b.astype(wide(dtype)))
    assert x.shape == ref.shape and x.dtype == dtype
    close(x, ref, dtype, n, factor=200)
    if not vector and n:  # the same as SciPy's own factor-and-solve
        full = np.broadcast_shapes(fbatch, bbatch)
        a64 = np.broadcast_to(a.astype(wide(dtype)), full + (n, n))
        b64 = np.broadcast_to(b.astype(wide(dtype)), full + (n, k))
        for idx in np.ndindex(full):
            close(x[idx], sla.lu_solve(sla.lu_factor(a64[idx]), b64[idx], trans=trans), dtype, n, factor=200)


def test_lu_solve_trans_differ_for_complex(rng):
    """trans=1 (a.T) and trans=2 (a^H) are different systems for complex a."""
    a = rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4)) + 4 * np.eye(4)
    b = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    f = la.lu_factor(a)
    xs = [la.lu_solve(f, b, trans=t) for t in (0, 1, 2)]
    for t, x in zip((0, 1, 2), xs):
        close(x, sla.lu_solve(sla.lu_factor(a), b, trans=t), np.complex128, 4)
    assert not np.allclose(xs[1], xs[2])


def test_lu_factor_singular_warns_and_returns_factors():
    rng = np.random.default_rng(7)
    rank2 = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 5))
    zero_col = rng.standard_normal((4, 4))
    zero_col[:, 2] = 0
    for a in (np.ones((3, 3)), zero_col, np.zeros((2, 2)), rank2.round(0)):
        for dtype in DTYPES:
            x = a.astype(dtype)
            with warnings.catch_warnings(record=True) as ours:
                warnings.simplefilter("always")
                lu, piv = la.lu_factor(x)
            with warnings.catch_warnings(record=True) as ref:
                warnings.simplefilter("always")
                rlu, rpiv = sla.lu_factor(x)
            if not any(issubclass(w.category, sla.LinAlgWarning) for w in ref):
                continue  # rounding left no exact zero on U's diagonal (rank2 in some dtypes)
            hits = [w for w in ours if issubclass(w.category, la.LinAlgWarning)]
            assert hits, f"no LinAlgWarning for singular {a.shape} {np.dtype(dtype)}"
            assert str(hits[0].message) == str([w for w in ref if issubclass(w.category, sla.LinAlgWarning)][0].message)
            np.testing.assert_array_equal(piv, rpiv)
            close(lu, rlu, dtype, a.shape[0])


def test_lu_factor_singular_in_stack_warns_naming_matrix():
    a = np.stack([np.eye(3), np.ones((3, 3))])
    with pytest.warns(la.LinAlgWarning, match=r"Diagonal number 2 .*matrix \(1,\)"):
        lu, piv = la.lu_factor(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy warns too
        rlu, rpiv = sla.lu_factor(a[1])
    np.testing.assert_array_equal(piv[1], rpiv)
    np.testing.assert_array_equal(lu[1], rlu)
    np.testing.assert_array_equal(lu[0], np.eye(3))


def test_lu_solve_bad_pivots_refused():
    a = np.array([[4.0, 1, 0], [1, 4, 1], [0, 1, 4]])
    lu, piv = la.lu_factor(a)
    for bad in (np.array([0, 3, 2]), np.array([-1, 1, 2]), np.array([0, 1, 2**20])):
        with pytest.raises(la.ShapeError) as e:
            la.lu_solve((lu, bad), np.ones(3))
        assert e.value.argument == "piv"
    with pytest.raises(la.ShapeError):  # a pivot vector of the wrong length
        la.lu_solve((lu, piv[:2]), np.ones(3))
    with pytest.raises(la.DTypeError):
        la.lu_solve((lu, piv.astype(float)), np.ones(3))
    with pytest.raises(la.ShapeError):  # b's rows do not match the factor
        la.lu_solve((lu, piv), np.ones(4))
    with pytest.raises(ValueError):
        la.lu_solve((lu, piv), np.ones(3), trans=3)


# ---- lu ----

@given(seeds, batches, sizes, sizes, dtypes, layouts, st.sampled_from(["P", "permute_l", "p_indices"]))
def test_lu(seed, batch, m, n, dtype, layout, mode):
    if m == 30 or n == 30:  # keep one dimension small: 30 x 30 only now and then
        m = n = 30 if (m == 30 and n == 30) or seed % 3 == 0 else min(m, n)
    a = as_layout(rand(seed, batch + (m, n), dtype), layout)
    before = snapshot(a)
    out = la.lu(a, permute_l=mode == "permute_l", p_indices=mode == "p_indices")
    unchanged(before, a)
    k = min(m, n)
    if mode == "permute_l":
        pl, u = out
        lower = None
    else:
        p, lower, u = out
    assert u.shape == batch + (k, n) and u.dtype == dtype
    assert np.all(np.tril(u, -1) == 0)
    a64 = a.astype(wide(dtype))
    scale = max(1.0, float(np.abs(a).max(initial=0)) * max(m, n, 1))
    if lower is not None:
        assert lower.shape == batch + (m, k) and lower.dtype == dtype
        assert np.all(np.triu(lower, 1) == 0) and np.all(np.diagonal(lower, axis1=-2, axis2=-1) == 1)
    if m == 0 or n == 0:  # empty: the shapes and dtypes SciPy gives (its P is empty whatever m is)
        ref = sla.lu(a64.astype(dtype), permute_l=mode == "permute_l", p_indices=mode == "p_indices")
        assert [o.shape for o in out] == [r.shape for r in ref]
        assert [o.dtype.kind for o in out] == [r.dtype.kind for r in ref]
        return
    if mode == "P":
        assert p.shape == batch + (m, m) and p.dtype == real_of(dtype)
        close(p @ lower @ u, a, dtype, m, n, scale=scale)
    elif mode == "p_indices":
        assert p.shape == batch + (m,) and p.dtype.kind in "iu"
        close(np.take_along_axis(lower, p[..., None], axis=-2) @ u, a, dtype, m, n, scale=scale)
    else:
        assert pl.shape == batch + (m, k) and pl.dtype == dtype
        close(pl @ u, a, dtype, m, n, scale=scale)
    for idx in np.ndindex(batch):
        ref = sla.lu(a64[idx], permute_l=mode == "permute_l", p_indices=mode == "p_indices")
        if mode == "permute_l":
            close(pl[idx], ref[0], dtype, m, n, factor=200)
            close(u[idx], ref[1], dtype, m, n, scale=scale, factor=200)
        else:
            np.testing.assert_array_equal(p[idx], ref[0])
            close(lower[idx], ref[1], dtype, m, n, factor=200)
            close(u[idx], ref[2], dtype, m, n, scale=scale, factor=200)


@pytest.mark.parametrize("batch", [(), (2,)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_lu_output_dtypes_match_scipy(dtype, batch):
    a = rand(3, batch + (4, 4), dtype)
    for kw in ({}, {"p_indices": True}, {"permute_l": True}):
        ours, ref = la.lu(a, **kw), sla.lu(a, **kw)
        assert [o.dtype for o in ours] == [r.dtype for r in ref], kw


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0), (2, 0, 0), (2, 3, 0), (2, 0, 4)])
def test_lu_empty(shape):
    a = np.zeros(shape)
    p, lower, u = la.lu(a)
    rp, rl, ru = sla.lu(a)
    assert (p.shape, lower.shape, u.shape) == (rp.shape, rl.shape, ru.shape)  # SciPy's P is empty here
    assert (p.dtype, lower.dtype, u.dtype) == (rp.dtype, rl.dtype, ru.dtype)
    pi = la.lu(a, p_indices=True)[0]
    rpi = sla.lu(a, p_indices=True)[0]
    assert pi.shape == rpi.shape
    pl, u2 = la.lu(a, permute_l=True)
    rpl, ru2 = sla.lu(a, permute_l=True)
    assert pl.shape == rpl.shape and u2.shape == ru2.shape
    lu, piv = la.lu_factor(a)
    assert lu.shape == shape and piv.shape == shape[:-2] + (min(shape[-2:]),)
    if a.ndim == 2:
        rlu, rpiv = sla.lu_factor(a)
        assert (lu.shape, piv.shape, piv.dtype) == (rlu.shape, rpiv.shape, rpiv.dtype)


# ---- cho_factor / cho_solve ----

@given(seeds, batch_pairs, sizes, st.integers(0, 3), st.booleans(), dtypes, layouts, st.booleans())
def test_cho_factor_solve(seed, bpair, n, k, vector, dtype, layout, lower):
    fbatch, bbatch = bpair
    a = as_layout(spd(seed, fbatch, n, dtype), layout)
    before = snapshot(a)
    c, low = la.cho_factor(a, lower=lower)
    unchanged(before, a)
    assert low is lower and c.shape == a.shape and c.dtype == dtype
    a64 = a.astype(wide(dtype))
    tri = np.tril if lower else np.triu
    other = (lambda x: np.triu(x, 1)) if lower else (lambda x: np.tril(x, -1))
    np.testing.assert_array_equal(other(c), other(a))  # as SciPy: a's own entries stay there
    for idx in np.ndindex(fbatch):
        rc, rlow = sla.cho_factor(a64[idx], lower=lower)
        assert rlow == lower
        close(tri(c[idx]), tri(rc), dtype, n, factor=200)
    b = rhs(seed + 1, bbatch, n, k, vector, dtype, layout)
    cj = as_layout(junk_outside(c, lower, seed + 2), layout)  # cho_solve reads only its triangle
    before = snapshot(cj, b)
    x = la.cho_solve((cj, lower), b)
    unchanged(before, cj, b)
    ref = np.linalg.solve(a64, b.astype(wide(dtype)))
    assert x.shape == ref.shape and x.dtype == dtype
    close(x, ref, dtype, n, factor=200)
    if n and not vector and fbatch == bbatch:
        close(x, sla.cho_solve(sla.cho_factor(a64, lower=lower), b.astype(wide(dtype))), dtype, n, factor=200)


def test_cho_factor_reads_only_its_triangle(rng):
    a = spd(5, (), 6, np.float64)
    for lower in (True, False):
        c, _ = la.cho_factor(junk_outside(a, lower, 9), lower=lower)
        rc, _ = sla.cho_factor(a, lower=lower)
        tri = np.tril if lower else np.triu
        close(tri(c), tri(rc), np.float64, 6)


def test_cho_factor_not_positive_definite():
    a = np.diag([1.0, 2.0, -1.0, 3.0])
    with pytest.raises(la.NotPositiveDefiniteError) as e:
        la.cho_factor(a)
    assert isinstance(e.value, np.linalg.LinAlgError) and e.value.index == 3


# ---- solve_triangular ----

def triangular(seed, batch, n, dtype, lower, unit):
    """A well-conditioned triangular matrix (diagonally dominant), clean of junk."""
    g = rand(seed, batch + (n, n), wide(dtype)) / max(n, 1)
    t = np.tril(g, -1) if lower else np.triu(g, 1)
    d = rand(seed + 3, batch + (n,), wide(dtype))
    d = np.ones_like(d) if unit else d / np.maximum(np.abs(d), 1e-3) * (2 + np.abs(d))
    return (t + d[..., None] * np.eye(n)).astype(dtype)


@given(seeds, batch_pairs, sizes, st.integers(0, 3), st.booleans(), dtypes, layouts,
       st.sampled_from([0, 1, 2, "N", "T", "C"]), st.booleans(), st.booleans())
def test_solve_triangular(seed, bpair, n, k, vector, dtype, layout, trans, lower, unit):
    abatch, bbatch = bpair
    t = as_layout(triangular(seed, abatch, n, dtype, lower, unit), layout)  # the values a will hold
    a = as_layout(junk_outside(t, lower, seed + 1, diagonal=unit), layout)  # never read
    b = rhs(seed + 2, bbatch, n, k, vector, dtype, layout)
    before = snapshot(a, b)
    x = la.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit)
    unchanged(before, a, b)
    ref = np.linalg.solve(op(t.astype(wide(dtype)), trans), b.astype(wide(dtype)))
    assert x.shape == ref.shape and x.dtype == dtype
    close(x, ref, dtype, n, factor=200)
    if n and not vector and abatch == bbatch:  # SciPy on the same junk-filled input
        r = sla.solve_triangular(a.astype(wide(dtype)), b.astype(wide(dtype)), trans=trans, lower=lower,
                                 unit_diagonal=unit)
        close(x, r, dtype, n, factor=200)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lower", [True, False])
def test_solve_triangular_singular(dtype, lower):
    n = 5
    for i in range(n):
        a = triangular(i, (), n, dtype, lower, False)
        a[i, i] = 0
        with pytest.raises(la.SingularMatrixError) as e:
            la.solve_triangular(a, np.ones(n, dtype), lower=lower)
        assert isinstance(e.value, np.linalg.LinAlgError)
        assert e.value.index == i + 1 and f"A[{i}, {i}]" in str(e.value)
        # with unit_diagonal the zero is not read: no error, SciPy's answer
        x = la.solve_triangular(a, np.ones(n, dtype), lower=lower, unit_diagonal=True)
        close(x, sla.solve_triangular(a.astype(wide(dtype)), np.ones(n), lower=lower, unit_diagonal=True), dtype, n)
    stack = np.stack([triangular(1, (), n, dtype, lower, False)] * 3)
    stack[2, 3, 3] = 0
    with pytest.raises(la.SingularMatrixError) as e:
        la.solve_triangular(stack, np.ones((3, n, 1), dtype), lower=lower)
    assert e.value.index == 4 and tuple(np.atleast_1d(e.value.batch)) == (2,)


def test_solve_triangular_bad_trans_and_shapes():
    a = np.triu(np.ones((3, 3)))
    with pytest.raises(ValueError):
        la.solve_triangular(a, np.ones(3), trans="X")
    with pytest.raises(la.ShapeError):
        la.solve_triangular(a, np.ones(4))
    with pytest.raises(la.ShapeError):
        la.solve_triangular(np.ones((3, 4)), np.ones(3))


# ---- schur ----

def check_quasi_triangular(t):
    """Real Schur form: zero below the first subdiagonal, 1x1 and 2x2 diagonal blocks, each 2x2
    block in LAPACK's standard form (equal diagonal, off-diagonals of opposite sign)."""
    assert np.all(np.tril(t, -2) == 0)
    sub = np.diagonal(t, -1, axis1=-2, axis2=-1) != 0
    assert not np.any(sub[..., 1:] & sub[..., :-1]), "two consecutive nonzero subdiagonal entries"
    for idx in zip(*np.nonzero(sub)):
        *b, i = idx
        b = tuple(b)
        blk = t[b + (slice(i, i + 2), slice(i, i + 2))]
        assert blk[0, 0] == blk[1, 1] and blk[0, 1] * blk[1, 0] < 0, blk


@given(seeds, batches, sizes, dtypes, layouts, st.sampled_from(["real", "complex", "r", "c"]),
       st.sampled_from(["general", "symmetric"]))
def test_schur(seed, batch, n, dtype, layout, output, kind):
    a = hermitian(seed, batch, n, dtype) if kind == "symmetric" else rand(seed, batch + (n, n), dtype)
    a = as_layout(a, layout)
    before = snapshot(a)
    t, z = la.schur(a, output=output)
    unchanged(before, a)
    complex_out = output[0] == "c" or np.dtype(dtype).kind == "c"
    expected = np.result_type(dtype, np.complex64) if complex_out else np.dtype(dtype)
    assert t.dtype == z.dtype == expected and t.shape == z.shape == a.shape
    if n and batch == ():  # dtypes as SciPy gives them
        rt, rz = sla.schur(a, output=output)
        assert (t.dtype, z.dtype) == (rt.dtype, rz.dtype)
    close(ct(z) @ z, np.broadcast_to(np.eye(n), a.shape), dtype, n)
    if complex_out:
        assert np.all(np.tril(t, -1) == 0)
        ref = np.linalg.eigvals(a.astype(np.complex128))
        close(matched(np.diagonal(t, axis1=-2, axis2=-1), ref), ref, dtype, n, factor=500,
              scale=max(1.0, float(np.abs(a).max(initial=0)) * n))
    else:
        check_quasi_triangular(t)
    if kind == "symmetric" and not complex_out:
        assert np.all(np.diagonal(t, -1, axis1=-2, axis2=-1) == 0) or n < 2  # real symmetric: diagonal
    close(z @ t @ ct(z), a, dtype, n, scale=max(1.0, float(np.abs(a).max(initial=0)) * n))


def test_schur_refuses_sort_and_bad_output():
    with pytest.raises(NotImplementedError):
        la.schur(np.eye(3), sort="lhp")
    with pytest.raises(ValueError):
        la.schur(np.eye(3), output="quaternion")


# ---- eig / eigvals ----

@given(seeds, batches, sizes, dtypes, layouts, st.sampled_from(["general", "symmetric", "triangular"]))
def test_eig(seed, batch, n, dtype, layout, kind):
    if kind == "symmetric":
        a = hermitian(seed, batch, n, dtype)
        if np.dtype(dtype).kind == "c":  # a complex symmetric (not Hermitian) matrix
            g = rand(seed, batch + (n, n), dtype)
            a = ((g + tr(g)) / 2).astype(dtype)
    elif kind == "triangular":
        a = np.triu(rand(seed, batch + (n, n), dtype))
    else:
        a = rand(seed, batch + (n, n), dtype)
    a = as_layout(a, layout)
    before = snapshot(a)
    w, v = la.eig(a)
    unchanged(before, a)
    ref = np.linalg.eig(a)  # NumPy on the same dtype: its real-if-possible rule decides the types
    assert w.dtype == ref.eigenvalues.dtype and v.dtype == ref.eigenvectors.dtype
    if np.dtype(dtype).kind == "c":
        assert w.dtype == v.dtype == dtype
    elif kind in ("symmetric", "triangular"):  # real eigenvalues: real results, precision kept
        assert w.dtype == v.dtype == dtype
    else:
        assert w.dtype in (np.dtype(dtype), np.result_type(dtype, np.complex64))
    assert w.shape == batch + (n,) and v.shape == batch + (n, n)
    scale = max(1.0, float(np.abs(a).max(initial=0)) * n)
    close(a @ v, v * w[..., None, :], dtype, n, scale=scale)
    close(np.linalg.norm(v, axis=-2), np.ones(batch + (n,)), dtype, n)
    a64 = a.astype(wide(dtype))
    rw = np.linalg.eigvals(a64)
    close(matched(w, rw), rw, dtype, n, scale=scale, factor=500)
    ev = la.eigvals(a)
    unchanged(before, a)
    assert ev.dtype == np.linalg.eigvals(a).dtype and ev.shape == w.shape
    if ev.dtype.kind == "f":  # real: both sorted
        close(np.sort(ev, axis=-1), np.sort(rw.real, axis=-1), dtype, n, scale=scale, factor=500)
    else:
        close(matched(ev, rw), rw, dtype, n, scale=scale, factor=500)


def test_eig_complex_pairs_make_real_input_complex():
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    for dtype, cdtype in ((np.float32, np.complex64), (np.float64, np.complex128)):
        w, v = la.eig(rot.astype(dtype))
        assert w.dtype == v.dtype == cdtype
        close(np.sort_complex(w), np.array([-1j, 1j]), dtype, 2)
        assert la.eigvals(rot.astype(dtype)).dtype == cdtype
        # one matrix of a stack with complex eigenvalues makes the whole stack complex, as NumPy
        stack = np.stack([np.eye(2), rot]).astype(dtype)
        assert la.eig(stack).eigenvalues.dtype == np.linalg.eig(stack).eigenvalues.dtype == cdtype
        # complex input stays complex even when every eigenvalue is real
        assert la.eig(np.eye(2, dtype=cdtype)).eigenvalues.dtype == cdtype


# ---- generalized eigh / eigvalsh, UPLO ----

@given(seeds, batch_pairs, sizes, dtypes, layouts, st.sampled_from(["L", "U", "l", "u"]))
def test_eigh_generalized(seed, bpair, n, dtype, layout, uplo):
    abatch, bbatch = bpair
    lower = uplo.upper() == "L"
    a_clean = as_layout(hermitian(seed, abatch, n, dtype), layout)  # the values a and b will hold
    b_clean = as_layout(spd(seed + 1, bbatch, n, dtype), layout)
    a = as_layout(junk_outside(a_clean, lower, seed + 2), layout)  # the other triangle is never read
    b = as_layout(junk_outside(b_clean, lower, seed + 3), layout)
    before = snapshot(a, b)
    w, v = la.eigh(a, UPLO=uplo, b=b)
    unchanged(before, a, b)
    full = np.broadcast_shapes(abatch, bbatch)
    assert w.shape == full + (n,) and v.shape == full + (n, n)
    assert w.dtype == real_of(dtype) and v.dtype == dtype
    a64 = np.broadcast_to(a_clean.astype(wide(dtype)), full + (n, n))
    b64 = np.broadcast_to(b_clean.astype(wide(dtype)), full + (n, n))
    aj = np.broadcast_to(a.astype(wide(dtype)), full + (n, n))
    bj = np.broadcast_to(b.astype(wide(dtype)), full + (n, n))
    scale = max(1.0, float(np.abs(a64).max(initial=0)) * n)
    for idx in np.ndindex(full):
        if n:  # SciPy, given the same junk, reads the same triangle
            rw = sla.eigh(aj[idx], bj[idx], lower=lower, eigvals_only=True)
            close(w[idx], rw, dtype, n, scale=scale, factor=200)
    assert np.all(np.diff(w, axis=-1) >= 0)
    close(a64 @ v, (b64 @ v) * w[..., None, :], dtype, n, scale=scale * max(1.0, float(np.abs(w).max(initial=0))))
    close(ct(v) @ b64 @ v, np.broadcast_to(np.eye(n), full + (n, n)), dtype, n, factor=200)
    wv = la.eigvalsh(a, UPLO=uplo, b=b)
    unchanged(before, a, b)
    assert wv.dtype == w.dtype and wv.shape == w.shape
    close(wv, w, dtype, n, scale=scale)


@given(seeds, batches, sizes, dtypes, st.sampled_from(["L", "U"]))
def test_eigh_uplo_reads_one_triangle(seed, batch, n, dtype, uplo):
    a = hermitian(seed, batch, n, dtype)
    aj = junk_outside(a, uplo == "L", seed + 1)
    w, v = la.eigh(aj, UPLO=uplo)
    close(w, np.linalg.eigvalsh(a.astype(wide(dtype))), dtype, n)
    close(a.astype(wide(dtype)) @ v, v * w[..., None, :], dtype, n, scale=max(1.0, float(np.abs(a).max(initial=0)) * n))
    close(la.eigvalsh(aj, UPLO=uplo), w, dtype, n)


@pytest.mark.parametrize("dtype", DTYPES)
def test_eigh_b_not_positive_definite(dtype):
    a = np.eye(4, dtype=dtype)
    b = np.diag([1.0, 1.0, -1.0, 1.0]).astype(dtype)
    for fn in (la.eigh, la.eigvalsh):
        for uplo in ("L", "U"):
            with pytest.raises(la.NotPositiveDefiniteError) as e:
                fn(a, UPLO=uplo, b=b)
            assert isinstance(e.value, np.linalg.LinAlgError) and e.value.index == 3
    with pytest.raises(la.NotPositiveDefiniteError) as e:
        la.eigh(a, b=np.stack([np.eye(4, dtype=dtype), b]))
    assert tuple(np.atleast_1d(e.value.batch)) == (1,)
    with pytest.raises(la.NotPositiveDefiniteError):
        la.eigh(a, b=np.zeros((4, 4), dtype))


def test_eigh_b_shape_mismatch():
    with pytest.raises(la.ShapeError):
        la.eigh(np.eye(3), b=np.eye(4))
    with pytest.raises(la.ShapeError):
        la.eigvalsh(np.eye(3), b=np.eye(3)[:, :2])
    with pytest.raises(la.ShapeError):
        la.eigh(np.ones((2, 3)), b=np.ones((2, 3)))
    with pytest.raises(la.ShapeError):  # batches that do not broadcast
        la.eigh(np.stack([np.eye(3)] * 2), b=np.stack([np.eye(3)] * 3))


# ---- solve(assume_a='her') ----

@given(seeds, batch_pairs, st.sampled_from([0, 1, 2, 3, 5, 8, 30]), st.integers(0, 3), dtypes, layouts,
       st.booleans())
def test_solve_hermitian(seed, bpair, n, k, dtype, layout, lower):
    abatch, bbatch = bpair
    h = hermitian(seed, abatch, n, dtype) + (3 * np.sqrt(max(n, 1)) * np.eye(n)).astype(dtype)  # indefinite is fine
    h = as_layout(h, layout)  # the values a will hold
    a = as_layout(junk_outside(h, lower, seed + 1), layout)
    b = as_layout(rand(seed + 2, bbatch + (n, k), dtype), layout)
    before = snapshot(a, b)
    x = la.solve(a, b, assume_a="her", lower=lower)
    unchanged(before, a, b)
    ref = np.linalg.solve(h.astype(wide(dtype)), b.astype(wide(dtype)))
    assert x.shape == ref.shape and x.dtype == dtype
    close(x, ref, dtype, n, factor=200)
    if n and abatch == bbatch == ():
        r = sla.solve(a.astype(wide(dtype)), b.astype(wide(dtype)), assume_a="her", lower=lower)
        close(x, r, dtype, n, factor=200)


# ---- across routines: empty inputs, integers, promotion, NaN, shapes ----

def test_empty_shapes_match_scipy():
    z, b, v = np.zeros((0, 0)), np.zeros((0, 2)), np.zeros(0)
    cases = [
        (lambda m: m.lu_factor(z), None),
        (lambda m: m.lu_solve(m.lu_factor(z), b), None),
        (lambda m: m.lu_solve(m.lu_factor(z), v), None),
        (lambda m: m.lu_solve(m.lu_factor(np.eye(3)), np.zeros((3, 0))), None),
        (lambda m: m.cho_factor(z)[0], None),
        (lambda m: m.cho_solve(m.cho_factor(z), b), None),
        (lambda m: m.cho_solve(m.cho_factor(np.eye(3)), np.zeros((3, 0))), None),
        (lambda m: m.solve_triangular(z, b), None),
        (lambda m: m.solve_triangular(z, v), None),
        (lambda m: m.solve_triangular(np.eye(3), np.zeros((3, 0))), None),
        (lambda m: m.solve_triangular(np.zeros((2, 0, 0)), np.zeros((2, 0, 1))), None),
        (lambda m: m.schur(z), None),
        (lambda m: m.schur(z, output="complex"), None),
        (lambda m: m.eigh(z, b=z) if m is la else m.eigh(z, z), None),
        (lambda m: m.eigvalsh(z, b=z) if m is la else m.eigh(z, z, eigvals_only=True), None),
        (lambda m: m.solve(z, b, assume_a="her"), None),
    ]
    for f, _ in cases:
        ours, ref = f(la), f(sla)
        ours = ours if isinstance(ours, tuple) else (ours,)
        ref = ref if isinstance(ref, tuple) else (ref,)
        assert [np.shape(o) for o in ours] == [np.shape(r) for r in ref]
        assert [np.asarray(o).dtype for o in ours] == [np.asarray(r).dtype for r in ref]
    for shape in [(0, 0), (2, 0, 0), (3, 1, 0, 0)]:
        a = np.zeros(shape)
        w, vv = la.eig(a)
        rw, rv = np.linalg.eig(a)
        assert (w.shape, w.dtype, vv.shape, vv.dtype) == (rw.shape, rw.dtype, rv.shape, rv.dtype)
        assert la.eigvals(a).shape == np.linalg.eigvals(a).shape
        t, zz = la.schur(a)
        assert t.shape == zz.shape == shape
        lu, piv = la.lu_factor(a)
        assert lu.shape == shape and piv.shape == shape[:-1]
        assert la.eigh(a, b=a).eigenvalues.shape == shape[:-1]


def test_integer_inputs_become_float64():
    a = np.array([[4, 1, 0], [1, 5, 2], [0, 2, 6]])  # symmetric positive definite, integer
    b = np.array([1, 2, 3])
    f = a.astype(np.float64)
    lu, piv = la.lu_factor(a)
    assert lu.dtype == np.float64
    rlu, rpiv = sla.lu_factor(f)
    close(lu, rlu, np.float64, 3)
    np.testing.assert_array_equal(piv, rpiv)
    x = la.lu_solve((lu, piv), b)
    assert x.dtype == np.float64
    close(x, np.linalg.solve(f, b), np.float64, 3)
    assert all(o.dtype == np.float64 for o in la.lu(a))
    c, lower = la.cho_factor(a)
    assert c.dtype == np.float64
    x = la.cho_solve((c, lower), b)
    assert x.dtype == np.float64
    close(x, np.linalg.solve(f, b), np.float64, 3)
    x = la.solve_triangular(np.triu(a), b)
    assert x.dtype == np.float64
    close(x, sla.solve_triangular(np.triu(f), b), np.float64, 3)
    x = la.solve_triangular(np.triu(a), np.array([True, False, True]))
    assert x.dtype == np.float64
    t, z = la.schur(a)
    assert t.dtype == z.dtype == np.float64
    close(z @ t @ z.T, f, np.float64, 3, scale=18)
    w, v = la.eig(a)
    assert w.dtype == np.linalg.eig(a).eigenvalues.dtype == np.float64
    close(np.sort(w), np.linalg.eigvalsh(f), np.float64, 3, scale=10)
    assert la.eigvals(np.array([[0, -1], [1, 0]])).dtype == np.complex128
    w, v = la.eigh(a, b=np.eye(3, dtype=int) * 2)
    assert w.dtype == v.dtype == np.float64
    close(w, sla.eigh(f, 2 * np.eye(3), eigvals_only=True), np.float64, 3)
    assert la.eigvalsh(a, b=np.eye(3, dtype=int)).dtype == np.float64
    x = la.solve(a, b, assume_a="her")
    assert x.dtype == np.float64
    close(x, np.linalg.solve(f, b), np.float64, 3)


PAIRS = [(ta, tb) for ta in DTYPES for tb in DTYPES if ta != tb]


@pytest.mark.parametrize("ta,tb", PAIRS)
def test_mixed_promotion_like_scipy(ta, tb):
    rng = np.random.default_rng(11)
    g = rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))
    a = ((g if np.dtype(ta).kind == "c" else g.real) + 4 * np.eye(4)).astype(ta)
    s = spd(2, (), 4, ta)
    b = rand(3, (4, 2), tb)
    for ours, ref in (
        (la.lu_solve(la.lu_factor(a), b), sla.lu_solve(sla.lu_factor(a), b)),
        (la.lu_solve(la.lu_factor(a), b, trans=2), sla.lu_solve(sla.lu_factor(a), b, trans=2)),
        (la.cho_solve(la.cho_factor(s), b), sla.cho_solve(sla.cho_factor(s), b)),
        (la.solve_triangular(a, b, trans=1, lower=True), sla.solve_triangular(a, b, trans=1, lower=True)),
    ):
        assert ours.dtype == ref.dtype
        close(ours, ref, ta, 4, factor=500)  # a factor in ta's precision bounds the accuracy
    h, spdb = hermitian(4, (), 4, ta), spd(5, (), 4, tb)
    w, v = la.eigh(h, b=spdb)
    expected = np.result_type(ta, tb)
    assert v.dtype == expected and w.dtype == real_of(expected)
    rw = sla.eigh(h.astype(wide(expected)), spdb.astype(wide(expected)), eigvals_only=True)
    close(w, rw, expected, 4, factor=500, scale=max(1.0, float(np.abs(rw).max())))


def test_real_factor_complex_rhs():
    """A real factor with a complex b gives the complex solution, as SciPy."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal((5, 5)) + 5 * np.eye(5)
    b = rng.standard_normal((2, 5, 3)) + 1j * rng.standard_normal((2, 5, 3))
    x = la.lu_solve(la.lu_factor(a), b)
    assert x.dtype == np.complex128 and x.shape == (2, 5, 3)
    close(x, np.linalg.solve(a, b), np.complex128, 5)
    s = a @ a.T
    x = la.cho_solve(la.cho_factor(s, lower=True), b)
    assert x.dtype == np.complex128
    close(x, np.linalg.solve(s, b), np.complex128, 5, factor=500)
    x = la.solve_triangular(np.tril(a), b[0], lower=True, trans="C")
    assert x.dtype == np.complex128
    close(x, sla.solve_triangular(np.tril(a), b[0], lower=True, trans="C"), np.complex128, 5)
    x = la.solve(s, b[0], assume_a="her")
    assert x.dtype == np.complex128
    close(x, np.linalg.solve(s, b[0]), np.complex128, 5, factor=500)


def _nan(shape=(3, 3), at=(1, 0)):
    x = 4 * np.eye(shape[-1]) + 0.0
    x = np.broadcast_to(x, shape).copy()
    x[(...,) + at] = np.nan
    return x


NONFINITE = [
    ("lu_factor", "a", lambda cf: la.lu_factor(_nan(), check_finite=cf)),
    ("lu", "a", lambda cf: la.lu(_nan(), check_finite=cf)),
    ("lu_solve", "b", lambda cf: la.lu_solve((np.eye(3), np.arange(3)), np.array([1, np.nan, 1]), check_finite=cf)),
    ("cho_factor", "a", lambda cf: la.cho_factor(_nan(at=(0, 1)), check_finite=cf)),
    ("cho_solve", "c", lambda cf: la.cho_solve((_nan(at=(0, 1)), False), np.ones(3), check_finite=cf)),
    ("cho_solve", "b", lambda cf: la.cho_solve((np.eye(3), True), np.array([np.nan, 1, 1]), check_finite=cf)),
    ("solve_triangular", "a", lambda cf: la.solve_triangular(_nan(), np.ones(3), lower=True, check_finite=cf)),
    ("solve_triangular", "b", lambda cf: la.solve_triangular(np.eye(3), np.array([1, 1, np.nan]), check_finite=cf)),
    ("eigh", "a", lambda cf: la.eigh(_nan(), b=np.eye(3), check_finite=cf)),
    ("eigh", "b", lambda cf: la.eigh(np.eye(3), b=_nan(), check_finite=cf)),
    ("eigvalsh", "b", lambda cf: la.eigvalsh(np.eye(3), b=_nan((2, 3, 3)), check_finite=cf)),
    ("solve", "a", lambda cf: la.solve(_nan(), np.ones(3), assume_a="her", check_finite=cf)),
    ("solve", "b", lambda cf: la.solve(np.eye(3), np.array([np.nan, 0, 0]), assume_a="her", check_finite=cf)),
    ("eig", "a", lambda cf: la.eig(_nan(), check_finite=cf)),
    ("eigvals", "a", lambda cf: la.eigvals(_nan((2, 3, 3)), check_finite=cf)),
    ("schur", "a", lambda cf: la.schur(_nan(), check_finite=cf)),
    ("schur", "a", lambda cf: la.schur(_nan(), output="complex", check_finite=cf)),
]


@pytest.mark.parametrize("op_name,arg,call", NONFINITE, ids=[f"{o}-{a}-{i}" for i, (o, a, _) in enumerate(NONFINITE)])
def test_nonfinite_refused_naming_argument(op_name, arg, call):
    with pytest.raises(la.NonFiniteError) as e:
        call(True)
    assert e.value.argument == arg and e.value.operation == op_name
    assert isinstance(e.value, ValueError) and f"'{arg}'" in str(e.value)
    if op_name in ("eig", "eigvals", "schur"):  # the eigenvalue iteration has no answer for NaN
        with pytest.raises(la.NonFiniteError) as e:
            call(False)
        assert e.value.argument == arg


def test_lu_solve_checks_b_not_the_factors():
    """As SciPy: the factors come from lu_factor, whose input was checked; NaN in them is NaN
    in x, not an error."""
    x = la.lu_solve((_nan(), np.arange(3)), np.ones(3))
    assert not np.isfinite(x).all()


def test_inf_refused_by_eig_even_unchecked():
    a = np.eye(3)
    a[0, 2] = np.inf
    for fn in (la.eig, la.eigvals, la.schur):
        with pytest.raises(la.NonFiniteError):
            fn(a, check_finite=False)


NONSQUARE = [
    ("lu_solve", lambda: la.lu_solve((np.ones((3, 4)), np.arange(3)), np.ones(3))),
    ("cho_factor", lambda: la.cho_factor(np.ones((3, 4)))),
    ("cho_solve", lambda: la.cho_solve((np.ones((3, 4)), True), np.ones(3))),
    ("solve_triangular", lambda: la.solve_triangular(np.ones((2, 3, 4)), np.ones(3))),
    ("schur", lambda: la.schur(np.ones((3, 4)))),
    ("eig", lambda: la.eig(np.ones((4, 3)))),
    ("eigvals", lambda: la.eigvals(np.ones((2, 4, 3)))),
    ("eigh", lambda: la.eigh(np.ones((3, 4)), b=np.ones((3, 4)))),
    ("eigvalsh", lambda: la.eigvalsh(np.ones((3, 4)), b=np.ones((3, 4)))),
    ("solve", lambda: la.solve(np.ones((3, 4)), np.ones(3), assume_a="her")),
]


@pytest.mark.parametrize("op_name,call", NONSQUARE, ids=[o for o, _ in NONSQUARE])
def test_nonsquare_refused(op_name, call):
    with pytest.raises(la.ShapeError) as e:
        call()
    assert e.value.operation == op_name and "square" in str(e.value)


def test_one_dimensional_matrix_refused():
    for call in (lambda: la.lu_factor(np.ones(3)), lambda: la.schur(np.ones(3)), lambda: la.eig(np.ones(3)),
                 lambda: la.solve_triangular(np.ones(3), np.ones(3)), lambda: la.cho_factor(np.ones(3))):
        with pytest.raises(la.ShapeError):
            call()


def test_rhs_batches_that_do_not_broadcast():
    f = la.lu_factor(np.stack([np.eye(3)] * 2))
    with pytest.raises(la.ShapeError):
        la.lu_solve(f, np.ones((3, 3, 1)))
    with pytest.raises(la.ShapeError):
        la.cho_solve(la.cho_factor(np.stack([np.eye(3)] * 2)), np.ones((3, 3, 1)))
    with pytest.raises(la.ShapeError):
        la.solve_triangular(np.stack([np.eye(3)] * 2), np.ones((3, 3, 1)))


def test_tolerance_helper_is_strict_enough():
    """The tolerances above are real bounds: a perturbation well above them is caught."""
    x = np.ones((4, 4))
    with pytest.raises(AssertionError):
        close(x + 10 * tol(np.float64, 4), x, np.float64, 4)
