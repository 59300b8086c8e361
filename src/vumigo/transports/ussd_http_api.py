"""HTTP face of the USSD-over-HTTP transport: the aggregator's callback URLs.

- ``POST /api/v1/transports/ussd_http/<pool>``: one step of a session (form fields, JSON or
  query parameters, names configurable per pool); answered ``text/plain`` ``CON ...``/``END ...``.
- ``POST /api/v1/transports/ussd_http/<pool>/end``: the aggregator reports that a session
  ended (the subscriber hung up, the network timed out); the app gets a ``close`` message.

In the distributed mode any web process serves them, whichever transports process runs the
transport (see ``vumigo.transports.ussd_http``). Both check the pool's shared secret or
basic-auth credentials (``ussd_http.secret``, ``ussd_http.username``/``password``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse

from vumigo.runtime import Platform
from vumigo.transports.options import OptionError, Options
from vumigo.transports.ussd_http import PREFIX, UssdHttpSettings, UssdHttpTransport
from vumigo.transports.webhooks import pool_settings, pool_transport, read_fields, require_auth

MAX_FIELD = 1024


def install(app: FastAPI, platform: Platform) -> None:
    router = APIRouter(prefix="/api/v1/transports/ussd_http", tags=["transports"])

    async def _transport(pool: str) -> tuple[UssdHttpTransport, Options]:
        if not platform.engine.distributed:
            return await pool_transport(platform, pool, UssdHttpTransport, PREFIX)
        # The transport runs in some transports process; requests and replies meet in the
        # database, so a stand-in here (not started: it sweeps nothing) takes the request.
        meta, options = await pool_settings(
            platform, pool, UssdHttpTransport.transport_type, PREFIX
        )
        name = str(meta["transport_name"])
        return UssdHttpTransport(platform.engine, name, {pool: meta}), options

    async def prepare(
        pool: str, request: Request
    ) -> tuple[UssdHttpTransport, UssdHttpSettings, dict[str, str]]:
        transport, options = await _transport(pool)
        fields = await read_fields(request)
        require_auth(options, request, fields)
        try:
            settings = UssdHttpSettings.of(transport.pools.get(pool, {}))
        except OptionError as exc:
            raise HTTPException(500, f"The channel is misconfigured: {exc}") from None
        return transport, settings, fields

    def field(fields: dict[str, str], name: str, required: bool = True) -> str:
        value = fields.get(name, "")
        if required and not value:
            raise HTTPException(400, f"Missing field {name!r}")
        if len(value) > MAX_FIELD:
            raise HTTPException(400, f"Field {name!r} is too long")
        return value

    @router.post("/{pool}", response_class=PlainTextResponse)
    async def step(pool: str, request: Request) -> PlainTextResponse:
        transport, settings, fields = await prepare(pool, request)
        answer = await transport.handle(
            pool,
            session_id=field(fields, settings.session_field),
            service_code=field(fields, settings.service_code_field),
            msisdn=field(fields, settings.phone_field),
            text=field(fields, settings.text_field, required=False),
        )
        return PlainTextResponse(answer.body)

    @router.post("/{pool}/end", response_class=PlainTextResponse)
    async def end(pool: str, request: Request) -> PlainTextResponse:
        transport, settings, fields = await prepare(pool, request)
        closed = await transport.end_session(field(fields, settings.session_field))
        return PlainTextResponse("closed" if closed else "not open")

    app.include_router(router)
