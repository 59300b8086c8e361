"""An HTTP API conversation's panel: its tokens, its push URLs and its recent push deliveries.

Settings live in the conversation's config under its type's name (see
:mod:`vumigo.apps.http_api.config`). A new token is shown on the response that made it and
never again: only its digest is stored, and it is never put in a flash message (those are
stored too). The conversation page loads the panel from ``/conversations/<key>/http_api/settings``,
which is also a page of its own for browsers without JavaScript.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from vumigo.apps.http_api import deliveries
from vumigo.apps.http_api.config import (
    STREAMING_TYPE,
    TYPES,
    ApiConfig,
    check_push_url,
    new_token,
    token_id,
)
from vumigo.apps.http_api.runtime import runtime_for
from vumigo.conversations import service
from vumigo.db.models import Conversation
from vumigo.errors import InvalidInput, NotFound, VumigoError
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

RECENT_DELIVERIES = 20
MAX_URL = 2000


async def api_conversation(session: AsyncSession, web: Web, key: str) -> Conversation:
    """The account's HTTP API conversation ``key``; NotFound for anything else."""
    conv = await service.get_conversation(session, web.account_key, key)
    if conv.conversation_type not in TYPES:
        raise NotFound(f"Conversation {key} is not an HTTP API conversation.")
    return conv


def section_of(conv: Conversation) -> dict[str, Any]:
    value = conv.config.get(conv.conversation_type)
    return dict(value) if isinstance(value, dict) else {}


async def _change(web: Web, key: str, change: Any) -> None:
    """Applies ``change(section) -> section`` to the conversation's HTTP API settings."""
    async with web.db.transaction() as session:
        conv = await api_conversation(session, web, key)
        config = {**conv.config, conv.conversation_type: change(section_of(conv))}
        await service.update_conversation(session, web.account_key, key, config=config)
    web.changed()


def _back(key: str) -> str:
    return f"/conversations/{key}/#http-api"


async def _panel(web: Web, key: str, status: int = 200, **extra: Any) -> Response:
    async with web.db.sessions() as session:
        conv = await api_conversation(session, web, key)
        recent = await deliveries.list_deliveries(session, conv.key, limit=RECENT_DELIVERIES)
        counts = await deliveries.status_counts(session, conv.key)
    config = ApiConfig.from_section(section_of(conv))
    context: dict[str, Any] = {
        "conv": conv,
        "api": config,
        "token_ids": [token_id(t) for t in config.api_tokens],
        "shown_urls": {
            "push_message_url": deliveries.redact(config.push_message_url or ""),
            "push_event_url": deliveries.redact(config.push_event_url or ""),
        },
        "streaming": conv.conversation_type == STREAMING_TYPE,
        "api_base": f"{str(web.request.base_url).rstrip('/')}/api/v1/go/"
        f"{conv.conversation_type}/{conv.key}",
        "deliveries": recent,
        "counts": counts,
        **extra,
    }
    if web.is_htmx and status == 200:
        return web.fragment("http_api/_panel.html", **context)
    return await web.page("http_api/settings.html", status=status, nav="conversations", **context)


@router.get("/conversations/{key}/http_api/settings")
async def settings(web: Page, key: str) -> Response:
    return await _panel(web, key)


@router.get("/conversations/{key}/http_api/deliveries")
async def recent_deliveries(web: Page, key: str) -> Response:
    """The deliveries table alone, for the panel's refresh button."""
    async with web.db.sessions() as session:
        conv = await api_conversation(session, web, key)
        recent = await deliveries.list_deliveries(session, conv.key, limit=RECENT_DELIVERIES)
        counts = await deliveries.status_counts(session, conv.key)
    if not web.is_htmx:
        return web.redirect(f"/conversations/{key}/http_api/settings")
    return web.fragment("http_api/_deliveries.html", conv=conv, deliveries=recent, counts=counts)


@router.post("/conversations/{key}/http_api/tokens")
async def create_token(web: Page, key: str) -> Response:
    secret, stored = new_token()

    def add(section: dict[str, Any]) -> dict[str, Any]:
        tokens = [t for t in section.get("api_tokens") or [] if isinstance(t, str)]
        return {**section, "api_tokens": [*tokens, stored]}

    await _change(web, key, add)
    # A full page even for htmx: the token must be seen, and this is the only time it can be.
    return await web.page(
        "http_api/token.html",
        nav="conversations",
        conv_key=key,
        new_token=secret,
        new_token_id=token_id(stored),
    )


@router.post("/conversations/{key}/http_api/tokens/{name}/revoke")
async def revoke_token(web: Page, key: str, name: str) -> Response:
    def remove(section: dict[str, Any]) -> dict[str, Any]:
        tokens = [t for t in section.get("api_tokens") or [] if isinstance(t, str)]
        kept = [t for t in tokens if token_id(t) != name]
        if len(kept) == len(tokens):
            raise NotFound(f"This conversation has no token {name}.")
        return {**section, "api_tokens": kept}

    await _change(web, key, remove)
    await web.flash("success", f"Token {name} revoked: requests using it are refused from now on.")
    return web.redirect(_back(key))


@router.post("/conversations/{key}/http_api/push-urls")
async def set_push_urls(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    labels = {"push_message_url": "message", "push_event_url": "event"}
    values = {
        name: forms.text(form, name, label=f"The push {label} URL", max_length=MAX_URL)
        for name, label in labels.items()
    }
    try:
        for name, url in values.items():
            problem = check_push_url(url) if url else None
            if problem is not None:
                raise InvalidInput(f"The push {labels[name]} URL can't be used: {problem}")

        def update(section: dict[str, Any]) -> dict[str, Any]:
            changed = dict(section)
            for name, url in values.items():
                stored = section.get(name)
                # The form shows a URL without its password; sent back as shown, it is kept.
                if not (isinstance(stored, str) and url and url == deliveries.redact(stored)):
                    changed[name] = url or None
            return changed

        await _change(web, key, update)
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        return await _panel(web, key, status=exc.status_code, error=str(exc), values=values)
    await web.flash("success", "Push URLs saved.")
    return web.redirect(_back(key))


@router.post("/conversations/{key}/http_api/deliveries/retry")
async def retry(web: Page, key: str) -> Response:
    async with web.db.transaction() as session:
        conv = await api_conversation(session, web, key)
        count = await deliveries.retry(session, conv.key)
    runtime_for(web.platform.engine).wake_pusher()
    await web.flash(
        "success", f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again."
    )
    return web.redirect(_back(key))
