"""Notebook integration (``pip install lapack-ai[jupyter]``).

``%load_ext lapack_ai`` (or ``lapack_ai.jupyter.enable()``) installs an IPython exception
hook that renders lapack_ai's errors as HTML reports under the traceback, and turns metrics
on for the process so ``lapack_ai.dashboard()`` has something to show. ``dashboard.py`` holds
the live widget, ``figures.py`` the plots it shares with ``lapack_ai.compare``.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, DeviceError, DTypeError, LapackArgumentError, LinAlgError, NonFiniteError, ShapeError

__all__ = ["enable", "disable", "show"]

# Errors that carry a report (every lapack_ai error has _repr_html_).
REPORTED = (LinAlgError, NonFiniteError, ShapeError, DTypeError, DeviceError, LapackArgumentError, ConfigError)


def _shell(ipython=None):
    if ipython is not None:
        return ipython
    try:
        from IPython import get_ipython
    except ImportError:
        raise ImportError("lapack_ai.jupyter needs IPython: pip install 'lapack-ai[jupyter]'") from None
    ip = get_ipython()
    if ip is None:
        raise RuntimeError("lapack_ai.jupyter.enable() must run inside IPython or Jupyter")
    return ip


def _report_handler(shell, etype, value, tb, tb_offset=None):
    """IPython custom-exception handler: the error's HTML report, then the usual traceback
    (IPython does not show what a handler returns when user code raises, so it is shown here)."""
    from IPython.display import HTML, display

    try:
        display(HTML(value._repr_html_()))
    except Exception:  # a report must never hide the original error
        pass
    stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)
    return stb


def enable(ipython=None, *, metrics: bool = True) -> None:
    """Render lapack_ai errors as HTML reports in this IPython session, and (``metrics=True``)
    record metrics for the process. Safe to call twice."""
    ip = _shell(ipython)
    ip.set_custom_exc(REPORTED, _report_handler)
    if metrics:
        from ..config import config

        config.update(metrics=True)


def disable(ipython=None) -> None:
    """Remove the exception hook (metrics stay as they are)."""
    ip = _shell(ipython)
    ip.set_custom_exc((), None)


def show(obj: Any) -> None:
    """Display ``obj`` in a notebook, or print it elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(obj)
            return
    except ImportError:
        pass
    print(obj)
