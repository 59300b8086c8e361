"""The route class every UI page is mounted with: session, CSRF and HTML errors in one place.

Before a handler runs, ``UIRoute`` loads the signed-in session (if any) and, for any method that
can change state, checks the CSRF token. Whatever the handler raises that a person should see
(an unknown or foreign key, a refused action, a bad form) becomes an HTML error page with the
right status, never a 500 or a JSON body. The app's own exception handlers stay as they are for
the APIs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from vumigo.errors import VumigoError
from vumigo.runtime import Platform
from vumigo.web import csrf, sessions
from vumigo.web.context import SignInRequired, Web, sign_in_url

log = logging.getLogger(__name__)

TITLES = {
    400: "That didn't work",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "That can't be done now",
}


# Scripts only from our own files (no inline handlers); Pico's icons are data: URIs and htmx
# adds one small style element, hence those two allowances.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


async def prepare(request: Request) -> Web:
    """Builds the request's ``Web``: the platform, the session, the pre-sign-in CSRF token."""
    platform: Platform = request.app.state.platform
    user = await sessions.load(platform.db, request.cookies.get(sessions.COOKIE))
    anon = request.cookies.get(csrf.ANON_COOKIE, "")
    is_new = not (0 < len(anon) <= 128)
    web = Web(request, platform, user, csrf.new_token() if is_new else anon, is_new)
    request.state.web = web
    return web


async def error_page(web: Web, status: int, message: str) -> Response:
    title = TITLES.get(status, "Something went wrong")
    if web.is_htmx:
        # htmx ignores error responses by default; the page script shows this text instead.
        return web.fragment("_error.html", status=status, title=title, message=message)
    return await web.page("error.html", status=status, title=title, message=message)


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "The request was not valid."
    first = errors[0]
    where = " ".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))


def _finish(web: Web, response: Response) -> Response:
    if web.anon_csrf_is_new and web.user is None:
        response.set_cookie(
            csrf.ANON_COOKIE,
            web.anon_csrf,
            **sessions.cookie_options(web.settings),  # type: ignore[arg-type]
        )
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CSP)
    return response


class UIRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            web = await prepare(request)
            try:
                if "\x00" in request.url.path or "\x00" in str(request.query_params):
                    # PostgreSQL refuses NUL in text; refuse it here, for every page at once.
                    raise VumigoError("The address contains a NUL character.")
                if request.method not in csrf.SAFE_METHODS:
                    await csrf.verify(request, web.csrf_token)
                response = await handler(request)
            except SignInRequired:
                query = request.url.query
                target = sign_in_url(request.url.path + (f"?{query}" if query else ""))
                if web.is_htmx:
                    response = Response(status_code=204, headers={"HX-Redirect": target})
                elif request.method in csrf.SAFE_METHODS:
                    response = Response(status_code=303, headers={"Location": target})
                else:
                    response = await error_page(web, 403, "Please sign in again.")
            except csrf.CsrfFailed:
                response = await error_page(
                    web, 403, "This form has expired. Go back, reload the page and try again."
                )
            except VumigoError as exc:
                response = await error_page(web, exc.status_code, str(exc))
            except StarletteHTTPException as exc:
                response = await error_page(web, exc.status_code, str(exc.detail))
            except RequestValidationError as exc:
                response = await error_page(web, 400, _validation_message(exc))
            return _finish(web, response)

        return run
