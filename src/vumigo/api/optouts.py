"""The opt-outs REST API in go-optouts' shapes, for go-http's OptOutsApiClient.

``GET|PUT|DELETE /api/v1/go/optouts/<address_type>/<address>`` and ``GET .../optouts/count``,
with bearer (account API token) auth. go-http percent-encodes the path (``+27...`` arrives as
``%2B27...``); the server decodes it once. Replies are ``{"opt_out": {...}, "status": {"code",
"reason"}}``; errors are ``{"status": {"code", "reason"}}`` with go-optouts' texts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from vumigo.api.bearer import CHALLENGE, Unauthorized, authenticate
from vumigo.contacts import optouts as optout_service
from vumigo.contacts.fields import CREATED_AT_FORMAT
from vumigo.db.models.optouts import OptOut
from vumigo.errors import NotFound, VumigoError
from vumigo.runtime import Platform

PREFIX = "/api/v1/go/optouts"
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

Handler = Callable[[Request], Awaitable[Response]]


def status_body(code: int, reason: str) -> dict[str, Any]:
    return {"status": {"code": code, "reason": reason}}


def error_response(code: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(status_body(code, reason), code, headers=headers)


def handled(handler: Handler) -> Handler:
    """Turns the platform's errors into go-optouts error bodies."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except Unauthorized as exc:
            return error_response(401, str(exc), CHALLENGE)
        except VumigoError as exc:
            return error_response(exc.status_code, str(exc))

    return wrapper


def optout_json(optout: OptOut) -> dict[str, Any]:
    # Both record shapes go-optouts had: the memory backend's and the Riak (vumi-go) one's.
    return {
        "id": str(optout.id),
        "address_type": optout.address_type,
        "address": optout.address,
        "user_account": optout.account_key,
        "message": optout.message_id,
        "created_at": optout.created_at.strftime(CREATED_AT_FORMAT),
    }


def ok(optout: OptOut) -> Response:
    return JSONResponse({"opt_out": optout_json(optout), **status_body(200, "OK")})


def install(app: FastAPI, platform: Platform) -> None:
    """Adds the opt-outs API to the app."""
    router = APIRouter(prefix=PREFIX, tags=["opt-outs"])
    db = platform.db

    async def account_of(request: Request) -> str:
        return await authenticate(db, request.headers.get("authorization"))

    @router.get("/count", summary="How many addresses the account has opted out")
    @handled
    async def count(request: Request) -> Response:
        account = await account_of(request)
        async with db.sessions() as session:
            total = await optout_service.count_optouts(session, account)
        return JSONResponse({"opt_out_count": total, **status_body(200, "OK")})

    @router.get("/{address_type}/{address:path}", summary="Get an opt-out")
    @handled
    async def get_optout(request: Request) -> Response:
        account = await account_of(request)
        address_type, address = _address(request)
        async with db.sessions() as session:
            found = await optout_service.get_optout(session, account, address_type, address)
        if found is None:
            raise NotFound("Opt out not found.")
        return ok(found)

    @router.put("/{address_type}/{address:path}", summary="Opt an address out (409 if it is)")
    @handled
    async def put_optout(request: Request) -> Response:
        account = await account_of(request)
        address_type, address = _address(request)
        async with db.transaction() as session:
            created = await optout_service.set_optout(
                session, account, address_type, address, exist_ok=False
            )
        return ok(created)

    @router.delete("/{address_type}/{address:path}", summary="Remove an opt-out (returns it)")
    @handled
    async def delete_optout(request: Request) -> Response:
        account = await account_of(request)
        address_type, address = _address(request)
        async with db.transaction() as session:
            removed = await optout_service.delete_optout(session, account, address_type, address)
        if removed is None:
            raise NotFound("There's nothing to delete.")
        return ok(removed)

    real_routes = list(router.routes)

    @router.api_route("/{rest:path}", methods=METHODS, include_in_schema=False)
    async def not_routed(request: Request) -> Response:
        # Anything else under /optouts/ gets this API's error body, not the app's.
        probe = {**request.scope, "method": "GET"}
        allowed = sorted(
            method
            for route in real_routes
            if route.matches(probe)[0].name != "NONE"
            for method in getattr(route, "methods", ())
        )
        if allowed:
            return error_response(405, "Method Not Allowed", {"Allow": ", ".join(allowed)})
        return error_response(404, "Not Found")

    app.include_router(router)


def _address(request: Request) -> tuple[str, str]:
    address_type = str(request.path_params["address_type"])
    address = str(request.path_params["address"])
    optout_service.check_address(address_type, address)
    return address_type, address
