"""Small dialect helpers shared by the contacts modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_of(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql": the few places that differ (GLOB, collations) ask this."""
    return session.get_bind().dialect.name


def insert_ignoring_duplicates(session: AsyncSession, table: Any) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING``, spelt for the session's database."""
    if dialect_of(session) == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
