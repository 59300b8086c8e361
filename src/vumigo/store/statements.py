"""Prepared statements of the store's hot path, built once per dialect.

Building a statement costs far more in SQLAlchemy than running a compiled one, and the hot path
runs these for every message, so each is made once with bind parameters and reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vumigo.db.models import BatchAddress, BatchCounter, MessageBatch, StoredEvent, StoredMessage


@dataclass(frozen=True)
class Statements:
    add_messages: Any
    attach: Any
    add_addresses: Any
    bump: Any
    save_payload: Any
    claim_messages: Any
    get_messages: Any
    add_events: Any
    claim_events: Any
    event_states: Any


@cache
def statements(dialect: str) -> Statements:
    dml: Any = postgresql if dialect == "postgresql" else sqlite
    bump = dml.insert(BatchCounter)
    bump = bump.on_conflict_do_update(
        index_elements=["batch_key", "name"],
        set_={"value": BatchCounter.value + bump.excluded.value},
    )
    return Statements(
        add_messages=dml.insert(StoredMessage)
        .on_conflict_do_nothing()
        .returning(StoredMessage.message_id),
        attach=dml.insert(MessageBatch)
        .on_conflict_do_nothing()
        .returning(MessageBatch.batch_key, MessageBatch.message_id),
        add_addresses=dml.insert(BatchAddress)
        .on_conflict_do_nothing()
        .returning(BatchAddress.batch_key, BatchAddress.direction, BatchAddress.address),
        bump=bump,
        save_payload=update(StoredMessage)
        .where(StoredMessage.message_id == bindparam("b_id"))
        .values(payload=bindparam("b_payload"), account_key=bindparam("b_account")),
        claim_messages=update(StoredMessage)
        .where(
            StoredMessage.message_id.in_(bindparam("ids", expanding=True)),
            StoredMessage.state == bindparam("from_state"),
        )
        .values(state=bindparam("to_state"))
        .returning(StoredMessage.message_id),
        get_messages=select(
            StoredMessage.message_id,
            StoredMessage.payload,
            StoredMessage.direction,
            StoredMessage.state,
            StoredMessage.account_key,
            StoredMessage.failure,
        ).where(StoredMessage.message_id.in_(bindparam("ids", expanding=True))),
        add_events=dml.insert(StoredEvent).on_conflict_do_nothing().returning(StoredEvent.event_id),
        claim_events=update(StoredEvent)
        .where(
            StoredEvent.event_id.in_(bindparam("ids", expanding=True)),
            StoredEvent.state == bindparam("from_state"),
        )
        .values(state=bindparam("to_state"))
        .returning(StoredEvent.event_id),
        event_states=select(StoredEvent.event_id, StoredEvent.state).where(
            StoredEvent.event_id.in_(bindparam("ids", expanding=True))
        ),
    )


async def connection(session: AsyncSession) -> tuple[AsyncConnection, Statements]:
    """The session's connection and the statements for its dialect."""
    conn = await session.connection()
    return conn, statements(conn.dialect.name)
