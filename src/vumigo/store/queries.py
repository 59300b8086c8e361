"""Reads for pages, APIs and apps: paged message lists, counts, throughput and uniques."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import MessageBatch, StoredMessage
from vumigo.store.counters import counters, progress_status

THROUGHPUT_SAMPLE_SECONDS = 300
THROUGHPUT_WINDOW = 20_000  # rows: 4,000 a minute over the 5-minute sample


@dataclass(frozen=True, slots=True)
class Page:
    messages: list[dict[str, Any]]
    next_before: int | None  # pass as ``before`` for the next (older) page; None at the end


async def list_messages(
    session: AsyncSession,
    batch_key: str,
    direction: str,
    before: int | None = None,
    limit: int = 20,
    search: str | None = None,
) -> Page:
    """A batch's messages in one direction, newest first, ``limit`` at a time.

    ``search`` matches an address exactly or a substring of the content.
    """
    query = (
        select(MessageBatch.seq, StoredMessage.payload)
        .join(StoredMessage, StoredMessage.message_id == MessageBatch.message_id)
        .where(MessageBatch.batch_key == batch_key, MessageBatch.direction == direction)
        .order_by(MessageBatch.seq.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(MessageBatch.seq < before)
    if search:
        address = StoredMessage.from_addr if direction == "inbound" else StoredMessage.to_addr
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where((address == search) | StoredMessage.content.like(pattern, escape="\\"))
    rows = (await session.execute(query)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        messages=[json.loads(payload) for _, payload in rows],
        next_before=rows[-1][0] if more and rows else None,
    )


async def throughput(
    session: AsyncSession,
    batch_key: str,
    direction: str,
    sample_seconds: int = THROUGHPUT_SAMPLE_SECONDS,
    window: int = THROUGHPUT_WINDOW,
) -> float:
    """Messages per minute over the ``sample_seconds`` before the batch's newest message.

    The newest message is found by ``seq`` and the count walks back by ``seq`` over at most
    ``window`` rows (both served by the listing index), so the cost stays bounded however big
    the batch; above ``window`` messages in the sample the figure is a floor.
    """
    mine = (MessageBatch.batch_key == batch_key) & (MessageBatch.direction == direction)
    newest = (
        await session.execute(
            select(MessageBatch.timestamp).where(mine).order_by(MessageBatch.seq.desc()).limit(1)
        )
    ).scalar_one_or_none()
    if newest is None:
        return 0.0
    recent = (
        select(MessageBatch.timestamp)
        .where(mine)
        .order_by(MessageBatch.seq.desc())
        .limit(window)
        .subquery()
    )
    since = newest - timedelta(seconds=sample_seconds)
    count = (
        await session.execute(select(func.count()).where(recent.c.timestamp >= since))
    ).scalar_one()
    return count / (sample_seconds / 60)


@dataclass(frozen=True, slots=True)
class BatchSummary:
    inbound: int
    outbound: int
    inbound_uniques: int
    outbound_uniques: int
    progress_status: dict[str, int]


async def summary(session: AsyncSession, batch_key: str) -> BatchSummary:
    counts = await counters(session, batch_key)
    return BatchSummary(
        inbound=counts.get("inbound", 0),
        outbound=counts.get("outbound", 0),
        inbound_uniques=counts.get("inbound_uniques", 0),
        outbound_uniques=counts.get("outbound_uniques", 0),
        progress_status=progress_status(counts),
    )
