"""Writes and reads of messages and events, keeping the batches' counters as they go.

Every write is idempotent by message or event id: storing the same message twice, or attaching
it to a batch twice, changes nothing the second time. That is what lets recovery re-queue work
freely after a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import BatchAddress, MessageBatch, StoredEvent, StoredMessage
from vumigo.db.upsert import insert_for
from vumigo.message import Event, UserMessage, from_json
from vumigo.store.counters import bump

INBOUND = "inbound"
OUTBOUND = "outbound"


async def add_message(
    session: AsyncSession,
    msg: UserMessage,
    direction: str,
    state: str,
    account_key: str | None,
) -> bool:
    """Stores a message; False when a message with its id was stored already."""
    stmt = insert_for(session, StoredMessage).values(
        message_id=msg.message_id,
        direction=direction,
        state=state,
        account_key=account_key,
        payload=msg.to_json(),
        from_addr=msg.from_addr or "",
        to_addr=msg.to_addr or "",
        content=msg.content,
        in_reply_to=msg.in_reply_to,
        session_event=msg.session_event,
        transport_name=msg.transport_name or "",
        timestamp=msg.timestamp,
    )
    result = await session.execute(stmt.on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def save_payload(session: AsyncSession, msg: UserMessage, account_key: str | None) -> None:
    """Rewrites a stored message's JSON (after routing filled in its metadata)."""
    await session.execute(
        update(StoredMessage)
        .where(StoredMessage.message_id == msg.message_id)
        .values(payload=msg.to_json(), account_key=account_key)
    )


async def attach(
    session: AsyncSession, msg: UserMessage, direction: str, batch_keys: Iterable[str]
) -> None:
    """Adds a stored message to batches, counting it and its address once per batch."""
    address = msg.from_addr if direction == INBOUND else msg.to_addr
    for batch in batch_keys:
        added = await session.execute(
            insert_for(session, MessageBatch)
            .values(
                batch_key=batch,
                message_id=msg.message_id,
                direction=direction,
                timestamp=msg.timestamp,
            )
            .on_conflict_do_nothing()
        )
        if not added.rowcount:  # type: ignore[attr-defined]
            continue
        names = [direction]
        if direction == OUTBOUND:
            names.append("sent")
        if address:
            seen = await session.execute(
                insert_for(session, BatchAddress)
                .values(batch_key=batch, direction=direction, address=address)
                .on_conflict_do_nothing()
            )
            if seen.rowcount:  # type: ignore[attr-defined]
                names.append(f"{direction}_uniques")
        await bump(session, batch, names)


async def set_state(
    session: AsyncSession, message_id: str, state: str, failure: str | None = None
) -> None:
    values: dict[str, object] = {"state": state}
    if failure is not None:
        values["failure"] = failure
    await session.execute(
        update(StoredMessage).where(StoredMessage.message_id == message_id).values(**values)
    )


async def claim(session: AsyncSession, message_id: str, from_state: str, to_state: str) -> bool:
    """Moves a message from one state to the next; False if it was not in ``from_state``.

    This is the idempotency check of every worker: of two deliveries of one message, only the
    first claim succeeds, so its effects happen once.
    """
    result = await session.execute(
        update(StoredMessage)
        .where(StoredMessage.message_id == message_id, StoredMessage.state == from_state)
        .values(state=to_state)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class MessageRecord:
    message: UserMessage
    direction: str
    state: str
    account_key: str | None
    failure: str | None


def _record(row: StoredMessage) -> MessageRecord:
    msg = from_json(row.payload)
    assert isinstance(msg, UserMessage)
    return MessageRecord(msg, row.direction, row.state, row.account_key, row.failure)


async def get_message(session: AsyncSession, message_id: str) -> MessageRecord | None:
    row = await session.get(StoredMessage, message_id)
    return None if row is None else _record(row)


async def add_event(session: AsyncSession, event: Event, state: str = "new") -> bool:
    """Stores an event; False when an event with its id was stored already."""
    stmt = insert_for(session, StoredEvent).values(
        event_id=event.event_id,
        user_message_id=event.user_message_id,
        event_type=event.event_type,
        status=event.status,
        state=state,
        payload=event.to_json(),
        timestamp=event.timestamp,
    )
    result = await session.execute(stmt.on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claim_event(session: AsyncSession, event_id: str, from_state: str, to_state: str) -> bool:
    """Moves an event between states (new → counted → dispatched); False if not in from_state."""
    result = await session.execute(
        update(StoredEvent)
        .where(StoredEvent.event_id == event_id, StoredEvent.state == from_state)
        .values(state=to_state)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def event_state(session: AsyncSession, event_id: str) -> str | None:
    return (
        await session.execute(select(StoredEvent.state).where(StoredEvent.event_id == event_id))
    ).scalar_one_or_none()


def event_counter_names(event: Event) -> list[str]:
    """The progress_status counters an event bumps: its type and, for reports, the status."""
    if event.event_type == "delivery_report":
        return ["delivery_report", f"delivery_report_{event.delivery_status}"]
    return [event.event_type]


async def count_event(session: AsyncSession, event: Event, batch_keys: Iterable[str]) -> None:
    names = event_counter_names(event)
    for batch in batch_keys:
        await bump(session, batch, names)


async def events_for(session: AsyncSession, message_id: str) -> list[Event]:
    rows = (
        await session.execute(
            select(StoredEvent.payload)
            .where(StoredEvent.user_message_id == message_id)
            .order_by(StoredEvent.timestamp)
        )
    ).scalars()
    events: list[Event] = []
    for payload in rows:
        event = from_json(payload)
        assert isinstance(event, Event)
        events.append(event)
    return events
