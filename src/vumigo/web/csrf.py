"""CSRF protection for every state-changing request of the UI.

A signed-in browser has a per-session token (kept with its session); forms carry it in a hidden
``csrf_token`` field and htmx and the page scripts send it as the ``X-CSRF-Token`` header. Before
sign-in (the sign-in and password-reset forms) there is no session, so a random token is set in
its own cookie and the form must echo it (the "double submit" pattern), which stops another site
from signing a browser in to an account of its choosing.

SameSite=Lax cookies already keep most cross-site POSTs from carrying a session; the token is
the second lock, and the one that also covers older browsers.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

FIELD = "csrf_token"
HEADER = "x-csrf-token"
ANON_COOKIE = "vumigo_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The largest form field a page takes: a JavaScript app's code (2 MiB), urlencoded (up to three
# times as long). The form is parsed here, once, so Starlette's 1 MiB default would refuse it
# before the page could check it; each page still checks its own fields' lengths.
MAX_FIELD = 8 * 1024 * 1024


class CsrfFailed(Exception):
    """The request carried no CSRF token, or the wrong one."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def submitted_token(request: Request) -> str:
    """The token a request presents: the header if there is one, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORM_TYPES:
        return ""
    # Starlette caches the parsed form on the request, so the page handler reads it again free.
    form = await request.form(max_part_size=MAX_FIELD)
    value = form.get(FIELD)
    return value if isinstance(value, str) else ""


async def verify(request: Request, expected: str) -> None:
    """Raises CsrfFailed unless the request presents ``expected``."""
    presented = await submitted_token(request)
    if not expected or not presented or not hmac.compare_digest(presented, expected):
        raise CsrfFailed("missing or wrong CSRF token")
