"""Operators' metrics in Prometheus' text format at ``/metrics``.

- ``vumigo_messages_total{direction,transport}``: user messages put on the bus from
  transports (inbound) and to them (outbound); ``vumigo_events_total{transport}`` likewise.
  Counted where this process publishes, so with several processes Prometheus adds them up.
- ``vumigo_queue_depth{queue}``: messages waiting on each bus queue this process uses.
- ``vumigo_push_backlog{state}``: HTTP API push deliveries pending, and those already due.
- ``vumigo_sandbox_*``: pools, processes, runs in flight, and run times by outcome, for the
  sandbox managers handed to ``watch_sandbox``.
- ``vumigo_http_request_duration_seconds{method,route,status}``: time to the response
  headers (so a stream counts until it starts), labelled by route template, never raw path.
- ``vumigo_metrics_rollup_lag_seconds``: how far the rollup job is behind the clock.

Each engine has its own registry, so several platforms in one process (tests) never mix.
Gauges that need I/O (queue depths, backlog) are read when /metrics is asked for.
"""

from __future__ import annotations

import hmac
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vumigo.bus import queues as q
from vumigo.db.base import utcnow
from vumigo.db.models.http_api import PushDelivery
from vumigo.engine.core import Engine
from vumigo.metrics.aggregate import read_marks
from vumigo.metrics.config import metrics_settings
from vumigo.runtime import Platform
from vumigo.sandbox.manager import SandboxManager
from vumigo.sandbox.run import RunResult

_TRANSPORT = re.compile(rb'"transport_name":\s*"([^"\\]{0,100})"')
_OUTBOUND = re.compile(r"transport\.(.+)\.outbound")
CORE_QUEUES = (q.DISPATCHER_INBOUND, q.DISPATCHER_OUTBOUND, q.DISPATCHER_EVENT)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RUN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Instruments:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.messages = Counter(
            "vumigo_messages",
            "User messages published, by direction and transport.",
            ["direction", "transport"],
            registry=r,
        )
        self.events = Counter(
            "vumigo_events", "Transport events published.", ["transport"], registry=r
        )
        self.queue_depth = Gauge(
            "vumigo_queue_depth", "Messages waiting on a bus queue.", ["queue"], registry=r
        )
        self.push_backlog = Gauge(
            "vumigo_push_backlog",
            "HTTP API push deliveries pending (all, due now).",
            ["state"],
            registry=r,
        )
        self.sandbox_pools = Gauge("vumigo_sandbox_pools", "Live sandbox pools.", registry=r)
        self.sandbox_processes = Gauge(
            "vumigo_sandbox_processes", "Sandbox processes (idle, busy or starting).", registry=r
        )
        self.sandbox_active = Gauge(
            "vumigo_sandbox_active_runs", "Sandbox runs in progress.", registry=r
        )
        self.sandbox_runs = Histogram(
            "vumigo_sandbox_run_seconds",
            "Sandbox run times, by outcome.",
            ["outcome"],
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.http = Histogram(
            "vumigo_http_request_duration_seconds",
            "Time to the response headers.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rollup_lag = Gauge(
            "vumigo_metrics_rollup_lag_seconds", "Age of the newest rolled-up minute.", registry=r
        )
        self.sandboxes: weakref.WeakSet[SandboxManager] = weakref.WeakSet()

    def count_publish(self, queue: str, body: bytes) -> None:
        if queue == q.DISPATCHER_INBOUND or queue == q.DISPATCHER_EVENT:
            found = _TRANSPORT.search(body)
            transport = found.group(1).decode("utf-8", "replace") if found else ""
            if queue == q.DISPATCHER_INBOUND:
                self.messages.labels("inbound", transport).inc()
            else:
                self.events.labels(transport).inc()
            return
        outbound = _OUTBOUND.fullmatch(queue)
        if outbound is not None:
            self.messages.labels("outbound", outbound.group(1)).inc()

    def observe_run(self, result: RunResult) -> None:
        self.sandbox_runs.labels(str(result.outcome.value)).observe(result.elapsed)


_instruments: weakref.WeakKeyDictionary[Engine, Instruments] = weakref.WeakKeyDictionary()


def instruments_for(engine: Engine) -> Instruments:
    found = _instruments.get(engine)
    if found is None:
        found = _instruments[engine] = Instruments()
        _count_bus(engine, found)
    return found


def _count_bus(engine: Engine, instruments: Instruments) -> None:
    """Counts every publish of the engine's bus (wrapping the bus object's method, so no
    sender has to know about metrics)."""
    bus = engine.bus
    publish: Callable[[str, bytes], Awaitable[None]] = bus.publish

    async def counted(queue: str, body: bytes) -> None:
        await publish(queue, body)
        instruments.count_publish(queue, body)

    setattr(bus, "publish", counted)  # noqa: B010  (mypy refuses assigning to a method)


def watch_sandbox(engine: Engine, manager: SandboxManager) -> None:
    """Reports a sandbox manager's pools and run times on the engine's /metrics."""
    instruments = instruments_for(engine)
    instruments.sandboxes.add(manager)
    run: Callable[..., Awaitable[RunResult]] = manager.run

    async def timed(*args: Any, **kwargs: Any) -> RunResult:
        result = await run(*args, **kwargs)
        instruments.observe_run(result)
        return result

    setattr(manager, "run", timed)  # noqa: B010


def _queue_names(platform: Platform) -> list[str]:
    bus: Any = platform.engine.bus
    known = set(getattr(bus, "queues", {})) | set(getattr(bus, "declared", {}))
    return sorted(known | set(CORE_QUEUES))


async def refresh(platform: Platform, instruments: Instruments) -> None:
    """Reads the gauges that need the bus or the database."""
    for name in _queue_names(platform):
        try:
            instruments.queue_depth.labels(name).set(await platform.engine.bus.depth(name))
        except Exception:  # a broker hiccup must not take /metrics down
            continue
    pending = PushDelivery.status == "pending"
    async with platform.db.sessions() as session:
        waiting = await session.scalar(select(func.count()).where(pending))
        due = await session.scalar(
            select(func.count()).where(pending, PushDelivery.next_attempt_at <= utcnow())
        )
        marks = await read_marks(session)
    instruments.push_backlog.labels("pending").set(waiting or 0)
    instruments.push_backlog.labels("due").set(due or 0)
    if marks.minutes:
        instruments.rollup_lag.set(max(0.0, time.time() - marks.minutes))
    # Read the managers' pool maps directly: ``manager.pool(key)`` would reorder their
    # least-recently-used lists and keep idle pools alive.
    pools = [
        pool
        for manager in list(instruments.sandboxes)
        for pool in list(getattr(manager, "_pools", {}).values())
    ]
    instruments.sandbox_pools.set(len(pools))
    instruments.sandbox_processes.set(sum(pool.size for pool in pools))
    instruments.sandbox_active.set(sum(pool.busy for pool in pools))


class Timing:
    """ASGI middleware timing every HTTP request to its response headers."""

    def __init__(self, app: ASGIApp, instruments: Instruments) -> None:
        self.app = app
        self.instruments = instruments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        done = False

        def observe(status: int) -> None:
            nonlocal done
            if done:
                return
            done = True
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            self.instruments.http.labels(scope["method"], route, str(status)).observe(elapsed)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                observe(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            observe(500)


def install(app: FastAPI, platform: Platform) -> None:
    """Adds /metrics and the request timing to the app."""
    instruments = instruments_for(platform.engine)
    app.add_middleware(Timing, instruments=instruments)
    token = metrics_settings(platform.settings).prometheus_token

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if token and not hmac.compare_digest(given, f"Bearer {token}".encode()):
            return PlainTextResponse("Unauthorized\n", 401, {"WWW-Authenticate": "Bearer"})
        await refresh(platform, instruments)
        return Response(generate_latest(instruments.registry), media_type=CONTENT_TYPE_LATEST)
