"""The low-level LAPACK-named module against scipy.linalg.lapack on the same inputs."""

import numpy as np
import pytest
from scipy.linalg import lapack as sl

import lapack_ai as la
from lapack_ai import lapack as ll

from conftest import close


@pytest.fixture(params=["d", "s", "z", "c"])
def p(request):
    return request.param


def _dt(p):
    return {"d": np.float64, "s": np.float32, "z": np.complex128, "c": np.complex64}[p]


def _name(p, r):
    """LAPACK's name in type p: the unitary / Hermitian names in complex types."""
    return p + ({"orgqr": "ungqr", "syevd": "heevd"}.get(r, r) if p in "cz" else r)


def test_names_exported(p):
    for r in ("gesvd", "gesdd", "gesv", "posv", "potrf", "getrf", "getri", "geqrf", "orgqr", "syevd",
              "gelsd", "gecon", "pocon"):
        f = getattr(ll, _name(p, r))
        assert f.__name__ == _name(p, r) and f.__doc__


def test_factorisations_match_scipy(p, rng):
    dt = _dt(p)
    wide = np.complex128 if p in "cz" else np.float64
    a = rng.standard_normal((5, 5)) + 5 * np.eye(5)
    b = rng.standard_normal((5, 2))
    if p in "cz":
        a, b = a + 1j * rng.standard_normal((5, 5)), b + 1j * rng.standard_normal((5, 2))
    a, b = a.astype(dt), b.astype(dt)
    spd = (a @ a.conj().T).astype(dt)
    f = lambda name: getattr(sl, _name(p, name))
    ll_ = lambda name: getattr(ll, _name(p, name))

    lu, piv = ll_("getrf")(a)
    rlu, rpiv, _ = f("getrf")(a)
    close(lu, rlu, dt, 5)
    np.testing.assert_array_equal(piv, rpiv + 1)  # ours are LAPACK's 1-based pivots
    close(ll_("getri")(lu, piv), np.linalg.inv(a.astype(wide)), dt, 5, factor=500)

    lu2, piv2, x = ll_("gesv")(a, b)
    close(x, np.linalg.solve(a.astype(wide), b), dt, 5, factor=500)

    c = ll_("potrf")(spd)
    close(c, np.linalg.cholesky(spd.astype(wide)), dt, 5, factor=500)
    c2, x2 = ll_("posv")(spd, b)
    close(x2, np.linalg.solve(spd.astype(wide), b), dt, 5, factor=5000)

    qrf, tau = ll_("geqrf")(a)
    rqr, rtau, _, _ = f("geqrf")(a)
    close(qrf, rqr, dt, 5)
    close(tau, rtau, dt, 5)
    q = ll_("orgqr")(qrf, tau)
    close(q @ np.triu(qrf), a, dt, 5)

    w, v = ll_("syevd")(spd)
    close(w, np.linalg.eigvalsh(spd.astype(wide)), dt, 5, factor=500)
    assert ll_("syevd")(spd, jobz="N")[1] is None

    u, s, vt = ll_("gesvd")(a, jobu="S", jobvt="N")
    assert vt is None and u.shape == (5, 5)
    close(s, np.linalg.svd(a.astype(wide), compute_uv=False), dt, 5)
    u, s2, vt = ll_("gesdd")(a, jobz="A")
    close(s2, s, dt, 5)

    x3, s3, rank = ll_("gelsd")(a, b)
    assert rank == 5
    close(x3, np.linalg.solve(a.astype(wide), b), dt, 5, factor=500)

    anorm = float(np.abs(a).sum(axis=0).max())
    rc = ll_("gecon")(lu, anorm)
    rrc, _ = f("gecon")(rlu, anorm)
    assert rc == pytest.approx(rrc, rel=1e-4)
    rcp = ll_("pocon")(c, float(np.abs(spd).sum(axis=0).max()))
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
