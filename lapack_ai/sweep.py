"""``lapack_ai.compare(op, sizes, devices=...)``: time one routine over a size ladder on the
CPU, on each OpenCL device, and its NumPy/SciPy peer as the reference, in one run.

Headless it returns a ``Comparison`` (rows of data, ``to_dataframe()``, a text table); in a
notebook the same object shows a plot and a table. Inputs come from the registry, so any
routine there can be compared.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .benchmark import median_time
from .config import config_context
from .registry import REGISTRY

__all__ = ["compare", "Comparison"]

def _default_devices(op: str) -> list[str]:
    if not REGISTRY[op].opencl:  # runs on the CPU whatever is asked
        return ["cpu"]
    from .devices import devices

    return ["cpu"] + [d.selector for d in devices() if not d.unusable]


@dataclass
class Comparison:
    """The result of ``compare``: one row per (size, device) plus the reference's rows."""

    op: str
    dtype: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    """op, n, dtype, device (requested), backend (what ran), seconds, gflops, vs_numpy (speed-up
    over the reference: > 1 is faster), reason."""

    def to_dataframe(self):
        """The rows as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.rows)

    def _table(self) -> list[tuple[str, ...]]:
        out = []
        for r in self.rows:
            g = f"{r['gflops']:.2f}" if r["gflops"] else "-"
            v = f"{r['vs_numpy']:.2f}x" if r["vs_numpy"] else "-"
            out.append((str(r["n"]), r["device"], r["backend"], f"{r['seconds'] * 1e3:.3f}", g, v))
        return out

    _HEAD = ("n", "device", "ran on", "ms", "GFLOP/s", "vs NumPy")

    def __str__(self) -> str:
        rows = [self._HEAD, *self._table()]
        w = [max(len(r[i]) for r in rows) for i in range(len(self._HEAD))]
        lines = ["  ".join(c.rjust(w[i]) for i, c in enumerate(r)) for r in rows]
        return f"compare {self.op} ({self.dtype})\n" + "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in self._HEAD)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self._table())
        return (f"<div class='lapack-ai-compare'><b>compare {html.escape(self.op)} ({self.dtype})</b>"
                f"<table><tr>{head}</tr>{body}</table></div>")

    def figure(self, widget: bool = True):
        """Time against size, one line per device and the reference (plotly)."""
        from .jupyter import figures

        fig = figures.time_vs_size(f"{self.op} ({self.dtype})", widget=widget)
        series: dict[str, tuple[list, list, list]] = {}
        for r in self.rows:
            x, y, t = series.setdefault(r["device"], ([], [], []))
            x.append(r["n"])
            y.append(r["seconds"] * 1e3)
            t.append(f"{r['device']} n={r['n']}: {r['seconds'] * 1e3:.3f} ms")
        figures.set_series(fig, series, mode="lines+markers")
        return fig

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        try:
            import ipywidgets as w

            box = w.VBox([self.figure(), w.HTML(self._repr_html_())])
            box.add_class("lapack-ai-compare")
            display(box)
        except ImportError:  # no jupyter extra: the table alone
            display(HTML(self._repr_html_()))


def compare(op: str, sizes: Sequence[int] = (64, 128, 256, 512), devices: Sequence[str] | None = None, *,
            dtype: str = "float64", repeats: int = 3, reference: bool = True, progress: bool = True,
            seed: int = 0, on_step: Callable[[int, int], None] | None = None) -> Comparison:
    """Time ``op`` (a registry routine name, e.g. "gemm") on n x n inputs for each n in
    ``sizes`` on each of ``devices`` ("cpu", "opencl:0", ...; default: the CPU and, for
    routines with an OpenCL kernel, every usable OpenCL device), and its NumPy/SciPy peer
    (``reference``). Median of ``repeats`` after a warm-up. A progress bar shows with tqdm
    installed (``lapack-ai[jupyter]``); ``on_step(done, total)`` is called after each timing
    (the web service's job progress; an exception it raises stops the run).

    Raises ValueError for an unknown routine, or a device other than "cpu" for a routine
    without an OpenCL kernel; DeviceError when a named device cannot run a size.
    """
    if op not in REGISTRY:
        raise ValueError(f"compare: unknown routine {op!r}; routines are: {', '.join(REGISTRY)}")
    r = REGISTRY[op]
    devs = list(devices) if devices is not None else _default_devices(op)
    if not r.opencl and any(d != "cpu" for d in devs):
        raise ValueError(f"compare: {op} runs only on the CPU (no OpenCL kernel yet); use devices=['cpu']")
    sizes = [int(n) for n in sizes]
    if not sizes or min(sizes) < 1:
        raise ValueError(f"compare: sizes must be positive integers, got {sizes}")
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64, np.complex64, np.complex128):
        raise ValueError(f"compare: dtype must be float32, float64, complex64 or complex128, got {dtype}")
    if dt.kind == "c" and any(d != "cpu" for d in devs):
        raise ValueError("compare: the OpenCL kernels are real-only; use devices=['cpu'] for complex dtypes")
    from . import last_decision

    rng = np.random.default_rng(seed)
    steps = [(n, d) for n in sizes for d in devs + (["numpy"] if reference else [])]
    bar = _progress(len(steps), f"compare {op}") if progress else None
    out = Comparison(op, dt.name)
    ref_time: dict[int, float] = {}
    inputs: dict[int, tuple] = {}
    for n, dev in steps:
        args = inputs.get(n)
        if args is None:
            inputs.clear()  # keep one size's inputs alive at a time
            args = inputs[n] = r.make(rng, (n, n), dt)
        if dev == "numpy":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                secs = ref_time[n] = median_time(lambda: r.reference(*args), repeats)
            backend, reason = "numpy", r.peer
        else:
            with config_context(device=dev):
                secs = median_time(lambda: r.func(*args), repeats)
                d = last_decision()
            backend = d.strategy if d else "cpu"
            reason = d.reason if d else ""
        _, flops = r.facts(args, {}, dt.name, None)
        out.rows.append({"op": op, "n": n, "dtype": dt.name, "device": dev, "backend": backend, "seconds": secs,
                         "gflops": flops / secs / 1e9 if flops and secs > 0 else None, "vs_numpy": None,
                         "reason": reason})
        if bar is not None:
            bar.update(1)
        if on_step is not None:
            on_step(len(out.rows), len(steps))
    if bar is not None:
        bar.close()
    for row in out.rows:
        ref = ref_time.get(row["n"])
        if ref and row["device"] != "numpy":
            row["vs_numpy"] = ref / row["seconds"]
    return out


def _progress(total: int, desc: str):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False)
