"""The Starlette application: pages, probes, Prometheus metrics, the JSON API and the event
stream. ``create_app`` is everything a server needs; ``lapack_ai/serve.py`` runs it.

Endpoints (docs/serve.md):
    /              live page (recent calls, time against size per backend, devices, errors)
    /compare       comparison page (runs ``compare`` as a background job, then plots it)
    /livez         200 while the process serves requests; touches nothing
    /readyz        the start-up self-check's cached result (200 ready, 503 starting or failed)
    /health        /readyz under the name the first deployments used
    /metrics       Prometheus text: call totals per operation and backend, service gauges
    /api/...       JSON: status, calls, devices, readiness, comparisons; /api/events pushes
                   the live page's data every second (Server-Sent Events)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sse_starlette.sse import AppStatus, EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__, metrics
from . import views
from .health import SelfCheck
from .jobs import JobError, Jobs

STATIC = Path(__file__).parent / "static"
_MAX_BODY = 4096  # a comparison request is a few dozen bytes


@dataclass
class Options:
    refresh: float = 1.0  # seconds between pushes on /api/events
    rows: int = 20  # calls the live page lists
    max_clients: int = 32  # open event streams; more are refused with 503
    queue: int = 4  # comparisons waiting; more are refused with 429
    allowed_hosts: tuple[str, ...] = ("*",)  # Host headers answered (loopback names when bound to loopback)
    self_check: bool = True

    def __post_init__(self):
        if not 0.05 <= self.refresh <= 60:
            raise ValueError(f"refresh must be between 0.05 and 60 seconds, got {self.refresh}")
        for name in ("rows", "max_clients", "queue"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class _Feed:
    """Builds each view once per change, however many pages are open."""

    def __init__(self, collector: metrics.MetricsCollector, rows: int):
        self.collector, self.rows = collector, rows
        self._calls_lock, self._devices_lock = threading.Lock(), threading.Lock()  # a slow driver read stalls only devices
        self._calls: tuple[int, str] | None = None
        self._devices: tuple[float, str] | None = None

    def calls(self) -> tuple[int, str]:
        with self._calls_lock:
            v = self.collector.version
            if self._calls is None or self._calls[0] != v:
                self._calls = (v, json.dumps(views.calls(self.collector, self.rows), allow_nan=False))
            return self._calls

    def devices(self, max_age: float = 5.0) -> str:
        with self._devices_lock:  # devices change slowly and NVML reads are not free
            if self._devices is None or time.monotonic() - self._devices[0] > max_age:
                self._devices = (time.monotonic(), json.dumps(views.devices(), allow_nan=False))
            return self._devices[1]


class _Headers:
    """Security headers on every response (a pure ASGI middleware, so streams stay streams)."""

    HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
               (b"referrer-policy", b"no-referrer"),
               (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


class _Counted:
    """An event stream that holds one of the bounded slots from the moment it is granted until
    the response ends, however it ends (even before its first event)."""

    def __init__(self, response, release):
        self.response, self.release = response, release

    async def __call__(self, scope, receive, send):
        try:
            await self.response(scope, receive, send)
        finally:
            self.release()


def create_app(options: Options | None = None, stopping: threading.Event | None = None) -> Starlette:
    """The application. ``stopping`` is set by the server on shutdown; open event streams end
    within 0.1 s when it is."""
    from prometheus_client import CollectorRegistry

    from ..config import config

    o = options or Options()
    stopping = stopping or threading.Event()
    # Streams end through `stopping`; sse-starlette's process-wide drain flag would stay set
    # after one server's shutdown and cut the streams of the next server in the process.
    AppStatus.disable_automatic_graceful_drain()
    AppStatus.should_exit = False
    if not config.metrics:  # the service shows calls: record them
        config.update(metrics=True)
    collector = metrics.collector()
    feed = _Feed(collector, o.rows)
    check = SelfCheck()
    jobs = Jobs(queue=o.queue)
    clients = 0
    started = time.time()

    async def readiness(_: Request) -> JSONResponse:
        s = check.state()
        return JSONResponse(s, status_code=200 if s["ready"] else 503)

    def status() -> dict:
        return {"version": __version__, "uptime": round(time.time() - started, 1), "ready": check.ready,
                "status": check.state()["status"], "clients": clients, "jobs_waiting": jobs.pending,
                "refresh": o.refresh}

    class _Service:  # the service's own gauges, beside the collector's counters
        def collect(self):
            from prometheus_client.core import GaugeMetricFamily

            for name, doc, value in (("lapack_ai_ready", "1 when the start-up self-check passed", check.ready),
                                     ("lapack_ai_event_streams", "Open /api/events streams", clients),
                                     ("lapack_ai_compare_jobs_waiting", "Comparisons queued", jobs.pending)):
                g = GaugeMetricFamily(name, doc)
                g.add_metric([], float(value))
                yield g

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector.prometheus_collector())
    registry.register(_Service())

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / ("compare.html" if request.url.path == "/compare" else "index.html"))

    async def livez(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def prometheus(_: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def api_status(_: Request) -> JSONResponse:
        return JSONResponse(status())

    async def api_calls(_: Request) -> Response:
        return Response((await run_in_threadpool(feed.calls))[1], media_type="application/json")

    async def api_devices(_: Request) -> Response:
        return Response(await run_in_threadpool(feed.devices), media_type="application/json")

    async def events(request: Request):
        nonlocal clients
        if clients >= o.max_clients:
            return JSONResponse({"error": f"{o.max_clients} event streams are open; close a page"}, status_code=503)
        clients += 1  # the slot is taken here, in the event loop, so concurrent requests cannot overrun it

        def release():
            nonlocal clients
            clients -= 1

        async def stream():
            seen, devices_at = None, 0.0
            yield {"event": "status", "data": json.dumps(status()), "retry": 1000}
            while not stopping.is_set():
                version, body = await run_in_threadpool(feed.calls)
                if version != seen:
                    seen = version
                    yield {"event": "calls", "data": body}
                if time.monotonic() - devices_at > 5:
                    devices_at = time.monotonic()
                    yield {"event": "devices", "data": await run_in_threadpool(feed.devices)}
                yield {"event": "status", "data": json.dumps(status())}
                for _ in range(max(1, round(o.refresh / 0.1))):  # wake on shutdown within 0.1 s
                    if stopping.is_set():
                        break
                    await asyncio.sleep(min(0.1, o.refresh))

        return _Counted(EventSourceResponse(stream(), ping=15, send_timeout=30), release)

    async def compare_options(_: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(jobs.options))

    async def compare_list(_: Request) -> JSONResponse:
        return JSONResponse(jobs.list())

    async def compare_submit(request: Request) -> JSONResponse:
        # Only same-origin scripts may start work: a JSON content type cannot be sent cross-site
        # without a CORS preflight (which this server does not grant), and a foreign Origin is refused.
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
            return JSONResponse({"error": "cross-origin requests may not start comparisons"}, status_code=403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send the request as application/json"}, status_code=415)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_BODY:
                return JSONResponse({"error": f"request body over {_MAX_BODY} bytes"}, status_code=413)
        try:
            job = await run_in_threadpool(jobs.submit, json.loads(body or b"null"))
        except json.JSONDecodeError as e:
            return JSONResponse({"error": f"the body is not JSON: {e}"}, status_code=400)
        except JobError as e:
            return JSONResponse({"error": str(e)}, status_code=e.status)
        return JSONResponse(job, status_code=202, headers={"location": f"/api/compare/{job['id']}"})

    async def compare_get(request: Request) -> JSONResponse:
        job = jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "no such comparison (finished ones are kept for a while)"}, status_code=404)
        return JSONResponse(job)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if o.self_check:
            check.start()
        yield
        stopping.set()
        await run_in_threadpool(jobs.close)

    routes = [
        Route("/", page), Route("/compare", page),
        Route("/livez", livez), Route("/readyz", readiness), Route("/health", readiness),
        Route("/metrics", prometheus),
        Route("/api/status", api_status), Route("/api/calls", api_calls),
        Route("/api/devices", api_devices), Route("/api/events", events),
        Route("/api/compare/options", compare_options), Route("/api/compare", compare_list),
        Route("/api/compare", compare_submit, methods=["POST"]), Route("/api/compare/{job_id}", compare_get),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(_Headers), Middleware(TrustedHostMiddleware, allowed_hosts=list(o.allowed_hosts))]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.check, app.state.jobs = check, jobs
    return app
