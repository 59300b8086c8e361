"""The async engine and session factory for SQLite (embedded) or PostgreSQL (distributed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from vumigo.db.group_commit import GroupCommit


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, issue BEGIN: the driver's own transaction handling
    # breaks SAVEPOINTs, which group commit relies on.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; busy_timeout makes writers wait, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


WRITE_OPTION = "vumigo_sqlite_write"


def _sqlite_begin(connection: Any) -> None:
    # A write transaction takes the write lock at BEGIN: upgrading a read transaction later
    # fails at once (not after busy_timeout) when another process wrote in between.
    write = connection.get_execution_options().get(WRITE_OPTION)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for ``url``; for a SQLite file, its folder is created and pragmas are set."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(url, **kwargs)


class Database:
    """An engine plus its session factory: the one storage handle passed down to every part."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Rather than make this process's writers queue for
        # the file (each waiting in sleeps of up to 100 ms), they share group commits.
        self._group: GroupCommit | None = (
            GroupCommit(self.sessions) if self.engine.dialect.name == "sqlite" else None
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error.

        When the block exits normally its writes are committed (durable) — on SQLite possibly
        together with other blocks' writes, but never before the block has finished.
        """
        if self._group is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._group.member() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
