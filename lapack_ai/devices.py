"""Devices and dispatch, from Python: what OpenCL devices exist, where a call would run and
why (``explain``), where the last call ran (``last_decision``), and container facts.

The decisions themselves are made in one place, the Rust core's ``dispatch.rs``; this module
only presents them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from . import _core


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**30:.1f} GiB"


@dataclass(frozen=True)
class Device:
    """One OpenCL device as the driver reports it. ``unusable`` says why it cannot be used."""

    index: int
    name: str
    type: str
    platform: str
    vendor: str
    driver_version: str
    opencl_version: str
    global_memory: int
    free_memory: int | None
    max_allocation: int
    compute_units: int
    max_work_group_size: int
    clock_mhz: int
    fp64: bool
    compute_capability: tuple[int, int] | None
    tensor_core_gemm: bool
    unusable: str | None
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def selector(self) -> str:
        """The ``device=`` string that picks this device."""
        return f"opencl:{self.index}"

    def __str__(self) -> str:
        free = f", {_gib(self.free_memory)} free" if self.free_memory is not None else ""
        cc = f", sm_{self.compute_capability[0]}{self.compute_capability[1]}" if self.compute_capability else ""
        line = (f"[{self.selector}] {self.name} ({self.type}, {self.platform}, driver {self.driver_version}): "
                f"{_gib(self.global_memory)}{free}, {self.compute_units} compute units{cc}, "
                f"fp64 {'yes' if self.fp64 else 'no'}")
        return line + (f"; UNUSABLE: {self.unusable}" if self.unusable else "")


class DeviceList(list):
    """``devices()``'s result: a list of Device, plus ``problem`` (why there is no OpenCL at
    all) and ``hints`` (devices installed but invisible, with the fix)."""

    def __init__(self, items, problem: str | None, hints: list[str]):
        super().__init__(items)
        self.problem, self.hints = problem, hints

    def __str__(self) -> str:
        lines = ["cpu: LAPACK/BLAS via OpenBLAS (always available)"]
        lines += [str(d) for d in self]
        if self.problem:
            lines.append(f"no OpenCL: {self.problem}")
        lines += [f"note: {h}" for h in self.hints]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(str(self)) + "</pre>"


_FIELDS = set(Device.__dataclass_fields__) - {"extra"}


def devices() -> DeviceList:
    """List OpenCL platforms' devices (type, vendor, driver, memory, compute units, fp64 and,
    for unusable devices, why). When the NVIDIA driver is installed but OpenCL does not see it
    (no ICD file: common in containers), ``hints`` says so and how to fix it."""
    items, problem, hints = _core.opencl_devices()
    devs = [Device(**{k: v for k, v in d.items() if k in _FIELDS},
                   extra={k: v for k, v in d.items() if k not in _FIELDS}) for d in items]
    return DeviceList(devs, problem, hints)


@dataclass(frozen=True)
class Decision:
    """Where a call runs and why: ``strategy`` is "cpu", "opencl" or "cpu-fallback"."""

    operation: str
    strategy: str
    backend: str
    device: str | None
    device_index: int | None
    reason: str
    kernel: str | None = None
    """For a call that ran on a device: the kernel variant."""
    bytes_to_device: int = 0
    bytes_from_device: int = 0
    kernel_ns: int = 0
    """Kernel time from OpenCL's profiling events (0 unless it ran on a device)."""

    def __str__(self) -> str:
        return self.reason

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _problem(op: str, shapes: tuple) -> tuple[int, int, int, int]:
    """(count, m, n, k) of an operation on arrays of ``shapes``."""
    import math

    shapes = [tuple(s) for s in shapes]
    if not shapes or any(len(s) < 2 for s in shapes):
        raise ValueError(f"explain: give each operand's shape, at least 2-D, e.g. explain('gemm', (m, k), (k, n)); got {shapes}")
    if op in ("gemm", "gemm_alpha"):
        if len(shapes) != 2:
            raise ValueError(f"explain('{op}', a_shape, b_shape): two shapes")
        (m, k), (kb, n) = shapes[0][-2:], shapes[1][-2:]
        if k != kb:
            raise ValueError(f"explain: gemm shapes {shapes[0]} and {shapes[1]} do not fit (k={k} vs {kb})")
        batch = (shapes[0][:-2], shapes[1][:-2])
        count = max(math.prod(batch[0]), math.prod(batch[1]))
        return count, m, n, k
    m, n = shapes[0][-2:]
    # The SVD weighs max(m, n) min(m, n)^2 (as the core does); other routines m n^2.
    return math.prod(shapes[0][:-2]), m, n, (min(m, n) if op == "svd" else n)


def explain(op: str, *shapes, dtype: str = "float64", device: str | None = None, scheme: str = "auto",
            full_matrices: bool = True) -> Decision:
    """Where ``op`` on operands of ``shapes`` would run, and why, without running it.

    >>> str(lapack_ai.explain("gemm", (8192, 8192), (8192, 8192)))  # doctest: +SKIP
    'opencl: 8192x8192x8192 float64 needs 1.5 GiB of 79 GiB total on NVIDIA H100 ...'

    ``device`` is as for the routines (None = the process default ``LAPACK_AI_DEVICE``);
    ``scheme`` as for ``gemm_alpha``, whose reason also says which product it runs;
    ``full_matrices`` as for ``svd`` (square U and V^T, NumPy's default; the OpenCL SVD of a
    tall-skinny matrix needs ``full_matrices=False``).
    Raises DeviceError when a forced device cannot run it.
    """
    import numpy as np

    from .errors import DeviceError

    count, m, n, k = _problem(op, shapes)
    dt = np.dtype(dtype).name
    # Square vectors are other than thin ones only on the long side.
    core_op = "svd_full" if op == "svd" and full_matrices and m != n else op
    try:
        d = _core.explain(core_op, count, m, n, k, dt, device, scheme)
    except ValueError as e:
        if str(e).startswith("gemm_alpha: scheme must be"):  # a bad scheme name, as gemm_alpha raises it
            raise ValueError(str(e)) from None
        raise DeviceError(op, device, str(e)) from None
    d["operation"] = op
    return Decision(**d)


def last_decision() -> Decision | None:
    """The final decision of the last call made on this thread (after any fallback)."""
    d = _core.last_decision()
    return Decision(**d) if d is not None else None


def container(root: str = "/") -> dict:
    """Container facts (read-only):

    - ``in_container``: whether this process runs in a container, and ``runtime``, the hint
      that said so (docker, podman, kubernetes, containerd, lxc, or the ``container`` variable);
    - cgroup (v1 or v2): ``version``, ``memory_limit`` and ``memory_usage`` in bytes (None when
      unlimited), ``cpu_quota`` in CPUs, and ``cpus`` this process may use;
    - ``gpu_devices``: GPU device nodes passed in (/dev/nvidia<N>, /dev/dri/renderD*, /dev/kfd)
      and ``gpu_passthrough``, whether there is any (or NVIDIA_VISIBLE_DEVICES names one).

    ``root`` is for tests: where to look instead of "/" (the cgroup facts come from the core).
    """
    import os
    from pathlib import Path

    r = Path(root)
    runtime = None
    if (r / ".dockerenv").exists():
        runtime = "docker"
    elif (r / "run/.containerenv").exists():
        runtime = "podman"
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        runtime = "kubernetes"
    elif os.environ.get("container"):
        runtime = os.environ["container"]
    else:
        try:
            text = (r / "proc/1/cgroup").read_text()
        except OSError:
            text = ""
        runtime = next((k for k in ("kubepods", "docker", "containerd", "lxc", "podman") if k in text), None)
        runtime = "kubernetes" if runtime == "kubepods" else runtime
    dev = r / "dev"
    nodes = sorted(str(p) for p in [*dev.glob("nvidia[0-9]*"), *dev.glob("dri/renderD*"), *dev.glob("kfd")])
    visible = os.environ.get("NVIDIA_VISIBLE_DEVICES", "")
    return {"in_container": runtime is not None, "runtime": runtime, **_core.cgroup(), "gpu_devices": nodes,
            "gpu_passthrough": bool(nodes) or visible not in ("", "void", "none")}


def reload_settings() -> None:
    """Re-read ``LAPACK_AI_DEVICE``, ``LAPACK_GPU_ENABLED``, ``LAPACK_GPU_MEMORY_LIMIT`` and
    the stored crossovers (they are read once, at first use). Raises DeviceError naming a bad
    variable."""
    from .errors import DeviceError

    try:
        _core.reload_settings()
    except ValueError as e:
        raise DeviceError("settings", None, str(e)) from None
