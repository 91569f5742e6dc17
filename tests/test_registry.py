"""Properties every routine in the registry must have, checked for all of them:
every memory layout gives the same answer, inputs are never modified, stacks equal a loop over
their matrices, empty input works, and the result agrees with the NumPy/SciPy peer."""

import warnings

import numpy as np
import pytest

from lapack_ai.registry import REGISTRY

from conftest import DTYPES, LAYOUTS, as_layout, close, flatten, tol

NAMES = sorted(REGISTRY)
UNORDERED = {"eig", "eigvals", "schur"}  # results whose order LAPACK does not fix


def _args(r, rng, shape, dtype):
    return r.make(rng, shape, dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_layouts_agree_and_inputs_untouched(name, layout, dtype, rng):
    r = REGISTRY[name]
    shape = (3, 5, 5) if r.stacked else (5, 5)
    args = _args(r, rng, shape, dtype)
    if layout == "broadcast" and r.stacked:
        args = tuple(np.ascontiguousarray(as_layout(x, "broadcast")) for x in args)
    expected = flatten(r.func(*args))
    laid = tuple(as_layout(x, layout) for x in args)
    before = [x.copy() for x in laid]
    got = flatten(r.func(*laid))
    for x, b in zip(laid, before):
        np.testing.assert_array_equal(x, b)  # caller's arrays untouched
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype
        if name in ("svd", "eigh", "qr"):  # vectors are unique only up to sign across layouts
            close(np.abs(g), np.abs(e), dtype, 5)
        else:
            close(g, e, dtype, 5, factor=200)


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY[n].stacked])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [4, 80])  # 80 is above the parallel threshold: sequential path
def test_stack_equals_loop(name, dtype, n, rng):
    r = REGISTRY[name]
    args = _args(r, rng, (2, 3, n, n), dtype)
    stacked = flatten(r.func(*args))
    t = max(1e-12, tol(dtype, n, factor=10))
    for idx in np.ndindex(2, 3):
        single = flatten(r.func(*(x[idx] for x in args)))
        if name in UNORDERED:
            # The order of eigenvalues from the QR algorithm follows rounding (threads run a
            # stack with another BLAS split): compare them sorted, and check each result.
            a = args[0][idx]
            values = np.linalg.eigvals if name == "schur" else np.asarray  # T's eigenvalues, or w
            ws, wl = np.sort_complex(values(stacked[0][idx])), np.sort_complex(values(single[0]))
            np.testing.assert_allclose(ws, wl, rtol=t, atol=t * n)
            if name == "eig":
                v, wv = stacked[1][idx], stacked[0][idx]
                close(a @ v, v * wv, dtype, n, factor=200)
            if name == "schur":
                tt, z = stacked[0][idx], stacked[1][idx]
                close(z @ tt @ z.conj().T, a, dtype, n, factor=200)
            continue
        for s, o in zip(stacked, single):
            if s.ndim == 0:  # a flag returned beside the stack (cho_factor's lower)
                assert s == o
                continue
            np.testing.assert_allclose(s[idx], o, rtol=t, atol=t)


@pytest.mark.parametrize("name", NAMES)
def test_agrees_with_peer(name, rng):
    r = REGISTRY[name]
    pytest.importorskip(r.peer.split(".")[0])
    args = _args(r, rng, (6, 6), np.float64)
    if name == "rcond":  # LAPACK's estimate bounds the exact 1-norm rcond from above, within n
        exact = 1 / r.reference(args[0], 1)
        assert exact * (1 - 1e-12) <= r.func(*args) <= exact * 6
        return
    ours, theirs = r.func(*args), r.reference(*args)
    if name in ("svd", "qr", "eigh"):
        ours, theirs = flatten(ours), flatten(theirs)
        for o, t in zip(ours, theirs):
            close(np.abs(o), np.abs(t), np.float64, 6)
        return
    for o, t in zip(flatten(ours), flatten(theirs)):
        close(o, t, np.float64, 6)


@pytest.mark.parametrize("name", NAMES)
def test_empty_inputs_match_numpy(name):
    r = REGISTRY[name]
    if name in ("rcond", "cond", "lstsq"):
        pytest.skip("covered in test_routines with NumPy's own conventions")
    args = r.make(np.random.default_rng(0), (0, 0), np.float64)
    ours = flatten(r.func(*args))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = flatten(r.reference(*args))
    assert [o.shape for o in ours] == [t.shape for t in theirs]
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t)
