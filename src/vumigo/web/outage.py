"""503 answers while the database or the broker cannot be reached.

A request that fails because PostgreSQL is down (or restarting), or because RabbitMQ stayed
away longer than a publish waits, is answered 503 with a ``Retry-After`` — a JSON reason for
the APIs, a short HTML page for a browser — rather than a 500: the client did nothing wrong and
the same request will work once the server is back. Any other error still ends as a 500.
"""

from __future__ import annotations

import html
import logging

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from vumigo.bus import BusUnavailable
from vumigo.db.availability import REASON, unavailable

log = logging.getLogger(__name__)

RETRY_AFTER = "5"  # seconds
BUS_REASON = "The service is unavailable for a moment (its message broker cannot be reached)."


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def answer(request: Request, reason: str) -> Response:
    headers = {"Retry-After": RETRY_AFTER}
    if _wants_page(request):
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>Unavailable</title><h1>Unavailable</h1><p>{html.escape(reason)}</p></html>"
        )
        return HTMLResponse(body, status_code=503, headers=headers)
    return JSONResponse({"success": False, "reason": reason}, status_code=503, headers=headers)


async def _database_error(request: Request, exc: Exception) -> Response:
    if not unavailable(exc):
        raise exc  # not an outage: the server error it is
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return answer(request, REASON)


async def _bus_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return answer(request, BUS_REASON)


def add_handlers(app: FastAPI) -> None:
    # What the database driver raises unwrapped (refused connections) and wrapped.
    for kind in (ConnectionError, SQLAlchemyError, *_driver_errors()):
        app.add_exception_handler(kind, _database_error)
    app.add_exception_handler(BusUnavailable, _bus_unavailable)


def _driver_errors() -> tuple[type[Exception], ...]:
    try:
        from asyncpg import PostgresError  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover
        return ()
    found: tuple[type[Exception], ...] = (PostgresError,)
    return found
