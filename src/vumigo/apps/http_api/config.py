"""A conversation's HTTP API settings, and its API tokens (kept as SHA-256 digests only).

The settings live where the original kept them, in the conversation's config under the
conversation type's name (``config["http_api"]`` or ``config["http_api_nostream"]``), so the UI
and the CLI edit one JSON object. Tokens are stored there too, as ``"sha256:<hex>"`` digests:
authentication then needs no query beyond the (cached) conversation look-up, and the tokens go
when the conversation goes. A token is random (256 bits), so a fast digest is enough; it is
shown once, when made, and can't be recovered from what is stored.

Config is written by people, so reading it is forgiving: a value of the wrong type counts as
unset rather than breaking the conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vumigo.dispatcher.lookups import AppInfo

TYPES = ("http_api", "http_api_nostream")
STREAMING_TYPE = "http_api"
DEFAULT_METRIC_STORE = "default"
DIGEST_PREFIX = "sha256:"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 256
# A store is part of a metric's name (go.campaigns.<account>.stores.<store>.<name>).
METRIC_STORE = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def digest(token: str) -> str:
    return DIGEST_PREFIX + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> tuple[str, str]:
    """A new token and the digest to store for it."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, digest(token)


def token_id(stored_digest: str) -> str:
    """A short name for a stored token, to list and remove it by (the token itself is gone)."""
    return stored_digest.removeprefix(DIGEST_PREFIX)[:12]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _store(value: Any) -> str:
    if isinstance(value, str) and METRIC_STORE.fullmatch(value):
        return value
    return DEFAULT_METRIC_STORE


@dataclass(frozen=True, slots=True)
class ApiConfig:
    api_tokens: tuple[str, ...] = ()
    push_message_url: str | None = None
    push_event_url: str | None = None
    ignore_messages: bool = False
    ignore_events: bool = False
    metric_store: str = DEFAULT_METRIC_STORE
    content_length_limit: int | None = None

    @classmethod
    def from_section(cls, section: Any) -> ApiConfig:
        if not isinstance(section, dict):
            return cls()
        tokens = section.get("api_tokens")
        limit = section.get("content_length_limit")
        return cls(
            api_tokens=tuple(
                t for t in tokens if isinstance(t, str) and t.startswith(DIGEST_PREFIX)
            )
            if isinstance(tokens, list)
            else (),
            push_message_url=_text(section.get("push_message_url")),
            push_event_url=_text(section.get("push_event_url")),
            ignore_messages=section.get("ignore_messages") is True,
            ignore_events=section.get("ignore_events") is True,
            metric_store=_store(section.get("metric_store")),
            # bool is an int in Python; a checkbox value is not a limit.
            content_length_limit=limit
            if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0
            else None,
        )

    @classmethod
    def of(cls, conversation: AppInfo) -> ApiConfig:
        return cls.from_section(conversation.config.get(conversation.app_type))

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is one of this conversation's tokens (in constant time per token)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return False
        candidate = digest(token)
        found = False
        for stored in self.api_tokens:
            found |= hmac.compare_digest(candidate, stored)
        return found


def check_push_url(url: str) -> str | None:
    """Why ``url`` can't be a push URL, or None. Where it points is checked at connection time."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        return f"invalid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "push URLs must be http:// or https://"
    if not parts.hostname:
        return "push URLs need a host"
    return None
