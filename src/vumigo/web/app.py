"""Builds the one ASGI app of a platform process and serves it with uvicorn."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vumigo import __version__
from vumigo.config import Settings
from vumigo.errors import VumigoError
from vumigo.runtime import Platform
from vumigo.web import outage

log = logging.getLogger(__name__)

Installer = Callable[[FastAPI, Platform], None]

# Each part of the web side (an API, a transport's webhooks, the UI) has an
# ``install(app, platform)`` function that adds its routes; this is the one list of them.
PARTS: tuple[str, ...] = (
    "vumigo.transports.dev_api:install",
    "vumigo.transports.ussd_http_api:install",
    "vumigo.transports.http_sms_api:install",
    "vumigo.api.contacts:install",
    "vumigo.api.optouts:install",
    "vumigo.api.http_api:install",
    "vumigo.api.rpc:install",
    "vumigo.api.metrics:install",
    "vumigo.metrics.prometheus:install",
    "vumigo.web.pages.dashboards:install",
    "vumigo.web.docs_site:install",
    "vumigo.web.ui:install",
)


def _installer(path: str) -> Installer:
    module_name, _, attr = path.partition(":")
    installer: Installer = getattr(importlib.import_module(module_name), attr or "install")
    return installer


def create_app(platform: Platform) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await platform.start()
        try:
            yield
        finally:
            await platform.stop()

    app = FastAPI(title="Vumi Go", version=__version__, lifespan=lifespan, docs_url=None)
    app.state.platform = platform

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(VumigoError)
    async def domain_error(_request: Request, exc: VumigoError) -> JSONResponse:
        return JSONResponse({"success": False, "reason": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        reason = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return JSONResponse({"success": False, "reason": reason}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"success": False, "reason": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    # The database or the broker away: 503, not 500.
    outage.add_handlers(app)

    for part in PARTS:
        _installer(part)(app, platform)
    return app


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Runs the platform and its web app in this process until interrupted."""
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    platform = Platform(settings, background_jobs=True)
    app = create_app(platform)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # Open streams (HTTP API GETs) never end by themselves; give them this long.
        timeout_graceful_shutdown=5,
    )
