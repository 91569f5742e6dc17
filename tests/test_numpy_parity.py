"""Drop-in parity with numpy.linalg 2.x: the keywords NumPy has (cholesky's upper, svd's
hermitian, qr's raw and deprecated modes, pinv's rcond/rtol, matrix_rank's tol/rtol, norm's
ord/axis/keepdims), stacks, empty input, ndarray subclasses kept as NumPy keeps them, result
names and error classes. NumPy runs on the same input, so dtypes must match too."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lapack_ai as la
from lapack_ai import linalg

from conftest import LAYOUTS, as_layout, close, tol

def dtype_params(*dtypes):
    return [pytest.param(d, id=np.dtype(d).name) for d in dtypes]


ALL_DTYPES = dtype_params(np.float32, np.float64, np.complex64, np.complex128, np.int64)
FEW = settings(max_examples=max(5, settings.default.max_examples // 3))  # x 5 dtypes each

seeds = st.integers(0, 2**32 - 1)
batches = st.sampled_from([(), (2,), (2, 1)])
small = st.integers(0, 5)
layouts = st.sampled_from(LAYOUTS)


def rand(seed, shape, dtype):
    rng = np.random.default_rng(seed)
    kind = np.dtype(dtype).kind
    if kind in "iub":
        return rng.integers(-4, 5, shape).astype(dtype)
    x = rng.standard_normal(shape)
    if kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def conj_t(x):
    return np.swapaxes(x, -1, -2).conj()


def hermitian(seed, batch, n, dtype):
    g = rand(seed, batch + (n, n), dtype)
    return g + conj_t(g)  # exactly Hermitian, ints stay ints


def hpd(seed, batch, n, dtype):
    g = rand(seed, batch + (n, n), dtype)
    return g @ conj_t(g) + (n + 1) * np.eye(n, dtype=dtype)


def prec(dtype):
    """The precision results are computed in (ints become float64)."""
    return np.dtype(dtype) if np.dtype(dtype).kind in "fc" else np.dtype(np.float64)


def near(x, y, dtype, *dims, factor=50.0):
    """conftest's close, for complex values too (real and imaginary parts against |y|)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind == "c" or y.dtype.kind == "c":
        scale = max(1.0, float(np.abs(y).max(initial=0)))
        close(x.real, y.real, prec(dtype), *dims, scale=scale, factor=factor)
        close(x.imag, y.imag, prec(dtype), *dims, scale=scale, factor=factor)
    else:
        close(x, y, prec(dtype), *dims, factor=factor)


def same(ours, theirs, dtype, *dims, factor=50.0):
    """Same type, shape and dtype as NumPy's result, and values within tolerance."""
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    assert np.shape(ours) == np.shape(theirs) and np.result_type(ours) == np.result_type(theirs)
    near(ours, theirs, dtype, *dims, factor=factor)


# ---- cholesky: NumPy 2's upper= next to SciPy's lower= ----

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@FEW
@given(seeds, batches, small, layouts, st.sampled_from(["default", "upper", "upper=False", "lower=False", "both"]))
def test_cholesky_upper_and_lower(dtype, seed, batch, n, layout, form):
    a = as_layout(hpd(seed, batch, n, dtype), layout)
    kw, upper = {"default": ({}, False), "upper": ({"upper": True}, True), "upper=False": ({"upper": False}, False),
                 "lower=False": ({"lower": False}, True), "both": ({"lower": False, "upper": True}, True)}[form]
    ours = la.cholesky(a, **kw)
    same(ours, np.linalg.cholesky(a, upper=upper), dtype, n, factor=200)
    assert np.all((np.tril(ours, -1) if upper else np.triu(ours, 1)) == 0)


@pytest.mark.parametrize("lower, upper", [(True, True), (False, False)])
def test_cholesky_conflicting_triangles_refused(lower, upper):
    with pytest.raises(ValueError, match="lower=.*upper="):
        la.cholesky(np.eye(3), lower, upper=upper)


# ---- svd(hermitian=True) ----

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@FEW
@given(seeds, batches, small, layouts, st.booleans())
def test_svd_hermitian(dtype, seed, batch, n, layout, compute_uv):
    a = as_layout(hermitian(seed, batch, n, dtype), layout)
    ref = np.linalg.svd(a, compute_uv=compute_uv, hermitian=True)
    ours = la.svd(a, compute_uv=compute_uv, hermitian=True)
    if not compute_uv:
        same(ours, ref, dtype, n)
        return
    u, s, vh = ours
    assert type(ours).__name__ == "SVDResult"
    same(s, ref.S, dtype, n)
    assert np.all(np.diff(s, axis=-1) <= 0) and np.all(s >= 0)
    assert u.shape == ref.U.shape and vh.shape == ref.Vh.shape and u.dtype == vh.dtype == ref.U.dtype
    near((u * s[..., None, :]) @ vh, a, dtype, n, factor=200)
    near(conj_t(u) @ u, np.broadcast_to(np.eye(n), u.shape), dtype, n)
    # Vh is U^H with the eigenvalues' signs: |Vh| = |U^H| elementwise
    near(np.abs(vh), np.abs(conj_t(u)), dtype, n)


def test_svd_hermitian_reads_lower_triangle_only(rng):
    a = rng.standard_normal((4, 4))
    a = a + a.T
    junk = a.copy()
    junk[np.triu_indices(4, 1)] = 1e3  # NumPy's eigh reads L: so does ours
    close(la.svd(junk, hermitian=True, compute_uv=False), np.linalg.svd(a, compute_uv=False), np.float64, 4)


# ---- qr: raw and NumPy's deprecated modes ----

@pytest.mark.parametrize("dtype", ALL_DTYPES)
@FEW
@given(seeds, batches, small, small, layouts)
def test_qr_raw(dtype, seed, batch, m, n, layout):
    a = as_layout(rand(seed, batch + (m, n), dtype), layout)
    h, tau = la.qr(a, mode="raw")
    rh, rtau = np.linalg.qr(a, mode="raw")
    assert h.shape == batch + (n, m) and tau.shape == batch + (min(m, n),)
    same(h, rh, dtype, m, n, factor=500)
    same(tau, rtau, dtype, m, n, factor=500)


@pytest.mark.parametrize("mode, same_as", [("full", "reduced"), ("f", "reduced"), ("economic", "economic"),
                                           ("e", "economic")])
def test_qr_deprecated_modes_as_numpy(mode, same_as, rng):
    a = rng.standard_normal((2, 5, 3))
    with pytest.warns(DeprecationWarning) as theirs:
        ref = np.linalg.qr(a, mode=mode)  # NumPy 2 still takes them, with a warning
    with pytest.warns(DeprecationWarning) as ours:
        out = la.qr(a, mode=mode)
    assert str(ours[0].message) == str(theirs[0].message)
    assert ours[0].filename == __file__  # blamed on the caller, as NumPy's is
    if same_as == "reduced":
        for o, r in zip(out, ref):
            close(np.abs(o), np.abs(r), np.float64, 5)
    else:
        assert out.shape == (2, 5, 3)
        close(out, ref, np.float64, 5)


def test_qr_raw_names_the_failing_matrix_of_a_stack():
    a = np.stack([np.eye(3)] * 3)
    a[1, 2, 0] = np.nan
    with pytest.raises(la.NonFiniteError) as ei:
        la.qr(a, mode="raw")
    assert ei.value.batch == (1,) and ei.value.first_index == (1, 2, 0)
    h, tau = la.qr(np.eye(3), mode="raw", check_finite=False)
    close(h, np.linalg.qr(np.eye(3), mode="raw")[0], np.float64, 3)


def test_qr_unknown_mode_refused():
    with pytest.raises(ValueError, match="mode"):
        la.qr(np.eye(3), mode="nope")


# ---- pinv ----

def well_posed(seed, batch, m, n, dtype):
    """Singular values bounded away from zero, so the pseudo-inverse is well conditioned."""
    shift = int(9 * np.sqrt(max(m, n, 1)))  # entries of rand have |x| up to 4
    return rand(seed, batch + (m, n), dtype) + (shift * np.eye(m, n)).astype(dtype)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@FEW
@given(seeds, batches, small, small, layouts, st.sampled_from(["default", "rcond", "rtol", "rtol=None"]))
def test_pinv(dtype, seed, batch, m, n, layout, cutoff):
    a = as_layout(well_posed(seed, batch, m, n, dtype), layout)
    kw = {"default": {}, "rcond": {"rcond": 1e-6}, "rtol": {"rtol": 1e-6}, "rtol=None": {"rtol": None}}[cutoff]
    ref_kw = kw
    if a.dtype.kind == "i" and cutoff == "rtol=None":  # NumPy takes eps of the integer dtype and fails
        ref_kw = {"rtol": max(m, n) * np.finfo(np.float64).eps}  # ours: that of the float64 it computes in
    ref = np.linalg.pinv(a, **ref_kw)
    same(la.pinv(a, **kw), ref, dtype, m, n, factor=200)


@pytest.mark.parametrize("hermitian", [False, True])
def test_pinv_cutoffs_broadcast_over_stack(hermitian):
    a = np.stack([np.diag([4.0, 2.0, 1.0]), np.diag([4.0, 2.0, 1.0])])  # singular values known exactly
    for kw in ({"rcond": np.array([0.3, 0.6])}, {"rtol": np.array([0.3, 0.6])}):
        ours, ref = la.pinv(a, hermitian=hermitian, **kw), np.linalg.pinv(a, hermitian=hermitian, **kw)
        close(ours, ref, np.float64, 3)
        np.testing.assert_allclose(np.diagonal(ours, axis1=-2, axis2=-1), [[0.25, 0.5, 0], [0.25, 0, 0]])


def test_pinv_rank_deficient_and_hermitian(rng):
    b = rng.standard_normal((6, 2))
    a = b @ b.T  # rank 2, symmetric
    for kw in ({}, {"rtol": None}, {"hermitian": True}, {"hermitian": True, "rtol": None}):
        close(la.pinv(a, **kw), np.linalg.pinv(a, **kw), np.float64, 6, factor=500)


def test_pinv_rcond_and_rtol_together_refused():
    with pytest.raises(ValueError, match="can't be both set"):
        la.pinv(np.eye(2), rcond=1e-3, rtol=1e-3)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0), (2, 0, 3), (0, 3, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_pinv_empty(shape, dtype):
    a = np.zeros(shape, dtype)
    ours, ref = la.pinv(a), np.linalg.pinv(a)
    assert ours.shape == ref.shape and ours.dtype == ref.dtype  # ints stay ints, as in NumPy


# ---- matrix_rank ----

def of_rank(seed, batch, m, n, r, dtype):
    """A matrix of rank exactly r: integer factors whose top r x r blocks are strictly
    diagonally dominant (entries of rand have |x| <= 4)."""
    r = min(r, m, n)
    b = rand(seed, batch + (m, r), np.int64) + (4 * r + 1) * np.eye(m, r, dtype=np.int64)
    c = rand(seed + 1, batch + (r, n), np.int64) + (4 * r + 1) * np.eye(r, n, dtype=np.int64)
    return (b @ c).astype(dtype), r


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@FEW
@given(seeds, batches, small, small, small, layouts, st.sampled_from(["default", "tol", "rtol", "hermitian"]))
def test_matrix_rank(dtype, seed, batch, m, n, r, layout, how):
    if how == "hermitian":
        g, r = of_rank(seed, batch, m, m, r, dtype)
        a = g @ conj_t(g)  # positive semidefinite: rank unchanged
    else:
        a, r = of_rank(seed, batch, m, n, r, dtype)
    a = as_layout(a, layout)
    kw = {"default": {}, "tol": {"tol": 0.5}, "rtol": {"rtol": 1e-3}, "hermitian": {"hermitian": True}}[how]
    ours, ref = la.matrix_rank(a, **kw), np.linalg.matrix_rank(a, **kw)
    assert type(ours) is type(ref) and np.shape(ours) == np.shape(ref)
    np.testing.assert_array_equal(ours, ref)
    if how != "tol":  # integer factors: nonzero singular values are far above the relative cutoff
        np.testing.assert_array_equal(ours, np.full(batch, r) if batch else r)


def test_matrix_rank_vectors_scalars_and_stacked_tolerances():
    for v in (np.zeros(3), np.ones(3), np.float64(0), np.float64(2), np.zeros(0)):
        assert la.matrix_rank(v) == np.linalg.matrix_rank(v)
        assert type(la.matrix_rank(v)) is int
    a = np.stack([np.diag([4.0, 2.0, 1.0])] * 2)
    for kw in ({"tol": np.array([1.5, 3.0])}, {"rtol": np.array([0.3, 0.6])}):
        np.testing.assert_array_equal(la.matrix_rank(a, **kw), np.linalg.matrix_rank(a, **kw))
        np.testing.assert_array_equal(la.matrix_rank(a, **kw), [2, 1])
    with pytest.raises(ValueError, match="can't be both set"):
        la.matrix_rank(a, tol=1.0, rtol=0.1)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0), (2, 0, 3), (0, 3, 3)])
def test_matrix_rank_empty(shape):
    a = np.zeros(shape)
    ours, ref = la.matrix_rank(a), np.linalg.matrix_rank(a)
    assert np.shape(ours) == np.shape(ref)
    np.testing.assert_array_equal(ours, ref)


# ---- norm ----

MATRIX_ORDS = [None, "fro", "nuc", np.inf, -np.inf, 1, -1, 2, -2]
VECTOR_ORDS = [None, 0, 1, -1, 2, -2, np.inf, -np.inf, 3, 0.5]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@FEW
@given(seeds, st.integers(1, 4), st.integers(1, 4), st.sampled_from(MATRIX_ORDS),
       st.sampled_from([None, (-2, -1), (1, 0), (0, 2), (-1, 0)]), st.booleans(), layouts)
def test_matrix_norms(dtype, seed, m, n, order, axis, keepdims, layout):
    shape = (m, n) if axis in (None, (1, 0)) else (2, m, n)
    a = as_layout(rand(seed, shape, dtype) + 1, layout)
    ours, ref = la.norm(a, order, axis, keepdims), np.linalg.norm(a, order, axis, keepdims)
    same(ours, ref, dtype, m, n)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@FEW
@given(seeds, st.integers(0, 6), st.sampled_from(VECTOR_ORDS), st.sampled_from([None, 0, -1]), st.booleans())
def test_vector_norms(dtype, seed, n, order, axis, keepdims):
    x = rand(seed, (n,), dtype)
    if order is not None and order < 0 and n == 0:
        return  # NumPy divides by zero there: nothing to compare
    with np.errstate(divide="ignore"):
        same(la.norm(x, order, axis, keepdims), np.linalg.norm(x, order, axis, keepdims), dtype, n)


@pytest.mark.parametrize("order", [2, -2, "nuc"])
def test_svd_norms_use_our_svd(order, monkeypatch):
    calls = []
    real = linalg.svdvals
    monkeypatch.setattr(linalg, "svdvals", lambda a, **k: calls.append(a.shape) or real(a, **k))
    a = np.arange(24.0).reshape(2, 3, 4)
    close(la.norm(a, order, axis=(-1, -2)), np.linalg.norm(a, order, axis=(-1, -2)), np.float64, 4)
    assert calls == [(2, 4, 3)]


@pytest.mark.parametrize("shape, axis", [((0, 3), None), ((3, 0), None), ((2, 0, 3), (-2, -1)), ((0, 3, 3), (1, 2))])
@pytest.mark.parametrize("order", [2, "nuc", None, 1, np.inf])
def test_norm_empty(shape, axis, order):
    a = np.zeros(shape)
    ours, ref = la.norm(a, order, axis), np.linalg.norm(a, order, axis)
    assert np.shape(ours) == np.shape(ref)
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("args", [(np.ones((2, 3, 4)), 2), (np.ones(3), "nuc"), (np.ones((3, 3)), 2, (0, 0)),
                                  (np.ones((3, 3)), 2, (0, 1, 1)), (np.zeros((0, 3)), -2),
                                  (np.ones((3, 3)), 2, (0, 5)), (np.ones((3, 3)), "bad", (0, 1))])
def test_norm_errors_as_numpy(args):
    with pytest.raises(Exception) as theirs:
        np.linalg.norm(*args)
    with pytest.raises(type(theirs.value)):
        la.norm(*args)


# ---- ndarray subclasses: NumPy's __array_wrap__ rules, output by output ----

class Tagged(np.ndarray):
    """A user's ndarray subclass."""


def _as_kind(kind, a):
    return {"matrix": np.asmatrix, "Tagged": lambda x: x.view(Tagged), "list": np.ndarray.tolist,
            "ndarray": lambda x: x}[kind](a)


CALLS = {  # name -> f(lib, a, b); a square SPD matrix, b a matrix of right-hand sides
    "inv": lambda L, a, b: L.inv(a),
    "solve": lambda L, a, b: L.solve(a, b),
    "cholesky": lambda L, a, b: L.cholesky(a),
    "cholesky_upper": lambda L, a, b: L.cholesky(a, upper=True),
    "qr": lambda L, a, b: L.qr(a),
    "qr_complete": lambda L, a, b: L.qr(a, mode="complete"),
    "qr_r": lambda L, a, b: L.qr(a, mode="r"),
    "qr_raw": lambda L, a, b: L.qr(a, mode="raw"),
    "eigh": lambda L, a, b: L.eigh(a),
    "eigvalsh": lambda L, a, b: L.eigvalsh(a),
    "svd": lambda L, a, b: L.svd(a),
    "svd_values": lambda L, a, b: L.svd(a, compute_uv=False),
    "svd_hermitian": lambda L, a, b: L.svd(a, hermitian=True),
    "svdvals": lambda L, a, b: L.svdvals(a),
    "pinv": lambda L, a, b: L.pinv(a),
    "pinv_hermitian": lambda L, a, b: L.pinv(a, hermitian=True),
    "lstsq": lambda L, a, b: L.lstsq(a, b, rcond=None),
    "det": lambda L, a, b: L.det(a),
    "slogdet": lambda L, a, b: L.slogdet(a),
    "matrix_rank": lambda L, a, b: L.matrix_rank(a),
    "norm": lambda L, a, b: L.norm(a),
    "norm_2": lambda L, a, b: L.norm(a, 2),
    "cond": lambda L, a, b: L.cond(a),
}


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("kind", ["matrix", "Tagged", "list", "ndarray"])
@pytest.mark.parametrize("wrapped", ["a", "b", "both"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_subclasses_come_back_as_numpy_returns_them(name, wrapped, kind):
    a, b = hpd(1, (), 4, np.float64), rand(2, (4, 2), np.float64)
    if wrapped in ("a", "both"):
        a = _as_kind(kind, a)
    if wrapped in ("b", "both"):
        b = _as_kind(kind, b)
    ours, theirs = _outputs(CALLS[name](la, a, b)), _outputs(CALLS[name](np.linalg, a, b))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        # arrays: the same class; scalars (lstsq's rank is Python's int here, int32 in NumPy): no array
        assert type(o) is type(t) if isinstance(t, np.ndarray) else not isinstance(o, np.ndarray), (name, o, t)
        assert np.shape(o) == np.shape(t)
        if not name.startswith(("qr", "svd", "eigh")) or np.ndim(o) < 2:  # vectors differ by sign
            near(np.asarray(o), np.asarray(t), np.float64, 4, factor=200)


# ---- result types and errors ----

def test_result_names_match_numpy(rng):
    a = hpd(4, (), 3, np.float64)
    for ours, theirs in [(la.svd(a), np.linalg.svd(a)), (la.eigh(a), np.linalg.eigh(a)),
                         (la.qr(a), np.linalg.qr(a)), (la.slogdet(a), np.linalg.slogdet(a))]:
        assert type(ours).__name__ == type(theirs).__name__ and ours._fields == theirs._fields
    ours, theirs = la.lstsq(a, np.ones(3)), np.linalg.lstsq(a, np.ones(3))
    assert isinstance(ours, tuple) and len(ours) == len(theirs) == 4  # NumPy's is a plain tuple


@pytest.mark.parametrize("cls", [la.LinAlgError, la.SingularMatrixError, la.NotPositiveDefiniteError,
                                 la.ConvergenceError])
def test_error_classes_are_numpys(cls):
    assert issubclass(cls, np.linalg.LinAlgError) and issubclass(cls, ValueError)


@pytest.mark.parametrize("call", [lambda L: L.inv(np.ones((2, 3, 3))),
                                  lambda L: L.solve(np.ones((3, 3)), np.ones(3)),
                                  lambda L: L.cholesky(-np.eye(3)),
                                  lambda L: L.cholesky(np.stack([np.eye(3), -np.eye(3)]), upper=True)])
def test_numerical_failures_caught_as_numpy_linalgerror(call):
    with pytest.raises(np.linalg.LinAlgError):
        call(np.linalg)
    with pytest.raises(np.linalg.LinAlgError):
        call(la)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_eps_for_every_dtype(dtype):
    assert linalg._EPS[np.dtype(dtype)] == np.finfo(dtype).eps == tol(dtype, factor=1.0)
    assert linalg._EPS[np.dtype(dtype)] in (np.finfo(np.float32).eps, np.finfo(np.float64).eps)
