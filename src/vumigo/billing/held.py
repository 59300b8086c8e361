"""Outbound messages held back by the credit cutoff, and their release after a top-up.

The dispatcher stores a held message in state ``held`` with the reason in ``failure``: it is
visible in the message lists, not lost. Releasing moves it back to ``queued`` (clearing the
reason) *before* it is re-queued, so that the transport's ``queued → sent`` claim succeeds; if
the re-queue itself fails, the message is ``queued`` and start-up recovery sends it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from vumigo.db.models import StoredMessage

HELD = "held"
QUEUED = "queued"
OUTBOUND = "outbound"
OUT_OF_CREDIT = "held: the account has run out of credit"

Requeue = Callable[[Sequence[str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HeldMessage:
    message_id: str
    to_addr: str
    content: str | None
    reason: str | None
    timestamp: datetime


def _held(account_key: str | None = None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        StoredMessage.direction == OUTBOUND,
        StoredMessage.state == HELD,
    ]
    if account_key is not None:
        where.append(StoredMessage.account_key == account_key)
    return where


async def held_messages(
    session: AsyncSession, account_key: str, limit: int = 100
) -> list[HeldMessage]:
    query = (
        select(
            StoredMessage.message_id,
            StoredMessage.to_addr,
            StoredMessage.content,
            StoredMessage.failure,
            StoredMessage.timestamp,
        )
        .where(*_held(account_key))
        .order_by(StoredMessage.timestamp)
        .limit(limit)
    )
    return [HeldMessage(*row) for row in (await session.execute(query)).all()]


async def count_held(session: AsyncSession, account_key: str) -> int:
    query = select(func.count()).select_from(StoredMessage).where(*_held(account_key))
    return int((await session.execute(query)).scalar_one())


async def accounts_with_held(session: AsyncSession) -> list[str]:
    query = select(StoredMessage.account_key).where(*_held()).distinct()
    return [key for key in (await session.execute(query)).scalars() if key]


async def unhold(session: AsyncSession, account_key: str) -> list[str]:
    """Moves the account's held messages back to ``queued``; returns their ids, oldest first."""
    stmt = (
        update(StoredMessage)
        .where(*_held(account_key))
        .values(state=QUEUED, failure=None)
        .returning(StoredMessage.message_id, StoredMessage.timestamp)
    )
    rows = (await session.execute(stmt, execution_options={"synchronize_session": False})).all()
    return [message_id for message_id, _ in sorted(rows, key=lambda row: row[1])]
