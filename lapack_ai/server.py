"""``lapack-ai serve``: the web dashboard with its health, readiness and metrics endpoints,
served by uvicorn (``pip install 'lapack-ai[serve]'``; the routes are in ``lapack_ai/web``).
Nothing here imports uvicorn or Starlette until a server is made, so ``import lapack_ai`` stays
free of them.

    lapack-ai serve [--host 127.0.0.1] [--port $LAPACK_DASHBOARD_PORT]
    python -m lapack_ai.serve ...
    lapack_ai.serve(port=0, background=True)   # from a notebook: serves this process's calls

It binds 127.0.0.1 unless told otherwise, and stops gracefully on SIGTERM or SIGINT: open event
streams end, the running comparison's process is stopped, then the process exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time

__all__ = ["serve", "Server", "main"]

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def _imports():
    try:
        import uvicorn

        from .web import app
    except ImportError as e:
        raise ImportError(f"lapack-ai serve needs the serve extra ({e.name} is missing): "
                          "pip install 'lapack-ai[serve]'") from None
    return uvicorn, app


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _bind(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts, so a taken port is an OSError here and not a log line."""
    if not 0 <= port <= 65535:
        raise OSError(f"cannot listen on {host}:{port}: ports are 0..65535 (0 picks a free one)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen on {host}:{port}: {e.strerror}; choose another port "
                               "(--port, or LAPACK_DASHBOARD_PORT)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class Server:
    """A running service. ``url`` is where it answers; ``stop()`` shuts it down gracefully."""

    def __init__(self, host: str | None = None, port: int | None = None, *, refresh: float = 1.0,
                 allowed_hosts: list[str] | None = None, log_level: str = "info", access_log: bool = False,
                 configure_logging: bool = True, **options):
        from .config import config

        uvicorn, web = _imports()
        self.host = host or "127.0.0.1"
        self.stopping = threading.Event()
        # Host headers answered: loopback names when bound to loopback (a page elsewhere cannot
        # reach it through DNS rebinding), else those given (LAPACK_AI_ALLOWED_HOSTS), else any.
        hosts = list(allowed_hosts or (_LOOPBACK_NAMES if _loopback(self.host) else ["*"]))
        hosts += [self.host.strip("[]")] if "*" not in hosts else []
        opts = web.Options(refresh=refresh, allowed_hosts=tuple(hosts), **options)  # max_clients, queue, self_check
        self.sock = _bind(self.host, config.dashboard_port if port is None else port)
        self.port = self.sock.getsockname()[1]
        self.app = web.create_app(opts, self.stopping)
        cfg = uvicorn.Config(self.app, log_level=log_level, access_log=access_log, timeout_graceful_shutdown=5,
                             proxy_headers=False, server_header=False,
                             **({} if configure_logging else {"log_config": None}))
        stopping = self.stopping

        class _Uvicorn(uvicorn.Server):
            def handle_exit(self, sig, frame):  # SIGTERM/SIGINT: end the event streams first
                stopping.set()
                super().handle_exit(sig, frame)

            @contextlib.contextmanager
            def capture_signals(self):
                # uvicorn re-raises the signal after shutting down, so the process dies by it
                # (status 143); after a graceful stop we exit 0, as docker and Kubernetes expect.
                if threading.current_thread() is not threading.main_thread():
                    yield
                    return
                old = {s: signal.signal(s, self.handle_exit) for s in (signal.SIGINT, signal.SIGTERM)}
                try:
                    yield
                finally:
                    for s, h in old.items():
                        signal.signal(s, h)

        self._server = _Uvicorn(cfg)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        h = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        return f"http://{'127.0.0.1' if h == '0.0.0.0' else h}:{self.port}"

    def run(self) -> None:
        """Serve in this thread until SIGTERM/SIGINT (or ``stop()`` from another thread)."""
        self._server.run(sockets=[self.sock])

    def start(self, timeout: float = 30.0) -> "Server":
        """Serve from a background thread; returns once it accepts connections."""
        if self._thread is not None or self.stopping.is_set():
            raise RuntimeError("a Server runs once; make a new one (lapack_ai.serve(...))")
        self._thread = threading.Thread(target=self.run, name="lapack_ai-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("lapack_ai.serve: the server stopped while starting; see the log above")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"lapack_ai.serve: not serving after {timeout:g} s")
            time.sleep(0.02)
        return self

    @property
    def ready(self) -> bool:
        """Whether the start-up self-check passed (what /readyz says)."""
        return self.app.state.check.ready

    def stop(self, timeout: float = 10.0) -> bool:
        """Shut down gracefully; True once the server has stopped within ``timeout``."""
        self.stopping.set()
        self._server.should_exit = True
        if not self._server.started:  # never served: no lifespan will close these
            self.sock.close()
            self.app.state.jobs.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logging.getLogger("lapack_ai").warning("lapack_ai.serve: still stopping after %g s", timeout)
                return False
        return True

    def __repr__(self) -> str:
        alive = self._thread is None or self._thread.is_alive()
        return f"<lapack_ai Server {self.url} {'running' if alive and self._server.started else 'stopped'}>"

    def _repr_html_(self) -> str:
        return f"lapack_ai dashboard at <a href='{self.url}/' target='_blank'>{self.url}/</a>"


def serve(host: str | None = None, port: int | None = None, *, background: bool = False,
          refresh: float = 1.0, log_level: str = "warning") -> Server:
    """Serve the dashboard and the endpoints of docs/serve.md for this process's calls (metrics
    are turned on). ``port`` defaults to LAPACK_DASHBOARD_PORT (8050); 0 picks a free one.
    With ``background=True`` it returns the running ``Server`` at once (``.url``, ``.stop()``);
    otherwise it blocks until SIGTERM/SIGINT."""
    s = Server(host, port, refresh=refresh, log_level=log_level, configure_logging=not background)
    if background:
        return s.start()
    s.run()
    return s


def main(argv: list[str] | None = None) -> int:
    import argparse

    from .config import config

    p = argparse.ArgumentParser(prog="lapack-ai serve", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; 0.0.0.0 in containers)")
    p.add_argument("--port", type=int, default=None,
                   help=f"port (default LAPACK_DASHBOARD_PORT, now {config.dashboard_port})")
    p.add_argument("--refresh", type=float, default=1.0, help="seconds between pushes to open pages (default 1)")
    p.add_argument("--log-level", default=None, help="uvicorn's log level (default: LAPACK_LOG_LEVEL, else info)")
    p.add_argument("--access-log", action="store_true", help="log every request (probes included)")
    p.add_argument("--allowed-hosts", default=os.environ.get("LAPACK_AI_ALLOWED_HOSTS"),
                   help="comma-separated Host names answered (default: loopback names when bound to "
                        "loopback, else any; env LAPACK_AI_ALLOWED_HOSTS)")
    a = p.parse_args(argv)
    level = (a.log_level or config.log_level or "info").lower()
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not 0.05 <= a.refresh <= 60:
        p.error("--refresh must be between 0.05 and 60 seconds")
    try:
        hosts = [h.strip() for h in a.allowed_hosts.split(",") if h.strip()] if a.allowed_hosts else None
        s = Server(a.host, a.port, refresh=a.refresh, allowed_hosts=hosts, log_level=level, access_log=a.access_log)
    except (OSError, ImportError, ValueError) as e:
        print(f"lapack-ai serve: {e}", file=sys.stderr)
        return 2
    print(f"lapack_ai dashboard: {s.url}/  (probes /livez /readyz, metrics /metrics)", flush=True)
    s.run()
    return 0 if s._server.started else 1


if __name__ == "__main__":
    sys.exit(main())
