"""Who may see the operator pages (/admin/), and the helpers those pages share.

Only users with ``is_admin`` see them. Anyone else who is signed in gets the same 404 page as
for an address that does not exist, for every method, before the CSRF check or any handler
runs, so nothing tells them the operator pages are there. Signed-out visitors are sent to the
sign-in page as everywhere else.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from vumigo.errors import InvalidInput, NotFound, VumigoError
from vumigo.runtime import Platform
from vumigo.web import sessions
from vumigo.web.context import Page, Web, require_user
from vumigo.web.forms import PageOf
from vumigo.web.uiroute import UIRoute

T = TypeVar("T")
NO_PAGE = "There is no page at this address."
PER_PAGE = 25


async def _no_page(web: Page) -> Response:
    raise NotFound(NO_PAGE)


# What a non-operator is answered with: a GET of a page that does not exist, rendered by the UI's
# own route (so the error page, its headers and its session handling are the usual ones).
_hidden = UIRoute("/admin/", _no_page, methods=["GET"]).get_route_handler()


class OperatorRoute(UIRoute):
    """A UIRoute that first looks at who is signed in and hands non-operators the 404.

    It reads the session itself, ahead of ``UIRoute`` (which reads it again: one more indexed
    read per operator page), because ``UIRoute`` checks the CSRF token before any handler or
    dependency runs, and a refused token must not be what tells a non-operator a page exists.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            platform: Platform = request.app.state.platform
            user = await sessions.load(platform.db, request.cookies.get(sessions.COOKIE))
            if user is not None and not user.is_admin:
                as_get = Request({**request.scope, "method": "GET"}, request.receive)
                return await _hidden(as_get)
            return await handler(request)

        return run


def require_operator(request: Request) -> Web:
    web = require_user(request)
    if not web.me.is_admin:  # OperatorRoute answered already; this guards any other mounting
        raise NotFound(NO_PAGE)
    return web


Operator = Annotated[Web, Depends(require_operator)]


def operator_router() -> APIRouter:
    return APIRouter(route_class=OperatorRoute, include_in_schema=False)


@asynccontextmanager
async def as_bad_input() -> AsyncIterator[None]:
    """Any refusal from the services, for what a form asked (a taken e-mail address, an unknown
    account key typed in a field, a pool already there), becomes a 400 with its message."""
    try:
        yield
    except VumigoError as exc:
        raise InvalidInput(sentence(str(exc))) from exc


def sentence(text: str) -> str:
    """The services' messages start in lower case (they also end up in CLI output)."""
    return text[:1].upper() + text[1:] if text else text


Fetch = Callable[[int, int], Awaitable[tuple[Sequence[T], int]]]


async def db_page(fetch: Fetch[T], number: int, per_page: int = PER_PAGE) -> PageOf[T]:
    """Page ``number`` of what ``fetch(offset, limit)`` reads with LIMIT and OFFSET; a page past
    the end shows the last one (one more query, only then)."""
    items, total = await fetch((number - 1) * per_page, per_page)
    count = max(1, math.ceil(total / per_page))
    if number > count:
        number = count
        items, total = await fetch((number - 1) * per_page, per_page)
    return PageOf(items, number, count, total)
