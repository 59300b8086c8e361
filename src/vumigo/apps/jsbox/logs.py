"""The conversation logs of JavaScript apps, in the database (``sandbox_logs``).

An app logs several lines per message (the toolkit alone logs four or five), so writing each
line in a transaction of its own would cost more than running the app. Lines are buffered and
written together a moment later, or at once when many are waiting; each write also prunes the
conversations it touched down to their newest ``max_lines``. Reading a log writes what is
buffered first, so a reader in this process always sees every line. The cost: lines buffered
when the process dies (at most ``flush_delay`` seconds' worth) are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models.sandbox import SandboxLogLine
from vumigo.sandbox.resources.log import MAX_LOGS_PER_CONVERSATION

log = logging.getLogger(__name__)

#: Longer lines are cut: a log page is for reading, and an app can log a megabyte at once.
MAX_LINE_LENGTH = 8000
FLUSH_DELAY = 0.2
FLUSH_AT = 500


async def recent_lines(
    session: AsyncSession,
    account_key: str,
    conversation_key: str,
    limit: int = MAX_LOGS_PER_CONVERSATION,
) -> list[str]:
    """A conversation's newest log lines, newest first (what the log page and CLI show)."""
    stmt = (
        select(SandboxLogLine.line)
        .where(
            SandboxLogLine.account_key == account_key,
            SandboxLogLine.conversation_key == conversation_key,
        )
        .order_by(SandboxLogLine.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def prune(session: AsyncSession, account_key: str, conversation_key: str, keep: int) -> None:
    """Deletes all but the newest ``keep`` lines of a conversation (one indexed statement)."""
    same = (
        SandboxLogLine.account_key == account_key,
        SandboxLogLine.conversation_key == conversation_key,
    )
    oldest_kept = (
        select(SandboxLogLine.id)
        .where(*same)
        .order_by(SandboxLogLine.id.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    # With fewer lines than ``keep`` the subquery is NULL and nothing matches.
    await session.execute(delete(SandboxLogLine).where(*same, SandboxLogLine.id < oldest_kept))


class DbLogStore:
    """Implements :class:`vumigo.sandbox.resources.log.LogStore` on ``sandbox_logs``."""

    def __init__(
        self,
        db: Database,
        max_lines: int = MAX_LOGS_PER_CONVERSATION,
        flush_delay: float = FLUSH_DELAY,
    ) -> None:
        self.db = db
        self.max_lines = max_lines
        self.flush_delay = flush_delay
        self._pending: list[dict[str, Any]] = []
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def append(self, account_key: str, conversation_key: str, line: str) -> None:
        if len(line) > MAX_LINE_LENGTH:
            line = line[:MAX_LINE_LENGTH] + " [...]"
        self._pending.append(
            {
                "account_key": account_key,
                "conversation_key": conversation_key,
                "logged_at": utcnow(),
                "line": line,
            }
        )
        if len(self._pending) >= FLUSH_AT:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())

    async def recent(
        self, account_key: str, conversation_key: str, limit: int = MAX_LOGS_PER_CONVERSATION
    ) -> list[str]:
        await self.flush()
        async with self.db.sessions() as session:
            return await recent_lines(session, account_key, conversation_key, limit)

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(self.flush_delay)
        finally:
            self._timer = None
        await self.flush()

    async def flush(self) -> None:
        """Writes the buffered lines. A failed write is logged and its lines dropped: a log
        must never stop an app."""
        async with self._lock:
            rows, self._pending = self._pending, []
            if not rows:
                return
            touched = {(row["account_key"], row["conversation_key"]) for row in rows}
            try:
                async with self.db.transaction() as session:
                    await session.execute(insert(SandboxLogLine), rows)
                    for account_key, conversation_key in sorted(touched):
                        await prune(session, account_key, conversation_key, self.max_lines)
            except Exception:
                log.exception("could not store %d sandbox log lines", len(rows))

    async def close(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        await self.flush()
