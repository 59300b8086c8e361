"""``send_jsbox``: the app runs once per opted-in contact of the conversation's groups, and its
replies to the push triggers go out as new messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tests.apps.helpers import give_groups, make_contacts, make_group, opt_out, task_of, wait_for
from tests.apps.jsbox.helpers import Phone, jsbox_channel, jsbox_config, jsbox_engine
from tests.sandbox.helpers import NODE_READY, example_app
from vumigo.apps.actions import NEEDS_GROUP, ActionError
from vumigo.apps.jsbox import send_jsbox
from vumigo.apps.jsbox.push import push_trigger
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import SandboxKeyValue, StoredMessage

pytestmark = pytest.mark.skipif(not NODE_READY, reason="node and vumigo_v02 are needed")

# Replies to a push trigger and also sends a second message to another endpoint; records
# what the trigger looked like.
TWO_MESSAGES_APP = """
api.on_inbound_message = function (cmd) {
    var msg = cmd.msg;
    api.request('kv.set', {key: 'trigger.' + msg.from_addr, value: msg}, function () {
        api.request('outbound.send_to_endpoint', {
            to_addr: '+27000', content: 'pushed to ' + msg.from_addr, endpoint: 'default'
        }, function () {
            api.request('outbound.reply_to', {
                content: 'hello ' + msg.from_addr, in_reply_to: msg.message_id
            }, function () { api.done(); });
        });
    });
};
"""


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VUMIGO_APPS_POLL_INTERVAL", "0.1")


async def outbound(db: Database) -> list[dict[str, Any]]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(StoredMessage.payload)
            .where(StoredMessage.direction == "outbound")
            .order_by(StoredMessage.timestamp)
        )
        return [json.loads(row) for row in rows.all()]


async def finished(db: Database, task_id: str) -> str:
    async def done() -> str | None:
        task = await task_of(db, task_id)
        return task.status if task is not None and task.status in ("done", "failed") else None

    status = await wait_for(done, 20)
    assert status, "the push did not finish"
    return str(status)


async def test_push_reaches_opted_in_contacts_and_the_session_continues(
    sqlite_db: Database, settings: Settings
) -> None:
    app = {"name": "some_app", "delivery_class": "ussd"}
    account, conv = await jsbox_channel(sqlite_db, jsbox_config(example_app("simple"), app))
    group = await make_group(sqlite_db, account, "Everyone")
    await make_contacts(
        sqlite_db,
        account,
        [{"msisdn": "+27820000001"}, {"msisdn": "+27820000002"}, {"name": "no number"}],
        group=group,
    )
    await opt_out(sqlite_db, account, "+27820000002")
    await give_groups(sqlite_db, account, conv, [group])
    async with jsbox_engine(settings) as engine:
        task_id = await send_jsbox(engine, conv)
        assert await finished(sqlite_db, task_id) == "done"
        task = await task_of(sqlite_db, task_id)
        assert task is not None and task.result is not None
        assert (task.result["total"], task.result["queued"]) == (1, 1)
        (pushed,) = await outbound(sqlite_db)
        assert pushed["to_addr"] == "+27820000001" and pushed["in_reply_to"] is None
        assert pushed["content"] == "Tea or coffee?\n1. Tea\n2. Coffee"
        assert pushed["session_event"] == "new"
        # The contact answers the pushed question in the session it opened.
        (reply,) = await Phone(engine, "5000").say("+27820000001", "1", "resume")
        assert (reply["content"], reply["session_event"]) == ("Meh. Bye.", "close")


async def test_a_push_can_send_more_than_its_reply(sqlite_db: Database, settings: Settings) -> None:
    account, conv = await jsbox_channel(sqlite_db, jsbox_config(TWO_MESSAGES_APP))
    group = await make_group(sqlite_db, account, "Everyone")
    await make_contacts(sqlite_db, account, [{"msisdn": "+2781"}, {"msisdn": "+2782"}], group=group)
    await give_groups(sqlite_db, account, conv, [group])
    async with jsbox_engine(settings) as engine:
        task_id = await send_jsbox(engine, conv, delivery_class="sms")
        assert await finished(sqlite_db, task_id) == "done"
        sent = {(m["to_addr"], m["content"], m["session_event"]) for m in await outbound(sqlite_db)}
    assert sent == {
        ("+2781", "hello +2781", "new"),
        ("+2782", "hello +2782", "new"),
        ("+27000", "pushed to +2781", None),
        ("+27000", "pushed to +2782", None),
    }
    async with sqlite_db.sessions() as session:
        raw = await session.scalar(
            select(SandboxKeyValue.value).where(SandboxKeyValue.key == "trigger.+2781")
        )
    assert raw is not None
    trigger = json.loads(raw)
    assert trigger["inbound_push_trigger"] is True and trigger["content"] is None
    assert trigger["helper_metadata"]["delivery_class"] == "sms"
    assert trigger["helper_metadata"]["go"]["conversation_key"] == conv


async def test_a_push_needs_a_group(sqlite_db: Database, settings: Settings) -> None:
    _, conv = await jsbox_channel(sqlite_db, jsbox_config(TWO_MESSAGES_APP))
    async with jsbox_engine(settings) as engine:
        with pytest.raises(ActionError, match=NEEDS_GROUP):
            await send_jsbox(engine, conv)


async def test_a_push_without_code_fails(sqlite_db: Database, settings: Settings) -> None:
    account, conv = await jsbox_channel(sqlite_db, {})
    group = await make_group(sqlite_db, account, "Everyone")
    await make_contacts(sqlite_db, account, [{"msisdn": "+2781"}], group=group)
    await give_groups(sqlite_db, account, conv, [group])
    async with jsbox_engine(settings) as engine:
        task_id = await send_jsbox(engine, conv)
        assert await finished(sqlite_db, task_id) == "failed"
        task = await task_of(sqlite_db, task_id)
    assert task is not None and task.error == "The conversation has no JavaScript to run."


def test_the_trigger_message() -> None:
    from vumigo.apps.actions import ActionRun
    from vumigo.apps.jsbox import SEND_JSBOX
    from vumigo.dispatcher.lookups import AppInfo

    conversation = AppInfo("conv", "acct", "conversation", "jsbox", "running", False, {})
    nobody: Any = None  # the trigger needs nothing of the engine
    run = ActionRun(nobody, "t", conversation, SEND_JSBOX, {})
    trigger = push_trigger(run, "+2781", "ussd")
    assert trigger.from_addr == "+2781" and trigger.to_addr is None
    assert trigger.content is None and trigger.session_event is None
    assert trigger["inbound_push_trigger"] is True
    assert trigger.transport_type == "ussd"
