"""Leases: work that must run in one process at a time (an SMPP bind, a scheduler).

On PostgreSQL a lease is a session-level advisory lock held on a connection of its own: when
the holding process dies its connection drops, PostgreSQL releases the lock, and a waiting
process takes the work over. On SQLite (the embedded mode, one process) a lease is a lock in
this process.

``run_while_held(db, name, work)`` is the usual way in: it waits for the lease, runs ``work``
while holding it, checks the lock's connection every few seconds, and if the lease is lost
(the database went away) cancels the work and starts waiting again.

A lock's connection is a connection of its own, outside the database's pool, so that holding
many leases starves no query. ``Membership`` counts the live processes of a group the same way
(each holds one of a group's member locks), so work can be shared out fairly among them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from vumigo.db.engine import Database

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
RETRY_SECONDS = 1.0

MAX_MEMBERS = 64

_local_holders: dict[tuple[str, str], object] = {}
_lock_engines: dict[str, AsyncEngine] = {}


def _lock_engine(db: Database) -> AsyncEngine:
    """An unpooled engine for lock connections: each lease holds its connection for as long
    as it holds the lease, which a pool of a few connections cannot spare."""
    engine = _lock_engines.get(db.url)
    if engine is None:
        engine = _lock_engines[db.url] = create_async_engine(db.url, poolclass=NullPool)
    return engine


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks are keyed by integers)."""
    value = zlib.crc32(name.encode()) | (zlib.crc32(name[::-1].encode()) << 32)
    return value - (1 << 64) if value >= 1 << 63 else value


class Lease:
    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self.connection: AsyncConnection | None = None
        self.held = False

    async def acquire(self) -> bool:
        """Takes the lease if it is free; returns whether it is held now."""
        if self.held:
            return True
        if self.db.dialect != "postgresql":
            key = (self.db.url, self.name)
            if key in _local_holders:
                return False
            _local_holders[key] = self
            self.held = True
            return True
        connection = await _lock_engine(self.db).connect()
        try:
            result = await connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(self.name)}
            )
            got = bool(result.scalar())
            await connection.commit()
        except Exception:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return False
        self.connection = connection
        self.held = True
        return True

    async def still_held(self) -> bool:
        """False once the lock's connection is gone (and with it the lock)."""
        if not self.held:
            return False
        if self.connection is None:
            return True
        try:
            await self.connection.execute(text("SELECT 1"))
            await self.connection.commit()
            return True
        except Exception:
            log.warning("lost the lease %s", self.name)
            await self._drop()
            return False

    async def release(self) -> None:
        if not self.held:
            return
        if self.connection is None:
            _local_holders.pop((self.db.url, self.name), None)
            self.held = False
            return
        with contextlib.suppress(Exception):
            await self.connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(self.name)}
            )
            await self.connection.commit()
        await self._drop()

    async def _drop(self) -> None:
        self.held = False
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()
            self.connection = None


def _unsigned(key: int) -> int:
    return key & 0xFFFF_FFFF_FFFF_FFFF


class Membership:
    """This process's place in a group of processes that share work (e.g. ``transports``).

    A member holds one of the group's ``MAX_MEMBERS`` member locks; ``count`` reads how many
    are held from ``pg_locks``, so a member that dies stops counting the moment PostgreSQL
    drops its connection. On other databases (one process) the group has one member.
    """

    def __init__(self, db: Database, group: str) -> None:
        self.db = db
        self.group = group
        self.lease: Lease | None = None

    def _name(self, slot: int) -> str:
        return f"{self.group}:member:{slot}"

    async def join(self) -> bool:
        """Takes a free member lock (or checks the one held); False if the group is full."""
        if self.lease is not None and await self.lease.still_held():
            return True
        self.lease = None
        for slot in range(MAX_MEMBERS):
            lease = Lease(self.db, self._name(slot))
            if await lease.acquire():
                self.lease = lease
                return True
        log.warning("the %s group has %d members already", self.group, MAX_MEMBERS)
        return False

    async def count(self) -> int:
        """How many processes are members now (at least 1: the caller counts itself)."""
        if self.db.dialect != "postgresql":
            return 1
        wanted = {_unsigned(lock_key(self._name(slot))) for slot in range(MAX_MEMBERS)}
        async with self.db.sessions() as session:
            rows = await session.execute(
                text(
                    "SELECT classid::bigint, objid::bigint FROM pg_locks "
                    "WHERE locktype = 'advisory' AND objsubid = 1 AND granted "
                    "AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database())"
                )
            )
            held = {(int(high) << 32) | int(low) for high, low in rows}
        return max(1, len(wanted & held))

    async def leave(self) -> None:
        if self.lease is not None:
            await self.lease.release()
            self.lease = None


async def run_while_held(
    db: Database,
    name: str,
    work: Callable[[], Coroutine[Any, Any, None]],
    check_seconds: float = CHECK_SECONDS,
    retry_seconds: float = RETRY_SECONDS,
) -> None:
    """Runs ``work`` whenever this process holds the lease ``name``, until cancelled."""
    lease = Lease(db, name)
    try:
        while True:
            try:
                got = await lease.acquire()
            except Exception:
                log.exception("could not ask for the lease %s", name)
                got = False
            if not got:
                await asyncio.sleep(retry_seconds)
                continue
            log.info("holding the lease %s", name)
            task = asyncio.create_task(work(), name=f"lease:{name}")
            try:
                while not task.done() and await lease.still_held():
                    await asyncio.wait({task}, timeout=check_seconds)
            finally:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            if task.done() and not task.cancelled() and task.exception() is None:
                return  # the work finished by itself
            await lease.release()
            await asyncio.sleep(retry_seconds)
    finally:
        await lease.release()
