"""Per-address state of a conversation or router, kept in ``app_sessions``.

A dialogue remembers each contact's current question here and a USSD menu the app each caller
chose. Reads happen while a handler decides what to do; writes are handed back as extra writes,
so they commit with the message's "handled" mark and a redelivered message changes nothing twice.
An expired session reads as absent; ``sweep`` deletes expired rows now and then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.base import ExtraWrite
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import AppSession
from vumigo.db.upsert import insert_for


async def load(
    db: Database, owner_key: str, address: str, now: datetime | None = None
) -> dict[str, Any] | None:
    """The session's state, or None if there is none or it has expired."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(AppSession.state, AppSession.expires_at).where(
                    AppSession.owner_key == owner_key, AppSession.address == address
                )
            )
        ).first()
    if row is None:
        return None
    state, expires_at = row
    if expires_at is not None and expires_at <= (now or utcnow()):
        return None
    return dict(state)


def save(
    owner_key: str, address: str, state: dict[str, Any], expires_in: float | None = None
) -> ExtraWrite:
    """A write that stores the session's state (replacing it), expiring ``expires_in`` s on."""

    async def write(session: AsyncSession) -> None:
        now = utcnow()
        expires_at = now + timedelta(seconds=expires_in) if expires_in is not None else None
        values = {"state": state, "updated_at": now, "expires_at": expires_at}
        stmt = insert_for(session, AppSession).values(
            owner_key=owner_key, address=address, **values
        )
        await session.execute(
            stmt.on_conflict_do_update(index_elements=["owner_key", "address"], set_=values)
        )

    return write


def clear(owner_key: str, address: str) -> ExtraWrite:
    async def write(session: AsyncSession) -> None:
        await session.execute(
            delete(AppSession).where(
                AppSession.owner_key == owner_key, AppSession.address == address
            )
        )

    return write


async def sweep(db: Database, now: datetime | None = None) -> int:
    """Deletes expired sessions; returns how many."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(AppSession).where(
                AppSession.expires_at.is_not(None), AppSession.expires_at <= (now or utcnow())
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)
