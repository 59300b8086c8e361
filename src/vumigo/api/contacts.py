"""The contacts and groups REST API, in go-contacts' shapes, for go-http's ContactsApiClient.

``/api/v1/go/contacts/`` and ``/api/v1/go/groups/`` with bearer (account API token) auth. Pages
are ``{"cursor": str|null, "data": [...]}`` (the last page's cursor is null, cursors are URL-safe
since go-http pastes them into URLs unencoded); ``stream=true`` gives NDJSON instead; errors are
``{"status_code": N, "reason": "..."}``. PUT changes only the fields sent (go-http uses it as a
PATCH). Handlers read the request themselves rather than through FastAPI's validation, so every
malformed input gets a 4xx in this API's own error shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import Match

from vumigo.api.bearer import CHALLENGE, Unauthorized, authenticate
from vumigo.contacts import groups as group_service
from vumigo.contacts import service
from vumigo.contacts.fields import CREATED_AT_FORMAT, normalise_address
from vumigo.db.models.contacts import ADDRESS_FIELDS, Contact, ContactGroup
from vumigo.errors import InvalidInput, VumigoError
from vumigo.runtime import Platform

PREFIX = "/api/v1/go"
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
STREAM_BATCH = 500
MAX_BODY = 256 * 1024
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,64}")
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

Handler = Callable[[Request], Awaitable[Response]]


class ApiError(VumigoError):
    """A failure with an explicit HTTP status (413, 405, ...)."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code


def error_response(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"status_code": status, "reason": reason}, status, headers=headers)


def handled(handler: Handler) -> Handler:
    """Turns the platform's errors into go-contacts error bodies."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except Unauthorized as exc:
            return error_response(401, str(exc), CHALLENGE)
        except VumigoError as exc:
            return error_response(exc.status_code, str(exc))

    return wrapper


async def read_json(request: Request) -> Any:
    """The request's JSON body, refusing oversized, empty or malformed bodies with a 4xx."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise ApiError(413, f"Request body too large (at most {MAX_BODY} bytes).")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, f"Request body too large (at most {MAX_BODY} bytes).")
    if not body.strip():
        raise InvalidInput("The request body must be a JSON object.")
    try:
        return json.loads(bytes(body))
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"Invalid JSON: {exc}") from None


def page_params(request: Request) -> tuple[str | None, int]:
    params = request.query_params
    cursor = params.get("cursor") or None
    if cursor is not None and not _CURSOR.fullmatch(cursor):
        raise InvalidInput(f"Invalid cursor: {cursor[:80]!r}")
    size = PAGE_SIZE
    if "max_results" in params:
        try:
            size = int(params["max_results"])
        except ValueError:
            raise InvalidInput("max_results must be an integer") from None
        if size < 1:
            raise InvalidInput("max_results must be a positive integer")
    return cursor, min(size, MAX_PAGE_SIZE)


def wants_stream(request: Request) -> bool:
    return request.query_params.get("stream", "").lower() == "true"


def contact_json(contact: Contact, groups: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": contact.key,
        "$VERSION": 2,
        "user_account": contact.account_key,
        "created_at": contact.created_at.strftime(CREATED_AT_FORMAT),
    }
    for name in ("name", "surname", "email_address", "dob", *ADDRESS_FIELDS):
        data[name] = getattr(contact, name)
    data["groups"] = groups
    data["extra"] = dict(contact.extra or {})
    data["subscription"] = dict(contact.subscription or {})
    return data


def group_json(group: ContactGroup) -> dict[str, Any]:
    return {
        "key": group.key,
        "$VERSION": None,
        "user_account": group.account_key,
        "created_at": group.created_at.strftime(CREATED_AT_FORMAT),
        "name": group.name,
        "query": group.query,
    }


async def contacts_json(session: AsyncSession, contacts: list[Contact]) -> list[dict[str, Any]]:
    memberships = await service.groups_of(session, [c.key for c in contacts])
    return [contact_json(c, memberships[c.key]) for c in contacts]


def page(items: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """A page from up to size+1 items: the extra one only says another page follows."""
    more = len(items) > size
    items = items[:size]
    return {"cursor": items[-1]["key"] if more and items else None, "data": items}


Lister = Callable[[AsyncSession, str | None, int], Awaitable[list[dict[str, Any]]]]


def ndjson(platform: Platform, lister: Lister) -> StreamingResponse:
    """Streams every item as one JSON line, fetching a batch at a time in its own session."""

    async def lines() -> AsyncIterator[bytes]:
        after: str | None = None
        async with platform.db.sessions() as session:
            while True:
                batch = await lister(session, after, STREAM_BATCH)
                for item in batch:
                    yield (json.dumps(item) + "\n").encode("utf-8")
                if len(batch) < STREAM_BATCH:
                    return
                after = batch[-1]["key"]

    return StreamingResponse(lines(), media_type="application/json; charset=utf-8")


def install(app: FastAPI, platform: Platform) -> None:
    """Adds the contacts and groups API to the app."""
    router = APIRouter(prefix=PREFIX, tags=["contacts"])
    db = platform.db

    async def account_of(request: Request) -> str:
        return await authenticate(db, request.headers.get("authorization"))

    @router.get("/contacts/", summary="List, look up (?query=field=value) or stream contacts")
    @handled
    async def list_contacts(request: Request) -> Response:
        account = await account_of(request)
        query = request.query_params.get("query")
        if wants_stream(request):
            if query is not None:
                raise InvalidInput("query parameter not supported")

            async def lister(s: AsyncSession, after: str | None, n: int) -> list[dict[str, Any]]:
                found = await service.list_contacts(s, account, after=after, limit=n)
                return await contacts_json(s, found)

            return ndjson(platform, lister)
        if query is not None:
            return await _lookup(account, query)
        cursor, size = page_params(request)
        async with db.sessions() as session:
            found = await service.list_contacts(session, account, after=cursor, limit=size + 1)
            return JSONResponse(page(await contacts_json(session, found), size))

    async def _lookup(account: str, query: str) -> Response:
        field, sep, value = query.partition("=")
        if not sep or not field or not value:
            raise InvalidInput("Query must be of the form 'field=value'")
        if field not in ADDRESS_FIELDS:
            allowed = ", ".join(sorted(ADDRESS_FIELDS))
            raise InvalidInput(f"Query field must be one of: [{allowed}]")
        async with db.sessions() as session:
            contact = await service.find_by_field(session, account, field, value)
            if contact is None:
                shown = normalise_address(field, value[:80])
                raise InvalidInput(f"Object 'Contact with {field} {shown}' not found.")
            return JSONResponse({"cursor": None, "data": await contacts_json(session, [contact])})

    @router.post("/contacts/", summary="Create a contact")
    @handled
    async def create_contact(request: Request) -> Response:
        account = await account_of(request)
        data = await read_json(request)
        async with db.transaction() as session:
            contact = await service.create_contact(session, account, _object(data, "contact"))
            return JSONResponse((await contacts_json(session, [contact]))[0])

    @router.get("/contacts/{key}", summary="Get a contact")
    @handled
    async def get_contact(request: Request) -> Response:
        account = await account_of(request)
        async with db.sessions() as session:
            contact = await service.get_contact(session, account, request.path_params["key"])
            return JSONResponse((await contacts_json(session, [contact]))[0])

    @router.put("/contacts/{key}", summary="Update some fields of a contact")
    @handled
    async def update_contact(request: Request) -> Response:
        account = await account_of(request)
        data = _object(await read_json(request), "contact")
        async with db.transaction() as session:
            key = request.path_params["key"]
            contact = await service.update_contact(session, account, key, data)
            return JSONResponse((await contacts_json(session, [contact]))[0])

    @router.delete("/contacts/{key}", summary="Delete a contact (returns it)")
    @handled
    async def delete_contact(request: Request) -> Response:
        account = await account_of(request)
        async with db.transaction() as session:
            contact = await service.get_contact(session, account, request.path_params["key"])
            shown = (await contacts_json(session, [contact]))[0]
            await service.delete_contact(session, account, contact.key)
            return JSONResponse(shown)

    @router.get("/groups/", summary="List or stream groups")
    @handled
    async def list_groups(request: Request) -> Response:
        account = await account_of(request)
        if "query" in request.query_params:
            raise InvalidInput("query parameter not supported")
        if wants_stream(request):

            async def lister(s: AsyncSession, after: str | None, n: int) -> list[dict[str, Any]]:
                found = await group_service.list_groups(s, account, after=after, limit=n)
                return [group_json(g) for g in found]

            return ndjson(platform, lister)
        cursor, size = page_params(request)
        async with db.sessions() as session:
            found = await group_service.list_groups(session, account, after=cursor, limit=size + 1)
            return JSONResponse(page([group_json(g) for g in found], size))

    @router.post("/groups/", summary="Create a group (a non-null query makes it smart)")
    @handled
    async def create_group(request: Request) -> Response:
        account = await account_of(request)
        data = group_service.clean_group_data(await read_json(request), creating=True)
        async with db.transaction() as session:
            group = await group_service.create_group(
                session, account, data["name"], data.get("query")
            )
            return JSONResponse(group_json(group))

    @router.get("/groups/{key}", summary="Get a group")
    @handled
    async def get_group(request: Request) -> Response:
        account = await account_of(request)
        async with db.sessions() as session:
            group = await group_service.get_group(session, account, request.path_params["key"])
            return JSONResponse(group_json(group))

    @router.put("/groups/{key}", summary="Update a group's name or query")
    @handled
    async def update_group(request: Request) -> Response:
        account = await account_of(request)
        data = await read_json(request)
        async with db.transaction() as session:
            key = request.path_params["key"]
            group = await group_service.update_group(session, account, key, data)
            return JSONResponse(group_json(group))

    @router.delete("/groups/{key}", summary="Delete a group (returns it; contacts stay)")
    @handled
    async def delete_group(request: Request) -> Response:
        account = await account_of(request)
        async with db.transaction() as session:
            group = await group_service.delete_group(session, account, request.path_params["key"])
            return JSONResponse(group_json(group))

    @router.get("/groups/{key}/contacts", summary="A group's contacts, static and smart")
    @handled
    async def group_contacts(request: Request) -> Response:
        account = await account_of(request)
        key = request.path_params["key"]
        async with db.sessions() as session:
            await group_service.get_group(session, account, key)
        if wants_stream(request):

            async def lister(s: AsyncSession, after: str | None, n: int) -> list[dict[str, Any]]:
                found = await group_service.group_contacts(s, account, key, after=after, limit=n)
                return await contacts_json(s, found)

            return ndjson(platform, lister)
        cursor, size = page_params(request)
        async with db.sessions() as session:
            found = await group_service.group_contacts(
                session, account, key, after=cursor, limit=size + 1
            )
            return JSONResponse(page(await contacts_json(session, found), size))

    real_routes = list(router.routes)

    # Last: anything else under these collections gets this API's 404/405 body, not the app's.
    @router.api_route("/contacts/{rest:path}", methods=METHODS, include_in_schema=False)
    @router.api_route("/groups/{rest:path}", methods=METHODS, include_in_schema=False)
    async def not_routed(request: Request) -> Response:
        allowed = sorted(
            method
            for route in real_routes
            if route.matches({**request.scope, "method": "GET"})[0] != Match.NONE
            for method in getattr(route, "methods", ())
        )
        if allowed:
            return error_response(405, "Method Not Allowed", {"Allow": ", ".join(allowed)})
        return error_response(404, "Not Found")

    app.include_router(router)


def _object(data: Any, kind: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"The {kind} data must be a JSON object.")
    return data
