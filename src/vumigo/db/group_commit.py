"""Group commit for SQLite: many small write transactions share one COMMIT.

Each member runs alone (a lock serialises them, as SQLite would anyway) inside a SAVEPOINT of
one open transaction, so a failing member undoes only its own writes. When no other member is
waiting, or the group is large, the transaction commits and every member of the group is
released together. A member's ``async with`` does not exit until its writes are committed, so
"persist, then acknowledge" still holds; it just costs one commit per group, not per member.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

MAX_GROUP = 200
WRITE_OPTION = "vumigo_sqlite_write"  # engine.WRITE_OPTION; repeated to avoid a cycle


class _Group:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.members = 0


class GroupCommit:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.lock = asyncio.Lock()
        self.waiting = 0
        self.group: _Group | None = None

    @asynccontextmanager
    async def member(self) -> AsyncIterator[AsyncSession]:
        self.waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self.waiting -= 1
        try:
            if self.group is None:
                session = self.sessions()
                # Procuring the connection begins the transaction, as a write (see engine.py).
                await session.connection(execution_options={WRITE_OPTION: True})
                self.group = _Group(session)
            group = self.group
            group.members += 1
            savepoint = await group.session.begin_nested()
            try:
                yield group.session
            except BaseException:
                await savepoint.rollback()
                raise
            else:
                await savepoint.commit()
            finally:
                if self.waiting == 0 or group.members >= MAX_GROUP:
                    await self._commit(group)
        finally:
            self.lock.release()
        await asyncio.shield(group.committed)

    async def _commit(self, group: _Group) -> None:
        self.group = None
        try:
            await group.session.commit()
        except BaseException as exc:
            await group.session.rollback()
            group.committed.set_exception(exc)
            # Retrieved by the members that await it; keep asyncio from warning if none do.
            group.committed.exception()
        else:
            group.committed.set_result(None)
        finally:
            await group.session.close()
