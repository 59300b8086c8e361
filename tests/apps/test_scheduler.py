"""The scheduler: due times, leases, retries, cancelling, and handing work back on stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from tests.apps.helpers import (
    ask,
    channel,
    conversation,
    give_groups,
    make_contacts,
    make_group,
    running_engine,
    task_of,
    wait_for,
)
from vumigo.apps import scheduler
from vumigo.apps.actions import NEEDS_RUNNING, ActionRun
from vumigo.apps.bulk_message.app import BulkMessageApp
from vumigo.apps.scheduler import AppsSettings, services_for
from vumigo.config import Settings
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import Conversation, ScheduledTask


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VUMIGO_APPS_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("VUMIGO_APPS_TASK_LEASE", "0.6")


async def bulk_conversation(db: Database) -> str:
    account, _ = await channel(db, ["10001"])
    conv = await conversation(db, account, "bulk_message", {}, tag="10001")
    group = await make_group(db, account, "g")
    await make_contacts(db, account, [{"msisdn": "+27820000001"}], group=group)
    await give_groups(db, account, conv, [group])
    return conv


def status_is(db: Database, task: str, status: str) -> Any:
    async def check() -> bool:
        found = await task_of(db, task)
        return found is not None and found.status == status

    return check


def test_settings_from_env() -> None:
    env = {"VUMIGO_APPS_POLL_INTERVAL": "2.5", "VUMIGO_APPS_MAX_TASKS": "8"}
    assert AppsSettings.from_env(env) == AppsSettings(poll_interval=2.5, max_tasks=8)
    with pytest.raises(ValueError, match="VUMIGO_APPS_TASK_LEASE"):
        AppsSettings.from_env({"VUMIGO_APPS_TASK_LEASE": "soon"})


async def test_task_waits_for_its_time(
    sqlite_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = await bulk_conversation(sqlite_db)
    task = await ask(
        sqlite_db, conv, "bulk_send", {"message": "later"}, at=utcnow() + timedelta(hours=1)
    )
    async with running_engine(settings):
        await asyncio.sleep(0.3)
        assert await status_is(sqlite_db, task, "pending")()
        monkeypatch.setattr(scheduler, "CLOCK", lambda: utcnow() + timedelta(hours=1, seconds=1))
        assert await wait_for(status_is(sqlite_db, task, "done"))


async def test_lease_held_by_a_live_worker_is_respected_until_it_runs_out(
    sqlite_db: Database, settings: Settings
) -> None:
    conv = await bulk_conversation(sqlite_db)
    task = await ask(sqlite_db, conv, "bulk_send", {"message": "x"})
    async with running_engine(settings) as engine:
        # Another worker claimed it just now (after this engine's start-up take-over).
        async with sqlite_db.transaction() as session:
            await session.execute(
                update(ScheduledTask)
                .where(ScheduledTask.id == task)
                .values(
                    status="running",
                    locked_by="elsewhere",
                    locked_until=utcnow() + timedelta(seconds=1),
                )
            )
        await asyncio.sleep(0.4)
        found = await task_of(sqlite_db, task)
        assert found is not None and found.locked_by == "elsewhere"
        # Its worker died: the lease runs out and this one takes the task over.
        assert await wait_for(status_is(sqlite_db, task, "done"), 5)
        assert services_for(engine).scheduler.tasks == {}


async def test_start_up_takes_back_running_tasks_at_once(
    sqlite_db: Database, settings: Settings
) -> None:
    conv = await bulk_conversation(sqlite_db)
    task = await ask(sqlite_db, conv, "bulk_send", {"message": "x"})
    async with sqlite_db.transaction() as session:
        await session.execute(
            update(ScheduledTask)
            .where(ScheduledTask.id == task)
            .values(
                status="running", locked_by="killed", locked_until=utcnow() + timedelta(hours=1)
            )
        )
    async with running_engine(settings):
        assert await wait_for(status_is(sqlite_db, task, "done"), 5)


async def test_unexpected_failure_is_retried_later(
    sqlite_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: BulkMessageApp, run: ActionRun) -> dict[str, Any]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(BulkMessageApp, "action_bulk_send", broken)
    conv = await bulk_conversation(sqlite_db)
    task = await ask(sqlite_db, conv, "bulk_send", {"message": "x"})
    async with running_engine(settings):

        async def retried() -> bool:
            found = await task_of(sqlite_db, task)
            return found is not None and found.attempts == 1 and found.status == "pending"

        assert await wait_for(retried)
    found = await task_of(sqlite_db, task)
    assert found is not None and found.error == "RuntimeError: disk on fire"
    assert found.due_at > utcnow()


async def test_stopped_conversation_fails_its_task(sqlite_db: Database, settings: Settings) -> None:
    conv = await bulk_conversation(sqlite_db)
    task = await ask(sqlite_db, conv, "bulk_send", {"message": "x"})
    async with sqlite_db.transaction() as session:
        await session.execute(update(Conversation).values(status="stopped"))
    async with running_engine(settings):
        assert await wait_for(status_is(sqlite_db, task, "failed"))
    found = await task_of(sqlite_db, task)
    assert found is not None and found.error == NEEDS_RUNNING


async def test_cancel_stops_a_running_task_and_stop_hands_back_the_rest(
    sqlite_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []

    async def forever(self: BulkMessageApp, run: ActionRun) -> dict[str, Any]:
        started.append(run.task_id)
        await asyncio.Event().wait()
        return {}

    monkeypatch.setattr(BulkMessageApp, "action_bulk_send", forever)
    conv = await bulk_conversation(sqlite_db)
    first = await ask(sqlite_db, conv, "bulk_send", {"message": "1"})
    second = await ask(sqlite_db, conv, "bulk_send", {"message": "2"})
    async with running_engine(settings) as engine:
        assert await wait_for(lambda: _true(len(started) == 2))
        async with sqlite_db.transaction() as session:
            await session.execute(
                update(ScheduledTask).where(ScheduledTask.id == first).values(status="cancelled")
            )
        tasks = services_for(engine).scheduler.tasks
        assert await wait_for(lambda: _true(first not in tasks), 5)
        assert second in tasks
    assert await status_is(sqlite_db, first, "cancelled")()
    found = await task_of(sqlite_db, second)
    assert found is not None and (found.status, found.locked_by) == ("pending", None)


async def _true(value: bool) -> bool:
    return value
