"""The jsbox conversation type in a running engine: messages through an app and back, events
when the app asks for them, and every database-backed resource reached from real JavaScript."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.apps.helpers import wait_for
from tests.apps.jsbox.helpers import (
    Phone,
    jsbox_channel,
    jsbox_config,
    jsbox_engine,
    replies_to,
)
from tests.sandbox.helpers import NODE_READY, example_app
from tests.support.factories import link
from vumigo.apps.jsbox.app import NO_CODE
from vumigo.apps.jsbox.logs import recent_lines
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import Account, Contact, MetricPoint, SandboxKeyValue, StoredMessage

pytestmark = pytest.mark.skipif(not NODE_READY, reason="node and vumigo_v02 are needed")

# Makes the requests listed (as JSON) in the message's content, one after the other, and
# replies with every reply it got. Events bump a kv counter per event type.
PROBE_APP = """
api.on_inbound_message = function (cmd) {
    var msg = cmd.msg;
    var calls = JSON.parse(msg.content || '[]');
    var results = [];
    function next(i) {
        if (i >= calls.length) {
            var body = {delivery_class: msg.helper_metadata.delivery_class, results: results};
            api.request('outbound.reply_to', {
                content: JSON.stringify(body), in_reply_to: msg.message_id,
                continue_session: false
            }, function () { api.done(); });
            return;
        }
        api.request(calls[i][0], calls[i][1], function (reply) {
            results.push(reply);
            next(i + 1);
        });
    }
    next(0);
};
api.on_inbound_event = function (cmd) {
    api.request('kv.incr', {key: 'events.' + cmd.msg.event_type}, function () { api.done(); });
};
"""


async def probe(phone: Phone, calls: list[list[Any]], sender: str = "+27820001") -> dict[str, Any]:
    (reply,) = await phone.say(sender, json.dumps(calls), "resume")
    result: dict[str, Any] = json.loads(reply["content"])
    return result


async def test_the_simple_example_over_ussd(sqlite_db: Database, settings: Settings) -> None:
    account, conv = await jsbox_channel(sqlite_db, jsbox_config(example_app("simple")))
    async with jsbox_engine(settings) as engine:
        phone = Phone(engine, "5000")
        (menu,) = await phone.say("+27001", None)
        assert menu["content"] == "Tea or coffee?\n1. Tea\n2. Coffee"
        assert menu["session_event"] is None  # the session stays open
        assert menu["helper_metadata"]["go"]["conversation_key"] == conv
        (bye,) = await phone.say("+27001", "2")
        assert (bye["content"], bye["session_event"]) == ("Cool :) Bye.", "close")
        runtime = engine.apps.apps["jsbox"].runtime  # type: ignore[attr-defined]
        lines = await runtime.logs.recent(account, conv)
        resources = runtime.manager.resources
    assert resources.names() == [
        "config",
        "contacts",
        "groups",
        "http",
        "kv",
        "log",
        "messagestore",
        "metrics",
        "optout",
        "outbound",
    ]
    # Every resource describes itself, so its documentation can be generated.
    assert all(doc.summary and doc.commands for doc in resources.describe())
    assert lines[0].endswith("INFO] Done.")
    assert any(line.endswith("INFO] Received inbound message: 2") for line in lines)
    async with sqlite_db.sessions() as session:
        user = await session.scalar(
            select(SandboxKeyValue.value).where(SandboxKeyValue.key == "users.some_app.+27001")
        )
    assert user is not None and json.loads(user)["state"]["name"] == "states:coffee"


async def test_resources_reach_the_account_data(sqlite_db: Database, settings: Settings) -> None:
    account, conv = await jsbox_channel(sqlite_db, jsbox_config(PROBE_APP))
    calls = [
        ["contacts.get_or_create", {"addr": "+27820001", "delivery_class": "ussd"}],
        ["groups.get_or_create_by_name", {"name": "Probers"}],
        ["messagestore.count_replies", {}],
        ["optout.status", {"address_type": "msisdn", "address_value": "+27820001"}],
        ["metrics.fire", {"store": "default", "metric": "probes", "value": 1, "agg": "sum"}],
        ["kv.set", {"key": "seen", "value": {"n": 1}}],
        ["kv.get", {"key": "seen"}],
        ["config.get", {"key": "config"}],
        ["log.warning", {"msg": "probe was here"}],
        ["outbound.send_to_endpoint", {"to_addr": "+2783", "content": "x", "endpoint": "sms"}],
    ]
    async with jsbox_engine(settings) as engine:
        result = await probe(Phone(engine, "5000"), calls)
        runtime = engine.apps.apps["jsbox"].runtime  # type: ignore[attr-defined]
        await runtime.logs.flush()
    assert result["delivery_class"] == "ussd"
    contact, group, count, optout, fire, kv_set, kv_get, config, log_line, send = result["results"]
    assert contact["success"] and contact["created"] is True
    assert contact["contact"]["user_account"] == account
    assert group["success"] and group["group"]["name"] == "Probers"
    assert count == {**count, "success": True, "count": 1}  # this very message
    assert optout["reason"] == "Account not allowed to manage optouts."
    assert fire["success"] and kv_set["success"] and kv_get["value"] == {"n": 1}
    assert json.loads(config["value"]) == {"name": "some_app"}
    assert log_line["success"]
    assert send == {**send, "success": False, "reason": "Endpoint 'sms' not configured"}
    async with sqlite_db.sessions() as session:
        point = await session.scalar(select(MetricPoint).where(MetricPoint.account_key == account))
        assert point is not None and (point.store, point.name, point.value) == (
            "default",
            "probes",
            1.0,
        )
        made = await session.scalar(select(Contact).where(Contact.msisdn == "+27820001"))
        assert made is not None and made.account_key == account
        lines = await recent_lines(session, account, conv)
    assert any(line.endswith("WARNING] probe was here") for line in lines)


async def test_opt_outs_for_accounts_allowed_to_manage_them(
    sqlite_db: Database, settings: Settings
) -> None:
    account, _ = await jsbox_channel(sqlite_db, jsbox_config(PROBE_APP))
    async with sqlite_db.transaction() as session:
        await session.execute(
            update(Account).where(Account.key == account).values(can_manage_optouts=True)
        )
    address = {"address_type": "msisdn", "address_value": "+27820009"}
    calls = [
        ["optout.optout", {**address, "message_id": "m-1"}],
        ["optout.count", {}],
        ["optout.cancel_optout", address],
    ]
    async with jsbox_engine(settings) as engine:
        result = await probe(Phone(engine, "5000"), calls)
    out, count, cancel = result["results"]
    assert out["opted_out"] is True and out["message_id"] == "m-1"
    assert count["count"] == 1 and cancel["opted_out"] is False


async def test_sends_to_configured_endpoints(sqlite_db: Database, settings: Settings) -> None:
    app = {"name": "some_app", "endpoints": {"sms": {"delivery_class": "sms"}}}
    account, conv = await jsbox_channel(
        sqlite_db, jsbox_config(PROBE_APP, app), tags=("5000", "5001")
    )
    await link(sqlite_db, account, f"CONVERSATION:jsbox:{conv}", "TRANSPORT_TAG:dev:5001", "sms")
    calls = [
        ["outbound.send_to_endpoint", {"to_addr": "+2783", "content": "hi", "endpoint": "sms"}]
    ]
    async with jsbox_engine(settings) as engine:
        result = await probe(Phone(engine, "5000"), calls)

        async def sent() -> StoredMessage | None:
            async with sqlite_db.sessions() as session:
                return await session.scalar(
                    select(StoredMessage).where(
                        StoredMessage.to_addr == "+2783", StoredMessage.state == "sent"
                    )
                )

        message = await wait_for(sent)
    assert result["results"] == [{**result["results"][0], "success": True}]
    assert message is not None and message.content == "hi"
    assert json.loads(message.payload)["helper_metadata"]["tag"] == {"tag": ["dev", "5001"]}


@pytest.mark.parametrize("process_events", [True, False])
async def test_events_reach_the_app_only_when_it_asks(
    sqlite_db: Database, settings: Settings, process_events: bool
) -> None:
    app = {"name": "some_app", "process_events": process_events}
    account, _ = await jsbox_channel(sqlite_db, jsbox_config(PROBE_APP, app))

    async def counted(event_type: str) -> str | None:
        async with sqlite_db.sessions() as session:
            return await session.scalar(
                select(SandboxKeyValue.value).where(
                    SandboxKeyValue.account_key == account,
                    SandboxKeyValue.key == f"events.{event_type}",
                )
            )

    async with jsbox_engine(settings) as engine:
        await probe(Phone(engine, "5000"), [])
        # The dev channel acks at once and reports delivery a moment later.
        if process_events:
            assert await wait_for(lambda: counted("delivery_report")) == "1"
            assert await counted("ack") == "1"
        else:
            await asyncio.sleep(0.5)
            assert await counted("ack") is None


async def test_a_conversation_without_code_is_noted_in_its_log(
    sqlite_db: Database, settings: Settings
) -> None:
    account, conv = await jsbox_channel(sqlite_db, {})
    async with jsbox_engine(settings) as engine:
        assert await Phone(engine, "5000").say("+2781", "hi", wait=1.0) == []
        runtime = engine.apps.apps["jsbox"].runtime  # type: ignore[attr-defined]
        lines = await runtime.logs.recent(account, conv)
    assert lines[0].endswith(f"WARNING] {NO_CODE}")


async def test_a_failing_app_is_logged_and_the_message_handled(
    sqlite_db: Database, settings: Settings
) -> None:
    crashing = """
    api.on_inbound_message = function (cmd) {
        api.request('outbound.reply_to', {content: 'before the crash',
            in_reply_to: cmd.msg.message_id}, function () { throw new Error('app bug 42'); });
    };"""
    account, conv = await jsbox_channel(sqlite_db, jsbox_config(crashing))
    async with jsbox_engine(settings) as engine:
        phone = Phone(engine, "5000")
        (reply,) = await phone.say("+2781", "hi")
        assert reply["content"] == "before the crash"  # what was sent before still goes
        # The message is done with: handled once, not redelivered.
        async with sqlite_db.sessions() as session:
            inbound = await session.scalar(
                select(StoredMessage.state).where(StoredMessage.message_id == reply["in_reply_to"])
            )
        assert inbound == "processed"
        runtime = engine.apps.apps["jsbox"].runtime  # type: ignore[attr-defined]
        lines = await runtime.logs.recent(account, conv)
        # The next message runs in a fresh process.
        (again,) = await phone.say("+2781", "hi")
        assert again["content"] == "before the crash"
        assert runtime.manager.pool(account).stats.started == 2
        again_replies = await replies_to(sqlite_db, reply["in_reply_to"], expect=2, wait=0.3)
        assert [r["message_id"] for r in again_replies] == [reply["message_id"]]
    assert any("app bug 42" in line for line in lines)
