"""What an app sends becomes messages on its run's AppContext; its metrics become points."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.apps.jsbox.resource_helpers import dispatcher, fails, ok, two_accounts
from vumigo.apps.base import AppContext
from vumigo.apps.jsbox.sinks import OUTBOX, ContextOutbox, DbMetricSink, RunOutboundResource
from vumigo.db.engine import Database
from vumigo.db.models import MetricPoint
from vumigo.dispatcher.lookups import AppInfo
from vumigo.message import UserMessage
from vumigo.sandbox.resources import ResourceError
from vumigo.sandbox.resources.metrics import MetricEvent
from vumigo.sandbox.resources.outbound import OutboundMessage
from vumigo.sandbox.run import Run, RunContext

CONVERSATION = AppInfo("conv", "acct", "conversation", "jsbox", "running", False, {})


def context() -> AppContext:
    nobody: Any = None  # replies and sends are only planned here; the engine is not used
    return AppContext(nobody, CONVERSATION)


def inbound(**fields: Any) -> UserMessage:
    return UserMessage(
        to_addr="*120#",
        from_addr="+2781",
        transport_name="dev",
        transport_type="ussd",
        content="hi",
        helper_metadata={"tag": {"tag": ["dev", "5000"]}},
        **fields,
    )


def run_with(outbox: ContextOutbox | None, message: UserMessage) -> Run:
    extras = {OUTBOX: outbox} if outbox is not None else {}
    return Run(
        account_key="acct",
        app_config={},
        message=message.to_dict(),
        context=RunContext(conversation_key="conv", extras=extras),
    )


async def test_a_reply_answers_the_message_being_handled() -> None:
    ctx, msg = context(), inbound()
    outbound = dispatcher(RunOutboundResource(("voice",)))
    run = run_with(ContextOutbox(ctx, msg), msg)
    fields = {"in_reply_to": msg.message_id, "continue_session": False}
    await ok(outbound, "outbound.reply_to", run, content="bye", **fields)
    await ok(
        outbound,
        "outbound.reply_to",
        run,
        content="speak",
        helper_metadata={"voice": {"speech_url": "x"}},
        in_reply_to=msg.message_id,
    )
    plain, spoken = ctx.outbound
    assert (plain.to_addr, plain.in_reply_to, plain.session_event) == (
        "+2781",
        msg.message_id,
        "close",
    )
    assert plain.helper_metadata["go"]["conversation_key"] == "conv"
    # The app's metadata is merged into the inbound message's, as Vumi Go did.
    assert spoken.helper_metadata["voice"] == {"speech_url": "x"}
    assert spoken.helper_metadata["tag"] == {"tag": ["dev", "5000"]}
    assert spoken.session_event is None


async def test_a_group_reply_addresses_the_group() -> None:
    ctx, msg = context(), inbound(group="#chat")
    outbound = dispatcher(RunOutboundResource())
    run = run_with(ContextOutbox(ctx, msg), msg)
    await ok(outbound, "outbound.reply_to_group", run, content="all", in_reply_to=msg.message_id)
    (reply,) = ctx.outbound
    assert (reply.to_addr, reply.group) == (None, "#chat")
    lone = inbound()
    ctx2 = context()
    await ok(
        outbound,
        "outbound.reply_to_group",
        run_with(ContextOutbox(ctx2, lone), lone),
        content="you",
        in_reply_to=lone.message_id,
    )
    assert ctx2.outbound[0].to_addr == "+2781"  # no group: a plain reply


async def test_a_reply_to_a_push_trigger_is_a_new_session() -> None:
    ctx = context()
    trigger = UserMessage(
        to_addr=None, from_addr="+2782", transport_name=None, transport_type="sms", content=None
    )
    trigger["inbound_push_trigger"] = True
    outbound = dispatcher(RunOutboundResource())
    run = run_with(ContextOutbox(ctx, trigger, push_trigger=True), trigger)
    await ok(outbound, "outbound.reply_to", run, content="news", in_reply_to=trigger.message_id)
    (sent,) = ctx.outbound
    assert (sent.to_addr, sent.in_reply_to, sent.session_event) == ("+2782", None, "new")
    assert sent.routing_endpoint == "default"


async def test_sends_go_to_endpoints() -> None:
    ctx, msg = context(), inbound()
    outbound = dispatcher(RunOutboundResource())
    run = Run(
        account_key="acct",
        app_config={},
        message={"message_type": "event", "event_type": "ack"},
        context=RunContext(
            conversation_key="conv",
            endpoints=frozenset({"sms"}),
            extras={OUTBOX: ContextOutbox(ctx)},
        ),
    )
    await ok(
        outbound, "outbound.send_to_endpoint", run, to_addr="+2783", content="x", endpoint="sms"
    )
    (sent,) = ctx.outbound
    assert (sent.to_addr, sent.routing_endpoint, sent.in_reply_to) == ("+2783", "sms", None)
    # An event run has nothing to reply to.
    reason = await fails(
        outbound, "outbound.reply_to", run, content="x", in_reply_to=msg.message_id
    )
    assert reason.startswith("Could not find original message")


async def test_runs_without_an_outbox_cannot_send() -> None:
    msg = inbound()
    outbound = dispatcher(RunOutboundResource())
    reason = await fails(
        outbound, "outbound.reply_to", run_with(None, msg), content="x", in_reply_to=msg.message_id
    )
    assert reason == "Messages cannot be sent from this run."
    with pytest.raises(ResourceError):
        reply = OutboundMessage("reply_to", "x", in_reply_to=msg.to_dict())
        await ContextOutbox(context()).send("acct", "conv", reply)


async def test_metric_points(db: Database) -> None:
    account, _ = await two_accounts(db)
    sink = DbMetricSink(db)
    await sink.fire(MetricEvent(account, "default", "visits", 2.5, "sum"))
    with pytest.raises(ResourceError, match="Invalid store name"):
        await sink.fire(MetricEvent(account, "s" * 101, "visits", 1.0, "sum"))
    async with db.sessions() as session:
        points = (await session.scalars(select(MetricPoint))).all()
    assert [(p.account_key, p.store, p.name, p.aggregator, p.value) for p in points] == [
        (account, "default", "visits", "sum", 2.5)
    ]
