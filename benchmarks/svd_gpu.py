"""The SVD on OpenCL against cuSOLVER (through torch) and the CPU path, in one run.

Section ``batched`` (issue 17's batch rows): stacks of small SVDs on the one-sided Jacobi
kernel (kernels/svd_small.cl), 100000 x 4x4 and 10000 x 32x32 in float64 and float32, thin U,
S and V^T:
  - correctness first: LAPACK's ratios (xDRVBD: residual, orthogonality of U and of V, at most
    35) and the singular values against NumPy's, on the stack about to be timed (a sample of
    its matrices), every case;
  - kernel-side: OpenCL profiling events around launches on data already on the device
    (``_core.svd_small_kernel_times``), against ``torch.linalg.svd`` on CUDA tensors timed with
    CUDA events (cuSOLVER; torch picks gesvdjBatched for batches of matrices up to 32x32);
  - end to end from NumPy (transfers included): ``lapack_ai.svd(a, full_matrices=False,
    device=...)`` against ``torch.linalg.svd(torch.from_numpy(a).cuda())`` with the results
    copied back, and lapack_ai's CPU path (LAPACK gesdd over threads).
Section ``tall`` (issue 17's 100000 x 64 row): one tall-skinny matrix on the CholeskyQR
kernels (kernels/svd_tall.cl), thin U, S and V^T:
  - correctness first: LAPACK's ratios and NumPy's values on the matrix about to be timed, as
    it lies, column-major and transposed;
  - kernel-side: wall time from the matrix on the device to U on the device, host round trips
    included (``_core.svd_tall_kernel_times``; the line per case also gives its shares in
    kernels and in the host's n x n factors; on NVIDIA, where float64's passes run on the
    tensor-core GEMM, column "fma" times svd_tall.cl's kernels instead, LAPACK_AI_SVD_TALL_TC=0),
    against ``torch.linalg.svd`` on a CUDA tensor
    with each cuSOLVER driver torch offers (gesvda, gesvdj, gesvd), timed with CUDA events;
  - end to end from NumPy, against torch with gesvda (its fastest) and the CPU path.
Section ``eigh``: stacks of symmetric eigenproblems on the same kernel in its EIG mode
(one-sided Jacobi on A + c I), 100000 x 4x4, 10000 x 32x32 and 10000 x 64x64, eigenvalues and
eigenvectors (a stack the device's local memory cannot hold, complex128 64x64 on NVIDIA, runs
where "auto" sends it, the CPU):
  - correctness first: xDRVST's ratios (residual, orthogonality) and NumPy's eigenvalues;
  - kernel-side (``_core.eigh_small_kernel_times``) against ``torch.linalg.eigh`` on CUDA
    tensors (cuSOLVER's syevjBatched for stacks up to 32x32), and end to end from NumPy
    against torch and lapack_ai's CPU path (LAPACK syevd over threads).
Section ``lanes``: the small-stack kernel's work-items per pair of columns
(LAPACK_AI_SVD_SMALL_TPP), kernel-side, for the SVD and eigh at 4x4, 16x16 and 32x32 (the
counts of ``batched``), each value against the default in the same run.
Section ``square`` (issue 17's square and eigh rows, which no OpenCL route serves yet): the
ceilings a route has to fit under, float64 at 1024 and 4096, all in one run:
  - the peers, kernel-side: cuSOLVER's SVD drivers and syevd through torch, and QDWH (JAX's
    polar decomposition, QDWH-SVD and QDWH-eig, on cuSOLVER's QR and Cholesky) when JAX is
    there;
  - the building blocks on the device: cuSOLVER's QR, Cholesky and triangular solve, cuBLAS's
    and our GEMM (from which "30 GEMMs" estimates QDWH's polar step at GEMM speed);
  - the host stages a hybrid route would run, on the GPU machine's cores: tridiagonal divide
    and conquer with vectors (LAPACK's stevd), one-stage tridiagonal reduction (sytrd), and
    lapack_ai's CPU eigh and SVD.
Without CUDA (e.g. PoCL, CI's CPU OpenCL driver) the torch columns say "-". A short table is
printed last; medians of --reps runs after one warm-up.

    python benchmarks/svd_gpu.py [batched] [tall] [eigh] [lanes] [square] [--device 0] [--reps 10] [--scale 1.0]
                                 [--dtypes float64 float32 complex128 complex64] [--sizes 64] [--phases]

--scale multiplies every count and every tall matrix's rows (default 1 on a GPU, 0.1 on a
CPU OpenCL device, where 10000 x 32x32 takes seconds). Launch shapes can be overridden for a sweep with
LAPACK_AI_SVD_SMALL_MPG and LAPACK_AI_SVD_SMALL_TPP (rust/core/src/opencl/svd_small.rs: `plan`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import lapack_ai
from lapack_ai import _core
from lapack_ai.benchmark import median_time

# (count, m, n) at --scale 1, and issue 17's targets on an H200 (float64, kernel-side).
BATCHED = [(100_000, 4, 4, 1.0e-3), (10_000, 32, 32, 5.0e-3), (10_000, 64, 64, None)]
# (count, n) of the eigh stacks: the SVD's.
EIGH_STACKS = [(100_000, 4), (10_000, 32), (10_000, 64)]
# Matrices of a stack the per-matrix peer times past 32x32 (scaled to the stack).
PEER_SLICE = 500
# (m, n) at --scale 1 and the target where it sets one (float64, kernel-side, H200).
# (m, n, target s, condition): random Gaussian matrices are well conditioned (cond about 1.05
# at 100000 x 64) and take the shortcut (svd_tall.rs, `by_eigh`); cond 1e4 grades the columns
# so that CholeskyQR's passes run.
TALL = [(100_000, 64, 1.0e-3, 1.0), (100_000, 64, None, 1e4), (100_000, 16, None, 1.0), (1_000_000, 32, None, 1.0),
        (200_000, 256, None, 1.0)]
RATIO_MAX = 35.0
SAMPLE = 512  # matrices checked per case


def wide(a):
    """The float64 type of ``a``'s kind, for references and ratios."""
    return np.complex128 if np.iscomplexobj(a) else np.float64


def random(rng, shape, dt):
    """Gaussian entries (real and imaginary parts for complex dtypes)."""
    x = rng.standard_normal(shape)
    if np.dtype(dt).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dt)


def ratios(a, u, s, vt):
    """Largest LAPACK ratios over a stack (1-norms, float64)."""
    m, n = a.shape[-2:]
    eps = float(np.finfo(a.dtype).eps)
    a, u, s, vt = (x.astype(wide(a)) for x in (a, u, s, vt))
    one = lambda x: np.abs(x).sum(axis=-2).max(axis=-1)  # noqa: E731
    norm = np.maximum(one(a), np.finfo(np.float64).tiny)
    res = one(a - (u * s[..., None, :]) @ vt) / (norm * max(m, n) * eps)
    ou = one(np.eye(u.shape[-1]) - np.swapaxes(u, -1, -2).conj() @ u) / (m * eps)
    ov = one(np.eye(vt.shape[-2]) - vt @ np.swapaxes(vt, -1, -2).conj()) / (n * eps)
    return float(res.max()), float(ou.max()), float(ov.max())


def check(a, selector):
    """The device's thin SVD of a sample of ``a``: LAPACK's ratios and NumPy's values."""
    x = a[:SAMPLE]
    u, s, vt = lapack_ai.svd(x, full_matrices=False, device=selector)
    r = ratios(x, u, s, vt)
    want = np.linalg.svd(x.astype(wide(x)), compute_uv=False)
    k = min(a.shape[-2:])
    verr = float((np.abs(s - want).max(axis=-1) / (k * np.finfo(a.dtype).eps * want[..., 0])).max())
    assert max(r) <= RATIO_MAX and verr <= RATIO_MAX, f"{a.shape} {a.dtype}: ratios {r}, values {verr:.1f} k ulp ||A||"
    return max(max(r), verr)


def cuda_time(fn, reps):
    """Median seconds of ``fn()`` on CUDA tensors, timed with CUDA events after one warm-up."""
    import torch

    fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        ts.append(s.elapsed_time(e) / 1e3)
    return statistics.median(ts)


def torch_peer(a, reps, calls):
    """({name: kernel-side s} of each ``calls[name](torch, cuda tensor)``, end-to-end s of the
    first call with its results copied back) for torch on CUDA; ({}, None) without CUDA."""
    try:
        import torch

        if not torch.cuda.is_available():
            return {}, None
        x = torch.from_numpy(a).cuda()
    except Exception:
        return {}, None
    out = {}
    for name, f in calls.items():
        try:
            out[name] = cuda_time(lambda f=f: f(torch, x), reps)
        except RuntimeError as e:  # cuSOLVER refuses some batches (syevBatched at 100000 x 4x4)
            print(f"torch {name} on {tuple(x.shape)} {x.dtype}: {str(e)[:120]}", flush=True)
            return {}, None
    first = next(iter(calls.values()))
    te = median_time(lambda: [y.cpu().numpy() for y in first(torch, torch.from_numpy(a).cuda())], reps)
    del x
    torch.cuda.empty_cache()
    return out, te


def stack_peer(a, reps, calls):
    """``torch_peer`` on a stack of small matrices: past 32x32 cuSOLVER has no batched driver
    and torch solves the matrices one after another (10000 x 64x64 eigh did not finish 7
    repetitions in 4 minutes on an H100), so there it runs on the first PEER_SLICE matrices, 3
    times, scaled to the stack. Returns (kernel-side s of the first call, end-to-end s, whether
    scaled)."""
    n = max(a.shape[-2:])
    part = a if n <= 32 or len(a) <= PEER_SLICE else a[:PEER_SLICE]
    tk, te = torch_peer(part, reps if part is a else 3, calls)
    tk = tk.get(next(iter(calls)))
    if part is not a and tk is not None:
        tk, te = tk * len(a) / len(part), te * len(a) / len(part)
    return tk, te, part is not a


def torch_times(a, reps, drivers):
    """Thin ``torch.linalg.svd`` per cuSOLVER driver (gesvda, ...), as ``torch_peer``."""
    def svd(drv):
        return lambda torch, t: torch.linalg.svd(t, full_matrices=False, driver=drv)

    return torch_peer(a, reps, {drv: svd(drv) for drv in drivers})


def tall(dev, reps, scale, dtypes):
    rows = []
    rng = np.random.default_rng(1)
    for m0, n, target, cond in TALL:
        m = max(4 * n, int(m0 * scale))
        for dt in dtypes:
            a = random(rng, (m, n), dt)
            if cond > 1:
                a = (a * np.geomspace(1.0, 1.0 / cond, n)).astype(a.dtype)
            want = np.linalg.svd(a.astype(wide(a)), compute_uv=False)
            worst = 0.0
            # the matrix as it lies, column-major, and transposed (wide): each layout's passes
            for x in (a, np.asfortranarray(a), a.T):
                u, s, vt = lapack_ai.svd(x, full_matrices=False, device=dev.selector)
                assert lapack_ai.last_decision().kernel.startswith("svd-cholqr"), lapack_ai.last_decision()
                r = ratios(x, u, s, vt)
                verr = float(np.abs(s - want).max() / (n * np.finfo(a.dtype).eps * want[0]))
                worst = max(worst, *r, verr)
                assert worst <= RATIO_MAX, f"{x.shape} {a.dtype}: ratios {r}, values {verr:.1f} n ulp ||A||"
            name, ns, kern, host = _core.svd_tall_kernel_times(dev.index, m, n, dt, reps + 1, cond=cond)
            kernel = statistics.median(ns[1:]) / 1e9
            shares = f"of which kernels {statistics.median(kern[1:]) / 1e6:.3f} ms, host {statistics.median(host[1:]) / 1e6:.3f} ms"
            fma = None
            if dt == "float64" and "NVIDIA" in dev.platform:
                # the same on svd_tall.cl's FMA kernels in place of the tensor-core GEMM
                os.environ["LAPACK_AI_SVD_TALL_TC"] = "0"
                try:
                    _, ns_f, kern_f, _ = _core.svd_tall_kernel_times(dev.index, m, n, dt, reps + 1, cond=cond)
                    fma = statistics.median(ns_f[1:]) / 1e9
                finally:
                    os.environ.pop("LAPACK_AI_SVD_TALL_TC")
                shares += f"; on the FMA kernels {fma * 1e3:.3f} ms (kernels {statistics.median(kern_f[1:]) / 1e6:.3f} ms)"

            e2e = median_time(lambda: lapack_ai.svd(a, full_matrices=False, device=dev.selector), reps)
            cpu = median_time(lambda: lapack_ai.svd(a, full_matrices=False, device="cpu"), max(1, reps // 3))
            tk, te = torch_times(a, reps, ("gesvda", "gesvdj", "gesvd"))
            full = dt == "float64" and m == m0 and target is not None
            label = f"{m} x {n}" + (f" c{cond:.0e}".replace("+0", "") if cond > 1 else "")
            rows.append((label, dt, worst, kernel, fma, e2e, tk, te, cpu, target if full else None))
            print(f"{label} {dt}: ratios <= {worst:.1f}; kernel {kernel * 1e3:.3f} ms ({shares}), end to end {e2e * 1e3:.2f} ms, "
                  f"cpu {cpu * 1e3:.2f} ms; cusolver {({k: round(v * 1e3, 3) for k, v in tk.items()})} ms", flush=True)
    return rows


def batched(dev, reps, scale, dtypes, sizes=None):
    rows = []
    rng = np.random.default_rng(0)
    for count0, m, n, target in [b for b in BATCHED if not sizes or b[2] in sizes]:
        count = max(1, int(count0 * scale))
        for dt in dtypes:
            a = random(rng, (count, m, n), dt)
            try:
                worst = check(a, dev.selector)
            except lapack_ai.DeviceError as e:  # one matrix does not fit the device's local memory
                print(f"{count} x {m}x{n} {dt}: skipped: {e}", flush=True)
                continue
            name, ns = _core.svd_small_kernel_times(dev.index, count, m, n, dt, reps + 1)
            kernel = statistics.median(ns[1:]) / 1e9
            e2e = median_time(lambda: lapack_ai.svd(a, full_matrices=False, device=dev.selector), reps)
            cpu = median_time(lambda: lapack_ai.svd(a, full_matrices=False, device="cpu"), max(1, reps // 3))
            tk, te, scaled = stack_peer(a, reps, {"svd": lambda torch, t: torch.linalg.svd(t, full_matrices=False)})
            # The target is for the full stack in float64 (issue 17), on an H200.
            full = dt == "float64" and count == count0
            rows.append((f"{count} x {m}x{n}" + ("*" if scaled else ""), dt, name, worst, kernel, e2e, tk, te, cpu, target if full else None))
            print(f"{count} x {m}x{n} {dt}: ratios <= {worst:.1f}; kernel {kernel * 1e3:.3f} ms, end to end {e2e * 1e3:.2f} ms, "
                  f"cpu {cpu * 1e3:.2f} ms", flush=True)
    return rows


def eigh_check(a, selector):
    """The device's eigh of a sample of ``a``: xDRVST's ratios and NumPy's eigenvalues."""
    x = a[:SAMPLE]
    w, v = lapack_ai.eigh(x, device=selector)
    n = a.shape[-1]
    eps = float(np.finfo(a.dtype).eps)
    x64, w64, v64 = (y.astype(wide(x)) for y in (x, w, v))
    one = lambda y: np.abs(y).sum(axis=-2).max(axis=-1)  # noqa: E731
    norm = np.maximum(one(x64), np.finfo(np.float64).tiny)
    res = one(x64 - (v64 * w64[..., None, :]) @ np.swapaxes(v64, -1, -2).conj()) / (norm * n * eps)
    orth = one(np.eye(n) - np.swapaxes(v64, -1, -2).conj() @ v64) / (n * eps)
    verr = np.abs(w64.real - np.linalg.eigvalsh(x64)).max(axis=-1) / (n * eps * norm)
    worst = float(max(res.max(), orth.max(), verr.max()))
    assert worst <= RATIO_MAX, f"{a.shape} {a.dtype}: eigh ratios {worst:.1f}"
    return worst


def eigh(dev, reps, scale, dtypes, sizes=None):
    rows = []
    rng = np.random.default_rng(2)
    for count0, n in [e for e in EIGH_STACKS if not sizes or e[1] in sizes]:
        count = max(1, int(count0 * scale))
        for dt in dtypes:
            x = random(rng, (count, n, n), dt)
            a = x + np.swapaxes(x, -1, -2).conj()
            try:
                worst = eigh_check(a, dev.selector)
            except lapack_ai.DeviceError as e:  # one matrix does not fit the device's local memory
                print(f"eigh {count} x {n}x{n} {dt}: skipped: {e}", flush=True)
                continue
            name, ns = _core.eigh_small_kernel_times(dev.index, count, n, dt, reps + 1)
            kernel = statistics.median(ns[1:]) / 1e9
            e2e = median_time(lambda: lapack_ai.eigh(a, device=dev.selector), reps)
            cpu = median_time(lambda: lapack_ai.eigh(a, device="cpu"), max(1, reps // 3))
            tk, te, scaled = stack_peer(a, reps, {"syevj": lambda torch, t: torch.linalg.eigh(t)})
            rows.append((f"{count} x {n}x{n}" + ("*" if scaled else ""), dt, name, worst, kernel, e2e, tk, te, cpu, None))
            print(f"eigh {count} x {n}x{n} {dt}: ratios <= {worst:.1f}; kernel {kernel * 1e3:.3f} ms, end to end {e2e * 1e3:.2f} ms, "
                  f"cpu {cpu * 1e3:.2f} ms", flush=True)
    return rows


LANES = (1, 2, 4, 8)


def lanes(dev, reps, scale, dtypes):
    """Kernel medians (ms) per work-items-per-pair value, 0 standing for the default."""
    rows = []
    for count0, n in [(100_000, 4), (10_000, 16), (10_000, 32), (10_000, 64)]:
        count = max(1, int(count0 * scale))
        for what, fn in (("svd", lambda c, dt: _core.svd_small_kernel_times(dev.index, c, n, n, dt, reps + 1)),
                         ("eigh", lambda c, dt: _core.eigh_small_kernel_times(dev.index, c, n, dt, reps + 1))):
            for dt in dtypes:
                got = {}
                for tpp in (0, *LANES):
                    if tpp:
                        os.environ["LAPACK_AI_SVD_SMALL_TPP"] = str(tpp)
                    try:
                        got[tpp] = statistics.median(fn(count, dt)[1][1:]) / 1e9
                    except RuntimeError as e:  # one matrix and its lanes' shares do not fit
                        print(f"lanes {what} {n}x{n} {dt} tpp={tpp or 'default'}: {e}", flush=True)
                        got[tpp] = None
                    finally:
                        os.environ.pop("LAPACK_AI_SVD_SMALL_TPP", None)
                rows.append((f"{what} {count} x {n}x{n}", dt, got))
                print(f"lanes {what} {count} x {n}x{n} {dt}: " + ", ".join(f"{k or 'default'}: {ms(v)} ms" for k, v in got.items()),
                      flush=True)
    return rows


def lanes_table(rows):
    print()
    print("small-stack kernel, medians in ms by work-items per pair (LAPACK_AI_SVD_SMALL_TPP; 'default': plan's choice)")
    head = f"{'case':24} {'dtype':10} {'default':>8} " + " ".join(f"{f'tpp={t}':>8}" for t in LANES)
    print(head)
    print("-" * len(head))
    for case, dt, got in rows:
        print(f"{case:24} {dt:10} {ms(got[0]):>8} " + " ".join(f"{ms(got[t]):>8}" for t in LANES))


SQUARE = (1024, 4096)


def square(dev, reps, scale):
    """{(what, n): median seconds} for the ceilings of a square route (see the module's doc)."""
    out = {}

    def rec(what, n, sec):
        out[(what, n)] = sec
        print(f"square {n}: {what} {sec * 1e3:.2f} ms", flush=True)

    sizes = [max(64, int(n * scale)) for n in SQUARE]
    rng = np.random.default_rng(3)
    for n in sizes:
        r = max(2, reps // 2) if n > 2048 else reps
        name, ns = _core.gemm_kernel_times(dev.index, n, n, n, "float64", r + 1)
        rec(f"ours: GEMM ({name})", n, statistics.median(ns[1:]) / 1e9)
        rec("ours: 30 GEMMs (QDWH polar at GEMM speed, est.)", n, 30 * out[(f"ours: GEMM ({name})", n)])
        a = rng.standard_normal((n, n))
        sym = a + a.T
        spd = a @ a.T + n * np.eye(n)
        tk, _ = torch_peer(a, r, {f"cuSOLVER: svd {d}": (lambda d: lambda torch, t: torch.linalg.svd(t, driver=d))(d)
                                  for d in ("gesvda", "gesvdj", "gesvd")})
        tk |= torch_peer(sym, r, {"cuSOLVER: eigh (syevd)": lambda torch, t: torch.linalg.eigh(t),
                                  "cuSOLVER: eigvalsh": lambda torch, t: torch.linalg.eigvalsh(t)})[0]
        tk |= torch_peer(a, r, {"cuSOLVER: QR (geqrf + orgqr)": lambda torch, t: torch.linalg.qr(t),
                                "cuBLAS: GEMM": lambda torch, t: t @ t})[0]
        tk |= torch_peer(spd, r, {"cuSOLVER: Cholesky (potrf)": lambda torch, t: torch.linalg.cholesky(t),
                                  "cuBLAS: triangular solve (trsm)": lambda torch, t: torch.linalg.solve_triangular(t, t, upper=False)})[0]
        for k, v in tk.items():
            rec(k, n, v)
        for k, v in jax_qdwh(a, r).items():
            rec(k, n, v)
        import scipy.linalg as sl

        hr = 1 if n > 2048 else 3
        d, e = rng.standard_normal(n), rng.standard_normal(n - 1)
        rec("host: tridiagonal D&C with vectors (stevd)", n, median_time(lambda: sl.lapack.dstevd(d, e, compute_v=1), hr))
        rec("host: tridiagonal reduction (sytrd)", n, median_time(lambda: sl.lapack.dsytrd(sym), hr))
        rec("host: lapack_ai eigh", n, median_time(lambda: lapack_ai.eigh(sym, device="cpu"), hr))
        rec("host: lapack_ai svd", n, median_time(lambda: lapack_ai.svd(a, device="cpu"), hr))
    return out


def jax_qdwh(a, reps):
    """{name: s} of JAX's QDWH routines on the GPU, compiled first; {} without JAX on a GPU."""
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        if jax.default_backend() != "gpu":
            return {}
        from jax._src.tpu.linalg import eigh as jeigh
        from jax._src.tpu.linalg import qdwh as jqdwh
        from jax._src.tpu.linalg import svd as jsvd
    except Exception as e:  # noqa: BLE001 (an optional peer: any import failure skips it)
        print(f"JAX's QDWH skipped: {e!r}"[:200], flush=True)
        return {}
    x = jnp.asarray(a)
    calls = {"JAX: QDWH polar": jax.jit(lambda x: jqdwh.qdwh(x, is_hermitian=False)),
             "JAX: QDWH-SVD": jax.jit(lambda x: jsvd.svd(x, full_matrices=False)),
             "JAX: QDWH-eig": jax.jit(lambda x: jeigh.eigh(x + x.T))}
    return {k: median_time(lambda f=f: jax.block_until_ready(f(x)), reps) for k, f in calls.items()}


def square_table(out):
    print()
    print("square float64 ceilings, medians in ms (device: kernel-side, data on the device; host: the GPU machine's cores)")
    sizes = sorted({n for _, n in out})
    whats = list(dict.fromkeys(w for w, _ in out))
    head = f"{'what':52} " + " ".join(f"{n:>10}" for n in sizes)
    print(head)
    print("-" * len(head))
    for w in whats:
        print(f"{w:52} " + " ".join(f"{ms(out.get((w, n))):>10}" for n in sizes))


def ms(x):
    return "-" if x is None else f"{x * 1e3:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sections", nargs="*", help="what to run: batched, tall, eigh (default: all)")
    ap.add_argument("--device", type=int, default=None, help="OpenCL device index (default: the first GPU)")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--scale", type=float, default=None, help="multiplies every count (default 1 on a GPU, 0.1 else)")
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    ap.add_argument("--sizes", nargs="+", type=int, default=None, help="batched and eigh: only the stacks of these n x n")
    ap.add_argument("--phases", action="store_true", help="log each call's kernels, copies and host share (debug lines)")
    args = ap.parse_args()
    if args.phases:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(message)s")
        logging.getLogger("lapack_ai").setLevel(logging.DEBUG)
        lapack_ai.reset_log_cache()
    known = {"batched", "tall", "eigh", "lanes", "square"}
    sections = args.sections or sorted(known - {"lanes", "square"})
    if set(sections) - known:
        ap.error(f"unknown section(s) {sorted(set(sections) - known)}; known: {', '.join(sorted(known))}")
    devs = [d for d in lapack_ai.devices() if not d.unusable]
    if not devs:
        raise SystemExit(f"no usable OpenCL device: {lapack_ai.devices()}")
    dev = devs[args.device] if args.device is not None else next((d for d in devs if d.type == "gpu"), devs[0])
    scale = args.scale if args.scale is not None else (1.0 if dev.type == "gpu" else 0.1)
    print(f"device {dev.index}: {dev.name} ({dev.platform}, driver {dev.driver_version}); scale {scale}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    rows = batched(dev, args.reps, scale, args.dtypes, args.sizes) if "batched" in sections else []
    trows = tall(dev, args.reps, scale, args.dtypes) if "tall" in sections else []
    erows = eigh(dev, args.reps, scale, args.dtypes, args.sizes) if "eigh" in sections else []
    lrows = lanes(dev, args.reps, scale, args.dtypes) if "lanes" in sections else []
    srows = square(dev, args.reps, scale) if "square" in sections else []
    if rows:
        batched_table(rows)
    if erows:
        batched_table(erows, "batched eigh (eigenvalues and eigenvectors)", "xDRVST")
    if trows:
        tall_table(trows)
    if lrows:
        lanes_table(lrows)
    if srows:
        square_table(srows)


def tall_table(rows):
    print()
    print("tall-skinny thin SVD (U, S, V^T), medians in ms; kernel: data on the device; e2e: NumPy in and out; "
          "ratio: largest LAPACK test ratio seen (<= 35); cuSOLVER per driver (torch)")
    head = f"{'matrix':16} {'dtype':8} {'ratio':>5} {'opencl kernel':>13} {'fma':>7} {'gesvda':>9} {'gesvdj':>9} {'gesvd':>9} " \
           f"{'opencl e2e':>10} {'gesvda e2e':>10} {'cpu':>9} {'target':>7}"
    print(head)
    print("-" * len(head))
    for mat, dt, worst, k, fma, e, tk, te, cpu, target in rows:
        print(f"{mat:16} {dt:8} {worst:5.1f} {ms(k):>13} {ms(fma):>7} {ms(tk.get('gesvda')):>9} {ms(tk.get('gesvdj')):>9} "
              f"{ms(tk.get('gesvd')):>9} {ms(e):>10} {ms(te):>10} {ms(cpu):>9} {ms(target):>7}")


def batched_table(rows, what="batched thin SVD (U, S, V^T)", tests="xDRVBD"):
    print()
    print(f"{what}, medians in ms; kernel: data on the device; e2e: NumPy in and out; "
          f"ratio: largest LAPACK ({tests}) test ratio seen (<= 35)")
    head = f"{'stack':16} {'dtype':8} {'ratio':>5} {'opencl kernel':>13} {'opencl e2e':>10} {'cusolver kernel':>15} " \
           f"{'cusolver e2e':>12} {'cpu':>9} {'target':>7}"
    print(head)
    print("-" * len(head))
    if any(r[0].endswith("*") for r in rows):
        print(f"*: cuSOLVER timed on the first {PEER_SLICE} matrices (solved one after another), scaled to the stack")
    for stack, dt, _, worst, k, e, tk, te, cpu, target in rows:
        print(f"{stack:16} {dt:8} {worst:5.1f} {ms(k):>13} {ms(e):>10} {ms(tk):>15} {ms(te):>12} {ms(cpu):>9} {ms(target):>7}")


if __name__ == "__main__":
    main()
