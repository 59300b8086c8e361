"""Protocol conformance of the ``messagestore`` resource: every command and error path, on
SQLite and PostgreSQL, through the real dispatch. Messages are stored as the engine stores
them (a unit of work attaching them to the conversation's batch), so the counters are real."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.apps.jsbox.resource_helpers import (
    dispatcher,
    fails,
    jsbox_conversation,
    ok,
    run_for,
    two_accounts,
)
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.message import UserMessage
from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources.messagestore import INVALID_CONVERSATION, MessageStoreResource
from vumigo.store import messages as store
from vumigo.store.batches import ensure_batch
from vumigo.store.counters import bump
from vumigo.store.unit import Unit

COMMANDS = (
    "progress_status",
    "count_replies",
    "count_sent_messages",
    "count_inbound_uniques",
    "count_outbound_uniques",
    "inbound_throughput",
    "outbound_throughput",
)


@pytest.fixture
def messagestore(db: Database) -> ProtocolHandler:
    return dispatcher(MessageStoreResource(db))


async def store_messages(
    db: Database, account: str, conv: str, direction: str, addresses: list[str], ago: float = 0
) -> None:
    batch = await ensure_batch(db, "conversation", conv, account)
    unit = Unit()
    when = utcnow() - timedelta(seconds=ago)
    for address in addresses:
        if direction == store.INBOUND:
            msg = UserMessage(
                to_addr="1234", from_addr=address, transport_name="t", transport_type="sms"
            )
        else:
            msg = UserMessage.send(address, "hi")
        msg["timestamp"] = when.replace(tzinfo=None)
        unit.add_message(msg, direction, "processed", account, None)
        unit.attach(msg, direction, [batch])
    await unit.commit(db)


async def test_counts_and_uniques(db: Database, messagestore: ProtocolHandler) -> None:
    account, _ = await two_accounts(db)
    conv = await jsbox_conversation(db, account)
    run = run_for(account, conv)
    await store_messages(db, account, conv, store.INBOUND, ["+1", "+1", "+2"])
    await store_messages(db, account, conv, store.OUTBOUND, ["+1", "+2", "+3", "+3"])
    assert await ok(messagestore, "messagestore.count_replies", run) == {"count": 3}
    assert await ok(messagestore, "messagestore.count_sent_messages", run) == {"count": 4}
    assert await ok(messagestore, "messagestore.count_inbound_uniques", run) == {"count": 2}
    assert await ok(messagestore, "messagestore.count_outbound_uniques", run) == {"count": 3}


async def test_progress_status(db: Database, messagestore: ProtocolHandler) -> None:
    account, _ = await two_accounts(db)
    conv = await jsbox_conversation(db, account)
    run = run_for(account, conv)
    empty = await ok(messagestore, "messagestore.progress_status", run)
    assert empty == {
        "progress_status": {
            "sent": 0,
            "ack": 0,
            "nack": 0,
            "delivery_report": 0,
            "delivery_report_delivered": 0,
            "delivery_report_failed": 0,
            "delivery_report_pending": 0,
        }
    }
    batch = await ensure_batch(db, "conversation", conv, account)
    async with db.transaction() as session:
        await bump(session, batch, ["sent", "ack", "delivery_report_delivered"], by=2)
    status = (await ok(messagestore, "messagestore.progress_status", run))["progress_status"]
    assert (status["sent"], status["ack"], status["delivery_report_delivered"]) == (2, 2, 2)
    assert status["nack"] == 0


async def test_throughput_over_the_sample(db: Database, messagestore: ProtocolHandler) -> None:
    account, _ = await two_accounts(db)
    conv = await jsbox_conversation(db, account)
    run = run_for(account, conv)
    await store_messages(db, account, conv, store.INBOUND, ["+1"] * 4, ago=600)
    await store_messages(db, account, conv, store.INBOUND, ["+1"] * 6)
    # 6 messages in the 5 minutes before the newest: 1.2 a minute; with 15 minutes, all 10.
    assert await ok(messagestore, "messagestore.inbound_throughput", run) == {"throughput": 1.2}
    wide = await ok(messagestore, "messagestore.inbound_throughput", run, sample_time=900)
    assert wide["throughput"] == pytest.approx(10 / 15)
    assert await ok(messagestore, "messagestore.outbound_throughput", run) == {"throughput": 0.0}
    for bad in (0, -5, 1.5, "300", True, 10**9):
        reason = await fails(messagestore, "messagestore.inbound_throughput", run, sample_time=bad)
        assert reason.startswith("sample_time must be")


async def test_another_conversation_of_the_same_account(
    db: Database, messagestore: ProtocolHandler
) -> None:
    account, other = await two_accounts(db)
    conv = await jsbox_conversation(db, account)
    sibling = await jsbox_conversation(db, account)
    theirs = await jsbox_conversation(db, other)
    await store_messages(db, account, sibling, store.INBOUND, ["+1", "+2"])
    run = run_for(account, conv)
    assert await ok(messagestore, "messagestore.count_replies", run) == {"count": 0}
    assert await ok(messagestore, "messagestore.count_replies", run, conversation_key=sibling) == {
        "count": 2
    }
    # Null means the run's own conversation, as a missing key does.
    assert await ok(messagestore, "messagestore.count_replies", run, conversation_key=None) == {
        "count": 0
    }
    for command in COMMANDS:
        for key in (theirs, "no-such-conversation", 42, ""):
            reason = await fails(messagestore, f"messagestore.{command}", run, conversation_key=key)
            assert reason == INVALID_CONVERSATION


async def test_a_run_without_a_conversation(db: Database, messagestore: ProtocolHandler) -> None:
    account, _ = await two_accounts(db)
    for command in COMMANDS:
        reason = await fails(messagestore, f"messagestore.{command}", run_for(account))
        assert reason == INVALID_CONVERSATION


def test_every_command_is_documented() -> None:
    doc = MessageStoreResource.describe()
    assert doc.summary and {c.name for c in doc.commands} == set(COMMANDS)
    assert all(INVALID_CONVERSATION in c.errors for c in doc.commands)
