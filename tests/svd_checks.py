"""LAPACK's SVD test matrices and ratios (TESTING/EIG xDRVBD), shared by the SVD test files."""

import numpy as np

THRESHOLD = 35.0  # LAPACK's, for every ratio


def orthonormal(rng, m, k, complex_=False):
    """k random orthonormal (unitary when ``complex_``) columns of length m (thin QR: tall
    matrices stay cheap)."""
    x = rng.standard_normal((m, k))
    if complex_:
        x = x + 1j * rng.standard_normal((m, k))
    q, r = np.linalg.qr(x)
    d = np.diag(r)
    return q * (d / np.abs(d))


def with_values(rng, m, n, d, complex_=False):
    """U diag(d) V^H, U and V random with orthonormal columns (complex when ``complex_``)."""
    k = min(m, n)
    return (orthonormal(rng, m, k, complex_) * d) @ orthonormal(rng, n, k, complex_).conj().T


def matrix_types(rng, m, n, dtype):
    """LAPACK's (ddrvbd): zero, identity, D evenly spread from 1 to eps (cond 1/eps) and the
    same near underflow and overflow; random; rank-deficient; clustered and repeated values."""
    k = min(m, n)
    cx = np.dtype(dtype).kind == "c"
    fi = np.finfo(dtype)
    eps, tiny, huge = float(fi.eps), float(fi.tiny), float(fi.max)
    graded = np.linspace(1.0, eps, k) if k > 1 else np.ones(1)
    geometric = eps ** (np.arange(k) / max(k - 1, 1))
    half = np.where(np.arange(k) < (k + 1) // 2, 1.0 + np.arange(k), 0.0)
    random = rng.standard_normal((m, n)) + (1j * rng.standard_normal((m, n)) if cx else 0)
    return {
        "zero": np.zeros((m, n)),
        "identity": np.eye(m, n),
        "graded": with_values(rng, m, n, graded, cx),
        "cond 1/eps": with_values(rng, m, n, geometric, cx),
        "near underflow": with_values(rng, m, n, geometric, cx) * (tiny / eps),
        "near overflow": with_values(rng, m, n, graded, cx) * (huge * eps / k),
        "random": random,
        "rank-deficient": with_values(rng, m, n, half, cx),
        "clustered": with_values(rng, m, n, 1.0 + eps * np.arange(k), cx),
        "repeated": with_values(rng, m, n, np.where(np.arange(k) < k // 2, 3.0, 1.0), cx),
    }


def ratios(a, u, s, vt):
    """Largest over the stack of ||A - U S V^T|| / (||A|| max(m, n) eps), ||I - U^T U|| / (m eps),
    ||I - V^T V|| / (n eps) (1-norms, in float64 on the input as given)."""
    m, n = a.shape[-2:]
    k = min(m, n)
    eps = float(np.finfo(a.dtype).eps)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    a, u, s, vt = (x.astype(wide) for x in (a, u, s, vt))
    # The ratios do not change under scaling: a power of two (exact) keeps the sums finite.
    big = np.abs(a).max(initial=0.0)
    if big > 0:
        e = -int(np.ceil(np.log2(big)))
        a, s = a * 2.0**e, s * 2.0**e  # exact
    one = lambda x: np.abs(x).sum(axis=-2).max(axis=-1)  # noqa: E731
    norm = one(a)
    res = one(a - (u[..., :k] * s[..., None, :]) @ vt[..., :k, :]) / (np.where(norm > 0, norm, 1.0) * max(m, n) * eps)
    ou = one(np.eye(u.shape[-1]) - np.swapaxes(u, -1, -2).conj() @ u) / (m * eps)
    ov = one(np.eye(vt.shape[-2]) - vt @ np.swapaxes(vt, -1, -2).conj()) / (n * eps)
    return float(res.max()), float(ou.max()), float(ov.max())


def check_values(s, a):
    """Sorted, non-negative, within 35 k eps ||A||_2 of NumPy's (LAPACK's) values."""
    k = min(a.shape[-2:])
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    want = np.linalg.svd(a.astype(wide), compute_uv=False).astype(np.float64)
    assert s.shape == want.shape and s.dtype == np.finfo(a.dtype).dtype
    assert (s >= 0).all() and (np.diff(s, axis=-1) <= 0).all()
    err = np.abs(s.astype(np.float64) - want).max(axis=-1)
    bound = np.atleast_1d(THRESHOLD * k * float(np.finfo(a.dtype).eps) * want.max(axis=-1, initial=0.0))
    err = np.atleast_1d(err)
    assert (err <= bound).all(), f"values off by {err.max():.3g} (bound {bound[np.argmax(err - bound)]:.3g})"
