"""``calibrate()``: time the CPU against each OpenCL device over a size ladder and store, per
device, the size from which the device wins end to end (NumPy in, NumPy out, transfers
included); likewise for stacks of small products (every dimension up to 16) and of small SVDs
(up to 64x64) over ladders of counts, and for tall-skinny SVDs over a ladder of rows. The dispatcher (``rust/core/src/dispatch.rs``) reads these crossovers from the
user's cache directory; until a device is calibrated a default applies (for small stacks: the
CPU).
"""

from __future__ import annotations

import sys

import numpy as np

from . import _core
from .benchmark import median_time
from .devices import devices as _devices
from .devices import explain

LADDER = (128, 256, 512, 1024, 2048, 4096)
# Stacks of 4x4 products, by count (4096 to 4 Mi products: 1.5 MiB to 1.5 GiB of float64).
SMALL_LADDER = tuple(4**e for e in range(6, 12))
SMALL_SHAPE = (4, 4, 4)
# Stacks of 4x4 SVDs, by count (1024 to 256 Ki matrices); larger matrices only favour the device.
SVD_LADDER = tuple(4**e for e in range(5, 10))
SVD_SHAPE = (4, 4)
# Tall-skinny SVDs (thin U, S, V^T) of that many rows by TALL_COLS columns; the crossover is a
# size, the cube root of m n^2 (161 to 1024 here), as dispatch weighs them.
TALL_LADDER = (1024, 4096, 16384, 65536, 262144)
TALL_COLS = 64


def _progress(total: int, enabled: bool):
    """A tqdm bar when tqdm is installed (the ``gpu`` extra), else one line per step."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="calibrate", unit="step")
    except ImportError:
        class Line:
            n = 0

            def update(self, k=1):
                self.n += k
                print(f"\rcalibrate: {self.n}/{total}", end="", file=sys.stderr, flush=True)

            def set_postfix_str(self, s):
                pass

            def close(self):
                print(file=sys.stderr)

        return Line()


def calibrate(devices=None, sizes=LADDER, dtypes=("float64", "float32"), *, repeats: int = 3,
              progress: bool = True, store: bool = True, schemes: bool = False, small_counts=SMALL_LADDER,
              svd_counts=SVD_LADDER, svd_tall_rows=TALL_LADDER, eigh_counts=SVD_LADDER) -> dict:
    """Measure ``gemm`` on the CPU and on each OpenCL device; store the crossovers.

    ``devices``: indices (default: every usable GPU or accelerator). For each device and dtype
    the crossover is the smallest ladder size from which the device was faster at every larger
    size measured; None when it never won (then "auto" keeps that dtype on the CPU). Sizes the
    device cannot hold are skipped. Returns ``{"crossovers": {(index, dtype): n or None},
    "timings": [dict per measurement], "file": path}``.

    ``schemes=True`` also measures ``gemm_alpha``'s automatic scheme against the standard
    product on the CPU and on each device, over ``SCHEME_LADDER`` (the backend's own GEMM doing
    the blocks in both), and stores from which size ``scheme="auto"`` uses it there: keys
    ``("cpu" or index, dtype, "gemm_alpha")`` in ``crossovers``. It takes minutes.

    ``small_counts``: stacks of that many 4x4 by 4x4 products, end to end on the CPU and on each
    device (which runs its small-product kernel); the crossover is a count of products (keys
    ``(index, dtype, "gemm_small")`` in ``crossovers``) and decides for every stack of products
    with all dimensions up to 16 (larger ones only favour the device more). Until it is
    measured "auto" keeps such stacks on the CPU. The default ladder (4096 to 4 Mi products)
    takes seconds per device and dtype on a GPU machine. An empty ladder (``sizes``,
    ``small_counts`` or ``svd_counts``) is not measured: its stored crossover is kept.

    ``svd_counts``: stacks of that many 4x4 SVDs (U, S and V^T), end to end on the CPU and on each
    device; the crossover (keys ``(index, dtype, "svd_small")``) decides for every stack of SVDs
    up to 64x64. Until it is measured "auto" keeps them on the CPU.

    ``eigh_counts``: stacks of that many 4x4 symmetric eigenproblems (values and vectors), as
    ``svd_counts`` (keys ``(index, dtype, "eigh_small")``), deciding for every stack of ``eigh``
    up to 64x64.

    ``svd_tall_rows``: tall-skinny SVDs (thin U, S and V^T) of that many rows by ``TALL_COLS``
    columns; the crossover (keys ``(index, dtype, "svd_tall")``) is a size, the cube root of
    m n^2, and decides for every tall-skinny SVD the device covers. Until it is measured "auto"
    keeps them on the CPU.
    """
    from . import linalg

    found = _devices()
    if devices is None:
        devices = [d.index for d in found if d.type != "cpu" and not d.unusable]
    devices = list(devices)
    steps = len(devices) * len(dtypes) * (len(sizes) + len(small_counts) + len(svd_counts) + len(svd_tall_rows)
                                          + len(eigh_counts))
    bar = _progress(steps, progress)
    rng = np.random.default_rng(0)
    timings, crossovers, path = [], {}, None
    for index in devices:
        for dt in dtypes:
            if small_counts:
                cross = _small_stacks(linalg, index, dt, small_counts, repeats, rng, timings, bar)
                crossovers[(index, dt, "gemm_small")] = cross
                if store:
                    path = _core.set_crossover(index, "gemm_small", dt, cross)
            if svd_counts:
                cross = _stacks("svd", linalg, index, dt, svd_counts, repeats, rng, timings, bar)
                crossovers[(index, dt, "svd_small")] = cross
                if store:
                    path = _core.set_crossover(index, "svd_small", dt, cross)
            if eigh_counts:
                cross = _stacks("eigh", linalg, index, dt, eigh_counts, repeats, rng, timings, bar)
                crossovers[(index, dt, "eigh_small")] = cross
                if store:
                    path = _core.set_crossover(index, "eigh_small", dt, cross)
            if svd_tall_rows:
                cross = _svd_tall(linalg, index, dt, svd_tall_rows, repeats, rng, timings, bar)
                crossovers[(index, dt, "svd_tall")] = cross
                if store:
                    path = _core.set_crossover(index, "svd_tall", dt, cross)
            if not sizes:
                continue
            wins = []
            for n in sizes:
                if bar:
                    bar.set_postfix_str(f"device {index} {dt} n={n}")
                a = rng.standard_normal((n, n)).astype(dt)
                b = rng.standard_normal((n, n)).astype(dt)
                try:
                    explain("gemm", a.shape, b.shape, dtype=dt, device=f"opencl:{index}")
                except Exception as e:  # cannot hold or run it: the CPU keeps this size
                    timings.append({"device": index, "dtype": dt, "n": n, "skipped": str(e)})
                    wins.append((n, False))
                    if bar:
                        bar.update()
                    continue
                cpu = median_time(lambda: linalg.gemm(a, b, device="cpu"), repeats)
                dev = median_time(lambda: linalg.gemm(a, b, device=f"opencl:{index}"), repeats)
                timings.append({"device": index, "dtype": dt, "n": n, "cpu_s": cpu, "device_s": dev})
                wins.append((n, dev < cpu))
                if bar:
                    bar.update()
            cross = None
            for i, (n, _) in enumerate(wins):
                if all(w for _, w in wins[i:]):
                    cross = n
                    break
            crossovers[(index, dt)] = cross
            if store:
                path = _core.set_crossover(index, "gemm", dt, cross)
    if bar:
        bar.close()
    if schemes:
        path = _schemes(["cpu"] + devices, dtypes, repeats, store, timings, crossovers) or path
    _core.reload_settings()
    return {"crossovers": crossovers, "timings": timings, "file": path}


# Sizes where one level of a scheme could start to pay: below 1024 the additions dominate.
SCHEME_LADDER = (1024, 2048, 4096, 8192)


def _schemes(backends, dtypes, repeats, store, timings, crossovers):
    """gemm_alpha's automatic scheme against the standard product per backend (see calibrate)."""
    from . import linalg

    auto = _core.AUTO_SCHEME
    rng = np.random.default_rng(1)
    path = None
    for backend in backends:
        sel = "cpu" if backend == "cpu" else f"opencl:{backend}"
        for dt in dtypes:
            wins = []
            for n in SCHEME_LADDER:
                a = rng.standard_normal((n, n)).astype(dt)
                try:
                    explain("gemm_alpha", a.shape, a.shape, dtype=dt, device=sel, scheme=auto)
                    std = median_time(lambda: linalg.gemm_alpha(a, a, scheme="standard", device=sel), repeats)
                    fast = median_time(lambda: linalg.gemm_alpha(a, a, scheme=auto, device=sel), repeats)
                except Exception as e:  # cannot hold or run it there: stop climbing
                    timings.append({"device": backend, "dtype": dt, "n": n, "scheme": auto, "skipped": str(e)})
                    break
                timings.append({"device": backend, "dtype": dt, "n": n, "scheme": auto, "standard_s": std,
                                "scheme_s": fast})
                wins.append((n, fast < 0.97 * std))  # a clear win, not timing noise
            if not wins:  # nothing could run: leave the backend uncalibrated rather than "never won"
                continue
            cross = next((n for i, (n, _) in enumerate(wins) if all(w for _, w in wins[i:])), None)
            crossovers[(backend, dt, "gemm_alpha")] = cross
            if store:
                path = _core.set_crossover(None if backend == "cpu" else backend, "gemm_alpha", dt, cross)
    return path


def _ladder(index, dt, points, repeats, timings, bar, *, facts, check, operands, run):
    """The crossover of one ladder on device ``index``: the first point from which the device
    won end to end at every later one, or None. Per point p: ``facts(p)`` gives (the value
    stored as the crossover, the fields of its timing record, its progress label); ``check(p)``
    raises when the device cannot hold or run it (the CPU keeps it); ``operands(p)`` makes the
    inputs and ``run(operands, device)`` calls the routine."""
    wins = []
    for p in points:
        value, fields, label = facts(p)
        if bar:
            bar.set_postfix_str(f"device {index} {dt} {label}")
        try:
            check(p)
        except Exception as e:  # cannot hold or run it: the CPU keeps this point
            timings.append({"device": index, "dtype": dt, **fields, "skipped": str(e)})
            wins.append((value, False))
        else:
            ops = operands(p)
            cpu = median_time(lambda: run(ops, "cpu"), repeats)
            dev = median_time(lambda: run(ops, f"opencl:{index}"), repeats)
            timings.append({"device": index, "dtype": dt, **fields, "cpu_s": cpu, "device_s": dev})
            wins.append((value, dev < cpu))
        if bar:
            bar.update()
    return next((c for i, (c, _) in enumerate(wins) if all(w for _, w in wins[i:])), None)


def _small_stacks(linalg, index, dt, counts, repeats, rng, timings, bar):
    """The crossover in products of stacks of SMALL_SHAPE products on device ``index``."""
    m, n, k = SMALL_SHAPE
    ty = np.dtype(dt).type
    return _ladder(index, dt, counts, repeats, timings, bar,
                   facts=lambda c: (c, {"count": c, "shape": SMALL_SHAPE}, f"{c} x {m}x{n}x{k}"),
                   check=lambda c: explain("gemm", (c, m, k), (c, k, n), dtype=dt, device=f"opencl:{index}"),
                   operands=lambda c: (rng.random((c, m, k), dtype=ty) - 0.5, rng.random((c, k, n), dtype=ty) - 0.5),
                   run=lambda ops, device: linalg.gemm(*ops, device=device))


def _stacks(op, linalg, index, dt, counts, repeats, rng, timings, bar):
    """The crossover in matrices of stacks of SVD_SHAPE ``op`` ("svd" or "eigh") on device ``index``."""
    m, n = SVD_SHAPE
    run = getattr(linalg, op)
    return _ladder(index, dt, counts, repeats, timings, bar,
                   facts=lambda c: (c, {"count": c, op: SVD_SHAPE}, f"{op} {c} x {m}x{n}"),
                   check=lambda c: explain(op, (c, m, n), dtype=dt, device=f"opencl:{index}"),
                   operands=lambda c: _random(rng, (c, m, n), dt),
                   run=lambda a, device: run(a, device=device))


def _random(rng, shape, dt):
    """Uniform entries in [-0.5, 0.5) of dtype ``dt`` (both parts for complex ones)."""
    x = rng.random(shape) - 0.5
    if np.dtype(dt).kind == "c":
        x = x + 1j * (rng.random(shape) - 0.5)
    return x.astype(dt)


def _svd_tall(linalg, index, dt, rows, repeats, rng, timings, bar):
    """The crossover size (cube root of m n^2) of tall-skinny SVDs on device ``index``."""
    n = TALL_COLS

    def facts(m):
        size = round((m * n * n) ** (1 / 3))
        return size, {"svd_tall": (m, n), "size": size}, f"svd {m}x{n}"

    return _ladder(index, dt, rows, repeats, timings, bar, facts=facts,
                   check=lambda m: explain("svd", (m, n), dtype=dt, device=f"opencl:{index}", full_matrices=False),
                   operands=lambda m: _random(rng, (m, n), dt),
                   run=lambda a, device: linalg.svd(a, full_matrices=False, device=device))
