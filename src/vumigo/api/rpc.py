"""The JSON-RPC account API at ``/api/v1/go/api/``, as go-http's AccountApiClient speaks it.

Requests are ``{"method", "params": [...], "jsonrpc": "2.0", "id"}``. Every reply is HTTP 200
with ``result`` and ``error`` both present (go-http reads ``error`` unconditionally, so a
success carries ``"error": null``); a failure's ``error`` is
``{"fault": "Fault", "faultCode": <int>, "faultString": <str>}``, as txjsonrpc sent it.

Who is calling: a bearer token of the account (the API's clients), ``Basic session_id:<session>``
(the original UI's way), or the UI's session cookie together with its CSRF header (the UI's own
scripts; the header is what keeps another site from calling with the cookie).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vumigo.accounts.tokens import account_for_token
from vumigo.api.rpc_methods import FAILURE, METHODS, Call, Fault
from vumigo.runtime import Platform
from vumigo.web import csrf, sessions

log = logging.getLogger(__name__)

PATH = "/api/v1/go/api/"
MAX_BODY = 1_000_000
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601


async def caller(request: Request, platform: Platform) -> str | None:
    """The account key the request acts for, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":
        async with platform.db.sessions() as session:
            return await account_for_token(session, credentials.strip())
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(credentials.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        signed_in = await sessions.load(platform.db, password) if user == "session_id" else None
        return signed_in.account_key if signed_in else None
    signed_in = await sessions.load(platform.db, request.cookies.get(sessions.COOKIE))
    if signed_in is None:
        return None
    try:
        await csrf.verify(request, signed_in.csrf_token)
    except csrf.CsrfFailed:
        return None
    return signed_in.account_key


def reply(request_id: Any, result: Any = None, fault: Fault | None = None) -> JSONResponse:
    error = None
    if fault is not None:
        error = {"fault": "Fault", "faultCode": fault.code, "faultString": fault.message}
    return JSONResponse({"jsonrpc": "2.0", "id": request_id, "result": result, "error": error})


async def dispatch(call: Call, body: Any) -> JSONResponse:
    if not isinstance(body, dict) or not isinstance(body.get("method"), str):
        return reply(None, fault=Fault(INVALID_REQUEST, "Invalid request: no method"))
    request_id = body.get("id")
    name = body["method"]
    params = body.get("params", [])
    if params is None:
        params = []
    if not isinstance(params, list):
        return reply(request_id, fault=Fault(INVALID_REQUEST, "params must be a list"))
    if name not in METHODS:
        return reply(request_id, fault=Fault(METHOD_NOT_FOUND, f"Unknown method {name!r}"))
    method, arity = METHODS[name]
    if len(params) != arity:
        message = (
            f"{name}() takes {arity} parameter{'s' if arity != 1 else ''} ({len(params)} given)"
        )
        return reply(request_id, fault=Fault(FAILURE, message))
    try:
        return reply(request_id, result=await method(call, *params))
    except Fault as fault:
        return reply(request_id, fault=fault)
    except Exception:  # the caller gets a fault, never a 500 page; the log keeps the detail
        log.exception("JSON-RPC %s failed", name)
        return reply(request_id, fault=Fault(FAILURE, f"{name} failed; see the server log"))


def install(app: FastAPI, platform: Platform) -> None:
    async def endpoint(request: Request) -> Response:
        account = await caller(request, platform)
        if account is None:
            return JSONResponse(
                {"success": False, "reason": "Authentication required: Authorization: Bearer"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return reply(None, fault=Fault(INVALID_REQUEST, "Request too large"))
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return reply(None, fault=Fault(PARSE_ERROR, "Parse error: the body is not JSON"))
        return await dispatch(Call(platform.db, account, platform.engine.lookups.forget), body)

    for path in (PATH, PATH.rstrip("/")):
        app.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)
