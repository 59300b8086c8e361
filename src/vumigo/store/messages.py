"""Writes and reads of messages and events, keeping the batches' counters as they go.

The functions take lists, because the engine's workers handle messages in batches: a batch of
a hundred messages costs a handful of statements, not hundreds. Every write is idempotent by
message or event id: storing a message twice, or attaching it to a batch twice, changes nothing
the second time. That is what lets recovery re-queue work freely after a crash.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import StoredEvent, StoredMessage
from vumigo.message import Event, UserMessage, from_json
from vumigo.store.counters import bump_many
from vumigo.store.statements import connection

INBOUND = "inbound"
OUTBOUND = "outbound"

# (message, direction, state, account key)
NewMessage = tuple[UserMessage, str, str, str | None]
# (message, direction, batch keys)
Attachment = tuple[UserMessage, str, Sequence[str]]


async def add_messages(session: AsyncSession, items: Sequence[NewMessage]) -> set[str]:
    """Stores messages; returns the ids that were new (a repeat keeps the first copy)."""
    if not items:
        return set()
    conn, sql = await connection(session)
    rows = [
        {
            "message_id": msg.message_id,
            "direction": direction,
            "state": state,
            "account_key": account_key,
            "payload": msg.to_json(),
            "from_addr": msg.from_addr or "",
            "to_addr": msg.to_addr or "",
            "content": msg.content,
            "in_reply_to": msg.in_reply_to,
            "session_event": msg.session_event,
            "transport_name": msg.transport_name or "",
            "failure": None,
            "timestamp": msg.timestamp,
        }
        for msg, direction, state, account_key in items
    ]
    return set((await conn.execute(sql.add_messages, rows)).scalars())


async def add_message(
    session: AsyncSession, msg: UserMessage, direction: str, state: str, account_key: str | None
) -> bool:
    return bool(await add_messages(session, [(msg, direction, state, account_key)]))


async def save_payloads(
    session: AsyncSession, items: Sequence[tuple[UserMessage, str | None]]
) -> None:
    """Rewrites stored messages' JSON (once routing has filled in their metadata)."""
    if not items:
        return
    conn, sql = await connection(session)
    rows = [
        {"b_id": msg.message_id, "b_payload": msg.to_json(), "b_account": account}
        for msg, account in items
    ]
    await conn.execute(sql.save_payload, rows)


async def save_payload(session: AsyncSession, msg: UserMessage, account_key: str | None) -> None:
    await save_payloads(session, [(msg, account_key)])


async def attach_many(session: AsyncSession, items: Sequence[Attachment]) -> None:
    """Adds stored messages to batches, counting each message and address once per batch."""
    rows = [
        {
            "batch_key": batch,
            "message_id": msg.message_id,
            "direction": direction,
            "timestamp": msg.timestamp,
        }
        for msg, direction, batches in items
        for batch in batches
    ]
    if not rows:
        return
    conn, sql = await connection(session)
    added = {(row[0], row[1]) for row in await conn.execute(sql.attach, rows)}
    increments: Counter[tuple[str, str]] = Counter()
    addresses: dict[tuple[str, str, str], None] = {}
    for msg, direction, batches in items:
        address = msg.from_addr if direction == INBOUND else msg.to_addr
        for batch in batches:
            if (batch, msg.message_id) not in added:
                continue
            increments[(batch, direction)] += 1
            if direction == OUTBOUND:
                increments[(batch, "sent")] += 1
            if address:
                addresses[(batch, direction, address)] = None
    if addresses:
        address_rows = [{"batch_key": b, "direction": d, "address": a} for b, d, a in addresses]
        for batch, direction, _address in await conn.execute(sql.add_addresses, address_rows):
            increments[(batch, f"{direction}_uniques")] += 1
    await bump_many(session, increments)


async def attach(
    session: AsyncSession, msg: UserMessage, direction: str, batch_keys: Iterable[str]
) -> None:
    await attach_many(session, [(msg, direction, list(batch_keys))])


async def claim_many(
    session: AsyncSession, message_ids: Sequence[str], from_state: str, to_state: str
) -> set[str]:
    """Moves messages from one state to the next; returns the ids that were in ``from_state``.

    This is the idempotency check of every worker: of two deliveries of one message, only the
    first claim succeeds, so its effects happen once.
    """
    if not message_ids:
        return set()
    conn, sql = await connection(session)
    params = {"ids": list(message_ids), "from_state": from_state, "to_state": to_state}
    return set((await conn.execute(sql.claim_messages, params)).scalars())


async def claim(session: AsyncSession, message_id: str, from_state: str, to_state: str) -> bool:
    return bool(await claim_many(session, [message_id], from_state, to_state))


async def set_state(
    session: AsyncSession, message_id: str, state: str, failure: str | None = None
) -> None:
    values: dict[str, object] = {"state": state}
    if failure is not None:
        values["failure"] = failure
    await session.execute(
        update(StoredMessage).where(StoredMessage.message_id == message_id).values(**values)
    )


@dataclass(frozen=True, slots=True)
class MessageRecord:
    message: UserMessage
    direction: str
    state: str
    account_key: str | None
    failure: str | None


async def get_messages(
    session: AsyncSession, message_ids: Sequence[str]
) -> dict[str, MessageRecord]:
    if not message_ids:
        return {}
    conn, sql = await connection(session)
    found: dict[str, MessageRecord] = {}
    for message_id, payload, direction, state, account_key, failure in await conn.execute(
        sql.get_messages, {"ids": list(set(message_ids))}
    ):
        msg = from_json(payload)
        assert isinstance(msg, UserMessage)
        found[message_id] = MessageRecord(msg, direction, state, account_key, failure)
    return found


async def get_message(session: AsyncSession, message_id: str) -> MessageRecord | None:
    return (await get_messages(session, [message_id])).get(message_id)


async def add_events(
    session: AsyncSession, events: Sequence[Event], state: str = "new"
) -> set[str]:
    """Stores events; returns the ids that were new."""
    if not events:
        return set()
    conn, sql = await connection(session)
    rows = [
        {
            "event_id": event.event_id,
            "user_message_id": event.user_message_id,
            "event_type": event.event_type,
            "status": event.status,
            "state": state,
            "payload": event.to_json(),
            "timestamp": event.timestamp,
        }
        for event in events
    ]
    return set((await conn.execute(sql.add_events, rows)).scalars())


async def add_event(session: AsyncSession, event: Event, state: str = "new") -> bool:
    return bool(await add_events(session, [event], state))


async def claim_events(
    session: AsyncSession, event_ids: Sequence[str], from_state: str, to_state: str
) -> set[str]:
    """Moves events between states (new → counted → dispatched); returns those that moved."""
    if not event_ids:
        return set()
    conn, sql = await connection(session)
    params = {"ids": list(event_ids), "from_state": from_state, "to_state": to_state}
    return set((await conn.execute(sql.claim_events, params)).scalars())


async def claim_event(session: AsyncSession, event_id: str, from_state: str, to_state: str) -> bool:
    return bool(await claim_events(session, [event_id], from_state, to_state))


async def event_states(session: AsyncSession, event_ids: Sequence[str]) -> dict[str, str]:
    if not event_ids:
        return {}
    conn, sql = await connection(session)
    result = await conn.execute(sql.event_states, {"ids": list(event_ids)})
    return {row[0]: row[1] for row in result}


async def event_state(session: AsyncSession, event_id: str) -> str | None:
    return (await event_states(session, [event_id])).get(event_id)


def event_counter_names(event: Event) -> list[str]:
    """The progress_status counters an event bumps: its type and, for reports, the status."""
    if event.event_type == "delivery_report":
        return ["delivery_report", f"delivery_report_{event.delivery_status}"]
    return [event.event_type]


async def count_events(session: AsyncSession, items: Sequence[tuple[Event, Sequence[str]]]) -> None:
    increments: Counter[tuple[str, str]] = Counter()
    for event, batches in items:
        for batch in batches:
            for name in event_counter_names(event):
                increments[(batch, name)] += 1
    await bump_many(session, increments)


async def count_event(session: AsyncSession, event: Event, batch_keys: Iterable[str]) -> None:
    await count_events(session, [(event, list(batch_keys))])


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
