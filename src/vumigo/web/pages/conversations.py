"""Conversations: list with filters, create (started at once, as the original did), show,
start / stop / archive, and the generic JSON config editor every type falls back to."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from vumigo.accounts.apps import CONVERSATION_TYPES, allowed_types
from vumigo.conversations import service
from vumigo.db.models import Conversation
from vumigo.errors import InvalidInput, VumigoError
from vumigo.routing.table import load_table
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.routing_view import links_of
from vumigo.web.stats import figures
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

PER_PAGE = 12
STATUS_FILTERS = ("", "running", "stopped", "archived")
# The original's filter names: a draft had never run, a finished one was archived.
STATUS_ALIASES = {"draft": "stopped", "finished": "archived"}


def _matches(conv: Conversation, query: str) -> bool:
    needle = query.casefold()
    return needle in conv.name.casefold() or needle in (conv.description or "").casefold()


@router.get("/conversations/")
async def conversation_list(
    web: Page,
    query: str = "",
    status: str = "",
    type: str = "",
    p: str | None = None,
) -> Response:
    status = forms.choice(STATUS_ALIASES.get(status, status), STATUS_FILTERS, "")
    kind = forms.choice(type, CONVERSATION_TYPES, "")
    async with web.db.sessions() as session:
        found = await service.list_conversations(
            session,
            web.account_key,
            conversation_type=kind or None,
            status=status if status in ("running", "stopped") else None,
            archived=status == "archived",
        )
    query = forms.query_text(query)
    if query:
        found = [conv for conv in found if _matches(conv, query)]
    page = forms.paginate(found, forms.positive_int(p), PER_PAGE)
    context: dict[str, Any] = {
        "nav": "conversations",
        "page": page,
        "types": CONVERSATION_TYPES,
        "filters": {"query": query, "status": status, "type": kind},
    }
    if web.is_htmx and web.request.headers.get("hx-target") == "conversation-results":
        return web.fragment("conversations/_results.html", **context)
    return await web.page("conversations/list.html", **context)


async def _permitted(web: Web) -> list[tuple[str, str]]:
    async with web.db.sessions() as session:
        allowed = await allowed_types(session, web.account_key)
    return sorted(
        ((name, app.display_name) for name, app in CONVERSATION_TYPES.items() if name in allowed),
        key=lambda item: item[1],
    )


@router.get("/conversations/new")
async def new_form(web: Page) -> Response:
    return await web.page(
        "conversations/new.html", nav="conversations", types=await _permitted(web), values={}
    )


@router.post("/conversations/new")
async def create(web: Page) -> Response:
    form = await forms.read_form(web.request)
    values = {
        "name": forms.text(form, "name", label="Name", required=False),
        "description": forms.text(form, "description", label="Description", max_length=2000),
        "conversation_type": forms.text(form, "conversation_type", label="Type", max_length=64),
    }
    try:
        if not values["name"]:
            raise InvalidInput("Give the conversation a name.")
        if not values["conversation_type"]:
            raise InvalidInput("Choose what kind of conversation this is.")
        async with web.db.transaction() as session:
            conv = await service.create_conversation(
                session,
                web.account_key,
                values["conversation_type"],
                values["name"],
                description=values["description"],
            )
            # The original started a new conversation straight away; so do we.
            await service.start_conversation(session, web.account_key, conv.key)
    except VumigoError as exc:
        return await web.page(
            "conversations/new.html",
            status=exc.status_code,
            nav="conversations",
            types=await _permitted(web),
            values=values,
            error=str(exc),
        )
    web.changed()
    await web.flash("success", f"Conversation “{conv.name}” created and started.")
    return web.redirect(f"/conversations/{conv.key}/")


async def _show(web: Web, key: str, status: int = 200, **extra: Any) -> Response:
    account = web.account_key
    async with web.db.sessions() as session:
        conv = await service.get_conversation(session, account, key)
        stats = await figures(session, "conversation", key, account, with_throughput=True)
        table = await load_table(session, account)
    connector = str(service.connector(conv))
    extra.setdefault("config_text", json.dumps(conv.config, indent=2, sort_keys=True))
    return await web.page(
        "conversations/show.html",
        status=status,
        nav="conversations",
        conv=conv,
        app=CONVERSATION_TYPES.get(conv.conversation_type),
        stats=stats,
        connector=connector,
        links=links_of(table, connector),
        **extra,
    )


@router.get("/conversations/{key}/")
async def show(web: Page, key: str) -> Response:
    return await _show(web, key)


@router.post("/conversations/{key}/edit")
async def edit(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    config_text = forms.text(form, "config", label="Config", max_length=200_000, strip=False)
    try:
        name = forms.text(form, "name", label="Name", required=True)
        description = forms.text(form, "description", label="Description", max_length=2000)
        endpoints = forms.name_list(forms.text(form, "endpoints", max_length=2000))
        config = forms.json_object(config_text)
        async with web.db.transaction() as session:
            await service.update_conversation(
                session,
                web.account_key,
                key,
                name=name,
                description=description,
                config=config,
                extra_endpoints=endpoints,
            )
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        return await _show(web, key, status=400, config_text=config_text, error=str(exc))
    web.changed()
    await web.flash("success", "Saved.")
    return web.redirect(f"/conversations/{key}/")


ACTIONS = {
    "start": (service.start_conversation, "Started."),
    "stop": (service.stop_conversation, "Stopped."),
    "archive": (service.archive_conversation, "Archived; its routing entries are removed."),
}


@router.post("/conversations/{key}/{action}")
async def lifecycle(web: Page, key: str, action: str) -> Response:
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}")
    run, done = ACTIONS[action]
    try:
        async with web.db.transaction() as session:
            await run(session, web.account_key, key)
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        await web.flash("error", str(exc))
    else:
        web.changed()
        await web.flash("success", done)
    return web.redirect(f"/conversations/{key}/")
