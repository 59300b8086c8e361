"""Migrations build the whole schema on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from vumigo.db.base import Base
from vumigo.db.engine import Database
from vumigo.db.migrate import current_revisions, head_revisions, upgrade


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_schema_is_at_head_and_matches_models(db: Database) -> None:
    assert await current_revisions(db) == head_revisions()
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(_tables)
        diff = await connection.run_sync(_diff)
    assert set(Base.metadata.tables) <= tables
    assert diff == [], f"models and migrations disagree: {diff}"


async def test_upgrade_twice_is_harmless(db: Database) -> None:
    await upgrade(db)
    assert await current_revisions(db) == head_revisions()
