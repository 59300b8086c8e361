"""The group message panel: write a message, pick groups, confirm, and watch it go out.

Sending is the ``bulk_send`` action (``vumigo.apps.actions``): the confirmed form attaches the
chosen groups to the conversation and asks for the action, now or at a time, and the platform's
scheduler runs it through the windowed group sender. Nothing here sends a message itself.

The steps: the form (in the panel, or a page of its own without JavaScript) posts to
``bulk/review``, which checks everything and shows what will happen; its confirm button posts
the same fields to ``bulk/send``, which checks them again (the time may have passed, a group may
have gone) before asking for the send. ``bulk/progress`` is the part of the panel htmx polls
while a send is due or running: the conversation's counters and each recent send's progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from vumigo.apps.actions import NEEDS_CONFIRMATION, NEEDS_GROUP, NEEDS_RUNNING, request_action
from vumigo.apps.bulk_message.window import FLIGHT_LIFETIME, progress
from vumigo.apps.scheduler import services_for
from vumigo.contacts import DELIVERY_CLASSES, count_recipients, set_conversation_groups
from vumigo.db.base import utcnow
from vumigo.db.models import Conversation, ScheduledTask
from vumigo.errors import InvalidInput, NotFound, VumigoError
from vumigo.transports.smpp.codec import (
    choose_data_coding,
    chunk_units,
    part_limit,
    single_limit,
    text_units,
)
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.panels import conversation_of, form_list, group_choices, read_group_keys
from vumigo.web.stats import figures
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

TYPE = "bulk_message"
ACTION = "bulk_send"
MAX_MESSAGE = 1600  # ten or so SMS: longer texts belong in a link
RECENT_SENDS = 5
# A send due this soon (or running) keeps the progress panel polling; one due later does not,
# so a page left open on next week's send costs nothing.
POLL_AHEAD = timedelta(minutes=10)
# Delivery reports trail the acks; the panel keeps polling this long after a send ends.
REPORTS_GRACE = timedelta(seconds=30)


def sms_parts(text: str) -> int:
    """How many SMS the text takes: GSM 03.38 when it fits, else UCS-2, as the SMPP
    transport will split it."""
    coding = choose_data_coding(text)
    units = text_units(text, coding)
    if sum(len(unit) for unit in units) <= single_limit(coding):
        return 1
    return len(chunk_units(units, part_limit(coding)))


@dataclass(slots=True)
class Draft:
    """The form as posted, kept as typed so it can be shown again with an error."""

    message: str = ""
    groups: tuple[str, ...] = ()
    dedupe: bool = False
    delivery_class: str = "sms"
    when: str = "now"
    send_at: str = ""

    @property
    def parts(self) -> int:
        return sms_parts(self.message) if self.message else 0


@dataclass(slots=True)
class Checked:
    draft: Draft
    groups: list[str]
    at: datetime | None
    recipients: int


def read_draft(form: FormData) -> Draft:
    return Draft(
        message=forms.text(form, "message", label="Message", max_length=MAX_MESSAGE * 4),
        groups=tuple(form_list(form, "groups")),
        dedupe=forms.text(form, "dedupe") in ("1", "on", "yes", "true"),
        delivery_class=forms.text(form, "delivery_class", label="Send by", max_length=32) or "sms",
        when=forms.choice(forms.text(form, "when", max_length=16), ("now", "later"), "now"),
        send_at=forms.text(form, "send_at", label="Send at", max_length=40),
    )


def parse_send_at(text: str, now: datetime) -> datetime:
    """The time a person chose (UTC, from a datetime-local field); it must be in the future."""
    if not text:
        raise InvalidInput("Choose the date and time to send at, or choose “Send now”.")
    try:
        when = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise InvalidInput(
            f"“{text}” is not a date and time; use the form 2030-01-31T09:00 (UTC)."
        ) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when <= now:
        shown = when.strftime("%Y-%m-%d %H:%M:%S")
        raise InvalidInput(f"The time to send at ({shown} UTC) has passed; choose a later one.")
    return when


async def check(session: AsyncSession, conv: Conversation, draft: Draft) -> Checked:
    """Everything the send needs, checked now; InvalidInput (400) names the first problem."""
    if conv.archived or conv.status != "running":
        raise InvalidInput(f"{NEEDS_RUNNING} Start it first.")
    if not draft.message:
        raise InvalidInput("Write the message to send.")
    if len(draft.message) > MAX_MESSAGE:
        raise InvalidInput(f"The message must be at most {MAX_MESSAGE:,} characters.")
    if draft.delivery_class not in DELIVERY_CLASSES:
        raise InvalidInput(f"Unknown way to send {draft.delivery_class!r}.")
    groups = await read_group_keys(session, conv.account_key, draft.groups)
    if not groups:
        raise InvalidInput(f"{NEEDS_GROUP} Choose at least one group to send to.")
    at = parse_send_at(draft.send_at, utcnow()) if draft.when == "later" else None
    recipients = await count_recipients(
        session,
        conv.account_key,
        groups,
        draft.delivery_class,
        skip_opted_out=True,
        dedupe=draft.dedupe,
    )
    return Checked(draft, groups, at, recipients)


async def _compose_page(
    web: Web, session: AsyncSession, conv: Conversation, draft: Draft, status: int, error: str
) -> Response:
    groups = await group_choices(session, web.account_key, conv.key)
    return await web.page(
        "bulk/compose.html",
        status=status,
        nav="conversations",
        conv=conv,
        groups=groups,
        draft=draft,
        chosen=set(draft.groups) if draft.groups else {g.key for g in groups if g.chosen},
        delivery_classes=sorted(DELIVERY_CLASSES),
        error=error,
    )


@router.get("/conversations/{key}/bulk/compose")
async def compose(web: Page, key: str) -> Response:
    """The send form: a fragment for the panel (htmx), or a page of its own."""
    async with web.db.sessions() as session:
        conv = await conversation_of(session, web.account_key, key, TYPE)
        if not web.is_htmx:
            return await _compose_page(web, session, conv, Draft(), 200, "")
        groups = await group_choices(session, web.account_key, conv.key)
    return web.fragment(
        "bulk/_form.html",
        conv=conv,
        groups=groups,
        draft=Draft(),
        chosen={g.key for g in groups if g.chosen},
        delivery_classes=sorted(DELIVERY_CLASSES),
    )


@router.post("/conversations/{key}/bulk/review")
async def review(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    async with web.db.sessions() as session:
        conv = await conversation_of(session, web.account_key, key, TYPE)
        draft = read_draft(form)
        if forms.text(form, "edit") == "1":  # "Change it" on the confirmation
            return await _compose_page(web, session, conv, draft, 200, "")
        try:
            checked = await check(session, conv, draft)
        except VumigoError as exc:
            return await _compose_page(web, session, conv, draft, exc.status_code, str(exc))
        groups = [
            g for g in await group_choices(session, web.account_key) if g.key in checked.groups
        ]
    return await web.page(
        "bulk/confirm.html", nav="conversations", conv=conv, checked=checked, groups=groups
    )


@router.post("/conversations/{key}/bulk/send")
async def send(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    draft = read_draft(form)
    try:
        async with web.db.transaction() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
            checked = await check(session, conv, draft)
            if forms.text(form, "confirmed") != "yes":
                raise InvalidInput(f"{NEEDS_CONFIRMATION} Review the message and confirm it.")
            await set_conversation_groups(session, web.account_key, conv.key, checked.groups)
            params = {
                "message": draft.message,
                "delivery_class": draft.delivery_class,
                "dedupe": draft.dedupe,
            }
            await request_action(
                session,
                conv.key,
                ACTION,
                params,
                account_key=web.account_key,
                at=checked.at,
                confirmed=True,
            )
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        async with web.db.sessions() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
            return await _compose_page(web, session, conv, draft, exc.status_code, str(exc))
    # The scheduler polls the table anyway; waking it starts a "now" send without that wait.
    services_for(web.platform.engine).scheduler.wake()
    people = f"{checked.recipients:,} {'person' if checked.recipients == 1 else 'people'}"
    if checked.at is None:
        await web.flash("success", f"Sending to {people}.")
    else:
        when = checked.at.strftime("%Y-%m-%d %H:%M:%S")
        await web.flash("success", f"Scheduled for {when} UTC, to {people} as things stand.")
    return web.redirect(f"/conversations/{key}/#bulk-progress")


def _describe(task: ScheduledTask, sent: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    message = str((task.params or {}).get("message") or "")
    total = int(sent["total"]) if sent else 0
    queued = int(sent["queued"]) if sent else 0
    status = str(sent["status"]) if sent else task.status
    if task.status == "pending" and task.due_at > now:
        status = "scheduled"
    elif task.status in ("cancelled", "failed"):
        status = task.status
    return {
        "id": task.id,
        "message": message,
        "status": status,
        "due_at": task.due_at,
        "error": task.error,
        "total": total,
        "queued": queued,
        "acked": int(sent["acked"]) if sent else 0,
        "failed": int(sent["failed"]) if sent else 0,
        "can_cancel": task.status == "pending",
    }


async def recent_sends(
    session: AsyncSession, conversation_key: str, now: datetime
) -> tuple[list[dict[str, Any]], bool]:
    """The conversation's latest group sends, newest first, and whether any is due or going."""
    tasks = (
        await session.scalars(
            select(ScheduledTask)
            .where(
                ScheduledTask.conversation_key == conversation_key, ScheduledTask.action == ACTION
            )
            .order_by(ScheduledTask.created_at.desc())
            .limit(RECENT_SENDS)
        )
    ).all()
    found = []
    busy = False
    for task in tasks:
        sent = await progress(session, task.id)
        found.append(_describe(task, sent, now))
        if still_moving(task, sent, now):
            busy = True
    return found, busy


def still_moving(task: ScheduledTask, sent: dict[str, Any] | None, now: datetime) -> bool:
    """Whether the counts may still change soon: the send is due or running, messages wait
    for their acks, or it finished so lately that delivery reports are still coming in."""
    if task.status == "running" or (task.status == "pending" and task.due_at <= now + POLL_AHEAD):
        return True
    if sent is None:
        return False
    finished: datetime | None = sent.get("finished_at")
    if finished is None:
        return False
    # Unacknowledged messages count for as long as the sender's window waits for them.
    waiting = int(sent["in_flight"]) > 0 and finished >= now - timedelta(seconds=FLIGHT_LIFETIME)
    return waiting or finished >= now - REPORTS_GRACE


@router.get("/conversations/{key}/bulk/progress")
async def progress_panel(web: Page, key: str) -> Response:
    now = utcnow()
    async with web.db.sessions() as session:
        conv = await conversation_of(session, web.account_key, key, TYPE)
        stats = await figures(session, "conversation", key, web.account_key)
        sends, busy = await recent_sends(session, conv.key, now)
    context: dict[str, Any] = {"conv": conv, "stats": stats, "sends": sends, "polling": busy}
    if web.is_htmx:
        return web.fragment("bulk/_progress.html", **context)
    return await web.page("bulk/progress.html", nav="conversations", **context)


@router.post("/conversations/{key}/bulk/sends/{task_id}/cancel")
async def cancel(web: Page, key: str, task_id: str) -> Response:
    """Cancels a send that has not started (a running one is stopped with the conversation)."""
    async with web.db.transaction() as session:
        conv = await conversation_of(session, web.account_key, key, TYPE)
        task = await session.get(ScheduledTask, task_id) if len(task_id) <= 64 else None
        if task is None or task.conversation_key != conv.key or task.action != ACTION:
            raise NotFound("There is no such send.")
        result = await session.execute(
            update(ScheduledTask)
            .where(ScheduledTask.id == task.id, ScheduledTask.status == "pending")
            .values(status="cancelled", error="cancelled by a person", finished_at=utcnow())
        )
    if int(getattr(result, "rowcount", 0) or 0) == 1:
        await web.flash("success", "The send is cancelled.")
    else:
        await web.flash("error", "That send has already started; stop the conversation to end it.")
    return web.redirect(f"/conversations/{key}/#bulk-progress")
