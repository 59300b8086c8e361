"""The group send: recipients, window, resume without repeats, progress, action rules."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select

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
from tests.support.factories import make_conversation
from vumigo.apps.actions import (
    NEEDS_CONFIRMATION,
    NEEDS_GROUP,
    NEEDS_RUNNING,
    ActionError,
    request_action,
)
from vumigo.apps.bulk_message.window import progress
from vumigo.apps.scheduler import services_for
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import BulkRecipient, BulkSend, Contact


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VUMIGO_APPS_POLL_INTERVAL", "0.05")


async def setup_send(db: Database, count: int) -> tuple[str, str, str]:
    account, _ = await channel(db, ["10001"])
    conv = await conversation(db, account, "bulk_message", {}, tag="10001")
    group = await make_group(db, account, "everyone")
    await make_contacts(
        db, account, [{"msisdn": f"+2782{n:07d}"} for n in range(count)], group=group
    )
    await give_groups(db, account, conv, [group])
    return account, conv, group


async def test_sends_once_per_contact_skipping_optouts_and_missing_addresses(
    sqlite_db: Database, settings: Settings
) -> None:
    account, conv, group = await setup_send(sqlite_db, 20)
    await make_contacts(sqlite_db, account, [{"name": "no number"}], group=group)
    await make_contacts(sqlite_db, account, [{"msisdn": "+27820000003"}], group=group)  # twin
    await opt_out(sqlite_db, account, "+27820000005")
    async with running_engine(settings) as engine:
        task = await ask(sqlite_db, conv, "bulk_send", {"message": "hi all", "window": 4})
        services_for(engine).scheduler.wake()

        async def done() -> bool:
            found = await task_of(sqlite_db, task)
            return found is not None and found.status == "done"

        assert await wait_for(done, 20)
        assert await wait_for(lambda: _all_acked(sqlite_db, task), 10)
    sent = Counter(m.to_addr for m in await outbound_to(sqlite_db, account))
    assert "+27820000005" not in sent
    assert len(sent) == 19
    assert sent["+27820000003"] == 2  # two contacts share it; no dedupe asked for
    assert set(sent.values()) <= {1, 2}
    found = await task_of(sqlite_db, task)
    assert found is not None and found.result is not None
    assert found.result["queued"] == 20
    async with sqlite_db.sessions() as session:
        summary = await progress(session, task)
    assert summary is not None
    assert (summary["queued"], summary["sent"], summary["acked"], summary["failed"]) == (
        20,
        20,
        20,
        0,
    )
    assert summary["status"] == "finished"


async def _all_acked(db: Database, send_id: str) -> bool:
    return await recipient_count(db, send_id, "queued") == 0


async def test_dedupe_sends_one_message_per_address(
    sqlite_db: Database, settings: Settings
) -> None:
    account, conv, group = await setup_send(sqlite_db, 5)
    await make_contacts(sqlite_db, account, [{"msisdn": "+27820000001"}], group=group)
    async with running_engine(settings) as engine:
        task = await ask(sqlite_db, conv, "bulk_send", {"message": "x", "dedupe": "true"})
        services_for(engine).scheduler.wake()
        assert await wait_for(lambda: _status_is(sqlite_db, task, "done"), 20)
    sent = Counter(m.to_addr for m in await outbound_to(sqlite_db, account))
    assert sent == {f"+2782{n:07d}": 1 for n in range(5)}


async def _status_is(db: Database, task_id: str, status: str) -> bool:
    found = await task_of(db, task_id)
    return found is not None and found.status == status


async def test_resumed_send_skips_contacts_already_recorded(
    sqlite_db: Database, settings: Settings
) -> None:
    account, conv, _group = await setup_send(sqlite_db, 30)
    task = await ask(sqlite_db, conv, "bulk_send", {"message": "once"})
    # As if a first run had stored ten recipients (their messages went out then) and died.
    async with sqlite_db.transaction() as session:
        session.add(
            BulkSend(
                id=task,
                account_key=account,
                conversation_key=conv,
                kind="bulk_send",
                delivery_class="sms",
                status="sending",
                total=30,
                queued=10,
            )
        )
        await session.flush()
        for n in range(10):
            key = await _contact_key(sqlite_db, f"+2782{n:07d}")
            session.add(
                BulkRecipient(
                    send_id=task,
                    contact_key=key,
                    address=f"+2782{n:07d}",
                    message_id=f"earlier-{n}",
                    status="acked",
                )
            )
    async with running_engine(settings) as engine:
        services_for(engine).scheduler.wake()
        assert await wait_for(lambda: _status_is(sqlite_db, task, "done"), 20)
    sent = Counter(m.to_addr for m in await outbound_to(sqlite_db, account))
    assert sent == {f"+2782{n:07d}": 1 for n in range(10, 30)}
    assert await recipient_count(sqlite_db, task) == 30


async def _contact_key(db: Database, msisdn: str) -> str:
    async with db.sessions() as session:
        key = (await session.execute(select(Contact.key).where(Contact.msisdn == msisdn))).scalar()
    assert key is not None
    return str(key)


async def test_window_bounds_messages_in_flight(sqlite_db: Database, settings: Settings) -> None:
    """With no transport running nothing is acked, so the send stops at a full window."""
    _account, conv, _group = await setup_send(sqlite_db, 40)
    task = await ask(sqlite_db, conv, "bulk_send", {"message": "w", "window": 8})
    async with running_engine(settings.model_copy(update={"roles": ["dispatcher", "apps"]})) as e:
        services_for(e).scheduler.wake()

        async def some_queued() -> bool:
            return await recipient_count(sqlite_db, task) > 0

        assert await wait_for(some_queued, 10)
        await asyncio.sleep(0.5)
        assert await recipient_count(sqlite_db, task) == 8


@pytest.mark.parametrize(
    ("status", "groups", "confirmed", "error"),
    [
        ("stopped", True, True, NEEDS_RUNNING),
        ("running", False, True, NEEDS_GROUP),
        ("running", True, False, NEEDS_CONFIRMATION),
    ],
)
async def test_action_rules(
    sqlite_db: Database, status: str, groups: bool, confirmed: bool, error: str
) -> None:
    account, _ = await channel(sqlite_db, ["10001"])
    conv = await make_conversation(sqlite_db, account, "bulk_message", {}, status=status)
    if groups:
        await give_groups(sqlite_db, account, conv, [await make_group(sqlite_db, account, "g")])
    with pytest.raises(ActionError, match=error):
        async with sqlite_db.transaction() as session:
            await request_action(session, conv, "bulk_send", {"message": "x"}, confirmed=confirmed)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "'message' is required"),
        ({"message": "x", "bogus": 1}, "Unknown parameter"),
        ({"message": "x", "window": "many"}, "must be a int"),
    ],
)
async def test_action_params(sqlite_db: Database, params: dict[str, object], error: str) -> None:
    _account, conv, _ = await setup_send(sqlite_db, 1)
    with pytest.raises(ActionError, match=error):
        async with sqlite_db.transaction() as session:
            await request_action(session, conv, "bulk_send", params, confirmed=True)
