"""The conversation logs of apps in the database: buffered writes, newest first, pruned to the
newest lines per conversation as they are written."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from tests.apps.jsbox.resource_helpers import two_accounts
from vumigo.apps.jsbox.logs import MAX_LINE_LENGTH, DbLogStore, recent_lines
from vumigo.db.engine import Database
from vumigo.db.models import SandboxLogLine
from vumigo.sandbox.resources.log import store_sink


async def stored(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SandboxLogLine)) or 0)


async def test_lines_come_back_newest_first_per_conversation(db: Database) -> None:
    a, b = await two_accounts(db)
    logs = DbLogStore(db)
    for i in range(3):
        await logs.append(a, "conv-1", f"line {i}")
    await logs.append(a, "conv-2", "other conversation")
    await logs.append(b, "conv-1", "other account")
    assert await logs.recent(a, "conv-1") == ["line 2", "line 1", "line 0"]
    assert await logs.recent(a, "conv-1", limit=2) == ["line 2", "line 1"]
    assert await logs.recent(a, "conv-2") == ["other conversation"]
    assert await logs.recent(b, "conv-1") == ["other account"]
    await logs.close()


async def test_writes_are_buffered_briefly(db: Database) -> None:
    a, _ = await two_accounts(db)
    logs = DbLogStore(db, flush_delay=0.05)
    await logs.append(a, "c", "one")
    await logs.append(a, "c", "two")
    assert await stored(db) == 0  # not yet: one write will carry both
    await asyncio.sleep(0.3)
    assert await stored(db) == 2
    await logs.append(a, "c", "three")
    await logs.close()  # closing writes what is left
    assert await stored(db) == 3


async def test_only_the_newest_lines_are_kept(db: Database) -> None:
    a, _ = await two_accounts(db)
    logs = DbLogStore(db, max_lines=5)
    for batch in range(3):
        for i in range(4):
            await logs.append(a, "c", f"{batch}.{i}")
        await logs.flush()
    await logs.append(a, "other", "kept")
    await logs.close()
    async with db.sessions() as session:
        assert await recent_lines(session, a, "c") == ["2.3", "2.2", "2.1", "2.0", "1.3"]
        assert await recent_lines(session, a, "other") == ["kept"]
    assert await stored(db) == 6


async def test_long_lines_are_cut(db: Database) -> None:
    a, _ = await two_accounts(db)
    logs = DbLogStore(db)
    await logs.append(a, "c", "x" * (MAX_LINE_LENGTH * 2))
    (line,) = await logs.recent(a, "c")
    assert len(line) < MAX_LINE_LENGTH + 10 and line.endswith("[...]")
    await logs.close()


async def test_a_failed_write_is_logged_not_raised(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    logs = DbLogStore(db)
    # No such account: the foreign key refuses the rows.
    await logs.append("no-such-account", "c", "lost")
    with caplog.at_level(logging.ERROR, logger="vumigo.apps.jsbox.logs"):
        await logs.flush()
    assert "could not store 1 sandbox log lines" in caplog.text
    await logs.close()


async def test_formatted_lines_from_a_run(db: Database) -> None:
    a, _ = await two_accounts(db)
    logs = DbLogStore(db)
    sink = store_sink(logs, a, "c")
    await sink(logging.WARNING, "careful")
    (line,) = await logs.recent(a, "c")
    assert line.startswith("[20") and line.endswith(", WARNING] careful")
    await logs.close()
