"""The dialogue editor: a survey's questions and where each answer leads, as a form.

The form shows every state as a card and every exit (a choice, or "then") as a "goes to"
select; ``vumigo.web.dialogue_form`` turns it back into poll JSON, and
``vumigo.apps.dialogue.editing.save_poll`` checks it (``parse_poll``) and stores it, exactly as
the CLI and JSON-RPC do. The same page offers the poll as JSON, for what the form does not
cover. A poll that cannot run is not saved: the editor comes back with a 400, the reason, and
what was typed.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from vumigo.apps.dialogue.editing import get_poll, save_poll
from vumigo.contacts import DELIVERY_CLASSES
from vumigo.conversations import service as csvc
from vumigo.db.models import Conversation
from vumigo.errors import VumigoError
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.dialogue_form import (
    NEW_STATE,
    TYPE_LABELS,
    endpoints_of,
    group_keys,
    poll_from_form,
    view,
)
from vumigo.web.panels import conversation_of, group_choices, merged_endpoints, read_group_keys
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

TYPE = "dialogue"
MAX_JSON = 500_000


async def _editor(
    web: Web,
    session: AsyncSession,
    conv: Conversation,
    poll: Any,
    *,
    status: int = 200,
    error: str = "",
    json_text: str | None = None,
    json_error: str = "",
) -> Response:
    return await web.page(
        "dialogue/edit.html",
        status=status,
        nav="conversations",
        conv=conv,
        poll=view(poll),
        types=TYPE_LABELS,
        addable=[(kind, TYPE_LABELS[kind]) for kind in NEW_STATE],
        groups=await group_choices(session, web.account_key),
        delivery_classes=sorted(DELIVERY_CLASSES),
        json_text=json_text if json_text is not None else json.dumps(poll, indent=2),
        error=error,
        json_error=json_error,
    )


async def _store(
    session: AsyncSession, account_key: str, conv: Conversation, poll: dict[str, Any]
) -> None:
    """Checks and saves the poll, and gives the conversation the endpoints its sends use."""
    await read_group_keys(session, account_key, group_keys(poll))
    before = endpoints_of(conv.config.get("poll") or {})
    await save_poll(session, account_key, conv.key, poll)
    endpoints = merged_endpoints(conv.extra_endpoints, before, endpoints_of(poll))
    if endpoints != conv.extra_endpoints:
        await csvc.update_conversation(session, account_key, conv.key, extra_endpoints=endpoints)


@router.get("/conversations/{key}/dialogue/editor")
async def editor(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        conv = await conversation_of(session, web.account_key, key, TYPE)
        poll = await get_poll(session, web.account_key, key)
        return await _editor(web, session, conv, poll)


@router.post("/conversations/{key}/dialogue/editor")
async def save(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    poll: Any = None
    try:
        async with web.db.transaction() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
            poll = poll_from_form(form, await get_poll(session, web.account_key, key))
            await _store(session, web.account_key, conv, poll)
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        async with web.db.sessions() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
            shown = poll if poll is not None else await get_poll(session, web.account_key, key)
            message = f"The dialogue was not saved: {exc}"
            return await _editor(web, session, conv, shown, status=exc.status_code, error=message)
    web.changed()
    added = forms.text(form, "add", max_length=16)
    if added:
        await web.flash("success", f"Added “{TYPE_LABELS[added]}” at the end; edit it below.")
        return web.redirect(
            f"/conversations/{key}/dialogue/editor#state-{poll['states'][-1]['uuid']}"
        )
    await web.flash("success", "Dialogue saved.")
    return web.redirect(f"/conversations/{key}/dialogue/editor")


@router.post("/conversations/{key}/dialogue/json")
async def save_json(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    text = forms.text(form, "poll", label="Poll", max_length=MAX_JSON, strip=False)
    try:
        async with web.db.transaction() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
            poll = forms.json_object(text, "poll")
            await _store(session, web.account_key, conv, poll)
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        async with web.db.sessions() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
            saved = await get_poll(session, web.account_key, key)
            return await _editor(
                web,
                session,
                conv,
                saved,
                status=exc.status_code,
                json_text=text,
                json_error=f"The JSON was not saved: {exc}",
            )
    web.changed()
    await web.flash("success", "Dialogue saved from its JSON.")
    return web.redirect(f"/conversations/{key}/dialogue/editor")
