"""Bearer-token authentication for the account REST APIs (contacts, groups, opt-outs, ...).

Clients such as go-http send ``Authorization: Bearer <account API token>``; the token maps to
one account (vumigo.accounts.tokens). Anything else — no header, another scheme, a malformed or
unknown token — is refused with ``Unauthorized`` (401) and a reason a person can act on.
"""

from __future__ import annotations

import re

from fastapi import Request

from vumigo.accounts.tokens import account_for_token
from vumigo.db.engine import Database
from vumigo.errors import VumigoError

# RFC 6750's b64token alphabet; our tokens are URL-safe base64, a subset of it.
_BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*) *", re.IGNORECASE)
MAX_HEADER = 1024
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="Vumi Go"'}


class Unauthorized(VumigoError):
    status_code = 401


def bearer_token(authorization: str | None) -> str:
    """The token in an Authorization header value; raises Unauthorized if there is none."""
    if not authorization or not authorization.strip():
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    match = _BEARER.fullmatch(authorization.strip())
    if len(authorization) > MAX_HEADER or match is None:
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    return match.group(1)


async def authenticate(db: Database, authorization: str | None) -> str:
    """The key of the account whose live API token is in the Authorization header value."""
    token = bearer_token(authorization)
    async with db.sessions() as session:
        account_key = await account_for_token(session, token)
    if account_key is None:
        raise Unauthorized("Invalid or revoked API token.")
    return account_key


async def bearer_account(request: Request) -> str:
    """A FastAPI dependency giving the caller's account key (401 via the app's error handler)."""
    db: Database = request.app.state.platform.db
    return await authenticate(db, request.headers.get("authorization"))
