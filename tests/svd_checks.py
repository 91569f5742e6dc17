"""LAPACK's SVD test matrices and ratios (TESTING/EIG xDRVBD), shared by the SVD test files."""

import numpy as np

THRESHOLD = 35.0  # LAPACK's, for every ratio


def orthonormal(rng, m, k):
    """k random orthonormal columns of length m (thin QR: tall matrices stay cheap)."""
    q, r = np.linalg.qr(rng.standard_normal((m, k)))
    return q * np.sign(np.diag(r))


def with_values(rng, m, n, d):
    """U diag(d) V^T, U and V random with orthonormal columns."""
    k = min(m, n)
    return (orthonormal(rng, m, k) * d) @ orthonormal(rng, n, k).T


def matrix_types(rng, m, n, dtype):
    """LAPACK's (ddrvbd): zero, identity, D evenly spread from 1 to eps (cond 1/eps) and the
    same near underflow and overflow; random; rank-deficient; clustered and repeated values."""
    k = min(m, n)
    fi = np.finfo(dtype)
    eps, tiny, huge = float(fi.eps), float(fi.tiny), float(fi.max)
    graded = np.linspace(1.0, eps, k) if k > 1 else np.ones(1)
    geometric = eps ** (np.arange(k) / max(k - 1, 1))
    half = np.where(np.arange(k) < (k + 1) // 2, 1.0 + np.arange(k), 0.0)
    return {
        "zero": np.zeros((m, n)),
        "identity": np.eye(m, n),
        "graded": with_values(rng, m, n, graded),
        "cond 1/eps": with_values(rng, m, n, geometric),
        "near underflow": with_values(rng, m, n, geometric) * (tiny / eps),
        "near overflow": with_values(rng, m, n, graded) * (huge * eps / k),
        "random": rng.standard_normal((m, n)),
        "rank-deficient": with_values(rng, m, n, half),
        "clustered": with_values(rng, m, n, 1.0 + eps * np.arange(k)),
        "repeated": with_values(rng, m, n, np.where(np.arange(k) < k // 2, 3.0, 1.0)),
    }


def ratios(a, u, s, vt):
    """Largest over the stack of ||A - U S V^T|| / (||A|| max(m, n) eps), ||I - U^T U|| / (m eps),
    ||I - V^T V|| / (n eps) (1-norms, in float64 on the input as given)."""
    m, n = a.shape[-2:]
    k = min(m, n)
    eps = float(np.finfo(a.dtype).eps)
    a, u, s, vt = (x.astype(np.float64) for x in (a, u, s, vt))
    # The ratios do not change under scaling: a power of two (exact) keeps the sums finite.
    big = np.abs(a).max(initial=0.0)
    if big > 0:
        e = -int(np.ceil(np.log2(big)))
        a, s = np.ldexp(a, e), np.ldexp(s, e)
    one = lambda x: np.abs(x).sum(axis=-2).max(axis=-1)  # noqa: E731
    norm = one(a)
    res = one(a - (u[..., :k] * s[..., None, :]) @ vt[..., :k, :]) / (np.where(norm > 0, norm, 1.0) * max(m, n) * eps)
    ou = one(np.eye(u.shape[-1]) - np.swapaxes(u, -1, -2) @ u) / (m * eps)
    ov = one(np.eye(vt.shape[-2]) - vt @ np.swapaxes(vt, -1, -2)) / (n * eps)
    return float(res.max()), float(ou.max()), float(ov.max())


def check_values(s, a):
    """Sorted, non-negative, within 35 k eps ||A||_2 of NumPy's (LAPACK's) values."""
    k = min(a.shape[-2:])
    want = np.linalg.svd(a.astype(np.float64) if a.dtype == np.float64 else a, compute_uv=False).astype(np.float64)
    assert s.shape == want.shape and s.dtype == a.dtype
    assert (s >= 0).all() and (np.diff(s, axis=-1) <= 0).all()
    err = np.abs(s.astype(np.float64) - want).max(axis=-1)
    bound = np.atleast_1d(THRESHOLD * k * float(np.finfo(a.dtype).eps) * want.max(axis=-1, initial=0.0))
    err = np.atleast_1d(err)
    assert (err <= bound).all(), f"values off by {err.max():.3g} (bound {bound[np.argmax(err - bound)]:.3g})"
