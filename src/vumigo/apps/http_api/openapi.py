"""The HTTP API's OpenAPI description: request and response shapes, and the Basic auth scheme.

The routes read their bodies themselves (to answer with the original's error texts), so
FastAPI cannot infer these shapes; they are written out here and attached to the routes.
Payload objects allow extra keys because the original ignores the ones it doesn't use.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

SECURITY_SCHEME = "conversationBasic"

ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["success", "reason"],
    "properties": {"success": {"type": "boolean", "const": False}, "reason": {"type": "string"}},
}

VUMI_MESSAGE: dict[str, Any] = {
    "type": "object",
    "description": "A Vumi user message (message_version 20110921).",
    "required": ["message_type", "message_id", "message_version", "timestamp"],
    "properties": {
        "message_type": {"type": "string", "const": "user_message"},
        "message_version": {"type": "string"},
        "message_id": {"type": "string"},
        "timestamp": {"type": "string"},
        "to_addr": {"type": ["string", "null"]},
        "from_addr": {"type": ["string", "null"]},
        "content": {"type": ["string", "null"]},
        "in_reply_to": {"type": ["string", "null"]},
        "session_event": {"type": ["string", "null"]},
        "transport_name": {"type": ["string", "null"]},
        "transport_type": {"type": ["string", "null"]},
        "helper_metadata": {"type": "object"},
        "routing_metadata": {"type": "object"},
        "transport_metadata": {"type": "object"},
    },
}

SEND_REQUEST: dict[str, Any] = {
    "type": "object",
    "description": (
        "A new message (to_addr and content) or, with in_reply_to set to the id of an inbound "
        "message of this conversation, a reply (content and session_event)."
    ),
    "properties": {
        "to_addr": {"type": "string", "minLength": 1, "maxLength": 255},
        "content": {"type": ["string", "null"]},
        "in_reply_to": {"type": ["string", "null"], "maxLength": 64},
        "session_event": {"enum": [None, "new", "resume", "close"]},
        "to_addr_type": {"type": ["string", "null"]},
        "helper_metadata": {
            "type": "object",
            "properties": {"load_balancer": {"type": "object"}},
        },
    },
}

METRICS_REQUEST: dict[str, Any] = {
    "type": "array",
    "description": "[[name, value, aggregator], ...]",
    "items": {
        "type": "array",
        "minItems": 3,
        "maxItems": 3,
        "prefixItems": [
            {"type": "string", "minLength": 1, "maxLength": 255},
            {"type": "number"},
            {"enum": ["sum", "avg", "max", "min", "last"]},
        ],
    },
}

SUCCESS: dict[str, Any] = {
    "type": "object",
    "required": ["success", "reason"],
    "properties": {"success": {"type": "boolean", "const": True}, "reason": {"type": "string"}},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    texts = {
        400: "Invalid input; the reason says what",
        401: "Missing or wrong credentials, or no such conversation for this account",
        403: "Too many concurrent connections",
        413: "Body too large",
    }
    return {status: _json(ERROR, texts[status]) for status in statuses}


SECURITY: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]

PUT_MESSAGE: dict[str, Any] = {
    "security": SECURITY,
    "requestBody": {"required": True, "content": {"application/json": {"schema": SEND_REQUEST}}},
}
PUT_MESSAGE_RESPONSES = {
    200: _json(VUMI_MESSAGE, "The message as stored and sent"),
    **_errors(400, 401, 403, 413),
}

PUT_METRICS: dict[str, Any] = {
    "security": SECURITY,
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": METRICS_REQUEST}},
    },
}
PUT_METRICS_RESPONSES = {200: _json(SUCCESS, "Metrics published"), **_errors(400, 401, 403, 413)}

STREAM: dict[str, Any] = {"security": SECURITY}
STREAM_RESPONSES = {
    200: _json(
        VUMI_MESSAGE,
        "An endless chunked stream of Vumi JSON, one message or event per line",
    ),
    **_errors(401, 403),
}


def add_security_scheme(app: FastAPI) -> None:
    """Adds the Basic scheme to the app's generated document (FastAPI only adds schemes it
    inferred from dependencies)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[SECURITY_SCHEME] = {
            "type": "http",
            "scheme": "basic",
            "description": "User: the account key. Password: a token of the conversation.",
        }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
