"""``sequential_send``: on a schedule, each contact of the groups gets their next message.

Config: ``schedule`` {recurring: daily|day_of_week|day_of_month|never, days: "1,3" (ISO week
days, Monday = 1, or days of the month), time: "HH:MM:SS" in UTC}, ``messages`` [text, ...] and
optionally ``delivery_class`` (default sms).

At each occurrence every opted-in contact with an address gets ``messages[i]``, where ``i`` is
``extra["scheduled_message_index_<conversation>"]`` (0 when unset), which then goes up by one;
a contact who has had every message gets nothing more. A run is a scheduler task, one per
occurrence (its ``unique_key`` makes that so however many processes tick), and it sends through
the windowed group sender, which stores each message, its recipient row and the contact's new
index in one unit of work: a run that is interrupted resumes without a second copy or a
skipped index. The scheduler's ``tick`` keeps one pending run per running conversation, due at
the next occurrence; a stopped conversation's pending run is cancelled. An occurrence missed
while the platform was down runs once when it comes back, not once per missed day.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.actions import Action, ActionApp, ActionRun
from vumigo.apps.base import AppContext, ExtraWrite
from vumigo.apps.bulk_message.sender import GroupSend, Outgoing, Recipient
from vumigo.apps.bulk_message.window import record_event
from vumigo.apps.contact_updates import change_contact, with_values
from vumigo.db.base import new_key
from vumigo.db.models import Contact, Conversation, ScheduledTask
from vumigo.db.upsert import insert_for
from vumigo.errors import InvalidInput
from vumigo.message import Event, UserMessage

RUN = "scheduled_run"
RECURRING = ("daily", "day_of_week", "day_of_month", "never")
# Far enough for any valid schedule (31 February never comes, 31 March always does).
SEARCH_DAYS = 400


def _time_of_day(schedule: dict[str, Any]) -> time:
    try:
        return datetime.strptime(str(schedule.get("time", "")), "%H:%M:%S").time()
    except ValueError:
        raise InvalidInput("schedule.time must look like HH:MM:SS") from None


def _days(schedule: dict[str, Any], low: int, high: int) -> set[int]:
    text = str(schedule.get("days", "")).replace(",", " ")
    try:
        days = {int(day) for day in text.split()}
    except ValueError:
        raise InvalidInput("schedule.days must be numbers such as '1, 15'") from None
    if not days or any(not low <= day <= high for day in days):
        raise InvalidInput(f"schedule.days must be numbers from {low} to {high}")
    return days


def next_occurrence(schedule: dict[str, Any], after: datetime) -> datetime | None:
    """The first time strictly after ``after`` (UTC) the schedule fires; None for ``never``.
    Raises InvalidInput for a schedule that cannot be read."""
    recurring = schedule.get("recurring")
    if recurring == "never":
        return None
    if recurring not in RECURRING:
        raise InvalidInput(f"schedule.recurring must be one of {', '.join(RECURRING)}")
    at = _time_of_day(schedule)
    after = after.astimezone(UTC) if after.tzinfo else after.replace(tzinfo=UTC)
    allowed: set[int] | None = None
    if recurring == "day_of_week":
        allowed = _days(schedule, 1, 7)
    elif recurring == "day_of_month":
        allowed = _days(schedule, 1, 31)

    def fits(day: datetime) -> bool:
        if allowed is None:
            return True
        return (day.isoweekday() if recurring == "day_of_week" else day.day) in allowed

    candidate = datetime.combine(after.date(), at, tzinfo=UTC)
    for _ in range(SEARCH_DAYS):
        if candidate > after and fits(candidate):
            return candidate
        candidate += timedelta(days=1)
    return None


def index_key(conversation_key: str) -> str:
    return f"scheduled_message_index_{conversation_key}"


def current_index(extra: dict[str, Any] | None, key: str) -> int:
    try:
        return max(0, int((extra or {}).get(key) or 0))
    except (TypeError, ValueError):
        return 0


class SequentialSendApp(ActionApp):
    conversation_type = "sequential_send"
    display_name = "Sequential Send"
    actions = (Action(RUN, "Scheduled run", needs_running=True, internal=True),)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        schedule = config.get("schedule")
        if not isinstance(schedule, dict):
            raise InvalidInput("schedule must be an object {recurring, days, time}")
        next_occurrence(schedule, datetime.now(UTC))
        messages = config.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
            raise InvalidInput("messages must be a list of texts")
        return config

    async def action_scheduled_run(self, run: ActionRun) -> dict[str, Any]:
        config = run.conversation.config
        messages = [str(m) for m in config.get("messages") or []]
        account, key = run.conversation.account_key, index_key(run.conversation.key)

        async def plan(chunk: list[Recipient]) -> list[Outgoing]:
            async with self.engine.db.sessions() as session:
                extras: dict[str, dict[str, Any]] = dict(
                    (
                        await session.execute(
                            select(Contact.key, Contact.extra).where(
                                Contact.key.in_([r.contact_key for r in chunk])
                            )
                        )
                    ).all()
                )
            planned = []
            for recipient in chunk:
                index = current_index(extras.get(recipient.contact_key), key)
                if index < len(messages):
                    bump = _set_index(account, recipient.contact_key, key, index + 1)
                    planned.append(Outgoing(recipient, messages[index], [bump]))
            return planned

        delivery_class = str(config.get("delivery_class") or "sms")
        send = GroupSend(run, RUN, plan, delivery_class=delivery_class)
        return await send.run()

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        """A sequential send only talks; what people send back is stored, not answered."""

    async def consume_event(self, ctx: AppContext, event: Event, message: UserMessage) -> None:
        record_event(ctx, event)

    async def tick(self, now: datetime) -> None:
        """Keeps exactly one pending run per running conversation, at its next occurrence.

        Reads first and writes only when something must change, since this runs every poll.
        """
        async with self.engine.db.sessions() as session:
            running = (
                await session.execute(
                    select(Conversation.key, Conversation.account_key, Conversation.config).where(
                        Conversation.conversation_type == self.conversation_type,
                        Conversation.status == "running",
                        Conversation.archived.is_(False),
                    )
                )
            ).all()
            pending = {
                task.conversation_key: task
                for task in (
                    await session.scalars(
                        select(ScheduledTask).where(
                            ScheduledTask.action == RUN, ScheduledTask.status == "pending"
                        )
                    )
                ).all()
            }
        changes: list[Change] = []
        for conversation_key, account_key, config in running:
            task = pending.pop(conversation_key, None)
            changes.extend(plan_next(conversation_key, account_key, config, task, now))
        # What is left belongs to conversations that stopped.
        changes.extend(cancel(task.id, "stopped", now) for task in pending.values())
        if changes:
            async with self.engine.db.transaction() as session:
                for change in changes:
                    await change(session)


Change = Callable[[AsyncSession], Awaitable[None]]


def cancel(task_id: str, why: str, now: datetime) -> Change:
    async def write(session: AsyncSession) -> None:
        await session.execute(
            update(ScheduledTask)
            .where(ScheduledTask.id == task_id, ScheduledTask.status == "pending")
            .values(status="cancelled", error=why, finished_at=now)
        )

    return write


def plan_next(
    conversation_key: str,
    account_key: str,
    config: dict[str, Any],
    task: ScheduledTask | None,
    now: datetime,
) -> list[Change]:
    """What to change so the conversation's pending run is at its next occurrence."""
    if task is not None and task.due_at <= now:
        return []  # due: the scheduler is about to run it
    try:
        due = next_occurrence(config.get("schedule") or {}, now)
    except InvalidInput:
        due = None
    if due is None:
        return [cancel(task.id, "no schedule", now)] if task is not None else []
    unique_key = f"seq:{conversation_key}:{due.isoformat()}"
    if task is not None:
        return [] if task.unique_key == unique_key else [move(task.id, due, unique_key)]

    async def add(session: AsyncSession) -> None:
        stmt = insert_for(session, ScheduledTask).values(
            id=new_key(),
            account_key=account_key,
            conversation_key=conversation_key,
            action=RUN,
            params={},
            status="pending",
            due_at=due,
            unique_key=unique_key,
            attempts=0,
            created_at=now,
        )
        # Another process may have planned the same occurrence: one run either way.
        await session.execute(stmt.on_conflict_do_nothing())

    return [add]


def move(task_id: str, due: datetime, unique_key: str) -> Change:
    """The schedule changed: the pending run moves to the new next occurrence."""

    async def write(session: AsyncSession) -> None:
        await session.execute(
            update(ScheduledTask)
            .where(ScheduledTask.id == task_id, ScheduledTask.status == "pending")
            .values(due_at=due, unique_key=unique_key)
        )

    return write


def _set_index(account_key: str, contact_key: str, key: str, value: int) -> ExtraWrite:
    async def write(session: AsyncSession) -> None:
        await change_contact(
            session, account_key, contact_key, extra=with_values({key: str(value)})
        )

    return write
