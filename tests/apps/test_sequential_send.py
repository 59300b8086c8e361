"""Sequential send: when schedules fire, and how ticks keep one pending run per conversation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.apps.helpers import channel, conversation
from vumigo.apps.sequential_send import RUN, SequentialSendApp, current_index, next_occurrence
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import Conversation, ScheduledTask
from vumigo.engine.core import Engine
from vumigo.errors import InvalidInput


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 1) -> datetime:
    return datetime(2030, month, day, hour, minute, second, tzinfo=UTC)  # 2030-01-01 is a Tuesday


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ({"recurring": "daily", "time": "09:00:00"}, at(1, 8), at(1, 9)),
        ({"recurring": "daily", "time": "09:00:00"}, at(1, 9), at(2, 9)),
        ({"recurring": "daily", "time": "09:00:00"}, at(31, 10), at(1, 9, month=2)),
        ({"recurring": "day_of_week", "days": "1", "time": "06:30:00"}, at(1, 8), at(7, 6, 30)),
        ({"recurring": "day_of_week", "days": "2, 5", "time": "12:00:00"}, at(1, 13), at(4, 12)),
        (
            {"recurring": "day_of_month", "days": "15", "time": "00:00:00"},
            at(20, 0),
            at(15, 0, month=2),
        ),
        (
            {"recurring": "day_of_month", "days": "31", "time": "09:00:00"},
            at(31, 10),
            at(31, 9, month=3),
        ),
        ({"recurring": "never"}, at(1, 8), None),
    ],
)
def test_next_occurrence(
    schedule: dict[str, Any], after: datetime, expected: datetime | None
) -> None:
    assert next_occurrence(schedule, after) == expected


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"recurring": "hourly", "time": "09:00:00"}, "recurring must be one of"),
        ({"recurring": "daily", "time": "9am"}, "HH:MM:SS"),
        ({"recurring": "day_of_week", "days": "8", "time": "09:00:00"}, "from 1 to 7"),
        ({"recurring": "day_of_month", "days": "first", "time": "09:00:00"}, "numbers"),
        ({"recurring": "day_of_month", "days": "", "time": "09:00:00"}, "from 1 to 31"),
    ],
)
def test_bad_schedules(schedule: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        next_occurrence(schedule, at(1, 0))


@pytest.mark.parametrize(
    ("extra", "index"), [(None, 0), ({}, 0), ({"k": "3"}, 3), ({"k": "x"}, 0), ({"k": "-2"}, 0)]
)
def test_current_index(extra: dict[str, str] | None, index: int) -> None:
    assert current_index(extra, "k") == index


def test_config_validation() -> None:
    good = {"schedule": {"recurring": "daily", "time": "10:00:00"}, "messages": ["a", "b"]}
    assert SequentialSendApp.validate_config(good) == good
    with pytest.raises(InvalidInput, match="messages"):
        SequentialSendApp.validate_config({**good, "messages": "a"})
    with pytest.raises(InvalidInput, match="schedule"):
        SequentialSendApp.validate_config({"messages": []})


async def pending_runs(db: Database) -> list[ScheduledTask]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(ScheduledTask).where(ScheduledTask.action == RUN).order_by(ScheduledTask.due_at)
        )
        return list(rows.all())


async def test_ticks_keep_one_pending_run_at_the_next_occurrence(
    sqlite_db: Database, settings: Settings
) -> None:
    account, _ = await channel(sqlite_db, ["10001"])
    config = {"schedule": {"recurring": "daily", "time": "09:00:00"}, "messages": ["a"]}
    conv = await conversation(sqlite_db, account, "sequential_send", config)
    app = SequentialSendApp(Engine(settings, sqlite_db))
    await app.tick(at(1, 8))
    await app.tick(at(1, 8, 30))  # again: still one
    runs = await pending_runs(sqlite_db)
    assert [(r.conversation_key, r.due_at, r.status) for r in runs] == [(conv, at(1, 9), "pending")]

    # The schedule changes: the pending run moves.
    new = {**config, "schedule": {"recurring": "daily", "time": "10:15:00"}}
    async with sqlite_db.transaction() as session:
        await session.execute(update(Conversation).values(config=new))
    await app.tick(at(1, 8, 45))
    assert [r.due_at for r in await pending_runs(sqlite_db)] == [at(1, 10, 15)]

    # Due: left for the scheduler to run, even if the clock has moved on.
    await app.tick(at(1, 10, 20))
    assert [r.due_at for r in await pending_runs(sqlite_db)] == [at(1, 10, 15)]

    # Stopped: the pending run is cancelled, and none is planned.
    async with sqlite_db.transaction() as session:
        await session.execute(update(Conversation).values(status="stopped"))
    await app.tick(at(1, 10, 30))
    assert [r.status for r in await pending_runs(sqlite_db)] == ["cancelled"]
