"""Leases: work that must run in one process at a time (an SMPP bind, a scheduler).

On PostgreSQL a lease is a session-level advisory lock held on a connection of its own: when
the holding process dies its connection drops, PostgreSQL releases the lock, and a waiting
process takes the work over. On SQLite (the embedded mode, one process) a lease is a lock in
this process.

``run_while_held(db, name, work)`` is the usual way in: it waits for the lease, runs ``work``
while holding it, checks the lock's connection every few seconds, and if the lease is lost
(the database went away) cancels the work and starts waiting again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from vumigo.db.engine import Database

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
RETRY_SECONDS = 1.0

_local_holders: dict[tuple[str, str], object] = {}


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
        connection = await self.db.engine.connect()
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
