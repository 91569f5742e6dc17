"""Settings: one validated object read from the environment, process-wide updates, and
thread-local overrides for a block (``config_context``, like NumPy's ``errstate``).

==========================  ==========================  ======================================
setting                     environment variable        accepted (default)
==========================  ==========================  ======================================
device                      LAPACK_AI_DEVICE            auto, cpu, opencl, opencl:<index|name>
gpu_enabled                 LAPACK_GPU_ENABLED          true/false, 1/0, yes/no, on/off (true)
gpu_memory_limit            LAPACK_GPU_MEMORY_LIMIT     percent in (0, 100] (90)
log_level                   LAPACK_LOG_LEVEL            DEBUG, INFO, WARNING, ERROR, CRITICAL
batch_size_limit            LAPACK_BATCH_SIZE_LIMIT     matrices per stacked call, >= 1 (none)
dashboard_port              LAPACK_DASHBOARD_PORT       1..65535 (8050)
compare_max_size            LAPACK_AI_COMPARE_MAX_SIZE  largest n the service's comparisons run, 1..16384 (1024)
metrics                     LAPACK_AI_METRICS           true/false (false)
metrics_buffer              LAPACK_AI_METRICS_BUFFER    records kept, >= 1 (10000)
==========================  ==========================  ======================================

The environment is read on first use, so a bad value fails on the first call that needs
settings, with a ConfigError naming the variable, the value and what is accepted. The
dispatcher's three settings (device, gpu_enabled, gpu_memory_limit) are parsed by the Rust core,
so Python and Rust can never disagree about them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Any, Iterator

from . import _core
from .errors import ConfigError

__all__ = ["config", "config_context", "Settings", "ENV"]

ENV = {
    "device": "LAPACK_AI_DEVICE",
    "gpu_enabled": "LAPACK_GPU_ENABLED",
    "gpu_memory_limit": "LAPACK_GPU_MEMORY_LIMIT",
    "log_level": "LAPACK_LOG_LEVEL",
    "batch_size_limit": "LAPACK_BATCH_SIZE_LIMIT",
    "dashboard_port": "LAPACK_DASHBOARD_PORT",
    "compare_max_size": "LAPACK_AI_COMPARE_MAX_SIZE",
    "metrics": "LAPACK_AI_METRICS",
    "metrics_buffer": "LAPACK_AI_METRICS_BUFFER",
}
_RUST = ("device", "gpu_enabled", "gpu_memory_limit")  # parsed and used by the core's dispatcher
_PER_BLOCK = ("device", "gpu_enabled", "metrics", "batch_size_limit")  # the rest are process-wide
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """The effective settings. Read them from ``lapack_ai.config``."""

    device: str = "auto"
    gpu_enabled: bool = True
    gpu_memory_limit: float = 90.0
    log_level: str | None = None
    """None leaves the ``lapack_ai`` logger as the application configured it."""
    batch_size_limit: int | None = None
    """Most matrices one stacked call may hold; None for no limit."""
    dashboard_port: int = 8050
    """Port ``lapack-ai serve`` listens on unless told otherwise."""
    compare_max_size: int = 1024
    """Largest matrix size a comparison started from the web service may run (it bounds the
    memory and time a request can ask for)."""
    metrics: bool = False
    metrics_buffer: int = 10000


# ---- parsing: each returns the value or raises ConfigError naming the variable ----

def _bool(name: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ConfigError(ENV[name], v, "true/false (or 1/0, yes/no, on/off)")


def _int(name: str, v: Any, lo: int, hi: int | None = None) -> int:
    try:
        i = int(str(v).strip()) if not isinstance(v, bool) else None
    except ValueError:
        i = None
    if i is None or i < lo or (hi is not None and i > hi):
        raise ConfigError(ENV[name], v, f"an integer >= {lo}" + (f" and <= {hi}" if hi else ""))
    return i


def _level(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip().upper()
    if s == "WARN":
        s = "WARNING"
    if s not in _LEVELS:
        raise ConfigError(ENV["log_level"], v, "one of " + ", ".join(_LEVELS))
    return s


def _device(v: Any) -> str:
    try:
        return _core.parse_device(str(v))
    except ValueError as e:
        raise ConfigError(ENV["device"], v, str(e).split(", got")[0].removeprefix("device must be ")) from None


def _parse(name: str, v: Any) -> Any:
    """Python-side parsing: the core's settings come from ``_rust_settings``; device and the
    switches are also parsed here for per-block overrides."""
    if name == "device":
        return _device(v)
    if name in ("gpu_enabled", "metrics"):
        return _bool(name, v)
    if name == "log_level":
        return _level(v)
    if name == "batch_size_limit":
        return None if v is None else _int(name, v, 1)
    if name == "dashboard_port":
        return _int(name, v, 1, 65535)
    if name == "metrics_buffer":
        return _int(name, v, 1)
    if name == "compare_max_size":
        return _int(name, v, 1, 16384)
    if name == "gpu_memory_limit":
        return v  # validated by the core when written (update)
    raise TypeError(f"unknown setting {name!r}; settings are: {', '.join(ENV)}")


def _rust_settings() -> dict[str, Any]:
    """The dispatcher's settings as the core parsed them; its refusal becomes a ConfigError."""
    try:
        r = _core.settings()
    except ValueError as e:
        raise _config_error(str(e)) from None
    return {"device": r["device"], "gpu_enabled": r["gpu_enabled"], "gpu_memory_limit": r["memory_limit_pct"]}


def _config_error(msg: str) -> ConfigError:
    # The core says 'VAR="value": expected ...'.
    var, _, rest = msg.partition("=")
    value, _, accepted = rest.partition(": ")
    try:
        value = json.loads(value)
    except ValueError:
        pass
    return ConfigError(var, value, accepted.removeprefix("expected ").removeprefix("device must be "))


def _from_env() -> Settings:
    values: dict[str, Any] = _rust_settings()
    for name, var in ENV.items():
        raw = os.environ.get(var, "").strip()
        if raw and name not in _RUST:
            values[name] = _parse(name, raw)
    return Settings(**values)


# ---- state: the process settings, and the block overrides of this thread/task ----

_lock = threading.Lock()
_process: Settings | None = None
_block: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("lapack_ai_settings", default=None)
# Set only by blocks that override device or gpu_enabled: other blocks (measure() is one) keep
# the core's own default, and gemm its native fast path.
_steers: contextvars.ContextVar[bool] = contextvars.ContextVar("lapack_ai_steers_dispatch", default=False)
_listeners: list = []  # called with the new process settings (the metrics buffer resizes)


def _load() -> Settings:
    global _process
    with _lock:
        if _process is None:
            s = _from_env()
            _apply_process(s)
            _process = s
        return _process


def _apply_process(s: Settings) -> None:
    """Make process-wide effects real: the logger's level, the core's dispatcher, listeners."""
    if s.log_level is not None:
        logging.getLogger("lapack_ai").setLevel(s.log_level)
        _core.reset_log_cache()
    for f in _listeners:
        f(s)


def current() -> Settings:
    """The settings in effect here: this block's overrides, else the process settings."""
    return _block.get() or _process or _load()


class _Config:
    """``lapack_ai.config``: attribute access reads the effective settings; ``update`` changes
    them for the process; ``reload`` re-reads the environment."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in ENV:
            raise AttributeError(f"lapack_ai.config has no setting {name!r}; settings are: {', '.join(ENV)}")
        return getattr(current(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.update(**{name: value})

    def __dir__(self):
        return [*ENV, "update", "reload", "as_dict", "container"]

    def as_dict(self) -> dict[str, Any]:
        s = current()
        return {f.name: getattr(s, f.name) for f in fields(s)}

    def update(self, **settings: Any) -> Settings:
        """Change settings for the whole process (validated like the environment). Dispatcher
        settings are also written to their environment variables, so the Rust core and child
        processes see them."""
        global _process
        parsed = {k: _parse(k, v) for k, v in settings.items()}
        base = _load()
        with _lock:
            if any(k in parsed for k in _RUST):
                saved = {ENV[k]: os.environ.get(ENV[k]) for k in _RUST}
                for k in _RUST:
                    if k in parsed:
                        v = parsed[k]
                        os.environ[ENV[k]] = ("true" if v else "false") if isinstance(v, bool) else str(v)
                try:
                    _core.reload_settings()
                except ValueError as e:
                    for var, old in saved.items():  # put back what was there; the core keeps its settings
                        if old is None:
                            os.environ.pop(var, None)
                        else:
                            os.environ[var] = old
                    _core.reload_settings()
                    raise _config_error(str(e)) from None
                parsed.update(_rust_settings())
            new = replace(base, **parsed)
            _apply_process(new)
            _process = new
        return new

    def reload(self) -> Settings:
        """Re-read every variable (and the dispatcher's, and its stored crossovers)."""
        global _process
        try:
            _core.reload_settings()
        except ValueError:
            pass  # _from_env raises it as a ConfigError
        with _lock:
            s = _from_env()
            _apply_process(s)
            _process = s
        return s

    @property
    def container(self):
        """Container facts (read-only): see ``lapack_ai.container()``."""
        from .devices import container

        return container()

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
        return f"lapack_ai.config({body})"


config = _Config()


@contextmanager
def config_context(**settings: Any) -> Iterator[Settings]:
    """Override settings for a block, on this thread (and asyncio task) only::

        with lapack_ai.config_context(device="cpu", metrics=True):
            lapack_ai.gemm(a, b)

    Accepts ``device``, ``gpu_enabled``, ``metrics`` and ``batch_size_limit``; the others are
    process-wide (``lapack_ai.config.update``). Blocks nest; leaving one restores the settings
    it replaced.
    """
    wide = [k for k in settings if k in ENV and k not in _PER_BLOCK]
    if wide:
        raise TypeError(f"config_context: {', '.join(wide)} cannot be changed for one block (they act on the whole "
                        f"process); use lapack_ai.config.update({wide[0]}=...)")
    parsed = {k: _parse(k, v) for k, v in settings.items()}
    token = _block.set(replace(current(), **parsed))
    steers = _steers.set(_steers.get() or "device" in parsed or "gpu_enabled" in parsed)
    try:
        yield _block.get()
    finally:
        _steers.reset(steers)
        _block.reset(token)


def device_request(device: str | None) -> str | None:
    """The ``device=`` to hand the core for a call: the caller's, else a block override (the
    core applies the process default to None). A block with gpu_enabled=False keeps "auto"
    on the CPU and refuses forced OpenCL."""
    if not _steers.get():
        return device  # None: the core applies the process default
    s = current()
    req = device if device is not None else s.device
    if not s.gpu_enabled:
        norm = _device(req)
        if norm == "auto":
            return "cpu"
        if norm != "cpu":
            from .errors import DeviceError

            raise DeviceError("dispatch", req, "OpenCL devices are turned off in this block (gpu_enabled=False)")
    return req

