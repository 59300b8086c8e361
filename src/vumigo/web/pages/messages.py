"""A conversation's messages: the paged list, one-off replies, and export."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response, StreamingResponse

from vumigo.apps.base import AppContext
from vumigo.conversations.service import get_conversation
from vumigo.db.models import MessageBatch, StoredEvent
from vumigo.errors import Conflict, InvalidInput, NotFound
from vumigo.message import UserMessage
from vumigo.store.batches import find_batch
from vumigo.store.messages import get_message
from vumigo.store.queries import list_messages
from vumigo.web import export, forms
from vumigo.web.context import Page
from vumigo.web.search import WINDOW, search_messages
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

PER_PAGE = 20
MAX_REPLY = 1600
DIRECTIONS = ("inbound", "outbound")


def delivery_status(events: list[dict[str, Any]]) -> str:
    """The original's wording: Sending, Accepted, or Rejected: <reason>; plus any report."""
    status = "Sending"
    report = ""
    for event in events:
        kind = event.get("event_type")
        if kind == "nack":
            status = f"Rejected: {event.get('nack_reason') or 'no reason given'}"
        elif kind == "ack" and not status.startswith("Rejected"):
            status = "Accepted"
        elif kind == "delivery_report":
            report = str(event.get("delivery_status") or "")
    return f"{status} ({report})" if report else status


def _shown(msg: dict[str, Any]) -> dict[str, Any]:
    go = (msg.get("helper_metadata") or {}).get("go") or {}
    if go.get("sensitive"):  # the original hid the content of sensitive messages
        msg = {**msg, "content": None, "sensitive": True}
    return msg


@router.get("/conversations/{key}/messages")
async def message_list(
    web: Page, key: str, direction: str = "inbound", before: str | None = None, q: str = ""
) -> Response:
    direction = forms.choice(direction, DIRECTIONS, "inbound")
    search = forms.query_text(q)
    cursor = forms.cursor(before)
    async with web.db.sessions() as session:
        conv = await get_conversation(session, web.account_key, key)
        batch = await find_batch(session, "conversation", key, web.account_key)
        messages: list[dict[str, Any]] = []
        next_before = None
        statuses: dict[str, str] = {}
        window_end = False
        if batch is not None and search:
            found = await search_messages(session, batch, direction, search, cursor, PER_PAGE)
            messages, next_before = found.messages, found.next_before
            window_end = found.searched_to is not None
        elif batch is not None:
            page = await list_messages(session, batch, direction, cursor, PER_PAGE)
            messages, next_before = page.messages, page.next_before
        if messages and direction == "outbound":
            ids = [m["message_id"] for m in messages]
            rows = await session.execute(
                select(StoredEvent.user_message_id, StoredEvent.payload)
                .where(StoredEvent.user_message_id.in_(ids))
                .order_by(StoredEvent.timestamp)
            )
            events: dict[str, list[dict[str, Any]]] = {}
            for message_id, payload in rows:
                events.setdefault(message_id, []).append(json.loads(payload))
            statuses = {mid: delivery_status(events.get(mid, [])) for mid in ids}
    context: dict[str, Any] = {
        "nav": "conversations",
        "conv": conv,
        "direction": direction,
        "messages": [_shown(m) for m in messages],
        "statuses": statuses,
        "next_before": next_before,
        "paged": cursor is not None,
        "window_end": window_end,
        "window": WINDOW,
        "filters": {"direction": direction, "q": search},
    }
    if web.is_htmx and web.request.headers.get("hx-target") == "message-results":
        return web.fragment("conversations/_messages.html", **context)
    return await web.page("conversations/messages.html", **context)


@router.post("/conversations/{key}/messages/reply")
async def reply(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    message_id = forms.text(form, "message_id", label="Message", required=True, max_length=64)
    content = forms.text(form, "content", label="Reply", required=True, max_length=MAX_REPLY)
    async with web.db.sessions() as session:
        conv = await get_conversation(session, web.account_key, key)
        batch = await find_batch(session, "conversation", key, web.account_key)
        member = None
        if batch is not None:
            member = (
                await session.execute(
                    select(MessageBatch.seq).where(
                        MessageBatch.batch_key == batch,
                        MessageBatch.message_id == message_id,
                        MessageBatch.direction == "inbound",
                    )
                )
            ).scalar_one_or_none()
        record = await get_message(session, message_id) if member is not None else None
    if record is None:
        raise NotFound(f"This conversation received no message {message_id}")
    if conv.archived:
        raise Conflict("This conversation is archived; it cannot reply any more.")
    web.changed()
    info = await web.platform.engine.lookups.conversation(key)
    if info is None:
        raise NotFound(f"unknown conversation {key}")
    answer: UserMessage = AppContext(web.platform.engine, info).reply_to(record.message, content)
    await web.platform.engine.apps.send(info, [answer])
    await web.flash("success", f"Reply sent to {record.message.from_addr}.")
    return web.redirect(f"/conversations/{key}/messages?direction=inbound")


@router.get("/conversations/{key}/export")
async def export_messages(
    web: Page,
    key: str,
    format: str | None = None,
    direction: str = "inbound",
    date_preset: str = "all",
    date_from: str = "",
    date_to: str = "",
) -> Response:
    async with web.db.sessions() as session:
        conv = await get_conversation(session, web.account_key, key)
        batch = await find_batch(session, "conversation", key, web.account_key)
    if format is None:
        return await web.page("conversations/export.html", nav="conversations", conv=conv)
    if format not in export.FORMATS:
        raise InvalidInput(f"Unknown format {format!r}; use csv or json")
    if direction not in export.DIRECTIONS:
        raise InvalidInput(f"Unknown direction {direction!r}; use inbound, outbound or events")
    start, end = export.time_range(date_preset, date_from[:20], date_to[:20])
    filename = f"{conv.key}-{direction}.{'csv' if format == 'csv' else 'jsonl'}"
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        export.stream(web.db, batch, direction, format, start, end),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
