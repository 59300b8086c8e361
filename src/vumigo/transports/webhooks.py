"""What the transports' HTTP endpoints share: finding the pool's transport, reading a request's
fields whatever their encoding, and checking the caller's credentials.

Aggregators post form fields, JSON, or put everything in the query string; ``read_fields``
takes all three, the body winning over the query.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import HTTPException, Request

from vumigo.runtime import Platform
from vumigo.transports.base import Transport
from vumigo.transports.options import Options, check_webhook_auth

MAX_BODY = 64 * 1024

T = TypeVar("T", bound=Transport)


async def pool_settings(
    platform: Platform, pool: str, transport_type: str, prefix: str
) -> tuple[dict[str, Any], Options]:
    """The metadata and settings of ``pool``; 404 unless its transport is of this type."""
    meta = await platform.engine.lookups.pool_meta(pool)
    if (
        meta is None
        or meta.get("transport_type") != transport_type
        or not meta.get("transport_name")
    ):
        raise HTTPException(404, f"No {transport_type} channel {pool}")
    return meta, Options(meta, prefix)


async def pool_transport(
    platform: Platform, pool: str, kind: type[T], prefix: str
) -> tuple[T, Options]:
    """The running transport serving ``pool`` and the pool's settings; 404 if the pool is not
    of this kind, 503 if its transport does not run in this process."""
    meta, options = await pool_settings(platform, pool, kind.transport_type, prefix)
    transport = platform.engine.transports.transports.get(str(meta.get("transport_name")))
    if not isinstance(transport, kind):
        # In the embedded mode replies travel back on the request, in memory.
        raise HTTPException(503, f"The {kind.transport_type} transport is not running here")
    return transport, options


async def read_fields(request: Request) -> dict[str, str]:
    """The request's parameters: query string, then a form or JSON body on top."""
    fields = {k: v for k, v in request.query_params.items()}
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, "Request body too large")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, "Request body too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body:
        return fields
    if kind == "application/json" or (not kind and body[:1] in (b"{", b"[")):
        try:
            data: Any = json.loads(body)
        except ValueError:
            raise HTTPException(400, "Invalid JSON body") from None
        if not isinstance(data, dict):
            raise HTTPException(400, "Expected a JSON object")
        fields.update({k: _text(v) for k, v in data.items()})
    elif kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        fields.update({k: v for k, v in form.items() if isinstance(v, str)})
    return fields


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def require_auth(options: Options, request: Request, fields: dict[str, str]) -> None:
    if not check_webhook_auth(options, request.headers, fields):
        raise HTTPException(
            401, "Authentication required", headers={"WWW-Authenticate": 'Basic realm="vumigo"'}
        )
