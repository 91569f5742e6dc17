"""lapack_ai.patch(): existing numpy.linalg / scipy.linalg code runs unchanged and gets the same
results and exception classes; unpatch restores the originals; lapack_ai.scipy keeps SciPy's
signatures."""

import inspect
import json
import importlib.util
import re
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

import lapack_ai
import lapack_ai.scipy as lscipy

scipy_linalg = pytest.importorskip("scipy.linalg")

# A user's program as written against NumPy/SciPy: least squares, PCA, an ill-posed check.
PROGRAM = textwrap.dedent("""
    import numpy as np
    import scipy.linalg

    def run():
        rng = np.random.default_rng(7)
        X = rng.standard_normal((200, 6))
        y = X @ np.arange(1.0, 7.0) + 0.01 * rng.standard_normal(200)
        coef, res, rank, sv = np.linalg.lstsq(X, y, rcond=None)
        Xc = X - X.mean(axis=0)
        U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
        explained = S**2 / np.sum(S**2)
        scores = Xc @ Vt[:3].T
        cov = Xc.T @ Xc / 199
        w = np.linalg.eigvalsh(cov)
        x2 = scipy.linalg.solve(cov, np.ones(6), assume_a="pos")
        c = scipy.linalg.cholesky(cov)
        try:
            np.linalg.inv(np.ones((3, 3)))
            singular = None
        except np.linalg.LinAlgError:
            singular = "LinAlgError"
        return {"coef": coef, "res": res, "rank": rank, "sv": sv, "explained": explained,
                "scores": np.abs(scores), "w": w, "x2": x2, "c": c, "det": np.linalg.det(cov),
                "singular": singular}
""")

# A Kalman measurement update written against scipy.linalg's Cholesky helpers.
KALMAN = textwrap.dedent("""
    import numpy as np
    from scipy import linalg

    def run():
        rng = np.random.default_rng(3)
        n, m = 4, 2
        x, P = np.zeros(n), np.eye(n)
        H, R = rng.standard_normal((m, n)), 0.1 * np.eye(m)
        for z in rng.standard_normal((20, m)):
            S = H @ P @ H.T + R
            K = linalg.cho_solve(linalg.cho_factor(S), H @ P).T
            x = x + K @ (z - H @ x)
            P = P - K @ H @ P
        return {"x": x, "P": P}
""")


def _run(source):
    ns = {}
    exec(compile(source, "user_program.py", "exec"), ns)
    return ns["run"]()


def _same(got, want):
    assert got.keys() == want.keys()
    for k in want:
        if isinstance(want[k], (str, type(None))):
            assert got[k] == want[k], k
        else:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.fixture(autouse=True)
def _restore():
    yield
    lapack_ai.unpatch()


def test_program_runs_unchanged_and_through_lapack_ai():
    want = _run(PROGRAM)
    with lapack_ai.patched(), lapack_ai.measure("patched program") as m:
        got = _run(PROGRAM)
    _same(got, want)
    ran = {r.operation for r in m.records}
    assert {"lstsq", "svd", "eigvalsh", "solve", "cholesky", "inv", "det"} <= ran, ran


def test_kalman_update_with_cho_factor():
    if not hasattr(lapack_ai, "cho_factor"):
        pytest.skip("lapack_ai.cho_factor/cho_solve are not in this build yet: scipy.linalg's stay unpatched")
    want = _run(KALMAN)
    with lapack_ai.patched(), lapack_ai.measure("kalman") as m:
        got = _run(KALMAN)
    _same(got, want)
    assert {"cho_factor", "cho_solve"} <= {r.operation for r in m.records}


def test_script_with_patch_at_the_top(tmp_path):
    """A user's script, ``lapack_ai.patch()`` first, in a fresh interpreter; importing
    lapack_ai alone does not import SciPy."""
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent("""
        import sys
        import lapack_ai
        scipy_before = "scipy" in sys.modules
        patched = lapack_ai.patch()
        import numpy as np
        """) + PROGRAM + textwrap.dedent("""
        import json
        out = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in run().items()}
        print(json.dumps({"scipy_before": scipy_before, "patched": patched,
                          "routed": hasattr(np.linalg.svd, "__lapack_ai__"), "out": out}))
        """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["scipy_before"] is False and report["routed"]
    assert "numpy.linalg.svd" in report["patched"] and "scipy.linalg.solve" in report["patched"]
    _same({k: (np.asarray(v) if isinstance(v, list) else v) for k, v in report["out"].items()}, _run(PROGRAM))


def test_unpatch_restores_the_originals():
    before = {n: getattr(np.linalg, n) for n in dir(np.linalg)}
    before_sp = {n: getattr(scipy_linalg, n) for n in dir(scipy_linalg)}
    names = lapack_ai.patch()
    assert np.linalg.svd is not before["svd"] and np.linalg.svd.__lapack_ai__ is lapack_ai.svd
    assert scipy_linalg.qr.__lapack_ai__ is lscipy.qr
    assert inspect.signature(np.linalg.svd) == inspect.signature(before["svd"])  # introspection unchanged
    assert lapack_ai.patch() == []  # idempotent
    assert sorted(lapack_ai.unpatch()) == sorted(names)
    assert all(getattr(np.linalg, n) is f for n, f in before.items())
    assert all(getattr(scipy_linalg, n) is f for n, f in before_sp.items())


def test_only_replaced_names_are_touched():
    untouched = [np.linalg.matrix_power, np.linalg.tensorinv, np.linalg.multi_dot, scipy_linalg.expm,
                 scipy_linalg.lu_factor if not hasattr(lapack_ai, "lu_factor") else scipy_linalg.expm]
    names = lapack_ai.patch()
    assert all(d.startswith(("numpy.linalg.", "scipy.linalg.")) for d in names)
    assert [np.linalg.matrix_power, np.linalg.tensorinv, np.linalg.multi_dot, scipy_linalg.expm] == untouched[:4]
    if not hasattr(lapack_ai, "lu_factor"):
        assert scipy_linalg.lu_factor is untouched[4]
    assert "numpy.linalg.eig" not in names or hasattr(lapack_ai, "eig")


def test_targets_and_nesting():
    orig_svd, orig_solve = np.linalg.svd, scipy_linalg.solve
    assert lapack_ai.patch("numpy.linalg.svd") == ["numpy.linalg.svd"]
    assert scipy_linalg.svd is not None and not hasattr(scipy_linalg.svd, "__lapack_ai__")
    with lapack_ai.patched("solve") as inner:  # both libraries' solve
        assert inner == ["numpy.linalg.solve", "scipy.linalg.solve"]
        with lapack_ai.patched() as innermost:
            assert "numpy.linalg.svd" not in innermost and "scipy.linalg.svd" in innermost
        assert hasattr(scipy_linalg.solve, "__lapack_ai__") and not hasattr(scipy_linalg.svd, "__lapack_ai__")
    assert scipy_linalg.solve is orig_solve and np.linalg.svd is not orig_svd  # the outer patch stays
    assert lapack_ai.unpatch() == ["numpy.linalg.svd"] and np.linalg.svd is orig_svd
    with pytest.raises(ValueError, match="matrix_power"):
        lapack_ai.patch("matrix_power")


def test_patch_reports(caplog, capsys):
    with caplog.at_level("INFO", logger="lapack_ai"):
        names = lapack_ai.patch("numpy.linalg", verbose=True)
    assert names and all(n.startswith("numpy.linalg.") for n in names)
    assert "numpy.linalg.svd" in caplog.text and "numpy.linalg.svd" in capsys.readouterr().out


def test_patch_and_unpatch_from_threads():
    originals = np.linalg.svd, scipy_linalg.svd
    a = np.random.default_rng(0).standard_normal((4, 4))
    s = np.linalg.svd(a, compute_uv=False)
    errors = []

    def work():
        try:
            for _ in range(30):
                with lapack_ai.patched():
                    np.testing.assert_allclose(np.linalg.svd(a, compute_uv=False), s)
                lapack_ai.unpatch()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert (np.linalg.svd, scipy_linalg.svd) == originals


# ---- the same results and exception classes as NumPy/SciPy ----

def test_numpy_exception_classes_hold():
    with pytest.raises(TypeError) as numpys:  # object dtype: NumPy's own error, not lapack_ai's DTypeError
        np.linalg.det(np.eye(2, dtype=object))
    lapack_ai.patch()
    with pytest.raises(TypeError) as ours:
        np.linalg.det(np.eye(2, dtype=object))
    assert type(ours.value) is type(numpys.value)
    with pytest.raises(np.linalg.LinAlgError):  # singular: ours, a subclass of NumPy's
        np.linalg.solve(np.ones((3, 3)), np.ones(3))
    with pytest.raises(lapack_ai.SingularMatrixError):
        np.linalg.inv(np.ones((3, 3)))
    with pytest.raises(np.linalg.LinAlgError):  # not positive definite
        np.linalg.cholesky(-np.eye(3))
    with pytest.raises(np.linalg.LinAlgError):  # not square: NumPy's own check raises it
        np.linalg.inv(np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError):
        scipy_linalg.solve(np.zeros((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="infs or NaNs"):  # SciPy's check_finite, SciPy's error
        scipy_linalg.svd(np.full((2, 2), np.nan))
    with pytest.raises(TypeError):  # float16: NumPy's TypeError
        np.linalg.inv(np.eye(2, dtype=np.float16))


def test_fallbacks_give_the_originals_results():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))
    g = rng.standard_normal((5, 3))
    nan = np.eye(3)
    nan[0, 0] = np.nan
    cases = [  # (module, name, args, kwargs): inputs or options lapack_ai does not take (today)
        (np.linalg, "inv", (a,), {}),  # complex: the original's, or ours once the core has it
        (np.linalg, "solve", (nan, np.ones(3)), {}),  # NumPy computes with NaN: NaN out
        (np.linalg, "det", (nan,), {}),
        (scipy_linalg, "qr", (g,), {"pivoting": True}),
        (scipy_linalg, "eigh", (g.T @ g,), {"driver": "evx", "subset_by_index": [0, 1]}),
        (scipy_linalg, "lstsq", (g, np.ones(5)), {"lapack_driver": "gelsy"}),
        (scipy_linalg, "solve", (np.triu(g.T @ g), np.ones(3)), {"assume_a": "upper triangular"}),
    ]
    want = []
    for mod, name, args, kw in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want.append(getattr(mod, name)(*args, **kw))
    lapack_ai.patch()
    for (mod, name, args, kw), w in zip(cases, want):
        assert hasattr(getattr(mod, name), "__lapack_ai__"), name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = getattr(mod, name)(*args, **kw)
        for x, y in zip(*(v if isinstance(v, tuple) else (v,) for v in (got, w))):
            np.testing.assert_allclose(np.asarray(x, dtype=complex), np.asarray(y, dtype=complex), rtol=1e-12)


def test_ill_conditioned_as_error_falls_back():
    """NumPy never warns: with warnings as errors, lapack_ai's warning must not surface."""
    a = np.diag([1.0, 1e-20, 1.0])  # rcond 1e-20, exact at this size: the warning always fires
    want = np.linalg.solve(a, np.ones(3))
    lapack_ai.patch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(np.linalg.solve(a, np.ones(3)), want)


def test_other_libraries_arrays_keep_their_dispatch():
    class Duck:  # an array library's type: NumPy hands its calls to __array_function__
        def __array_function__(self, func, types, args, kwargs):
            return ("dispatched", func.__name__)

    lapack_ai.patch()
    assert np.linalg.svd(Duck()) == ("dispatched", "svd")
    assert np.linalg.solve(np.eye(2), Duck()) == ("dispatched", "solve")


def test_lapack_ai_own_use_of_numpy_reaches_numpy():
    """lapack_ai.norm hands vector norms to np.linalg.norm: under the patch that must be
    NumPy's, not lapack_ai.norm again."""
    lapack_ai.patch()
    v = np.arange(5.0)
    assert np.linalg.norm(v) == pytest.approx(np.sqrt(30))
    assert np.linalg.cond(np.diag([1.0, 4.0]), 1) == pytest.approx(4.0)


# ---- lapack_ai.scipy: SciPy's signatures and return conventions ----

@pytest.mark.parametrize("name", lscipy.__all__)
def test_scipy_signature_is_scipys(name):
    assert inspect.signature(getattr(lscipy, name)) == inspect.signature(getattr(scipy_linalg, name))


def _inputs(name, rng):
    g = rng.standard_normal((6, 4))
    spd = g.T @ g + np.eye(4)
    sq = rng.standard_normal((4, 4)) + 4 * np.eye(4)
    return {
        "svd": [((g,), {}), ((g,), {"full_matrices": False}), ((g,), {"compute_uv": False, "lapack_driver": "gesvd"})],
        "svdvals": [((g,), {})],
        "cholesky": [((spd,), {}), ((spd,), {"lower": True})],
        "qr": [((g,), {"mode": m}) for m in ("full", "economic", "r", "raw")] + [((g.T,), {"mode": "r"})],
        "eigh": [((spd,), {}), ((spd,), {"lower": False, "eigvals_only": True}),
                 ((spd,), {"subset_by_index": [1, 2]}), ((spd,), {"subset_by_value": [1.5, np.inf]})],
        "eigvalsh": [((spd,), {}), ((spd,), {"subset_by_index": (0, 0)})],
        "solve": [((sq, np.ones(4)), {}), ((sq, np.ones((4, 2))), {"transposed": True}),
                  ((spd, np.ones(4)), {"assume_a": "pos"}), ((np.triu(spd), np.ones(4)), {"assume_a": "sym"})],
        "inv": [((sq,), {})],
        "det": [((sq,), {})],
        "lstsq": [((g, np.ones(6)), {}), ((g, np.ones((6, 2))), {"cond": 1e-10}), ((g.T, np.ones(4)), {}),
                  ((np.zeros((0, 0)), np.zeros(0)), {})],
        "norm": [((g,), {}), ((g, 2), {}), ((g[0],), {})],
        "pinv": [((g,), {})],
        "eig": [((sq,), {}), ((sq,), {"right": False})],
        "eigvals": [((sq,), {})],
        "lu": [((sq,), {})],
        "lu_factor": [((sq,), {})],
        "cho_factor": [((spd,), {})],
        "solve_triangular": [((np.triu(sq), np.ones(4)), {}), ((np.tril(sq), np.ones(4)), {"lower": True, "trans": 1})],
        "schur": [((sq,), {})],
    }.get(name, [])


def _leaves(v):
    """Arrays of a nested tuple result, in order (``bool`` kept: cho_factor's ``lower``)."""
    return [x for item in v for x in _leaves(item)] if isinstance(v, tuple) else [v]


@pytest.mark.parametrize("name", lscipy.__all__)
def test_scipy_results_match_scipy(name, rng):
    cases = _inputs(name, rng)
    if not cases:
        pytest.skip(f"no example inputs for {name}")
    for args, kw in cases:
        ours, theirs = getattr(lscipy, name)(*args, **kw), getattr(scipy_linalg, name)(*args, **kw)
        assert type(ours) is type(theirs) or isinstance(ours, type(theirs)), (name, kw)
        o, t = _leaves(ours), _leaves(theirs)
        assert len(o) == len(t), (name, kw)
        for x, y in zip(o, t):
            x, y = np.asarray(x), np.asarray(y)
            assert x.shape == y.shape and x.dtype == y.dtype, (name, kw, x.shape, y.shape, x.dtype, y.dtype)
            # vectors and factors are unique up to sign
            np.testing.assert_allclose(np.abs(x), np.abs(y), rtol=1e-9, atol=1e-9, err_msg=f"{name} {kw}")


def test_scipy_keywords_not_honoured_name_themselves():
    g = np.eye(3)
    for call, keyword in [(lambda: lscipy.qr(g, pivoting=True), "pivoting"),
                          (lambda: lscipy.eigh(g, driver="evr"), "driver"),
                          (lambda: lscipy.lstsq(g, np.ones(3), lapack_driver="gelsy"), "lapack_driver"),
                          (lambda: lscipy.solve(g, np.ones(3), assume_a="banded"), "assume_a")]:
        with pytest.raises(NotImplementedError, match=keyword):
            call()
    with pytest.raises(ValueError, match="not a recognized"):
        lscipy.solve(g, np.ones(3), assume_a="nonsense")
    a = np.eye(3)
    lscipy.solve(a, np.ones(3), overwrite_a=True, overwrite_b=True)
    np.testing.assert_array_equal(a, np.eye(3))  # overwrite_* accepted, inputs never modified


def test_scipy_module_hermitian_solve_and_unsupported_type():
    import lapack_ai.scipy as ls

    rng = np.random.default_rng(8)
    g = rng.standard_normal((5, 5)) + 1j * rng.standard_normal((5, 5))
    h = g @ g.conj().T + np.eye(5) - 3 * np.eye(5)  # Hermitian, indefinite
    b = rng.standard_normal(5) + 0j
    np.testing.assert_allclose(ls.solve(h, b, assume_a="her"), np.linalg.solve(h, b), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="type"):
        ls.eigh(h, np.eye(5), type=2)
    np.testing.assert_allclose(ls.eigh(h, np.eye(5) * 2, eigvals_only=True), np.linalg.eigvalsh(h) / 2, atol=1e-12)


def test_scipy_linalg_warning_class_and_det_precision_under_patch():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    with lapack_ai.patched("scipy.linalg"):
        with pytest.warns(scipy_linalg.LinAlgWarning, match="Ill-conditioned matrix"):
            scipy_linalg.inv(np.diag([1.0, 1e-20]))
        assert scipy_linalg.det(np.eye(3, dtype=np.float32)).dtype == np.float64  # SciPy computes in double


def _suite_under_patch(args):
    """Run a package's own test suite in a fresh interpreter with lapack_ai.patch() on; returns
    (passed, failed test ids)."""
    code = textwrap.dedent(f"""
        import sys, pytest, lapack_ai
        lapack_ai.patch()
        sys.exit(pytest.main({args!r} + ['-q', '-p', 'no:cacheprovider', '--no-header', '-rf', '--tb=no',
                                         '-W', 'ignore::DeprecationWarning']))
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd="/")
    passed = sum(int(n) for n in re.findall(r"(\d+) passed", proc.stdout))
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, re.M)
    return passed, failed


def test_numpy_linalg_own_test_suite_passes_under_the_patch():
    """NumPy's numpy.linalg tests with every numpy.linalg function lapack_ai implements routed
    through it. The few that may fail compare float32/complex64 results to 6 decimals absolute,
    within a couple of ulps of NumPy's own (another order of the same LAPACK arithmetic)."""
    if importlib.util.find_spec("numpy.linalg.tests") is None:
        pytest.skip("this NumPy was installed without its tests")
    passed, failed = _suite_under_patch(["--pyargs", "numpy.linalg.tests"])
    assert passed >= 450, (passed, failed)
    assert len(failed) <= 10, failed


def test_scipy_linalg_own_tests_pass_under_the_patch():
    """SciPy's tests of the routines lapack_ai replaces. Those that fail check that
    ``overwrite_a=True`` really overwrites the input; lapack_ai never modifies its inputs."""
    if importlib.util.find_spec("scipy") is None or importlib.util.find_spec("scipy.linalg.tests") is None:
        pytest.skip("SciPy, or its tests, not installed")
    passed, failed = _suite_under_patch(["--pyargs", "scipy.linalg.tests.test_decomp_lu",
                                         "scipy.linalg.tests.test_decomp_cholesky", "scipy.linalg.tests.test_basic"])
    assert passed >= 2000, passed
    other = [f for f in failed if "overwrite" not in f]
    assert len(other) <= 3, other
