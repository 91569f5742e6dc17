"""The error model: every info > 0 entry of the table triggered by a constructed matrix,
every bad-input case refused before LAPACK with an error naming the argument, warnings, and the
report formats (str, dict/JSON, HTML, pickle)."""

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

import lapack_ai as la
from lapack_ai import errors
from lapack_ai.registry import REGISTRY

NAN = np.nan

# routine -> (call that fails, expected class, expected index or None)
# NaN with check_finite=False is how users meet LAPACK's non-convergence in practice.
TRIGGERS = {
    "getrf": (lambda: la.lapack.dgetrf(np.array([[1.0, 2, 3], [2, 4, 6], [1, 1, 1]])), la.SingularMatrixError, 3),
    "getri": (lambda: la.lapack.dgetri(np.array([[1.0, 2], [0, 0]]), np.array([1, 2])), la.SingularMatrixError, 2),
    "potrf": (lambda: la.cholesky(np.diag([4.0, 1.0, -1.0, 2.0])), la.NotPositiveDefiniteError, 3),
    "sytrf": (lambda: la.solve(np.zeros((3, 3)), np.ones(3), assume_a="sym"), la.SingularMatrixError, 1),
    "syevd": (lambda: la.eigh(np.full((4, 4), NAN), check_finite=False), la.ConvergenceError, 3),
    "gelsd": (lambda: la.lstsq(np.full((4, 4), NAN), np.ones(4), check_finite=False), la.ConvergenceError, 3),
    "gesvd": (lambda: la.svd(np.full((4, 4), NAN), driver="gesvd", check_finite=False), la.ConvergenceError, 3),
    "trtrs": (lambda: la.solve_triangular(np.diag([1.0, 0, 2]), np.ones(3)), la.SingularMatrixError, 2),
    "sygvd": (lambda: la.eigh(np.full((3, 3), NAN), b=np.eye(3), check_finite=False), la.ConvergenceError, None),
    # complex types' names
    "hetrf": (lambda: la.solve(np.zeros((3, 3), complex), np.ones(3), assume_a="her"), la.SingularMatrixError, 3),
    "heevd": (lambda: la.eigh(np.full((4, 4), NAN, complex), check_finite=False), la.ConvergenceError, None),
    "hegvd": (lambda: la.eigh(np.full((3, 3), NAN, complex), b=np.eye(3), check_finite=False), la.ConvergenceError,
              None),
}
# Entries no finite input is known to trigger (NaN never reaches them: xGESDD rejects it with
# info < 0, eig and schur refuse it); their mapping is tested directly.
UNTRIGGERED = {"gesdd", "geev", "gees"}
# Triggered on an OpenCL device (tests/test_svd_small.py and test_eigh_small.py, with the sweep
# cap set to 1).
DEVICE_TRIGGERED = {"gesvj_batched", "syevj_batched", "heevj_batched"}


def test_every_positive_entry_has_a_trigger():
    with_positive = {k for k, e in errors.INFO_TABLE.items() if e.positive is not None}
    assert with_positive - set(TRIGGERS) == UNTRIGGERED | DEVICE_TRIGGERED


@pytest.mark.parametrize("routine", sorted(TRIGGERS))
def test_info_positive_triggered(routine):
    call, cls, index = TRIGGERS[routine]
    with pytest.raises(cls) as ei:
        call()
    e = ei.value
    assert isinstance(e, np.linalg.LinAlgError) and isinstance(e, la.LinAlgError)
    assert e.routine[1:] == routine and e.routine[0] in "dz" and e.info > 0
    if index is not None:  # convergence failures report LAPACK's own count, which varies
        assert e.index == index
    assert e.index_kind == errors.INFO_TABLE[routine].positive.index_kind
    assert e.meaning and e.meaning in str(e) and e.routine in str(e)
    assert e.recommendations and all(r in str(e) for r in e.recommendations)


@pytest.mark.parametrize("routine, op, words", [
    ("sgesdd", "svd", "divide-and-conquer"), ("zgeev", "eig", "1 to 2 (w[0:2]) did not converge"),
    ("dgees", "schur", "Schur form"),
])
def test_untriggered_entry_mapping(routine, op, words):
    facts = {"kind": "lapack", "routine": routine, "info": 2, "batch": 0, "backend": "cpu", "message": ""}
    e = errors.from_core(type("E", (Exception,), {})(facts), op, {"a": np.ones((3, 3), np.float32)})
    assert isinstance(e, la.ConvergenceError) and e.routine == routine and words in str(e)
    assert {routine[1:]} <= UNTRIGGERED


def test_generalized_eigh_b_not_positive_definite():
    with pytest.raises(la.NotPositiveDefiniteError) as ei:
        la.eigh(np.eye(3), b=np.diag([1.0, 2.0, -1.0]))
    e = ei.value
    assert e.routine == "dsygvd" and e.info == 3 + 3 and e.index == 3 and e.index_kind == "leading minor"
    assert "b is not positive definite" in str(e)


def test_eig_refuses_nan_even_unchecked():
    with pytest.raises(la.NonFiniteError, match="refused even with check_finite=False"):
        la.eig(np.array([[1.0, NAN], [0, 1]]), check_finite=False)


def test_singular_message_names_pivot_and_rcond():
    with pytest.raises(la.SingularMatrixError) as ei:
        la.solve(np.array([[1.0, 2, 3], [2, 4, 6], [1, 1, 1]]), np.ones(3))
    msg = str(ei.value)
    assert "3rd pivot" in msg and "dgetrf" in msg and "lstsq" in msg and "rcond" in msg
    assert ei.value.rcond == 0.0


@pytest.mark.parametrize("n", [4, 80])  # parallel and sequential stack paths
def test_batch_index_is_first_failing_matrix(n):
    a = np.stack([np.eye(n)] * 6).reshape(2, 3, n, n).copy()
    a[1, 0] = 0.0
    a[1, 2] = 0.0
    with pytest.raises(la.SingularMatrixError) as ei:
        la.inv(a)
    assert ei.value.batch == (1, 0) and ei.value.shape == (2, 3, n, n)
    assert "matrix (1, 0)" in str(ei.value)
    with pytest.raises(la.NotPositiveDefiniteError) as ei:
        la.cholesky(-a)
    assert ei.value.batch == (0, 0)


def test_float32_names_single_precision_routine():
    with pytest.raises(la.NotPositiveDefiniteError) as ei:
        la.cholesky(-np.eye(2, dtype=np.float32))
    assert ei.value.routine == "spotrf" and ei.value.dtype == "float32"


def test_report_formats():
    with pytest.raises(la.SingularMatrixError) as ei:
        la.inv(np.zeros((2, 2)))
    e = ei.value
    d = e.to_dict()
    assert json.loads(json.dumps(d)) == d and json.loads(e.to_json()) == d
    assert d["routine"] == "dgetrf" and d["info"] == 1 and d["error"] == "SingularMatrixError"
    html = e._repr_html_()
    assert "dgetrf" in html and "<table>" in html and "What to do" in html
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is type(e) and str(e2) == str(e) and e2.info == e.info


def test_numpy_style_except_still_works():
    try:
        la.inv(np.zeros((2, 2)))
    except np.linalg.LinAlgError as e:
        assert isinstance(e, la.SingularMatrixError)
    else:
        pytest.fail("no error")


def test_nan_refused_by_lapack_is_nonfinite_error():
    with pytest.raises(la.NonFiniteError) as ei:
        la.svd(np.array([[1.0, NAN], [0, 1]]), check_finite=False)
    assert ei.value.first_index == (0, 1)


# ---- bad input, for every routine of the registry ----

def _args(name, shape=(3, 3)):
    return REGISTRY[name].make(np.random.default_rng(0), shape, np.float64)


# norm: NumPy's norms carry NaN through (only those from singular values go to LAPACK)
@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if n not in ("gemm", "gemm_alpha", "cond", "norm")))
@pytest.mark.parametrize("bad", [NAN, np.inf, -np.inf])
@pytest.mark.parametrize("which", [0, -1])
def test_nonfinite_refused(name, bad, which):
    args = [x.copy() for x in _args(name)]
    args[which][..., 1, 0] = bad
    before = [x.copy() for x in args]
    if name == "lu_solve" and which == 0:  # as SciPy: b is checked, lu_factor's factors are trusted
        assert not np.isfinite(REGISTRY[name].func(*args)).all()
        return
    with pytest.raises(la.NonFiniteError) as ei:
        REGISTRY[name].func(*args)
    e = ei.value
    assert isinstance(e, ValueError) and e.first_index[-2:] == (1, 0)
    first = {"lu_solve": "lu", "cho_solve": "c"}.get(name, "a")  # what the factor is called
    assert e.argument == (first if which == 0 or len(args) == 1 else "b")
    assert f"'{e.argument}'" in str(e) and "check_finite" in str(e)
    for x, b in zip(args, before):
        np.testing.assert_array_equal(x, b)


def test_nonfinite_in_stack_names_matrix():
    a = np.stack([np.eye(3)] * 4)
    a[2, 1, 1] = NAN
    with pytest.raises(la.NonFiniteError) as ei:
        la.svd(a)
    assert ei.value.batch == (2,) and ei.value.first_index == (2, 1, 1) and ei.value.nan_count == 1


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if n not in ("matrix_rank", "norm")))  # vectors: NumPy's
def test_one_dimensional_refused(name):
    with pytest.raises(la.ShapeError, match="at least 2 dimensions|must be 2-D"):
        REGISTRY[name].func(*[np.ones(3)] * len(_args(name)))


@pytest.mark.parametrize("name", ["solve", "inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "rcond"])
def test_non_square_refused(name):
    args = [np.ones((3, 4))] + [np.ones((3, 1))] * (len(_args(name)) - 1)
    with pytest.raises(la.ShapeError, match="square"):
        REGISTRY[name].func(*args)


@pytest.mark.parametrize("call, arg", [
    (lambda: la.solve(np.eye(3), np.ones(4)), "b"),
    (lambda: la.solve(np.eye(3), np.ones((4, 2))), "b"),
    (lambda: la.solve(np.ones((2, 3, 3)), np.ones((4, 3, 1))), "b"),
    (lambda: la.lstsq(np.ones((3, 2)), np.ones(4)), "b"),
    (lambda: la.lstsq(np.ones((2, 3, 2)), np.ones(3)), "a"),
    (lambda: la.gemm(np.ones((2, 3)), np.ones((4, 2))), "b"),
    (lambda: la.gemm(np.ones((2, 3)), np.ones((3, 2)), np.ones((3, 3))), "c"),
    (lambda: la.gemm(np.ones((2, 2, 3)), np.ones((3, 3, 2))), "b"),
])
def test_mismatched_shapes_name_argument(call, arg):
    with pytest.raises(la.ShapeError) as ei:
        call()
    assert ei.value.argument == arg and f"'{arg}'" in str(ei.value)


@pytest.mark.parametrize("dtype, word", [
    (np.clongdouble, "complex128"), (np.float16, "astype"), (object, "numeric array"), ("U3", "numeric array"),
    (np.longdouble, "astype"),
])
def test_bad_dtypes(dtype, word):
    a = np.eye(3).astype(dtype)
    with pytest.raises(la.DTypeError, match=word) as ei:
        la.inv(a)
    assert isinstance(ei.value, TypeError) and ei.value.argument == "a"


def test_gemm_c_dtype_must_match():
    with pytest.raises(la.DTypeError):
        la.gemm(np.eye(2), np.eye(2), np.zeros((2, 2), np.float32))


def test_bad_options():
    with pytest.raises(ValueError, match="driver"):
        la.svd(np.eye(2), driver="x")
    with pytest.raises(ValueError, match="assume_a"):
        la.solve(np.eye(2), np.ones(2), assume_a="x")
    with pytest.raises(ValueError, match="mode"):
        la.qr(np.eye(2), mode="x")
    with pytest.raises(ValueError, match="UPLO"):
        la.eigh(np.eye(2), UPLO="x")
    with pytest.raises(ValueError, match="norm"):
        la.rcond(np.eye(2), norm=2)


# ---- warnings ----

def _hilbert(n):
    i = np.arange(n)
    return 1.0 / (i[:, None] + i[None, :] + 1)


@pytest.mark.parametrize("call", [lambda a: la.solve(a, np.ones(len(a))), lambda a: la.inv(a)])
def test_ill_conditioned_warns_with_estimate(call):
    with pytest.warns(la.IllConditionedWarning) as rec:
        call(_hilbert(14))
    w = rec[0].message
    assert isinstance(w, la.LinAlgWarning) and isinstance(w, RuntimeWarning)
    assert 0 < w.rcond < np.finfo(np.float64).eps and "rcond" in str(w)


def test_well_conditioned_does_not_warn():
    la.solve(_hilbert(4), np.ones(4))  # warnings are errors in this suite


def test_ill_conditioned_stack_names_matrix():
    a = np.stack([np.eye(14), _hilbert(14)])
    with pytest.warns(la.IllConditionedWarning) as rec:
        la.inv(a)
    assert rec[0].message.batch == (1,)


# ---- docs ----

def test_every_table_entry_documented():
    doc = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    for routine, entry in errors.INFO_TABLE.items():
        assert re.search(rf"\bx{routine}\b", doc), f"docs/errors.md does not mention x{routine}"
        if entry.positive is not None:
            assert entry.positive.error.__name__ in doc
    for cls in ("NonFiniteError", "ShapeError", "DTypeError", "LapackArgumentError", "IllConditionedWarning"):
        assert cls in doc


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("n", [5, 40])  # the native small path and LAPACK's estimators
@pytest.mark.parametrize("assume", ["gen", "her", "pos"])
def test_nan_let_through_is_nan_not_an_argument_error(dtype, n, assume):
    """check_finite=False with NaN: xGECON/xPOCON reject a NaN norm (info=-5); the rcond is NaN
    instead, and whatever the solver makes of it is returned or raised as a LinAlgError."""
    a = np.full((n, n), np.nan, dtype)
    try:
        x = la.solve(a, np.ones(n, dtype), assume_a=assume, check_finite=False)
        assert np.isnan(x).any()
    except la.LapackArgumentError:
        pytest.fail("NaN reported as a bug in lapack_ai")
    except np.linalg.LinAlgError:
        pass  # e.g. Cholesky refusing the NaN pivot
    assert np.isnan(la.rcond(a, check_finite=False)) or la.rcond(a, check_finite=False) == 0


@pytest.mark.parametrize("routine, info, argument", [
    ("zgeev", -6, "W"), ("dgeev", -6, "WR"), ("cgecon", -8, "RWORK"), ("sgecon", -8, "IWORK"), ("zgees", -8, "W"),
])
def test_argument_errors_name_the_complex_routines_arguments(routine, info, argument):
    facts = {"kind": "lapack", "routine": routine, "info": info, "batch": 0, "backend": "cpu", "message": ""}
    e = errors.from_core(type("E", (Exception,), {})(facts), "eig", {"a": np.ones((3, 3))})
    assert isinstance(e, la.LapackArgumentError) and e.argument == argument


def test_sygvd_info_beyond_2n_is_a_convergence_failure():
    facts = {"kind": "lapack", "routine": "dsygvd", "info": 3 * 4 + 1, "batch": 0, "backend": "cpu", "message": ""}
    e = errors.from_core(type("E", (Exception,), {})(facts), "eigh", {"a": np.ones((3, 3))})
    assert isinstance(e, la.ConvergenceError)
