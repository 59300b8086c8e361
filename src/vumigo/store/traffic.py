"""Platform-wide message figures for operators, each read at a bounded cost.

The message tables have no index by time (nothing else needs one), so "messages today" is
found through the order rows were stored in: batch memberships are numbered (``seq``) as they
are written, so a search on that primary key finds the first one of the period (a handful of
statements, see ``first_seq_since``), and the period's rows are those numbered from there on.
They are counted through the batches' listing index (batch, direction, seq) without touching
the table, for tag batches only: every message that crosses a transport is in exactly one of
them, whatever conversations or routers it also passed. Each count stops at ``cap``; a figure
that reached it is a floor and says so.

Backlogs (work stored but not finished) are counted the same way, up to a cap, through the
state indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import Batch, MessageBatch, PushDelivery, StoredEvent, StoredMessage

TRAFFIC_CAP = 250_000  # rows per direction: a few tens of ms of index-only counting at worst
BACKLOG_CAP = 10_000


@dataclass(frozen=True, slots=True)
class Count:
    value: int
    capped: bool  # there are at least this many (the count stopped at its cap)


async def capped_count(session: AsyncSession, query: Select[Any], cap: int = BACKLOG_CAP) -> Count:
    """How many rows ``query`` finds, counting no further than ``cap``."""
    # One past the cap, to tell "exactly the cap" from "more than we counted".
    limited = query.limit(cap + 1).subquery()
    found = int((await session.execute(select(func.count()).select_from(limited))).scalar_one())
    return Count(min(found, cap), found > cap)


@dataclass(frozen=True, slots=True)
class Traffic:
    inbound_today: Count
    outbound_today: Count
    inbound_week: Count
    outbound_week: Count


async def first_seq_since(
    session: AsyncSession, moment: datetime, low: int | None = None, fanout: int = 32
) -> int | None:
    """The first batch membership stored at or after ``moment`` (searching from ``low`` on),
    or None if there is none yet.

    A search on ``seq``: each step reads ``fanout`` rows spread over the range left, by primary
    key, and keeps the part between the last one before ``moment`` and the first one after, so
    millions of rows take a handful of statements. Rows are written in about the order of their
    timestamps; where a few are out of order the boundary is off by those few, which a figure
    on a dashboard can live with.
    """
    # Two statements: SQLite answers min() or max() alone from the key's ends, but both
    # together by reading every row.
    if low is None:
        low = (await session.execute(select(func.min(MessageBatch.seq)))).scalar_one()
    last = (await session.execute(select(func.max(MessageBatch.seq)))).scalar_one()
    if low is None or last is None:
        return None
    # The answer is in [low, high]: rows before low are older than moment, and high is a row
    # at or after it (or one past the end: none yet).
    high = int(last) + 1
    while high - low > fanout:
        step = (high - low) // fanout
        probes = [low + n * step for n in range(1, fanout)]
        rows = await _rows(session, MessageBatch.seq.in_(probes))
        if not rows:  # every probe fell in a gap left by deleted rows: the next row there is
            rows = await _rows(session, MessageBatch.seq >= low, limit=1)
            if not rows or rows[0][0] >= high:
                low = high  # no row between low and high: high is the answer
                break
        after = [seq for seq, when in rows if when >= moment]
        if after:
            high = after[0]
        before = [seq for seq, when in rows if when < moment and seq < high]
        if before:
            low = before[-1] + 1
    tail = await _rows(session, (MessageBatch.seq >= low) & (MessageBatch.seq < high))
    found = next((seq for seq, when in tail if when >= moment), high)
    return found if found <= int(last) else None


async def _rows(session: AsyncSession, where: Any, limit: int | None = None) -> list[Any]:
    query = select(MessageBatch.seq, MessageBatch.timestamp).where(where)
    rows = await session.execute(query.order_by(MessageBatch.seq).limit(limit))
    return [(int(seq), when) for seq, when in rows]


async def _tag_rows(
    session: AsyncSession, direction: str, week: int | None, today: int | None, cap: int
) -> tuple[Count, Count]:
    """The direction's tag-batch rows from ``week`` on and from ``today`` on, up to ``cap``."""
    if week is None:
        return Count(0, False), Count(0, False)
    rows = (
        select(MessageBatch.seq)
        .where(
            MessageBatch.batch_key.in_(select(Batch.key).where(Batch.owner_kind == "tag")),
            MessageBatch.direction == direction,
            MessageBatch.seq >= week,
        )
        .limit(cap + 1)  # one past the cap, to tell "exactly the cap" from "more"
        .subquery()
    )
    since_today = case((rows.c.seq >= today, 1), else_=0) if today is not None else literal(0)
    total, recent = (
        await session.execute(select(func.count(), func.sum(since_today)).select_from(rows))
    ).one()
    capped = int(total) > cap
    return Count(min(int(total), cap), capped), Count(min(int(recent or 0), cap), capped)


async def recent_traffic(
    session: AsyncSession, today: datetime, week: datetime, cap: int = TRAFFIC_CAP
) -> Traffic:
    """Messages in and out since ``today`` and since ``week`` (which must be the earlier)."""
    from_week = await first_seq_since(session, week)
    from_today = None if from_week is None else await first_seq_since(session, today, from_week)
    inbound = await _tag_rows(session, "inbound", from_week, from_today, cap)
    outbound = await _tag_rows(session, "outbound", from_week, from_today, cap)
    return Traffic(
        inbound_today=inbound[1],
        outbound_today=outbound[1],
        inbound_week=inbound[0],
        outbound_week=outbound[0],
    )


async def backlogs(session: AsyncSession, cap: int = BACKLOG_CAP) -> dict[str, Count]:
    """Work stored but not yet done: inbound not handled, outbound not sent, events not
    dispatched, HTTP API pushes waiting for their next attempt."""
    waiting: dict[str, Select[Any]] = {
        "inbound": select(StoredMessage.message_id).where(
            StoredMessage.direction == "inbound", StoredMessage.state == "accepted"
        ),
        "outbound": select(StoredMessage.message_id).where(
            StoredMessage.direction == "outbound", StoredMessage.state == "queued"
        ),
        "events": select(StoredEvent.event_id).where(StoredEvent.state == "new"),
        "pushes": select(PushDelivery.id).where(PushDelivery.status == "pending"),
    }
    return {name: await capped_count(session, query, cap) for name, query in waiting.items()}
