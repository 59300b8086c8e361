"""The HTTP API's web face: send, reply and fire metrics by PUT; stream by GET.

- ``PUT /api/v1/go/{http_api,http_api_nostream}/<conv>/messages.json``: send or reply.
- ``PUT .../<conv>/metrics.json``: fire metrics.
- ``GET /api/v1/go/http_api/<conv>/{messages,events}.json``: the endless NDJSON streams.

Every answer is JSON with ``charset=utf-8``, errors as ``{"success": false, "reason": ...}``
with the original's texts. A request is checked in the original's order: credentials (401),
then the account's open-request limit (403), then the body.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from vumigo.apps.http_api.auth import authenticate
from vumigo.apps.http_api.config import STREAMING_TYPE, TYPES, ApiConfig
from vumigo.apps.http_api.errors import INVALID_MESSAGE, ApiError
from vumigo.apps.http_api.limiter import TooManyConnections
from vumigo.apps.http_api.metrics import parse_metrics, store_points
from vumigo.apps.http_api.openapi import (
    PUT_MESSAGE,
    PUT_MESSAGE_RESPONSES,
    PUT_METRICS,
    PUT_METRICS_RESPONSES,
    STREAM,
    STREAM_RESPONSES,
    add_security_scheme,
)
from vumigo.apps.http_api.runtime import HttpApiRuntime, runtime_for
from vumigo.apps.http_api.sending import build_message
from vumigo.apps.http_api.stream import StreamResponse
from vumigo.dispatcher.lookups import AppInfo
from vumigo.runtime import Platform

JSON_UTF8 = "application/json; charset=utf-8"
TOO_MANY = "Too many concurrent connections"


def json_response(body: str | dict[str, Any], status: int = 200, **headers: str) -> Response:
    content = body if isinstance(body, str) else json.dumps(body)
    return Response(content, status_code=status, media_type=JSON_UTF8, headers=headers or None)


def error_response(error: ApiError) -> Response:
    return json_response({"success": False, "reason": error.reason}, error.status, **error.headers)


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body, read no further than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"Payload too large: {declared} > {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"Payload too large: more than {limit} bytes")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # bad JSON or UTF-8; absurdly deep nesting
        raise ApiError(400, INVALID_MESSAGE) from None


class HttpApi:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    @property
    def runtime(self) -> HttpApiRuntime:
        # Looked up per request: the engine's runtime may be configured after install().
        return runtime_for(self.platform.engine)

    async def admit(self, request: Request, conversation_type: str, key: str) -> AppInfo:
        """Authenticates and takes one of the account's request slots (release when done)."""
        conversation = await authenticate(
            self.platform.engine, conversation_type, key, request.headers.get("authorization")
        )
        try:
            await self.runtime.limiter.enter(conversation.account_key)
        except TooManyConnections:
            raise ApiError(403, TOO_MANY) from None
        return conversation

    async def put_message(self, request: Request, conversation_type: str, key: str) -> Response:
        try:
            conversation = await self.admit(request, conversation_type, key)
        except ApiError as exc:
            return error_response(exc)
        try:
            payload = await read_json(request, self.runtime.settings.max_body_bytes)
            msg = await build_message(self.platform.engine, conversation, payload)
            # Stored before we answer: the 200 promises the message will go.
            await self.platform.engine.apps.send(conversation, [msg])
            return json_response(msg.to_json())
        except ApiError as exc:
            return error_response(exc)
        finally:
            await self.runtime.limiter.leave(conversation.account_key)

    async def put_metrics(self, request: Request, conversation_type: str, key: str) -> Response:
        try:
            conversation = await self.admit(request, conversation_type, key)
        except ApiError as exc:
            return error_response(exc)
        try:
            points = parse_metrics(await read_json(request, self.runtime.settings.max_body_bytes))
            store = ApiConfig.of(conversation).metric_store
            await store_points(self.platform.db, conversation.account_key, store, points)
            return json_response({"success": True, "reason": "Metrics published"})
        except ApiError as exc:
            return error_response(exc)
        finally:
            await self.runtime.limiter.leave(conversation.account_key)

    async def stream(self, request: Request, key: str, kind: str) -> Response:
        try:
            conversation = await self.admit(request, STREAMING_TYPE, key)
        except ApiError as exc:
            return error_response(exc)
        limiter = self.runtime.limiter

        async def on_close() -> None:
            await limiter.leave(conversation.account_key)

        return StreamResponse(self.runtime.hub, conversation.key, kind, on_close=on_close)


def install(app: FastAPI, platform: Platform) -> None:
    api = HttpApi(platform)
    for conversation_type in TYPES:
        router = APIRouter(prefix=f"/api/v1/go/{conversation_type}", tags=["HTTP API"])
        add_routes(router, api, conversation_type)
        app.include_router(router)
    add_security_scheme(app)


def add_routes(router: APIRouter, api: HttpApi, conversation_type: str) -> None:
    # One closure per type: the type is part of the path, not a parameter of it.
    suffix = "" if conversation_type == STREAMING_TYPE else " (push only)"

    @router.put(
        "/{conversation_key}/messages.json",
        summary=f"Send a message or a reply{suffix}",
        operation_id=f"{conversation_type}_send",
        responses=PUT_MESSAGE_RESPONSES,
        openapi_extra=PUT_MESSAGE,
        response_class=Response,
    )
    async def put_message(conversation_key: str, request: Request) -> Response:
        return await api.put_message(request, conversation_type, conversation_key)

    @router.put(
        "/{conversation_key}/metrics.json",
        summary=f"Fire metrics{suffix}",
        operation_id=f"{conversation_type}_metrics",
        responses=PUT_METRICS_RESPONSES,
        openapi_extra=PUT_METRICS,
        response_class=Response,
    )
    async def put_metrics(conversation_key: str, request: Request) -> Response:
        return await api.put_metrics(request, conversation_type, conversation_key)

    if conversation_type != STREAMING_TYPE:
        return

    @router.get(
        "/{conversation_key}/messages.json",
        summary="Stream inbound messages (NDJSON, endless)",
        operation_id="http_api_stream_messages",
        responses=STREAM_RESPONSES,
        openapi_extra=STREAM,
        response_class=Response,
    )
    async def stream_messages(conversation_key: str, request: Request) -> Response:
        return await api.stream(request, conversation_key, "message")

    @router.get(
        "/{conversation_key}/events.json",
        summary="Stream events of sent messages (NDJSON, endless)",
        operation_id="http_api_stream_events",
        responses=STREAM_RESPONSES,
        openapi_extra=STREAM,
        response_class=Response,
    )
    async def stream_events(conversation_key: str, request: Request) -> Response:
        return await api.stream(request, conversation_key, "event")
