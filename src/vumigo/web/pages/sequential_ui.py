"""The sequential send panel: when it runs, the messages it works through, and its groups.

One form edits ``config.schedule`` (daily, some days of the week or of the month, or never, at
a UTC time), ``config.messages`` (in order: each run gives every contact their next one) and
the groups it sends to. What is saved is checked by the type itself
(``SequentialSendApp.validate_config``) after the friendlier checks here, and the scheduler
moves the pending run to the new time on its next tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from vumigo.apps.sequential_send import RECURRING, next_occurrence
from vumigo.contacts import DELIVERY_CLASSES, set_conversation_groups
from vumigo.conversations import service as csvc
from vumigo.db.base import utcnow
from vumigo.db.models import Conversation
from vumigo.errors import InvalidInput, VumigoError
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.panels import (
    checked_conversation_config,
    conversation_of,
    form_list,
    group_choices,
    read_group_keys,
    rows,
)
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

TYPE = "sequential_send"
MAX_MESSAGE = 1600
WEEK_DAYS = (
    (1, "Mon"),
    (2, "Tue"),
    (3, "Wed"),
    (4, "Thu"),
    (5, "Fri"),
    (6, "Sat"),
    (7, "Sun"),
)
RECURRING_LABELS = {
    "daily": "Every day",
    "day_of_week": "On days of the week",
    "day_of_month": "On days of the month",
    "never": "Never (paused)",
}


@dataclass(slots=True)
class Plan:
    """The form's values, as saved or as typed."""

    recurring: str = "never"
    week_days: set[int] = field(default_factory=set)
    month_days: str = ""
    time: str = "09:00:00"
    messages: list[str] = field(default_factory=list)
    delivery_class: str = "sms"
    groups: set[str] = field(default_factory=set)


def plan_of(conv: Conversation, groups: set[str]) -> Plan:
    config = conv.config or {}
    schedule = config.get("schedule") if isinstance(config.get("schedule"), dict) else {}
    assert isinstance(schedule, dict)
    recurring = str(schedule.get("recurring") or "never")
    days = str(schedule.get("days") or "")
    numbers = {int(d) for d in days.replace(",", " ").split() if d.isdigit()}
    messages = config.get("messages")
    return Plan(
        recurring=recurring if recurring in RECURRING else "never",
        week_days=numbers if recurring == "day_of_week" else set(),
        month_days=days if recurring == "day_of_month" else "",
        time=str(schedule.get("time") or "09:00:00"),
        messages=[str(m) for m in messages] if isinstance(messages, list) else [],
        delivery_class=str(config.get("delivery_class") or "sms"),
        groups=groups,
    )


def read_plan(form: FormData) -> Plan:
    week_days = set()
    for value in form_list(form, "week_days"):
        if not value.isdigit() or not 1 <= int(value) <= 7:
            raise InvalidInput("Days of the week are numbered 1 (Monday) to 7 (Sunday).")
        week_days.add(int(value))
    messages: list[str] = []
    for row in rows(form, "message"):
        text = row.get("text", "").strip()
        if row.get("remove") or not text:
            continue
        if len(text) > MAX_MESSAGE:
            raise InvalidInput(
                f"Message {len(messages) + 1} is longer than {MAX_MESSAGE:,} characters."
            )
        messages.append(text)
    return Plan(
        recurring=forms.text(form, "recurring", max_length=32),
        week_days=week_days,
        month_days=forms.text(form, "month_days", label="Days of the month", max_length=200),
        time=forms.text(form, "time", label="Time", max_length=16),
        messages=messages,
        delivery_class=forms.text(form, "delivery_class", max_length=32) or "sms",
        groups=set(form_list(form, "groups")),
    )


def schedule_of(plan: Plan) -> dict[str, Any]:
    """The stored schedule, with the checks a person needs spelled out."""
    if plan.recurring not in RECURRING:
        raise InvalidInput("Choose how often it runs.")
    time = plan.time
    if len(time) == 5:  # a time field without seconds
        time += ":00"
    schedule: dict[str, Any] = {"recurring": plan.recurring, "time": time}
    if plan.recurring == "never":
        schedule["time"] = time or "09:00:00"
        return schedule
    try:
        datetime.strptime(time, "%H:%M:%S")
    except ValueError:
        raise InvalidInput(f"“{plan.time}” is not a time of day; use HH:MM (UTC).") from None
    if plan.recurring == "day_of_week":
        if not plan.week_days:
            raise InvalidInput("Tick at least one day of the week.")
        schedule["days"] = ",".join(str(d) for d in sorted(plan.week_days))
    elif plan.recurring == "day_of_month":
        parts = plan.month_days.replace(",", " ").split()
        if not parts or not all(p.isdigit() and 1 <= int(p) <= 31 for p in parts):
            raise InvalidInput("Days of the month are numbers from 1 to 31, such as “1, 15”.")
        schedule["days"] = ",".join(str(n) for n in sorted({int(p) for p in parts}))
    return schedule


def next_run(conv: Conversation) -> datetime | None:
    try:
        return next_occurrence((conv.config or {}).get("schedule") or {}, utcnow())
    except InvalidInput:
        return None


async def _editor(
    web: Web,
    session: AsyncSession,
    conv: Conversation,
    plan: Plan | None,
    status: int = 200,
    error: str = "",
    full: bool = True,
) -> Response:
    groups = await group_choices(session, web.account_key, conv.key)
    if plan is None:
        plan = plan_of(conv, {g.key for g in groups if g.chosen})
    context: dict[str, Any] = {
        "conv": conv,
        "plan": plan,
        "groups": groups,
        "recurring": RECURRING_LABELS,
        "week_days": WEEK_DAYS,
        "delivery_classes": sorted(DELIVERY_CLASSES),
        "next_run": next_run(conv),
        "error": error,
    }
    if not full:
        return web.fragment("sequential/_form.html", status=status, **context)
    return await web.page("sequential/edit.html", status=status, nav="conversations", **context)


@router.get("/conversations/{key}/sequential/editor")
async def editor(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        conv = await conversation_of(session, web.account_key, key, TYPE)
        return await _editor(web, session, conv, None, full=not web.is_htmx)


@router.post("/conversations/{key}/sequential/editor")
async def save(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    plan: Plan | None = None
    try:
        plan = read_plan(form)
        async with web.db.transaction() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
            if plan.delivery_class not in DELIVERY_CLASSES:
                raise InvalidInput(f"Unknown way to send {plan.delivery_class!r}.")
            config = {
                **conv.config,
                "schedule": schedule_of(plan),
                "messages": plan.messages,
                "delivery_class": plan.delivery_class,
            }
            config = checked_conversation_config(conv, config)
            groups = await read_group_keys(session, web.account_key, sorted(plan.groups))
            await csvc.update_conversation(session, web.account_key, conv.key, config=config)
            await set_conversation_groups(session, web.account_key, conv.key, groups)
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        async with web.db.sessions() as session:
            conv = await conversation_of(session, web.account_key, key, TYPE)
            return await _editor(web, session, conv, plan, exc.status_code, str(exc))
    web.changed()
    await web.flash("success", "Schedule and messages saved.")
    return web.redirect(f"/conversations/{key}/#sequential-panel")
