"""``lapack_ai.dashboard()``: an inline live widget with the recent calls, time against size
per backend, a device panel and error reports.

A background thread redraws from the metrics collector (only when it changed, at most every
``refresh`` seconds), so the kernel stays free; ``stop()`` (or the Stop button) ends it and
leaves the last view in place.
"""

from __future__ import annotations

import html
import threading
import time

from .. import metrics
from ..config import config
from . import figures

__all__ = ["Dashboard", "dashboard"]

_CSS = """<style>
.lapack-ai-dashboard table {border-collapse: collapse; font-size: 12px;}
.lapack-ai-dashboard th, .lapack-ai-dashboard td {padding: 2px 8px; text-align: left; border-bottom: 1px solid #ddd;}
.lapack-ai-dashboard .err {color: #c0392b;}
</style>"""


def _widgets():
    try:
        import ipywidgets
    except ImportError:
        raise ImportError("dashboard() needs ipywidgets and plotly: pip install 'lapack-ai[jupyter]'") from None
    return ipywidgets


def _gib(n) -> str:
    return "?" if n is None else f"{n / 2**30:.1f} GiB"


class Dashboard:
    """The live widget. Display it (it is the cell's value) and call ``stop()`` when done."""

    def __init__(self, refresh: float = 1.0, rows: int = 15, collector: metrics.MetricsCollector | None = None):
        w = _widgets()
        self.refresh_seconds, self.rows = refresh, rows
        self.collector = collector or metrics.collector()
        self._seen = -1
        self._devices_at = 0.0
        self._stop = threading.Event()
        self.status = w.HTML()
        self.figure = figures.time_vs_size("time against size, per backend")
        self.devices = w.HTML(layout=w.Layout(min_width="320px"))
        self.calls = w.HTML()
        self.errors = w.HTML()
        self.stop_button = w.Button(description="Stop", tooltip="stop refreshing", layout=w.Layout(width="80px"))
        self.stop_button.on_click(lambda _: self.stop())
        self.widget = w.VBox([
            w.HBox([self.status, self.stop_button]),
            w.HBox([self.figure, self.devices]),
            w.HTML("<b>Recent calls</b>"), self.calls,
            w.HTML("<b>Errors</b>"), self.errors,
        ])
        self.widget.add_class("lapack-ai-dashboard")
        self.update(force=True)
        self._thread = threading.Thread(target=self._loop, name="lapack_ai-dashboard", daemon=True)
        self._thread.start()

    # ---- drawing ----

    def update(self, force: bool = False) -> bool:
        """Redraw if the collector changed (or ``force``); True when it redrew."""
        now = time.monotonic()
        if force or now - self._devices_at > 5:  # devices change slowly; NVML reads are not free
            self._devices_at = now
            self.devices.value = _CSS + self._device_panel()
        version = self.collector.version
        if not force and version == self._seen:
            return False
        self._seen = version
        recs = self.collector.records()
        figures.set_series(self.figure, figures.by_backend(recs[-2000:]))
        self.calls.value = self._calls_table(recs[-self.rows:])
        self.errors.value = self._errors(recs)
        state = "stopped" if self._stop.is_set() else f"live, every {self.refresh_seconds:g} s"
        on = "on" if config.metrics else "off (turn on: lapack_ai.config.update(metrics=True))"
        self.status.value = (f"<b>lapack_ai dashboard</b> &mdash; {len(recs)} calls buffered (of "
                             f"{self.collector.maxlen}); metrics {on}; {state}")
        return True

    def _calls_table(self, recs) -> str:
        head = "<tr><th>time</th><th>operation</th><th>routine</th><th>shape</th><th>dtype</th><th>backend</th>" \
               "<th>ms</th><th>GFLOP/s</th><th>why</th></tr>"
        rows = []
        for r in reversed(recs):
            shape = " ".join("x".join(map(str, s)) for s in r.shapes)
            g = f"{r.gflops:.2f}" if r.gflops else "-"
            cls = " class='err'" if r.error else ""
            why = html.escape((r.reason or "")[:80])
            rows.append(f"<tr{cls}><td>{time.strftime('%H:%M:%S', time.localtime(r.timestamp))}</td>"
                        f"<td>{html.escape(r.operation)}</td><td>{html.escape(r.routine)}</td><td>{shape}</td>"
                        f"<td>{r.dtype or ''}</td><td>{r.strategy or ''}</td><td>{r.seconds * 1e3:.3f}</td>"
                        f"<td>{g}</td><td title='{html.escape(r.reason or '')}'>{why}</td></tr>")
        return _CSS + f"<table>{head}{''.join(rows)}</table>" if rows else "<i>no calls recorded yet</i>"

    def _errors(self, recs) -> str:
        errs = [r for r in recs if r.error][-5:]
        if not errs:
            return "<i>none</i>"
        items = "".join(f"<li class='err'><b>{html.escape(r.operation)}</b> "
                        f"({time.strftime('%H:%M:%S', time.localtime(r.timestamp))}): {html.escape(r.error)}</li>"
                        for r in reversed(errs))
        return _CSS + f"<ul>{items}</ul>"

    def _device_panel(self) -> str:
        from ..web.views import devices

        d = devices()  # the same facts the web dashboard shows
        lines = ["<b>Devices</b><ul>", "<li>cpu: LAPACK/BLAS via OpenBLAS</li>"]
        for o in d["opencl"]:
            free = f", {_gib(o['free_memory'])} free" if o["free_memory"] is not None else ""
            bad = f" <span class='err'>unusable: {html.escape(o['unusable'])}</span>" if o["unusable"] else ""
            lines.append(f"<li>{o['selector']}: {html.escape(o['name'])} ({o['type']}), "
                         f"{_gib(o['global_memory'])}{free}{bad}</li>")
        lines += [f"<li>{html.escape(p)}</li>" for p in d["problems"]]
        for g in d["nvml"]:
            if "error" in g:
                lines.append(f"<li>{html.escape(g['name'])}: NVML error {html.escape(g['error'])}</li>")
            else:
                lines.append(f"<li>{html.escape(g['name'])}: {g['utilization']}% busy, "
                             f"{_gib(g['memory_used'])} of {_gib(g['memory_total'])} used (NVML)</li>")
        lines.append("</ul>")
        c = d["container"]
        if c.get("memory_limit"):
            lines.append(f"container memory: {_gib(c.get('memory_usage'))} of {_gib(c['memory_limit'])}<br>")
        if d["rss"] is not None:
            lines.append(f"this process: {_gib(d['rss'])} resident<br>")
        return "".join(lines)

    # ---- lifecycle ----

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            try:
                self.update()
            except Exception as e:  # keep the kernel's output clean; show it in the widget
                self.status.value = f"<span class='err'>dashboard stopped: {html.escape(repr(e))}</span>"
                self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop refreshing (the thread ends within one refresh period); the view stays."""
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=max(5.0, 2 * self.refresh_seconds))
        self.stop_button.disabled = True
        self.update(force=True)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return f"<lapack_ai Dashboard: {'running' if self.running else 'stopped'}, {len(self.collector)} calls>"


def dashboard(refresh: float = 1.0, rows: int = 15) -> Dashboard:
    """An inline live dashboard of this process's lapack_ai calls: recent calls, time against
    size per backend, devices (memory, utilisation through NVML), errors. Turns metrics on
    for the process if they were off. Make it a cell's value to show it; ``stop()`` ends it.
    """
    if not config.metrics:
        config.update(metrics=True)
    return Dashboard(refresh=refresh, rows=rows)
