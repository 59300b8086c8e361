"""HTTP face of the generic HTTP SMS transport: the aggregator's webhooks.

- ``GET|POST /api/v1/transports/http_sms/<pool>/messages``: an inbound SMS. Field names are the
  pool's ``http_sms.inbound.from``/``to``/``content``/``id`` (default ``from``, ``to``,
  ``content``, ``id``); answered ``{"message_id": ...}`` once it is stored.
- ``GET|POST /api/v1/transports/http_sms/<pool>/status``: a status callback, with
  ``http_sms.status.id`` (default ``id``: the aggregator's id for our message, or ours) and
  ``http_sms.status.status`` (default ``status``); the word is mapped to delivered, failed or
  pending (``http_sms.status.map`` adds words). An id we do not know is answered 200 as well,
  with ``"matched": false``: asking again would not help.

Both check the pool's shared secret or basic-auth credentials (``http_sms.secret``,
``http_sms.username``/``password``). They write to the database only, so they also work in a
web process that does not run the transport.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from vumigo.runtime import Platform
from vumigo.transports.addresses import find_tag
from vumigo.transports.correlation import DbCorrelationStore
from vumigo.transports.http_sms import PREFIX, HttpSmsTransport, receive_message, receive_status
from vumigo.transports.options import Options
from vumigo.transports.webhooks import pool_settings, read_fields, require_auth

MAX_ADDRESS = 64
MAX_CONTENT = 10_000


def _field(fields: dict[str, str], name: str, limit: int, required: bool = True) -> str:
    value = fields.get(name, "")
    if required and not value:
        raise HTTPException(400, f"Missing field {name!r}")
    if len(value) > limit:
        raise HTTPException(400, f"Field {name!r} is too long")
    return value


def install(app: FastAPI, platform: Platform) -> None:
    router = APIRouter(prefix="/api/v1/transports/http_sms", tags=["transports"])

    async def prepare(pool: str, request: Request) -> tuple[str, Options, dict[str, str]]:
        meta, options = await pool_settings(platform, pool, HttpSmsTransport.transport_type, PREFIX)
        fields = await read_fields(request)
        require_auth(options, request, fields)
        return str(meta["transport_name"]), options, fields

    def ids(name: str, pool: str) -> DbCorrelationStore:
        # The running transport's store also knows the ids it has not written yet.
        transport = platform.engine.transports.transports.get(name)
        if isinstance(transport, HttpSmsTransport):
            return transport.ids(pool)
        return DbCorrelationStore(platform.db, name, pool)

    async def inbound(pool: str, request: Request) -> JSONResponse:
        name, options, fields = await prepare(pool, request)
        names = {
            key: options.get_str(f"inbound.{key}", key) for key in ("from", "to", "content", "id")
        }
        to_addr = _field(fields, names["to"], MAX_ADDRESS)
        tag = await find_tag(platform.db, pool, to_addr) or to_addr
        message_id, fresh = await receive_message(
            platform.engine,
            name,
            pool,
            tag,
            _field(fields, names["from"], MAX_ADDRESS),
            _field(fields, names["content"], MAX_CONTENT, required=False),
            _field(fields, names["id"], 255, required=False),
        )
        body: dict[str, Any] = {"message_id": message_id, "duplicate": not fresh}
        return JSONResponse(body)

    async def status(pool: str, request: Request) -> JSONResponse:
        name, options, fields = await prepare(pool, request)
        carrier_id = _field(fields, options.get_str("status.id", "id"), 255)
        word = _field(fields, options.get_str("status.status", "status"), 64)
        matched = await receive_status(
            platform.engine, ids(name, pool), carrier_id, word, options.get_mapping("status.map")
        )
        return JSONResponse({"matched": matched})

    # Aggregators call back with either method; each gets its own OpenAPI operation.
    for path, endpoint in (("/{pool}/messages", inbound), ("/{pool}/status", status)):
        for method in ("GET", "POST"):
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                operation_id=f"http_sms_{endpoint.__name__}_{method.lower()}",
            )
    app.include_router(router)
