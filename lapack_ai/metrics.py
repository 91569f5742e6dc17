"""Metrics: one record per public call, kept in a bounded, thread-safe ring buffer.

Every public routine is wrapped by ``instrument`` (the registry says which routines there
are, their flop counts and the LAPACK routines they run). With metrics off, the wrapper costs
one context-variable read. With metrics on (``LAPACK_AI_METRICS=1``, ``config.update(metrics=
True)``, ``config_context(metrics=True)``, or inside ``measure()``), each call adds a
``Record``: operation, routine run, shapes, dtype, backend and the dispatcher's reason, wall
time, flops, bytes moved to and from a device, host RSS delta, cgroup memory, GPU utilisation
and memory (NVML, for device calls), thread, timestamp and the error if it raised.

``benchmarks/metrics_overhead.py`` measures what this costs.
"""

from __future__ import annotations

import contextvars
import csv
import functools
import io
import itertools
import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple

import numpy as np

from . import _core
from . import config as _config

__all__ = ["Record", "MetricsCollector", "Measurement", "measure", "collector", "instrument"]


class Record(NamedTuple):
    """One public call: ``operation``, ``routine`` (LAPACK routines or kernel run), ``shapes``,
    ``dtype``, ``backend``, ``strategy`` and ``reason`` (the dispatcher's), ``device``,
    ``seconds``, ``flops``, ``bytes_to_device``/``bytes_from_device``, ``kernel``,
    ``rss_delta`` (bytes; sampled around calls whose first operand has >= 16 MiB),
    ``cgroup_memory`` (sampled at most every 100 ms), ``gpu_utilization`` (%) and
    ``gpu_memory_used`` (NVML, device calls), ``thread``, ``timestamp``, ``error``."""

    operation: str
    routine: str
    shapes: tuple
    dtype: str | None
    backend: str | None
    strategy: str | None
    reason: str | None
    device: str | None
    seconds: float
    flops: float | None
    bytes_to_device: int
    bytes_from_device: int
    kernel: str | None
    rss_delta: int | None
    cgroup_memory: int | None
    gpu_utilization: int | None
    gpu_memory_used: int | None
    thread: str
    timestamp: float
    error: str | None

    @property
    def gflops(self) -> float | None:
        """GFLOP/s of the call (None without a flop count or time)."""
        return self.flops / self.seconds / 1e9 if self.flops and self.seconds > 0 else None

    @property
    def size(self) -> int:
        """Largest matrix dimension of the first operand (the x axis of time-vs-size plots)."""
        s = self.shapes[0] if self.shapes else ()
        return max(s[-2:], default=0)

    def to_dict(self) -> dict[str, Any]:
        d = self._asdict()
        d["shapes"] = [list(s) for s in self.shapes]
        d["gflops"] = self.gflops
        return d


_FIELDS = [*Record._fields, "gflops"]
_new_record = tuple.__new__  # builds a Record from a tuple without a Python-level __new__


# ---- memory and GPU probes: files opened once, read with pread (about 1-2 us each) ----

class _Probe:
    def __init__(self):
        self._statm = self._open("/proc/self/statm")
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._nvml: Any = None  # None: not tried; False: unavailable; else {device name: handle}

    @staticmethod
    def _open(path: str) -> int | None:
        try:
            return os.open(path, os.O_RDONLY)
        except OSError:
            return None

    def rss(self) -> int | None:
        if self._statm is None:
            return None
        return int(os.pread(self._statm, 64, 0).split()[1]) * self._page

    def nvml(self) -> dict:
        """{device name: NVML handle}, NVML started on first use; {} without it."""
        if self._nvml is None:
            self._nvml = _nvml_handles()
        return self._nvml or {}

    def gpu(self, device: str | None) -> tuple[int | None, int | None]:
        """(utilisation %, memory used bytes) of the NVIDIA GPU named ``device`` via NVML
        (nvidia-ml-py), or (None, None)."""
        handles = self.nvml()
        if not handles or device is None:
            return None, None
        h = handles.get(device) or (next(iter(handles.values())) if len(handles) == 1 else None)
        if h is None:
            return None, None
        import pynvml

        try:
            return int(pynvml.nvmlDeviceGetUtilizationRates(h).gpu), int(pynvml.nvmlDeviceGetMemoryInfo(h).used)
        except pynvml.NVMLError:
            return None, None


def _nvml_handles() -> dict | bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        out = {}
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            out[name.decode() if isinstance(name, bytes) else name] = h
        return out
    except Exception:  # not installed, no driver, no GPU: GPU fields stay None
        return False


def gpu_status() -> list[dict]:
    """Each NVIDIA GPU's name, utilisation and memory through NVML; [] without nvidia-ml-py or
    an NVIDIA GPU. Used by the dashboard's device panel."""
    handles = _probe().nvml()
    if not handles:
        return []
    import pynvml

    out = []
    for name, h in handles.items():
        try:
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            out.append({"name": name, "utilization": int(pynvml.nvmlDeviceGetUtilizationRates(h).gpu),
                        "memory_used": int(mem.used), "memory_total": int(mem.total)})
        except pynvml.NVMLError as e:
            out.append({"name": name, "error": str(e)})
    return out


_PROBE: _Probe | None = None


def _probe() -> _Probe:
    global _PROBE
    if _PROBE is None:
        _PROBE = _Probe()
    return _PROBE


# ---- the collector ----

class MetricsCollector:
    """A bounded ring buffer of Records plus running totals per (operation, backend, status)
    that never shrink (for Prometheus counters). Thread-safe.

    ``lapack_ai.metrics.collector()`` is the process's; make your own to keep a separate
    history: ``with MetricsCollector().measure_operation("fit", matrix_size=n) as m: ...``
    """

    def __init__(self, maxlen: int | None = None):
        self._buf: deque[Record] = deque(maxlen=maxlen or _config.current().metrics_buffer)
        self._lock = threading.Lock()  # for snapshots and resizing; the call path takes none
        # Totals are kept per thread (no lock on the call path) and summed when read.
        self._local = threading.local()
        self._all_totals: list[dict] = []
        self._count = itertools.count(1)
        self._version = 0

    @property
    def version(self) -> int:
        """Changes with every record; the dashboard redraws only when it changed."""
        _drain()
        return self._version

    @property
    def maxlen(self) -> int:
        return self._buf.maxlen or 0

    def resize(self, maxlen: int) -> None:
        """Keep at most ``maxlen`` records (the newest)."""
        _drain()
        with self._lock:
            self._buf = deque(self._buf, maxlen=maxlen)

    def _thread_totals(self) -> dict:
        t = self._local.__dict__.get("totals")
        if t is None:
            t = self._local.totals = {}
            with self._lock:
                self._all_totals.append(t)
        return t

    def add(self, r: Record) -> None:
        """Store a record."""
        self.extend((r,))

    def extend(self, records: Iterable[Record]) -> None:
        """Store records, oldest first (thread-safe: deque appends are atomic, totals are per
        thread; one version step for the lot)."""
        buf = self._buf
        totals = self._local.__dict__.get("totals") or self._thread_totals()
        for r in records:
            buf.append(r)
            key = (r[0], r[4], r[19] is None)  # operation, backend, ok
            t = totals.get(key)
            if t is None:
                totals[key] = [1, r[8], r[9] or 0.0, r[10], r[11]]
            else:
                t[0] += 1
                t[1] += r[8]
                t[2] += r[9] or 0.0
                t[3] += r[10]
                t[4] += r[11]
        self._version = next(self._count)

    def clear(self) -> None:
        """Drop the records and the totals."""
        _drain()
        with self._lock:
            self._buf.clear()
            for t in self._all_totals:
                t.clear()
            self._version = next(self._count)

    def records(self) -> list[Record]:
        """A snapshot, oldest first (copied in C under the GIL: no append can interleave)."""
        _drain()
        return list(self._buf)

    def __len__(self) -> int:
        _drain()
        return len(self._buf)

    def totals(self) -> dict[tuple[str, str, str], dict[str, float]]:
        """Since creation (or ``clear``): calls, seconds, flops, bytes to/from device per
        (operation, backend, "ok"|"error"), including records the ring buffer dropped."""
        names = ("calls", "seconds", "flops", "bytes_to_device", "bytes_from_device")
        _drain()
        out: dict[tuple[str, str, str], list[float]] = {}
        with self._lock:
            for per_thread in self._all_totals:
                for (op, be, ok), v in list(per_thread.items()):
                    acc = out.setdefault((op, be or "none", "ok" if ok else "error"), [0, 0.0, 0.0, 0, 0])
                    for i, x in enumerate(v):
                        acc[i] += x
        return {k: dict(zip(names, v)) for k, v in out.items()}

    # ---- export ----

    def to_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.records()]

    def to_dataframe(self):
        """The records as a pandas DataFrame (needs pandas: ``pip install lapack-ai[metrics]``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_dataframe needs pandas: pip install 'lapack-ai[metrics]' (or pandas)") from None
        df = pd.DataFrame(self.to_dicts(), columns=_FIELDS)
        df["timestamp"] = pd.to_datetime(df["timestamp"], unit="s", utc=True)
        return df

    def to_jsonl(self, file=None) -> str | None:
        """JSON lines, one record per line, to a path or open text file; the text if None."""
        text = "".join(json.dumps(d) + "\n" for d in self.to_dicts())
        return _write(text, file)

    def to_csv(self, file=None) -> str | None:
        """CSV with a header row (shapes as JSON), to a path or open text file; the text if None."""
        out = io.StringIO()
        w = csv.DictWriter(out, fieldnames=_FIELDS, lineterminator="\n")
        w.writeheader()
        for d in self.to_dicts():
            d["shapes"] = json.dumps(d["shapes"])
            w.writerow(d)
        return _write(out.getvalue(), file)

    def prometheus_collector(self):
        """A prometheus-client collector exposing this collector's totals as counters, to
        register in your own registry (``pip install lapack-ai[metrics]``)."""
        return _PrometheusExport(self)

    def to_prometheus(self) -> str:
        """The totals in Prometheus' text exposition format (through prometheus-client)."""
        try:
            from prometheus_client import CollectorRegistry, generate_latest
        except ImportError:
            raise ImportError("to_prometheus needs prometheus-client: pip install 'lapack-ai[metrics]'") from None
        reg = CollectorRegistry(auto_describe=False)
        reg.register(self.prometheus_collector())
        return generate_latest(reg).decode()

    # ---- grouping ----

    def measure_operation(self, name: str, matrix_size: Any = None) -> "Measurement":
        """A context manager grouping the calls made inside it (as ``measure``); its records
        also go to this collector. ``matrix_size`` is kept on the summary as given."""
        return Measurement(name, sink=self, matrix_size=matrix_size)


def _write(text: str, file) -> str | None:
    if file is None:
        return text
    if isinstance(file, (str, os.PathLike)):
        with open(file, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    else:
        file.write(text)
    return None


class _PrometheusExport:
    """prometheus-client's custom-collector protocol: ``collect()`` yields metric families."""

    def __init__(self, source: MetricsCollector):
        self.source = source

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        labels = ["operation", "backend", "status"]
        fams = {
            "calls": CounterMetricFamily("lapack_ai_calls", "Public lapack_ai calls", labels=labels),
            "seconds": CounterMetricFamily("lapack_ai_call_seconds", "Wall time spent in calls", labels=labels),
            "flops": CounterMetricFamily("lapack_ai_flops", "Floating-point operations done", labels=labels),
            "bytes_to_device": CounterMetricFamily("lapack_ai_device_upload_bytes", "Bytes copied to devices",
                                                   labels=labels),
            "bytes_from_device": CounterMetricFamily("lapack_ai_device_download_bytes", "Bytes copied from devices",
                                                     labels=labels),
        }
        for key, t in self.source.totals().items():
            for name, fam in fams.items():
                fam.add_metric(list(key), t[name])
        yield from fams.values()
        g = GaugeMetricFamily("lapack_ai_buffered_records", "Records held in the ring buffer")
        g.add_metric([], len(self.source))
        yield g


_COLLECTOR: MetricsCollector | None = None


def collector() -> MetricsCollector:
    """The process's collector (created on first use, sized by ``metrics_buffer``)."""
    global _COLLECTOR
    if _COLLECTOR is None:
        _COLLECTOR = MetricsCollector()
    return _COLLECTOR


def _resize(s) -> None:
    if _COLLECTOR is not None and _COLLECTOR.maxlen != s.metrics_buffer:
        _COLLECTOR.resize(s.metrics_buffer)


_config._listeners.append(_resize)

# True while the process settings neither record calls nor limit stacks: then a call outside
# any config_context/measure block goes straight through `instrument`'s wrapper (a 4x4 call
# costs about a microsecond, so the wrapper's own cost shows).
_PLAIN = [False]


def _note_plain(s) -> None:
    _PLAIN[0] = not s.metrics and s.batch_size_limit is None


_config._listeners.append(_note_plain)
if _config._process is not None:
    _note_plain(_config._process)


# ---- grouping calls: measure() ----

_active: contextvars.ContextVar[tuple] = contextvars.ContextVar("lapack_ai_measurements", default=())


@dataclass
class Summary:
    """What a ``measure`` block did."""

    name: str
    wall_seconds: float
    calls: int
    call_seconds: float
    flops: float
    errors: int
    by_routine: dict[tuple[str, str], dict[str, float]]
    """(operation, backend) -> calls, seconds, flops."""
    matrix_size: Any = None

    @property
    def gflops(self) -> float | None:
        return self.flops / self.call_seconds / 1e9 if self.flops and self.call_seconds > 0 else None

    def _rows(self) -> list[tuple[str, str, int, float, str]]:
        return [(op, be, int(v["calls"]), v["seconds"], f"{v['flops'] / v['seconds'] / 1e9:.2f}"
                 if v["flops"] and v["seconds"] > 0 else "-") for (op, be), v in sorted(self.by_routine.items())]

    def __str__(self) -> str:
        g = f", {self.gflops:.2f} GFLOP/s" if self.gflops else ""
        head = (f"{self.name}: {self.calls} calls in {self.wall_seconds * 1e3:.2f} ms "
                f"({self.call_seconds * 1e3:.2f} ms in lapack_ai, {self.flops / 1e9:.3g} GFLOP{g}"
                + (f", {self.errors} errors" if self.errors else "") + ")")
        lines = [f"  {op:<10} {be:<7} {n:>6} calls {s * 1e3:>10.3f} ms {gf:>9} GFLOP/s"
                 for op, be, n, s, gf in self._rows()]
        return "\n".join([head, *lines])

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<tr><td>{html.escape(op)}</td><td>{be}</td><td>{n}</td><td>{s * 1e3:.3f}</td><td>{gf}</td></tr>"
                       for op, be, n, s, gf in self._rows())
        head = html.escape(str(self).splitlines()[0])
        return (f"<div class='lapack-ai-summary'><b>{head}</b><table><tr><th>operation</th><th>backend</th>"
                f"<th>calls</th><th>ms</th><th>GFLOP/s</th></tr>{rows}</table></div>")


class Measurement:
    """``with lapack_ai.measure("pca fit") as m:`` groups the calls made inside (on this
    thread or task), with metrics on for the block; ``m.records`` holds them and ``m.summary``
    is set on exit."""

    def __init__(self, name: str, sink: MetricsCollector | None = None, matrix_size: Any = None):
        self.name, self.sink, self.matrix_size = name, sink, matrix_size
        self._records: list[Record] = []
        self.summary: Summary | None = None
        self._t0 = 0.0

    @property
    def records(self) -> list[Record]:
        """The calls made in the block so far."""
        _drain()
        return self._records

    def _add(self, r: Record) -> None:
        self._records.append(r)
        if self.sink is not None:
            self.sink.add(r)

    def __enter__(self) -> "Measurement":
        self._config = _config.config_context(metrics=True)
        self._config.__enter__()
        self._token = _active.set(_active.get() + (self,))
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self._t0
        _active.reset(self._token)
        self._config.__exit__(*exc)
        self.summary = summarize(self.name, self.records, wall, self.matrix_size)  # records drains the queue

    def __str__(self) -> str:
        return str(self.summary) if self.summary else f"{self.name}: running, {len(self.records)} calls so far"

    def _repr_html_(self) -> str:
        return self.summary._repr_html_() if self.summary else f"<i>{self}</i>"


def measure(name: str = "block") -> Measurement:
    """Group the lapack_ai calls made in a ``with`` block and summarise them on exit::

        with lapack_ai.measure("pca fit") as m:
            u, s, vt = lapack_ai.svd(x, full_matrices=False)
        print(m.summary)  # time, flops, calls per routine and backend
    """
    return Measurement(name)


def summarize(name: str, records: Iterable[Record], wall: float, matrix_size: Any = None) -> Summary:
    by: dict[tuple[str, str], dict[str, float]] = {}
    calls = errors = 0
    secs = flops = 0.0
    for r in records:
        calls += 1
        errors += r.error is not None
        secs += r.seconds
        flops += r.flops or 0.0
        v = by.setdefault((r.operation, r.backend or "none"), {"calls": 0, "seconds": 0.0, "flops": 0.0})
        v["calls"] += 1
        v["seconds"] += r.seconds
        v["flops"] += r.flops or 0.0
    return Summary(name, wall, calls, secs, flops, errors, by, matrix_size)


# ---- the wrapper around public routines ----
#
# With metrics on, every call goes to the core's ``timed_call``. The common call (one or two
# arrays, the first under 16 MiB, scalar keywords) is timed there and its facts queued natively;
# Records are built in batches (``_core.take_records``) when anything reads metrics or the
# queue holds 512 calls. After a 1 ms BLAS call every cache line the recording touches comes
# from far away, so that path is native and short (benchmarks/metrics_overhead.py). Other
# calls come back to ``_recorded`` and are recorded here at once: array keywords, lists, a
# third positional argument, operands of 16 MiB or more (RSS is sampled around them).

_DRAIN = threading.RLock()  # one drain at a time, so records keep call order
_NO_GPU = (None, None)
_DTYPE_NAMES = {np.dtype(t): np.dtype(t).name for t in (np.float64, np.float32, np.complex128, np.complex64)}
_RSS_MIN_BYTES = _core.METRICS_RSS_MIN_BYTES  # the core sends calls with larger operands here


def _batch_count(args) -> int:
    for a in args:
        if isinstance(a, np.ndarray) and a.ndim > 2:
            return int(np.prod(a.shape[:-2]))
    return 1


def instrument(fn: Callable, operation: str, facts: Callable | None = None) -> Callable:
    """Wrap a public routine so each call is recorded when metrics are on.

    ``facts(args, kwargs, dtype, decision, shapes) -> (routine, flops)`` names the LAPACK
    routine (or kernel) that ran and counts flops; the registry provides it for each routine.
    It reads shapes and scalar arguments only: for queued calls the arrays are None.
    """
    current = _config.current
    # the core queues the common call (site[0] with one or two arrays, scalar keywords) and hands
    # any other to site[3], this module's Python path
    site = (fn, operation, facts, lambda *a, **k: _recorded(fn, operation, facts, a, k))
    timed = _core.timed_call
    blocks = _active.get
    block = _config._block.get
    plain = _PLAIN

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if plain[0] and block() is None:
            return fn(*args, **kwargs)
        s = current()
        if s.batch_size_limit is not None and _batch_count(args) > s.batch_size_limit:
            from .errors import ShapeError

            raise ShapeError(operation, "a", f"is a stack of {_batch_count(args)} matrices, more than "
                             f"LAPACK_BATCH_SIZE_LIMIT={s.batch_size_limit}; split the stack or raise the limit")
        if not s.metrics:
            return fn(*args, **kwargs)
        return timed(site, args, kwargs, blocks())

    wrapper.__lapack_ai_operation__ = operation  # type: ignore[attr-defined]
    return wrapper


def _recorded(fn, operation, facts, args, kwargs):
    """Any other call: time it and record it in full at once (nested calls only run)."""
    if _core.call_depth():
        return fn(*args, **kwargs)
    generation = _core.decision_generation()
    probe = _probe()
    a0 = args[0] if args else None
    rss0 = probe.rss() if type(a0) is np.ndarray and a0.nbytes >= _RSS_MIN_BYTES else None
    err = out = None
    _core.set_call_depth(1)
    stamp = _core.unix_now()  # the queued records' clock: one order for both paths
    t0 = time.perf_counter()
    try:
        out = fn(*args, **kwargs)
        return out
    except BaseException as e:
        err = e
        raise
    finally:
        seconds = time.perf_counter() - t0
        _core.set_call_depth(0)
        # a call refused before the core (bad input) must not be credited with an older decision
        d = _core.last_call() if _core.decision_generation() != generation else None
        shapes = tuple([a.shape if type(a) is np.ndarray else _shape(a) for a in args
                        if type(a) is np.ndarray or isinstance(a, (list, tuple))])
        x = out[0] if isinstance(out, tuple) and out else out
        dt = _computed_dtype(a0.dtype if type(a0) is np.ndarray else None, x.dtype if type(x) is np.ndarray else None)
        gpu = probe.gpu(d[3]) if d is not None and d[0] == "opencl" else _NO_GPU
        rss = None if rss0 is None else probe.rss() - rss0
        error = None if err is None else f"{type(err).__name__}: {err}"
        r = _build(operation, _facts(operation, facts, args, kwargs, dt, d, shapes), shapes, d, seconds,
                   stamp, _core.cgroup_memory(), threading.current_thread().name, rss, gpu, error)
        with _DRAIN:
            _drain_locked()  # queued calls came first
            _add(r, _active.get())


_EPOCH = time.time() - time.perf_counter()  # perf_counter -> Unix time


def _computed_dtype(first, out):
    """The dtype a call computed in (as calls.rs decides it for queued calls): its first
    output's when that is a float or complex array, but complex of that precision when the input
    was complex and the output its real values (eigh, svdvals); the input's otherwise."""
    if out is None or out.kind not in "fc":
        return first if first is not None else out
    if first is not None and first.kind == "c" and out.kind == "f":
        return np.result_type(out, np.complex64)
    return out


def _shape(a) -> tuple:
    """Shape of a list or tuple argument; a factor pair such as lu_solve's ``(lu, piv)`` is
    not an array, and counts as its first member."""
    try:
        return np.shape(a)
    except ValueError:
        return np.shape(a[0])


def _facts(operation, facts, args, kwargs, dt, d, shapes) -> tuple[str | None, str, float | None]:
    """(dtype name, routine run, flops) of a call (the core calls it for queued calls)."""
    dtype = None if dt is None else (_DTYPE_NAMES.get(dt) or dt.name)
    try:
        return (dtype, *facts(args, kwargs, dtype, d, shapes)) if facts else (dtype, operation, None)
    except Exception:  # odd arguments that the routine itself refused
        return dtype, operation, None


def _build(operation, f, shapes, d, seconds, now, cgroup, thread, rss, gpu, error) -> Record:
    dtype, routine, flops = f
    if d is None:
        return _new_record(Record, (operation, routine, shapes, dtype, None, None, None, None, seconds, None,
                                    0, 0, None, rss, cgroup, gpu[0], gpu[1], thread, now, error))
    backend, strategy, reason, device, kernel, up, down = d
    return _new_record(Record, (operation, routine, shapes, dtype, backend, strategy, reason, device, seconds,
                                None if error else flops, up, down, kernel, rss, cgroup, gpu[0], gpu[1],
                                thread, now, error))


def _add(r: Record, blocks: tuple) -> None:
    (_COLLECTOR if _COLLECTOR is not None else collector()).add(r)
    for m in blocks:
        m._add(r)


def _drain() -> None:
    """Build and store the Records of queued calls (before anything reads metrics)."""
    if _core.pending_calls():
        with _DRAIN:
            _drain_locked()


def _drain_locked() -> None:
    records, blocked = _core.take_records(Record, _facts)
    if records:
        for i, blocks in blocked:
            for m in blocks:
                m._add(records[i])
        (_COLLECTOR if _COLLECTOR is not None else collector()).extend(records)


_core.register_hooks(_drain, lambda device: _probe().gpu(device), lambda: _EPOCH + time.perf_counter())
