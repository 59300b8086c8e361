"""HTTP Basic authentication of the HTTP API: account key as user, a conversation token as
password, for a conversation of that account and of the type the path names.

Every failure is the same 401 with the original's realm, so that a caller cannot tell an
unknown conversation from someone else's or from a wrong token.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

from vumigo.apps.http_api.config import ApiConfig
from vumigo.apps.http_api.errors import ApiError
from vumigo.dispatcher.lookups import AppInfo

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

REALM = "Conversation Realm"
CHALLENGE = {"WWW-Authenticate": f'Basic realm="{REALM}"'}
MAX_HEADER = 1024
# Keys are uuid4 hex; anything outside this is refused before it reaches a query.
_KEY = re.compile(r"[0-9A-Za-z_-]{1,64}")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", CHALLENGE)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic ...`` value, or None."""
    if not header or len(header) > MAX_HEADER:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # bad base64, or not UTF-8
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


async def authenticate(
    engine: Engine, conversation_type: str, conversation_key: str, header: str | None
) -> AppInfo:
    """The conversation the request may use; raises a 401 ApiError otherwise."""
    credentials = basic_credentials(header)
    if credentials is None:
        raise unauthorized()
    account_key, token = credentials
    if not (_KEY.fullmatch(conversation_key) and _KEY.fullmatch(account_key)):
        raise unauthorized()
    conversation = await engine.lookups.conversation(conversation_key)
    if (
        conversation is None
        or conversation.archived
        or conversation.account_key != account_key
        or conversation.app_type != conversation_type
        or not ApiConfig.of(conversation).accepts(token)
    ):
        raise unauthorized()
    return conversation
