"""Hostile but legal input: nothing a caller passes may abort the process, surface a Rust
panic, write outside its buffers, or return a wrong or uninitialised result.

Cases that could abort run in a subprocess, so an abort fails the test instead of killing
pytest. Each asserts what the user sees: the right answer, or a lapack_ai error that says why.
"""

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import lapack_ai as la
from lapack_ai import _core
from lapack_ai.errors import call

from conftest import close


def run_py(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; its last line of output is what it found."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "RUST_BACKTRACE": "0"})


def packed_field(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """A (rows, cols) float64 view into a packed structured array: unaligned, row stride 4 + 8 cols bytes."""
    s = np.zeros(rows, dtype=[("a", "i4"), ("b", "f8", (cols,))])["b"]
    s[:] = np.random.default_rng(seed).standard_normal((rows, cols))
    assert not s.flags.aligned
    return s


# ---- views the core cannot read as they lie ----

def test_unaligned_field_gives_numpys_answer():
    s = packed_field(50, 4)
    close(la.svdvals(s), np.linalg.svd(s, compute_uv=False), np.float64, 50)
    q = packed_field(6, 6, 1)
    close(la.solve(q, np.ones(6)), np.linalg.solve(q, np.ones(6)), np.float64, 6, factor=1e3)
    close(la.det(q), np.linalg.det(q), np.float64, 6, scale=abs(np.linalg.det(q)), factor=1e3)
    close(la.lapack.dgetrf(q)[0], __import__("scipy.linalg", fromlist=["lu_factor"]).lu_factor(q)[0], np.float64, 6)


def test_unaligned_c_is_updated_in_place():
    c = packed_field(5, 5, 2)
    before = c.copy()
    a = np.random.default_rng(3).standard_normal((5, 5))
    out = la.gemm(a, a, c, beta=1.0)
    assert out is c
    close(c, a @ a + before, np.float64, 5)


def test_byte_swapped_and_overlapping_c():
    a = np.random.default_rng(4).standard_normal((4, 4)).astype(">f8")
    close(la.inv(a), np.linalg.inv(a.astype("f8")), np.float64, 4, factor=1e3)
    c = np.lib.stride_tricks.as_strided(np.zeros(4), (4, 4), (0, 8), writeable=True)
    with pytest.raises(ValueError, match="share memory"):
        la.gemm(np.eye(4), np.eye(4), c)


def test_more_than_32_dimensions():
    m = np.array([[2.0, 1.0], [1.0, 3.0]])
    for ndim in (33, 40, 64):
        a = np.broadcast_to(m, (1,) * (ndim - 4) + (2, 1, 2, 2))
        u, s, vt = la.svd(a)
        assert u.shape == a.shape and s.shape == a.shape[:-1]
        close(s, np.linalg.svd(a, compute_uv=False), np.float64, 2)
        close(la.det(a), np.linalg.det(a), np.float64, 2)
        close(la.solve(a, np.ones(a.shape[:-1] + (1,))), np.linalg.solve(a, np.ones(a.shape[:-1] + (1,))), np.float64, 2)


def test_empty_batches_allocate_nothing():
    a = np.empty((2**40, 0, 0))
    assert la.cholesky(a).shape == a.shape
    assert la.inv(a).shape == a.shape
    u, s, vt = la.svd(np.empty((2**40, 0, 3)), full_matrices=False)
    assert u.shape == (2**40, 0, 0) and s.shape == (2**40, 0) and vt.shape == (2**40, 0, 3)


# ---- sizes that cannot fit: MemoryError before any work, never an abort ----

@pytest.mark.parametrize("expr", [
    "la.det(np.empty((2**40, 0, 0)))",                                      # one value per matrix: 8 TiB
    "la.svd(np.broadcast_to(np.ones(1), (200000, 200000)))",
    "la.gemm(np.broadcast_to(np.ones(1), (100000, 100000)), np.broadcast_to(np.ones(1), (100000, 100000)))",
    "la.solve(np.broadcast_to(np.eye(2), (2**36, 2, 2)), np.ones(2))",
    "la.lstsq(np.broadcast_to(np.ones(1), (300000, 100000)), np.ones(300000))",
    "la.lapack.dgetrf(np.lib.stride_tricks.as_strided(np.zeros(4), (2**32 + 2, 2), (0, 8)))",
    "la.eigh(np.broadcast_to(np.eye(1), (2**35, 4, 4)))",
    # the routines added for drop-in use, and complex paths
    "la.eig(np.broadcast_to(np.ones(1), (200000, 200000)))",
    "la.schur(np.broadcast_to(np.ones(1), (200000, 200000)))",
    "la.lu(np.broadcast_to(np.ones(1), (200000, 200000)))",
    "la.lu_solve((np.broadcast_to(np.ones(1), (200000, 200000)), np.zeros(200000, np.int64)), np.ones(200000))",
    "la.cho_solve((np.broadcast_to(np.ones(1), (200000, 200000)), False), np.ones(200000))",
    "la.solve_triangular(np.broadcast_to(np.ones(1), (200000, 200000)), np.ones(200000))",
    "la.eigh(np.broadcast_to(np.ones(1), (200000, 200000)), b=np.broadcast_to(np.ones(1), (200000, 200000)))",
    "la.solve(np.broadcast_to(np.ones(1, complex), (200000, 200000)), np.ones(200000))",
    "la.svd(np.broadcast_to(np.ones(1, np.complex64), (200000, 200000)))",
])
def test_too_large_raises_memory_error(expr):
    r = run_py(f"""
        import numpy as np, lapack_ai as la
        try:
            {expr}
            print("no error")
        except MemoryError as e:
            print(type(e).__name__, "|", e)
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("OutOfMemoryError |"), last
    assert "needs" in last and "available" in last


def test_memory_error_names_routine_and_bytes():
    with pytest.raises(la.OutOfMemoryError) as e:
        la.svd(np.broadcast_to(np.ones(1), (200000, 200000)))
    assert e.value.operation == "svd" and e.value.bytes >= 200000 * 200000 * 8 and e.value.available > 0
    assert isinstance(e.value, MemoryError)


# ---- 64-bit sizes ----

def _mem_available() -> int:
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable"))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_gemm_with_k_beyond_32_bits():
    if _mem_available() < 12 << 30:
        pytest.skip("needs 12 GiB free: a float32 vector of 2^31 + 1 elements")
    r = run_py("""
        import numpy as np, lapack_ai as la
        a = np.ones((1, 2**31 + 1), dtype=np.float32)
        a[0, ::7] = 2
        print(float(la.gemm(a, a, trans_b=True)[0, 0]))
    """, timeout=280)
    assert r.returncode == 0 and "illegal value" not in r.stderr, r.stderr[-2000:]
    ours = float(r.stdout)
    k = 2**31 + 1
    exact = k + 3 * (-(-k // 7))  # ones, and a 2 (square 4) at every 7th place
    # float32 sums past 2^24 drop small terms (OpenBLAS's blocked sum lands 6% low; NumPy's
    # float32 matmul, a plain dot, 50%), but all of k was summed: a k that wrapped or a call
    # BLAS rejected would give about 1.
    assert abs(ours - exact) < 0.1 * exact, (ours, exact)


# ---- no panic reaches Python ----

def test_panic_becomes_internal_error():
    with pytest.raises(la.InternalError) as e:
        call("selftest", _core.selftest_panic, {})
    assert isinstance(e.value, Exception) and isinstance(e.value, la.LinAlgError)
    assert "index out of bounds" in str(e.value) and "report" in str(e.value)


# ---- what gemm may write ----

def test_read_only_c_is_refused_and_unchanged():
    c = np.ones((3, 3))
    c.flags.writeable = False
    with pytest.raises(ValueError, match="'c' is read-only"):
        la.gemm(np.eye(3), np.eye(3), c, beta=1.0)
    assert (c == 1).all()


def test_reading_an_array_another_call_is_writing_is_refused():
    """gemm(c=x) releases the GIL; a concurrent call reading x gets a ValueError naming x
    instead of racing the write (or a Rust panic from the borrow check)."""
    rng = np.random.default_rng(5)
    n = 2000
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    x = np.zeros((n, n))
    done = threading.Event()

    def writer():
        for _ in range(3):
            la.gemm(a, b, x)
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    refused = []
    while not done.is_set():
        try:
            la.det(x[:3, :3])
        except ValueError as e:
            refused.append(str(e))
        time.sleep(0.001)
    t.join()
    assert refused and "argument 'a' is being written by another call" in refused[0]
    close(x, a @ b, np.float64, n)


# ---- LAPACK never loops or prints on bad numbers ----

@pytest.mark.parametrize("expr", [
    "la.svd(a, check_finite=False)",
    "la.svd(a, driver='gesvd', check_finite=False)",
    "la.svdvals(a, check_finite=False)",
    "la.lstsq(a, np.ones(3), check_finite=False)",
    "la.lapack.dgesdd(a, check_finite=False)",
])
def test_inf_never_reaches_the_svd(expr):
    # OpenBLAS 0.3.31-0.3.34 loops forever on these (Reference-LAPACK #1409).
    r = run_py(f"""
        import numpy as np, lapack_ai as la
        a = np.eye(3); a[0, 0], a[1, 1] = -np.inf, np.inf
        try:
            {expr}
        except la.NonFiniteError as e:
            print("refused", e.inf_count)
    """, timeout=60)
    assert r.returncode == 0 and r.stdout.split() == ["refused", "2"], (r.stdout, r.stderr[-1000:])
    assert "illegal value" not in r.stderr


# ---- threads: the caller's limits hold ----

def test_threadpoolctl_and_environment_limit_lapack_ai():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    info = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"
            and os.path.realpath(i["filepath"]) == os.path.realpath(la.blas_config()["library"])]
    assert len(info) == 1, threadpoolctl.threadpool_info()  # the library lapack_ai runs on is seen
    with threadpoolctl.threadpool_limits(1):
        assert la.blas_config()["threads"] == 1
        assert _core.batch_width(100000, 4) == 1  # stacks stay on the calling thread too
    r = run_py("""
        import lapack_ai as la
        from lapack_ai import _core
        print(la.blas_config()["threads"], _core.batch_width(100000, 4))
    """)
    r1 = subprocess.run([sys.executable, "-c", "import lapack_ai as la; from lapack_ai import _core; "
                         "print(la.blas_config()['threads'], _core.batch_width(100000, 4))"],
                        capture_output=True, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert r1.returncode == 0 and r1.stdout.split() == ["1", "1"], r1.stderr
    threads, width = map(int, r.stdout.split())
    assert width == min(threads, _core.num_threads())


def test_blas_config_names_a_current_ilp64_openblas():
    cfg = la.blas_config()
    major, minor, patch = map(int, cfg["version"].split("."))
    assert (major, minor, patch) >= (0, 3, 28)
    assert "USE64BITINT" in cfg["config"] and "DYNAMIC_ARCH" in cfg["config"]
    assert cfg["origin"] in ("shared with NumPy", "scipy-openblas64 package", "LAPACK_AI_OPENBLAS")
    assert cfg["corename"] and cfg["threads"] >= 1
