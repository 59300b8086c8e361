"""The apps' storage on SQLite and PostgreSQL alike: a group send with its window and progress,
task claims and leases, sessions, and a sequential run's contact updates."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.apps.helpers import (
    ask,
    channel,
    conversation,
    give_groups,
    make_contacts,
    make_group,
    opt_out,
    outbound_to,
    recipient_count,
    running_engine,
    task_of,
    wait_for,
)
from vumigo.apps import sessions
from vumigo.apps.bulk_message.window import progress
from vumigo.apps.scheduler import AppsSettings, Scheduler, services_for
from vumigo.config import Settings
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import ScheduledTask
from vumigo.engine.core import Engine


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VUMIGO_APPS_POLL_INTERVAL", "0.05")


@pytest.fixture
def any_settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url)


async def test_group_send(db: Database, any_settings: Settings) -> None:
    account, _ = await channel(db, ["10001"])
    conv = await conversation(db, account, "bulk_message", {}, tag="10001")
    group = await make_group(db, account, "all")
    numbers = [f"+2784{n:07d}" for n in range(30)]
    await make_contacts(db, account, [{"msisdn": n} for n in [*numbers, numbers[0]]], group=group)
    await opt_out(db, account, numbers[1])
    await give_groups(db, account, conv, [group])
    task = await ask(db, conv, "bulk_send", {"message": "hi", "dedupe": True, "window": 7})
    async with running_engine(any_settings) as engine:
        services_for(engine).scheduler.wake()

        async def all_acked() -> bool:
            found = await task_of(db, task)
            done = found is not None and found.status == "done"
            return done and await recipient_count(db, task, "queued") == 0

        assert await wait_for(all_acked, 30)
    sent = Counter(m.to_addr for m in await outbound_to(db, account))
    assert sent == {n: 1 for n in numbers if n != numbers[1]}
    async with db.sessions() as session:
        summary = await progress(session, task)
    assert summary is not None
    assert (summary["total"], summary["queued"], summary["acked"]) == (29, 29, 29)


async def test_claims_leases_and_sessions(db: Database, any_settings: Settings) -> None:
    account, _ = await channel(db, ["10001"])
    conv = await conversation(db, account, "bulk_message", {})
    await give_groups(db, account, conv, [await make_group(db, account, "g")])
    task = await ask(db, conv, "bulk_send", {"message": "x"})
    one = Scheduler(Engine(any_settings, db), AppsSettings(task_lease=60))
    other = Scheduler(Engine(any_settings, db), AppsSettings(task_lease=60))
    now = utcnow()
    assert await one._claim(task, now)
    assert not await other._claim(task, now)  # held
    assert await other._claim(task, now + timedelta(seconds=61))  # the lease ran out
    found = await task_of(db, task)
    assert found is not None and found.locked_by == other.worker_id
    await other._release([task])
    async with db.transaction() as session:
        await session.execute(update(ScheduledTask).values(status="pending"))

    async with db.transaction() as session:
        await sessions.save(conv, "+2782", {"state": "q1"}, 30)(session)
        await sessions.save(conv, "+2782", {"state": "q2"}, 30)(session)  # replaces
    assert await sessions.load(db, conv, "+2782") == {"state": "q2"}
    assert await sessions.sweep(db, utcnow() + timedelta(seconds=31)) == 1
