"""Host-device copies: directly from pageable memory (as a driver copies a NumPy array) and
through lapack_ai's pinned staging (rust/core/src/opencl/staging.rs), against torch's pageable
and pinned copies on the same GPU in the same run.

    python benchmarks/transfers.py [--device 0] [--mib 8 64 512] [--reps 5]

GB/s = bytes / best time of --reps copies (wall clock, each copy complete).
"""

from __future__ import annotations

import argparse
import datetime
import time

import lapack_ai
from lapack_ai import _core


def torch_rates(mib: int, reps: int):
    try:
        import torch
        if not torch.cuda.is_available():
            return None
    except ImportError:
        return None
    n = mib << 20
    x = torch.empty(n, dtype=torch.uint8).random_(0, 255)
    xp = x.pin_memory()
    out = {}
    for name, f in (("pageable up", lambda: x.cuda()), ("pinned up", lambda: xp.cuda(non_blocking=True))):
        f()
        torch.cuda.synchronize()
        best = float("inf")
        for _ in range(reps):
            t = time.perf_counter()
            f()
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t)
        out[name] = n / best / 1e9
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", type=int, default=None, help="OpenCL device index (default: the first GPU)")
    ap.add_argument("--mib", type=int, nargs="+", default=[8, 64, 512])
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    devs = [d for d in lapack_ai.devices() if not d.unusable]
    if not devs:
        raise SystemExit(f"no usable OpenCL device: {lapack_ai.devices()}")
    dev = devs[args.device] if args.device is not None else next((d for d in devs if d.type == "gpu"), devs[0])
    print(f"device {dev.index}: {dev.name} ({dev.platform}, driver {dev.driver_version}); "
          f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print("| MiB | direct up | direct down | staged up | staged down | torch pageable up | torch pinned up |")
    print("|---|---|---|---|---|---|---|")
    for mib in args.mib:
        n = mib << 20
        ns = _core.transfer_times(dev.index, n, args.reps)
        rates = [n / t for t in ns]  # bytes per ns = GB/s
        tr = torch_rates(mib, args.reps) or {}
        cells = " | ".join(f"{r:.1f}" for r in rates)
        print(f"| {mib} | {cells} | {tr.get('pageable up', float('nan')):.1f} | {tr.get('pinned up', float('nan')):.1f} |")


if __name__ == "__main__":
    main()
