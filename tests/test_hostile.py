"""Property test: every routine on hostile but legal NumPy arrays.

Hypothesis draws the same values in every layout NumPy allows: C and Fortran order, negative
strides, zero strides (broadcast), interleaved slices, axes of length 1 with arbitrary strides,
fields of packed structured arrays (unaligned), byte-swapped dtypes, up to 64 dimensions, and
empty axes. Each call must give NumPy's answer (within a tolerance scaled by size and dtype) or
raise a lapack_ai error that says why; never crash, panic, or return something else.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import lapack_ai as la

from conftest import close

LAYOUTS = ["C", "F", "negative", "interleaved", "broadcast", "unaligned", "swapped", "unit-strides", "ndim"]


def relayout(v: np.ndarray, layout: str, data) -> np.ndarray:
    """``v``'s values in another memory layout (a view wherever the layout is one)."""
    if layout == "C":
        return np.ascontiguousarray(v)
    if layout == "F":
        return np.asfortranarray(v)
    if layout == "negative":
        axes = tuple(i for i in range(v.ndim) if data.draw(st.booleans()))
        flipped = np.flip(v, axes).copy()
        return np.flip(flipped, axes)
    if layout == "interleaved":
        big = np.zeros(tuple(2 * d + 1 if d > 1 else d for d in v.shape), v.dtype)
        view = big[tuple(slice(1, None, 2) if d > 1 else slice(None) for d in v.shape)]
        view[...] = v
        return view
    if layout == "broadcast":
        if v.ndim < 3 or v.shape[0] == 0:
            return v
        return np.broadcast_to(v[:1], v.shape) if (v == v[:1]).all() else v
    if layout == "unaligned":
        s = np.zeros(v.shape, dtype=np.dtype([("pad", "u1"), ("x", v.dtype)], align=False))
        s["x"] = v
        return s["x"]
    if layout == "swapped":
        return v.astype(v.dtype.newbyteorder())
    if layout == "unit-strides":
        c = np.ascontiguousarray(v)
        strides = tuple(data.draw(st.sampled_from([0, 8, -8, 2**40, -(2**40)])) * c.itemsize // 8 if d == 1 else s
                        for d, s in zip(c.shape, c.strides))
        return np.lib.stride_tricks.as_strided(c, c.shape, strides)
    if layout == "ndim":
        extra = data.draw(st.integers(min_value=1, max_value=64 - v.ndim))
        return v.reshape((1,) * extra + v.shape)
    raise ValueError(layout)


@st.composite
def stacks(draw, square=False, spd=False, min_batch=0):
    """(values, array in a hostile layout): a stack of well-conditioned matrices."""
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    n = draw(st.integers(0, 6))
    m = n if square else draw(st.integers(0, 6))
    batch = tuple(draw(st.lists(st.integers(0, 3), min_size=min_batch, max_size=2)))
    constant = draw(st.booleans())  # every matrix the same: what a broadcast view can hold
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((1,) * len(batch) + (m, n) if constant else batch + (m, n))
    if spd:
        base = base @ np.swapaxes(base, -1, -2) + n * np.eye(n)
    elif square:
        base = base + (n + 1) * np.eye(n)
    values = np.broadcast_to(base, batch + (m, n)).astype(dtype)
    a = relayout(values, draw(st.sampled_from(LAYOUTS)), draw(st.data()))
    return np.array(a, dtype=values.dtype), a  # the reference sees the same shape


def flat(f, *arrays, keep=2):
    """``f`` on the arrays with their batch axes merged into one (NumPy's gufuncs stop short of
    64 dimensions), its result reshaped back to the first array's batch shape."""
    batch = arrays[0].shape[:-2]
    count = int(np.prod(batch, dtype=np.int64))
    out = f(*(a.reshape((count,) + a.shape[-2:]) for a in arrays))
    return out.reshape(batch + out.shape[1:])


def same_or_refused(ours, theirs, check):
    """Run ``ours``; if it raises, it must be one of lapack_ai's errors (or NumPy's own
    MemoryError); else ``check(result, theirs())``."""
    try:
        got = ours()
    except Exception as e:  # noqa: BLE001 (which exception it is, is what is tested)
        assert isinstance(e, (la.LinAlgError, la.InputError, MemoryError)) and not isinstance(e, la.InternalError), repr(e)
        return
    check(got, theirs())


def tol_close(dtype, *dims, factor=200.0):
    return lambda x, y: close(x, y, dtype, *dims, factor=factor)


@given(stacks(square=True))
def test_det_inv_slogdet_solve(case):
    values, a = case
    n = values.shape[-1]
    same_or_refused(lambda: la.det(a), lambda: flat(np.linalg.det, values.astype(np.float64)),
                    lambda x, y: close(x, y, values.dtype, n, scale=max(1.0, float(np.abs(y).max(initial=0))), factor=500))
    same_or_refused(lambda: la.inv(a), lambda: flat(np.linalg.inv, values.astype(np.float64)), tol_close(values.dtype, n))
    same_or_refused(lambda: la.slogdet(a)[1], lambda: flat(lambda x: np.linalg.slogdet(x)[1], values.astype(np.float64)),
                    tol_close(values.dtype, n))
    b = np.ones(values.shape[:-1] + (2,), values.dtype)
    same_or_refused(lambda: la.solve(a, b), lambda: flat(np.linalg.solve, values.astype(np.float64), b), tol_close(values.dtype, n))


@given(stacks(spd=True, square=True))
def test_cholesky_eigh(case):
    values, a = case
    n = values.shape[-1]
    v64 = values.astype(np.float64)
    same_or_refused(lambda: la.cholesky(a), lambda: flat(np.linalg.cholesky, v64), tol_close(values.dtype, n))
    same_or_refused(lambda: la.eigvalsh(a), lambda: flat(np.linalg.eigvalsh, v64), tol_close(values.dtype, n))
    same_or_refused(lambda: la.eigh(a)[0], lambda: flat(lambda x: np.linalg.eigh(x)[0], v64), tol_close(values.dtype, n))
    same_or_refused(lambda: la.solve(a, np.ones(values.shape[:-1] + (1,), values.dtype), assume_a="pos"),
                    lambda: flat(np.linalg.solve, v64, np.ones(values.shape[:-1] + (1,))), tol_close(values.dtype, n))


@given(stacks())
def test_svd_qr(case):
    values, a = case
    v64 = values.astype(np.float64)
    dims = values.shape[-2:]
    same_or_refused(lambda: la.svdvals(a), lambda: flat(lambda x: np.linalg.svd(x, compute_uv=False), v64), tol_close(values.dtype, *dims))

    def reconstructs(r, _):
        u, s, vt = r
        close((u * s[..., None, :]) @ vt, v64, values.dtype, *dims, factor=500)
    same_or_refused(lambda: la.svd(a, full_matrices=False), lambda: None, reconstructs)

    def qr_ok(r, _):
        q, rr = r
        close(q @ rr, v64, values.dtype, *dims, factor=500)
        assert np.allclose(np.tril(rr, -1), 0)
    same_or_refused(lambda: la.qr(a), lambda: None, qr_ok)


@given(stacks(), st.data())
def test_gemm_any_layout_of_every_operand(case, data):
    values, a = case
    m, k = values.shape[-2:]
    n = data.draw(st.integers(0, 6))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    bv = rng.standard_normal(values.shape[:-2] + (k, n)).astype(values.dtype)
    b = relayout(bv, data.draw(st.sampled_from(LAYOUTS)), data)
    product = values.astype(np.float64) @ np.array(b, dtype=np.float64)  # batch axes broadcast
    cv = rng.standard_normal(product.shape).astype(values.dtype)
    c_layout = data.draw(st.sampled_from(["C", "F", "negative", "interleaved", "unaligned"]))
    c = relayout(cv, c_layout, data)
    want = 2.0 * product + 0.5 * cv
    same_or_refused(lambda: la.gemm(a, b, c, alpha=2.0, beta=0.5), lambda: want,
                    lambda got, w: (close(got, w, values.dtype, max(k, 1), factor=500),
                                    close(c, w, values.dtype, max(k, 1), factor=500)))
    assert la.gemm(a, b).shape == product.shape


@given(stacks(square=True), st.sampled_from(["dgetrf", "dgeqrf", "dpotrf", "sgesdd", "dsyevd", "dgesv", "sposv", "dgelsd"]))
def test_low_level_routines(case, name):
    values, a = case
    assume(a.ndim == 2)
    f = getattr(la.lapack, name)
    spd = values @ values.T + values.shape[0] * np.eye(values.shape[0])
    arg = relayout(spd.astype(values.dtype), "interleaved", None) if name in ("dpotrf", "dsyevd", "sposv") else a
    rhs = (np.ones((values.shape[0], 3), values.dtype),) if name in ("dgesv", "sposv", "dgelsd") else ()
    try:
        out = f(arg, *rhs)
    except la.InternalError:
        raise
    except (la.LinAlgError, la.InputError, la.OutOfMemoryError):
        return
    assert all(np.all(np.isfinite(np.asarray(o))) for o in out if o is not None) if isinstance(out, tuple) \
        else np.all(np.isfinite(out))


@given(stacks(spd=True, square=True), st.sampled_from([np.nan, np.inf, -np.inf]), st.data())
def test_non_finite_input_is_refused_by_name(case, bad, data):
    values, _ = case
    assume(values.size > 0)
    poisoned = np.array(values)
    idx = tuple(data.draw(st.integers(0, d - 1)) for d in poisoned.shape)
    poisoned[idx] = bad
    a = relayout(poisoned, data.draw(st.sampled_from(["C", "F", "negative", "unaligned"])), data)
    for f in (la.det, la.inv, la.svdvals, la.cholesky, la.eigvalsh):
        with pytest.raises(la.NonFiniteError) as e:
            f(a)
        assert e.value.argument == "a"
