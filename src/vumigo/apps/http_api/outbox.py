"""The push outbox: writing deliveries, claiming the due ones, recording what became of them.

Claims are safe with several worker processes: a claim is a conditional UPDATE (still pending,
still due) that moves the delivery's ``next_attempt_at`` a lease ahead and stamps it with a
claim token. Whoever's UPDATE matched owns the attempt; the outcome is written only while the
token still matches, so a worker that outlived its lease cannot overwrite a newer attempt. A
worker that dies holding claims loses nothing: the lease runs out and the delivery is due again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import PushDelivery
from vumigo.db.upsert import insert_for

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Claim:
    """One attempt a worker owns: what to send, and the token that proves ownership."""

    id: int
    token: str
    url: str
    body: str
    attempts: int  # including this one


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Literal["delivered", "retry", "give_up"]
    status_code: int | None = None
    error: str | None = None


async def enqueue(
    session: AsyncSession,
    *,
    account_key: str,
    conversation_key: str,
    kind: str,
    item_id: str,
    url: str,
    body: str,
    max_pending: int,
) -> None:
    """Adds a delivery, due now; one over the account's cap is stored as given up, visibly."""
    now = utcnow()
    pending = (
        await session.execute(
            select(func.count())
            .select_from(PushDelivery)
            .where(PushDelivery.account_key == account_key, PushDelivery.status == "pending")
        )
    ).scalar_one()
    values: dict[str, object] = {"status": "pending", "next_attempt_at": now}
    if pending >= max_pending:
        values = {
            "status": "given_up",
            "next_attempt_at": None,
            "last_error": f"too many pending deliveries for this account (limit {max_pending})",
        }
    stmt = insert_for(session, PushDelivery).values(
        account_key=account_key,
        conversation_key=conversation_key,
        kind=kind,
        item_id=item_id,
        url=url,
        body=body,
        attempts=0,
        created_at=now,
        updated_at=now,
        **values,
    )
    await session.execute(stmt.on_conflict_do_nothing())


async def claim_due(db: Database, limit: int, lease: float) -> list[Claim]:
    """Claims up to ``limit`` due deliveries, oldest due first."""
    now = utcnow()
    due = (
        select(PushDelivery.id)
        .where(PushDelivery.status == "pending", PushDelivery.next_attempt_at <= now)
        .order_by(PushDelivery.next_attempt_at, PushDelivery.id)
        .limit(limit)
    )
    # Looking first without a write transaction keeps an idle worker off SQLite's write lock.
    async with db.sessions() as session:
        ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    token = uuid.uuid4().hex
    async with db.transaction() as session:
        await session.execute(
            update(PushDelivery)
            .where(
                PushDelivery.id.in_(ids),
                PushDelivery.status == "pending",
                PushDelivery.next_attempt_at <= now,
            )
            .values(
                claimed_by=token,
                next_attempt_at=now + timedelta(seconds=lease),
                attempts=PushDelivery.attempts + 1,
            )
        )
        rows = (
            await session.execute(
                select(PushDelivery.id, PushDelivery.url, PushDelivery.body, PushDelivery.attempts)
                .where(PushDelivery.id.in_(ids), PushDelivery.claimed_by == token)
                .order_by(PushDelivery.id)
            )
        ).all()
    return [Claim(row.id, token, row.url, row.body, row.attempts) for row in rows]


def _next_step(claim: Claim, outcome: Outcome, intervals: Sequence[float]) -> dict[str, object]:
    if outcome.result == "delivered":
        return {"status": "delivered", "next_attempt_at": None}
    if outcome.result == "give_up":
        return {"status": "given_up", "next_attempt_at": None}
    # attempts counts the first try, so after attempt n the n-th interval applies.
    if claim.attempts <= len(intervals):
        delay = intervals[claim.attempts - 1]
        return {"status": "pending", "next_attempt_at": utcnow() + timedelta(seconds=delay)}
    return {"status": "failed", "next_attempt_at": None}


async def record(db: Database, claim: Claim, outcome: Outcome, intervals: Sequence[float]) -> bool:
    """Writes an attempt's outcome; False if the claim was lost (the lease ran out)."""
    error = outcome.error[:MAX_ERROR_LENGTH] if outcome.error else None
    async with db.transaction() as session:
        result = await session.execute(
            update(PushDelivery)
            .where(
                PushDelivery.id == claim.id,
                PushDelivery.claimed_by == claim.token,
                PushDelivery.status == "pending",
            )
            .values(
                claimed_by=None,
                last_status_code=outcome.status_code,
                last_error=error,
                **_next_step(claim, outcome, intervals),
            )
        )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(db: Database, claims: Sequence[Claim]) -> None:
    """Hands back claims a stopping worker did not finish: due at once, the attempt uncounted."""
    if not claims:
        return
    async with db.transaction() as session:
        for claim in claims:
            await session.execute(
                update(PushDelivery)
                .where(PushDelivery.id == claim.id, PushDelivery.claimed_by == claim.token)
                .values(
                    claimed_by=None,
                    next_attempt_at=utcnow(),
                    attempts=PushDelivery.attempts - 1,
                )
            )


async def next_due(db: Database) -> datetime | None:
    async with db.sessions() as session:
        return (
            await session.execute(
                select(func.min(PushDelivery.next_attempt_at)).where(
                    PushDelivery.status == "pending"
                )
            )
        ).scalar_one_or_none()


async def prune(db: Database, keep_days: float) -> int:
    """Deletes finished deliveries older than ``keep_days``; pending ones are never deleted."""
    cutoff = utcnow() - timedelta(days=keep_days)
    async with db.transaction() as session:
        result = await session.execute(
            delete(PushDelivery).where(
                PushDelivery.status != "pending", PushDelivery.updated_at < cutoff
            )
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
