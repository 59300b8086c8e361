"""Batch counters, kept incrementally: counts, progress_status and uniques are never scanned."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import BatchCounter
from vumigo.store.statements import connection

PROGRESS_KEYS = (
    "sent",
    "ack",
    "nack",
    "delivery_report",
    "delivery_report_delivered",
    "delivery_report_failed",
    "delivery_report_pending",
)


async def bump_many(session: AsyncSession, increments: Mapping[tuple[str, str], int]) -> None:
    """Adds to counters, given as {(batch key, counter name): amount}, in one statement."""
    if not increments:
        return
    conn, sql = await connection(session)
    # Sorted, so concurrent writers (PostgreSQL) lock counter rows in one order: no deadlocks.
    rows = [
        {"batch_key": batch, "name": name, "value": by}
        for (batch, name), by in sorted(increments.items())
    ]
    await conn.execute(sql.bump, rows)


async def bump(session: AsyncSession, batch_key: str, names: Iterable[str], by: int = 1) -> None:
    await bump_many(session, {(batch_key, name): by for name in names})


async def counters(session: AsyncSession, batch_key: str) -> dict[str, int]:
    rows = await session.execute(
        select(BatchCounter.name, BatchCounter.value).where(BatchCounter.batch_key == batch_key)
    )
    return {name: value for name, value in rows}


def progress_status(counts: dict[str, int]) -> dict[str, int]:
    """The original's progress_status: every key present, zero when never counted."""
    return {key: counts.get(key, 0) for key in PROGRESS_KEYS}
