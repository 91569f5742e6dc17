"""The low-level LAPACK-named module against scipy.linalg.lapack on the same inputs."""

import numpy as np
import pytest
from scipy.linalg import lapack as sl

import lapack_ai as la
from lapack_ai import lapack as ll

from conftest import close


@pytest.fixture(params=["d", "s"])
def p(request):
    return request.param


def _dt(p):
    return np.float64 if p == "d" else np.float32


def test_names_exported(p):
    for r in ("gesvd", "gesdd", "gesv", "posv", "potrf", "getrf", "getri", "geqrf", "orgqr", "syevd",
              "gelsd", "gecon", "pocon"):
        f = getattr(ll, p + r)
        assert f.__name__ == p + r and f.__doc__


def test_factorisations_match_scipy(p, rng):
    dt = _dt(p)
    a = (rng.standard_normal((5, 5)) + 5 * np.eye(5)).astype(dt)
    b = rng.standard_normal((5, 2)).astype(dt)
    spd = (a @ a.T).astype(dt)
    f = lambda name: getattr(sl, p + name)

    lu, piv = getattr(ll, p + "getrf")(a)
    rlu, rpiv, _ = f("getrf")(a)
    close(lu, rlu, dt, 5)
    np.testing.assert_array_equal(piv, rpiv + 1)  # ours are LAPACK's 1-based pivots
    close(getattr(ll, p + "getri")(lu, piv), np.linalg.inv(a.astype(np.float64)), dt, 5, factor=500)

    lu2, piv2, x = getattr(ll, p + "gesv")(a, b)
    close(x, np.linalg.solve(a.astype(np.float64), b), dt, 5, factor=500)

    c = getattr(ll, p + "potrf")(spd)
    close(c, np.linalg.cholesky(spd.astype(np.float64)), dt, 5, factor=500)
    c2, x2 = getattr(ll, p + "posv")(spd, b)
    close(x2, np.linalg.solve(spd.astype(np.float64), b), dt, 5, factor=5000)

    qrf, tau = getattr(ll, p + "geqrf")(a)
    rqr, rtau, _, _ = f("geqrf")(a)
    close(qrf, rqr, dt, 5)
    close(tau, rtau, dt, 5)
    q = getattr(ll, p + "orgqr")(qrf, tau)
    close(q @ np.triu(qrf), a, dt, 5)

    w, v = getattr(ll, p + "syevd")(spd)
    close(w, np.linalg.eigvalsh(spd.astype(np.float64)), dt, 5, factor=500)
    assert getattr(ll, p + "syevd")(spd, jobz="N")[1] is None

    u, s, vt = getattr(ll, p + "gesvd")(a, jobu="S", jobvt="N")
    assert vt is None and u.shape == (5, 5)
    close(s, np.linalg.svd(a.astype(np.float64), compute_uv=False), dt, 5)
    u, s2, vt = getattr(ll, p + "gesdd")(a, jobz="A")
    close(s2, s, dt, 5)

    x3, s3, rank = getattr(ll, p + "gelsd")(a, b)
    assert rank == 5
    close(x3, np.linalg.solve(a.astype(np.float64), b), dt, 5, factor=500)

    anorm = float(np.abs(a).sum(axis=0).max())
    rc = getattr(ll, p + "gecon")(lu, anorm)
    rrc, _ = f("gecon")(rlu, anorm)
    assert rc == pytest.approx(rrc, rel=1e-4)
    rcp = getattr(ll, p + "pocon")(c, float(np.abs(spd).sum(axis=0).max()))
    assert 0 < rcp <= 1


def test_lowlevel_errors():
    with pytest.raises(la.SingularMatrixError) as ei:
        ll.sgetrf(np.zeros((3, 3)))
    assert ei.value.routine == "sgetrf" and ei.value.operation == "sgetrf"
    with pytest.raises(la.ShapeError):
        ll.dgesv(np.eye(3), np.ones((4, 1)))
    with pytest.raises(la.ShapeError):
        ll.dgetrf(np.ones(3))
    with pytest.raises(ValueError, match="jobz"):
        ll.dsyevd(np.eye(2), jobz="X")
    with pytest.raises(ValueError, match="job"):
        ll.dgesvd(np.eye(2), jobu="O")
    with pytest.raises(la.ShapeError, match="pivots"):
        ll.dgetri(np.eye(2), np.array([0, 5]))
