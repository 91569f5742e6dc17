"""Comparisons started from the web page: ``compare(op, sizes, devices)`` as background jobs,
run one at a time from a bounded queue, each in a child process (spawned, not forked: the
server has threads). A child can be stopped at any moment, so shutdown never waits on a long
LAPACK call, and whatever a comparison does cannot take the server down.

Requests name a registry routine, sizes and devices; nothing else runs. Sizes are bounded by
``compare_max_size`` (LAPACK_AI_COMPARE_MAX_SIZE), their number by ``MAX_SIZES``, and the queue
by ``queue``: a full queue is refused, not grown.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue as _queue
import threading
import time
from typing import Any

from ..config import config
from ..registry import REGISTRY

MAX_SIZES = 8
DTYPES = ("float64", "float32", "complex128", "complex64")


class JobError(ValueError):
    """A request the service refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Jobs:
    def __init__(self, queue: int = 4, keep: int = 20):
        if queue < 1 or keep < 1:
            raise ValueError(f"queue and keep must be >= 1, got {queue} and {keep}")
        self._queue: _queue.Queue = _queue.Queue(maxsize=queue)
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._keep = keep
        self._closing = threading.Event()
        self._worker = threading.Thread(target=self._run, name="lapack_ai-compare", daemon=True)
        self._worker.start()

    # ---- requests ----

    def options(self) -> dict:
        """What a request may ask for (the page builds its form from this)."""
        return {"routines": list(REGISTRY), "opencl_routines": [n for n, r in REGISTRY.items() if r.opencl],
                "devices": _devices(), "dtypes": list(DTYPES), "max_size": config.compare_max_size,
                "max_sizes": MAX_SIZES, "queue": self._queue.maxsize}

    def submit(self, request: Any) -> dict:
        op, sizes, devices, dtype = _validate(request)
        job = {"id": str(next(self._ids)), "op": op, "sizes": sizes, "devices": devices, "dtype": dtype,
               "status": "queued", "done": 0, "total": len(sizes) * (len(devices) + 1), "created": time.time(),
               "error": None, "rows": None}
        with self._lock:
            try:
                self._queue.put_nowait(job["id"])
            except _queue.Full:
                raise JobError(f"{self._queue.maxsize} comparisons are already waiting; try again when one "
                               "has finished", status=429) from None
            self._jobs[job["id"]] = job
            for old in [j for j in self._jobs.values() if j["status"] in ("done", "failed", "cancelled")][:-self._keep]:
                del self._jobs[old["id"]]
        return dict(job)

    def get(self, job_id: str) -> dict | None:
        with self._lock:
            j = self._jobs.get(job_id)
            return dict(j) if j else None

    def list(self) -> list[dict]:
        with self._lock:
            return [{k: v for k, v in j.items() if k != "rows"} for j in reversed(self._jobs.values())]

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the running comparison's process; queued jobs are marked cancelled."""
        self._closing.set()
        try:
            self._queue.put_nowait(None)  # wakes an idle worker
        except _queue.Full:
            pass
        self._worker.join(timeout)

    # ---- the worker ----

    def _set(self, job_id: str, **fields) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id].update(fields)

    def _run(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        while True:
            job_id = self._queue.get()
            if job_id is None or self._closing.is_set():
                break
            job = self.get(job_id)
            if job is not None:
                self._set(job_id, status="running", started=time.time())
                self._set(job_id, **self._in_child(ctx, job), finished=time.time())
        with self._lock:
            for j in self._jobs.values():
                if j["status"] == "queued":
                    j["status"] = "cancelled"

    def _in_child(self, ctx, job: dict) -> dict:
        """Run one comparison in a child process; its progress comes back through a pipe."""
        ours, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(theirs, job["op"], job["sizes"], job["devices"], job["dtype"]),
                           name=f"lapack_ai-compare-{job['id']}", daemon=True)
        proc.start()
        theirs.close()
        try:
            while True:
                if self._closing.is_set():
                    return {"status": "cancelled"}
                if not ours.poll(0.1):
                    continue  # a dead child's pipe polls readable: recv's EOFError reports it
                try:
                    kind, *msg = ours.recv()
                except EOFError:  # the child died before sending its result (killed, crashed)
                    proc.join(2)
                    return {"status": "failed", "error": f"the comparison's process ended ({proc.exitcode}) "
                                                         "without a result"}
                if kind == "step":
                    self._set(job["id"], done=msg[0], total=msg[1])
                elif kind == "done":
                    return {"status": "done", "rows": msg[0]}
                else:
                    return {"status": "failed", "error": msg[0]}
        finally:
            ours.close()
            if proc.is_alive():
                proc.terminate()
            proc.join(2)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _child(conn, op: str, sizes: list[int], devices: list[str], dtype: str) -> None:
    """The child process: one comparison, its steps and result sent back through ``conn``."""
    from ..sweep import compare

    try:
        c = compare(op, sizes, devices, dtype=dtype, progress=False,
                    on_step=lambda done, total: conn.send(("step", done, total)))
        conn.send(("done", c.rows))
    except Exception as e:  # the job reports it
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def _devices() -> list[str]:
    out = ["cpu"]
    if config.gpu_enabled:
        from ..devices import devices

        try:
            out += [d.selector for d in devices() if not d.unusable]
        except Exception:  # no OpenCL at all: the CPU is still there
            pass
    return out


def _validate(request: Any) -> tuple[str, list[int], list[str], str]:
    if not isinstance(request, dict):
        raise JobError("the request must be a JSON object with op, sizes, devices and dtype")
    unknown = set(request) - {"op", "sizes", "devices", "dtype"}
    if unknown:
        raise JobError(f"unknown fields {sorted(unknown)}; a request has op, sizes, devices and dtype")
    op = request.get("op")
    if op not in REGISTRY:
        raise JobError(f"op must be one of {', '.join(REGISTRY)}; got {op!r}")
    sizes = request.get("sizes")
    top = config.compare_max_size
    if (not isinstance(sizes, list) or not 1 <= len(sizes) <= MAX_SIZES
            or not all(type(n) is int and 1 <= n <= top for n in sizes)):
        raise JobError(f"sizes must be a list of 1 to {MAX_SIZES} integers from 1 to {top} "
                       f"(LAPACK_AI_COMPARE_MAX_SIZE); got {sizes!r}")
    sizes = sorted(set(sizes))
    allowed = _devices()
    devices = request.get("devices", ["cpu"])
    if not isinstance(devices, list) or not devices or not all(isinstance(d, str) and d in allowed for d in devices):
        raise JobError(f"devices must be a non-empty list drawn from {allowed}; got {devices!r}")
    if not REGISTRY[op].opencl and devices != ["cpu"]:
        raise JobError(f"{op} runs only on the CPU; use devices ['cpu']")
    dtype = request.get("dtype", "float64")
    if dtype not in DTYPES:
        raise JobError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    if dtype.startswith("complex") and devices != ["cpu"]:
        raise JobError("the OpenCL kernels are real-only; use devices ['cpu'] for complex dtypes")
    return op, sizes, list(dict.fromkeys(devices)), dtype
