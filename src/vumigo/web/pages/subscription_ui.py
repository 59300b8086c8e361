"""The subscription manager panel: the keywords that subscribe or unsubscribe people.

Each handler row is a one-word keyword, what it does (subscribe or unsubscribe), the campaign
it is about and the reply sent back. The rows replace ``config.handlers`` after the type's own
check (``SubscriptionApp.validate_config``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.responses import Response

from vumigo.apps.subscription import OPERATIONS
from vumigo.conversations import service as csvc
from vumigo.errors import InvalidInput, VumigoError
from vumigo.web import forms
from vumigo.web.context import Page
from vumigo.web.panels import checked_conversation_config, conversation_of, rows
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

TYPE = "subscription"
FIELDS = ("keyword", "operation", "campaign_name", "reply_copy")


def read_handlers(form: FormData) -> list[dict[str, str]]:
    """The handler rows, checked with messages that name the row."""
    handlers = []
    seen: set[str] = set()
    for number, row in enumerate(rows(form, "handler"), start=1):
        if row.get("remove"):
            continue
        handler = {name: row.get(name, "").strip() for name in FIELDS}
        if not any(handler[name] for name in ("keyword", "campaign_name", "reply_copy")):
            continue  # the blank row offered for adding
        keyword = handler["keyword"]
        if not keyword or len(keyword.split()) != 1:
            raise InvalidInput(f"Row {number}: the keyword must be one word.")
        if keyword.lower() in seen:
            raise InvalidInput(f"Row {number}: the keyword “{keyword}” is already used above.")
        seen.add(keyword.lower())
        if handler["operation"] not in OPERATIONS:
            raise InvalidInput(f"Row {number}: choose subscribe or unsubscribe.")
        if not handler["campaign_name"]:
            raise InvalidInput(f"Row {number}: name the campaign it is for.")
        handlers.append(handler)
    return handlers


def typed_rows(form: FormData) -> list[dict[str, str]]:
    """What was typed, to show again with an error (bad rows included)."""
    return [r for r in rows(form, "handler") if not r.get("remove")]


@router.get("/conversations/{key}/subscription/handlers")
async def editor(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        conv = await conversation_of(session, web.account_key, key, TYPE)
    handlers = [h for h in conv.config.get("handlers") or [] if isinstance(h, dict)]
    return await web.page(
        "subscription/edit.html", nav="conversations", conv=conv, handlers=handlers
    )


@router.post("/conversations/{key}/subscription/handlers")
async def save(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    typed: list[dict[str, Any]] = []
    try:
        typed = typed_rows(form)
        handlers = read_handlers(form)
        async with web.db.transaction() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
            config = checked_conversation_config(conv, {**conv.config, "handlers": handlers})
            await csvc.update_conversation(session, web.account_key, conv.key, config=config)
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        async with web.db.sessions() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
        return await web.page(
            "subscription/edit.html",
            status=exc.status_code,
            nav="conversations",
            conv=conv,
            handlers=typed,
            error=str(exc),
        )
    web.changed()
    await web.flash("success", f"Saved {len(handlers)} keyword{'' if len(handlers) == 1 else 's'}.")
    return web.redirect(f"/conversations/{key}/#subscription-panel")
