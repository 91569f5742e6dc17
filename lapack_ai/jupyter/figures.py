"""Plotly figures shared by the dashboard and ``compare``: time against size, one trace per
backend, log-log. ``FigureWidget`` renders as a widget in JupyterLab and VS Code."""

from __future__ import annotations

from typing import Iterable

COLORS = {"cpu": "#1f77b4", "opencl": "#d62728", "cpu-fallback": "#ff7f0e", "numpy": "#7f7f7f"}


def _go():
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise ImportError("plots need plotly: pip install 'lapack-ai[jupyter]'") from None
    return go


def time_vs_size(title: str, widget: bool = True, height: int = 320):
    """An empty log-log figure (a FigureWidget when ``widget``) to fill with ``set_series``."""
    go = _go()
    fig = (go.FigureWidget if widget else go.Figure)()
    fig.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=40, b=40),
                      xaxis=dict(type="log", title="matrix size n"),
                      yaxis=dict(type="log", title="time (ms)"), showlegend=True,
                      legend=dict(orientation="h", y=-0.25),
                      template="plotly_white")
    return fig


def set_series(fig, series: dict[str, tuple[list, list, list]], mode: str = "markers") -> None:
    """Replace the figure's traces with ``series``: name -> (sizes, milliseconds, hover texts).
    Existing traces are updated in place, so a live widget does not flicker."""
    go = _go()
    names = list(series)
    with fig.batch_update():
        have = {t.name: t for t in fig.data}
        for name in names:
            x, y, text = series[name]
            if name in have:
                have[name].update(x=x, y=y, text=text)
            else:
                fig.add_trace(go.Scatter(x=x, y=y, text=text, name=name, mode=mode,
                                         hovertemplate="%{text}<extra></extra>",
                                         marker=dict(color=COLORS.get(name.split(":")[0]), size=7)))
        stale = [t for t in fig.data if t.name not in series]
        if stale:
            fig.data = tuple(t for t in fig.data if t.name in series)


def by_backend(records: Iterable) -> dict[str, tuple[list, list, list]]:
    """Metrics records grouped per backend strategy (cpu, opencl, cpu-fallback); the web
    dashboard shows the same series."""
    from ..web.views import series

    return series(records)
