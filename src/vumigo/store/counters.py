"""Batch counters, kept incrementally: counts, progress_status and uniques are never scanned."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import BatchCounter
from vumigo.db.upsert import insert_for

PROGRESS_KEYS = (
    "sent",
    "ack",
    "nack",
    "delivery_report",
    "delivery_report_delivered",
    "delivery_report_failed",
    "delivery_report_pending",
)


async def bump(session: AsyncSession, batch_key: str, names: Iterable[str], by: int = 1) -> None:
    for name in names:
        stmt = insert_for(session, BatchCounter).values(batch_key=batch_key, name=name, value=by)
        stmt = stmt.on_conflict_do_update(
            index_elements=["batch_key", "name"],
            set_={"value": BatchCounter.value + stmt.excluded.value},
        )
        await session.execute(stmt)


async def counters(session: AsyncSession, batch_key: str) -> dict[str, int]:
    rows = await session.execute(
        select(BatchCounter.name, BatchCounter.value).where(BatchCounter.batch_key == batch_key)
    )
    return {name: value for name, value in rows}


def progress_status(counts: dict[str, int]) -> dict[str, int]:
    """The original's progress_status: every key present, zero when never counted."""
    return {key: counts.get(key, 0) for key in PROGRESS_KEYS}
