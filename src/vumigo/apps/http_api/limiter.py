"""The per-account limit on open HTTP API requests (streams included), as in the original.

The original kept the count in Redis, shared by its API workers. Here there are two counters
with one interface (``enter``/``leave``):

- ``ConcurrencyLimiter`` counts in memory: the embedded mode, where one process serves the API.
- ``DbConcurrencyLimiter`` counts in the database (``http_api_slots``) for the distributed mode,
  so the limit holds across every web process. Each process keeps one row per account with its
  own open count; an account's open requests are the sum of the rows seen lately. A process
  refreshes its rows while it has requests open, so the rows of a process that died stop
  counting after ``STALE_SECONDS`` instead of leaking slots for good. Taking a slot reads the
  sum and adds to the row under a transaction-level lock on the account, so two processes
  cannot both take the last slot. It costs two short transactions per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, func, select, text, update

from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import ApiSlot
from vumigo.db.upsert import insert_for
from vumigo.leases import lock_key

log = logging.getLogger(__name__)

STALE_SECONDS = 30.0
REFRESH_SECONDS = STALE_SECONDS / 3


class TooManyConnections(Exception):
    """The account has as many open requests as it may."""


class ConcurrencyLimiter:
    def __init__(self, limit: int) -> None:
        self.limit = limit  # negative: no limit
        self.open: dict[str, int] = {}

    def acquire(self, account_key: str) -> None:
        count = self.open.get(account_key, 0)
        if 0 <= self.limit <= count:
            raise TooManyConnections(account_key)
        self.open[account_key] = count + 1

    def release(self, account_key: str) -> None:
        count = self.open.get(account_key, 0) - 1
        if count > 0:
            self.open[account_key] = count
        else:
            self.open.pop(account_key, None)

    @contextmanager
    def slot(self, account_key: str) -> Iterator[None]:
        self.acquire(account_key)
        try:
            yield
        finally:
            self.release(account_key)

    async def enter(self, account_key: str) -> None:
        """Takes a slot; raises TooManyConnections when the account has none free."""
        self.acquire(account_key)

    async def leave(self, account_key: str) -> None:
        self.release(account_key)


class DbConcurrencyLimiter(ConcurrencyLimiter):
    """The limit across processes; ``open`` mirrors this process's own counts."""

    def __init__(self, db: Database, limit: int, holder: str | None = None) -> None:
        super().__init__(limit)
        self.db = db
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._refresher: asyncio.Task[None] | None = None

    async def enter(self, account_key: str) -> None:
        if self.limit < 0:
            return
        # Counted here before anything is awaited: this process's count is changed only in
        # place (+1 here, -1 in leave), never written back from a copy read before an await,
        # which a leave running meanwhile would make stale (and the slot leak for good).
        self.open[account_key] = self.open.get(account_key, 0) + 1
        try:
            await self._take(account_key)
        except BaseException:
            self.release(account_key)
            raise
        self._keep_fresh()

    async def _take(self, account_key: str) -> None:
        now = utcnow()
        async with self.db.transaction() as session:
            if self.db.dialect == "postgresql":
                # Released at commit: takers of the same account's slots queue here.
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"),
                    {"key": lock_key(f"http-api-slots:{account_key}")},
                )
            fresh = now - timedelta(seconds=STALE_SECONDS)
            others = (
                await session.execute(
                    select(func.coalesce(func.sum(ApiSlot.count), 0)).where(
                        ApiSlot.account_key == account_key,
                        ApiSlot.holder != self.holder,
                        ApiSlot.seen_at > fresh,
                    )
                )
            ).scalar_one()
            mine = self.open.get(account_key, 0)  # this request included
            if int(others) + mine > self.limit:
                raise TooManyConnections(account_key)
            stmt = insert_for(session, ApiSlot).values(
                account_key=account_key, holder=self.holder, count=mine, seen_at=now
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["account_key", "holder"],
                    set_={"count": stmt.excluded.count, "seen_at": now},
                )
            )

    async def leave(self, account_key: str) -> None:
        if self.limit < 0:
            return
        self.release(account_key)
        count = self.open.get(account_key, 0)
        try:
            async with self.db.transaction() as session:
                mine = (ApiSlot.account_key == account_key, ApiSlot.holder == self.holder)
                if count:
                    await session.execute(
                        update(ApiSlot).where(*mine).values(count=count, seen_at=utcnow())
                    )
                else:
                    await session.execute(delete(ApiSlot).where(*mine))
        except Exception:
            # The next refresh writes this process's true counts.
            log.exception("could not give back an HTTP API slot of %s", account_key)

    def _keep_fresh(self) -> None:
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh_loop(), name="http-api-slots")

    async def _refresh_loop(self) -> None:
        """Refreshes this process's rows while it has requests open, and clears out the rows
        of processes that died."""
        while self.open:
            await asyncio.sleep(REFRESH_SECONDS)
            with contextlib.suppress(Exception):
                await self.refresh()

    async def refresh(self) -> None:
        """Writes this process's open counts afresh; deletes its other rows and long-dead
        processes' rows."""
        now = utcnow()
        async with self.db.transaction() as session:
            for account_key, count in list(self.open.items()):
                await session.execute(
                    update(ApiSlot)
                    .where(ApiSlot.account_key == account_key, ApiSlot.holder == self.holder)
                    .values(count=count, seen_at=now)
                )
            await session.execute(
                delete(ApiSlot).where(
                    ApiSlot.holder == self.holder, ApiSlot.account_key.not_in(list(self.open))
                )
            )
            await session.execute(
                delete(ApiSlot).where(ApiSlot.seen_at < now - timedelta(seconds=4 * STALE_SECONDS))
            )
