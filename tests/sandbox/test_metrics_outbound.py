"""The metrics and outbound resources."""

from __future__ import annotations

from typing import Any

import pytest

from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources import ResourceRegistry
from vumigo.sandbox.resources.metrics import InMemoryMetricSink, MetricEvent, MetricsResource
from vumigo.sandbox.resources.outbound import InMemoryOutbox, OutboundMessage, OutboundResource
from vumigo.sandbox.run import Run, RunContext

from .helpers import event, make_run, user_message


async def call(handler: ProtocolHandler, cmd: str, run: Run, **fields: Any) -> Any:
    reply = await handler.dispatch({"cmd": cmd, "cmd_id": "1", **fields}, run)
    assert reply is not None
    return {k: v for k, v in reply.items() if k not in ("cmd", "cmd_id", "reply", "run_id")}


@pytest.fixture
def sink() -> InMemoryMetricSink:
    return InMemoryMetricSink()


@pytest.fixture
def metrics(sink: InMemoryMetricSink) -> ProtocolHandler:
    return ProtocolHandler(ResourceRegistry([MetricsResource(sink)]))


@pytest.mark.parametrize("agg", ["sum", "avg", "min", "max", "last"])
async def test_metrics_fire(metrics: ProtocolHandler, sink: InMemoryMetricSink, agg: str) -> None:
    fields = {"store": "my_app", "metric": "users.new-1_x", "value": 3, "agg": agg}
    assert await call(metrics, "metrics.fire", make_run("a"), **fields) == {"success": True}
    assert sink.events == [MetricEvent("a", "my_app", "users.new-1_x", 3.0, agg)]


async def test_metrics_store_defaults(metrics: ProtocolHandler, sink: InMemoryMetricSink) -> None:
    await call(metrics, "metrics.fire", make_run("a"), metric="m", value="2.5", agg="sum")
    assert sink.events == [MetricEvent("a", "default", "m", 2.5, "sum")]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"value": 1, "agg": "sum"}, "Missing metric name."),
        ({"metric": "1abc", "value": 1, "agg": "sum"}, "Invalid metric name: '1abc'."),
        ({"metric": "a b", "value": 1, "agg": "sum"}, "Invalid metric name: 'a b'."),
        ({"metric": "a" * 102, "value": 1, "agg": "sum"}, f"Invalid metric name: '{'a' * 102}'."),
        ({"store": "", "metric": "m", "value": 1, "agg": "sum"}, "Invalid store name: ''."),
        ({"store": None, "metric": "m", "value": 1, "agg": "sum"}, "Missing store name."),
        ({"metric": "m", "value": "lots", "agg": "sum"}, "Invalid metric value 'lots'."),
        ({"metric": "m", "value": None, "agg": "sum"}, "Invalid metric value None."),
        ({"metric": "m", "value": True, "agg": "sum"}, "Invalid metric value True."),
        ({"metric": "m", "value": 1, "agg": "median"}, "Invalid metric aggregator 'median'."),
        ({"metric": "m", "value": 1}, "Invalid metric aggregator None."),
    ],
)
async def test_metrics_failures(
    metrics: ProtocolHandler, sink: InMemoryMetricSink, fields: Any, reason: str
) -> None:
    reply = await call(metrics, "metrics.fire", make_run(), **fields)
    assert reply == {"success": False, "reason": reason}
    assert sink.events == []


@pytest.fixture
def outbox() -> InMemoryOutbox:
    return InMemoryOutbox()


@pytest.fixture
def outbound(outbox: InMemoryOutbox) -> ProtocolHandler:
    resource = OutboundResource(outbox, allowed_helper_metadata=["voice"])
    return ProtocolHandler(ResourceRegistry([resource]))


def conv_run(message: dict[str, Any] | None = None) -> Run:
    context = RunContext(
        conversation_key="conv1", endpoints=frozenset({"sms"}), tags=frozenset({"pool:t1"})
    )
    return make_run("acct", message or user_message("hi"), context=context)


@pytest.mark.parametrize("kind", ["reply_to", "reply_to_group"])
async def test_replies(outbound: ProtocolHandler, outbox: InMemoryOutbox, kind: str) -> None:
    run = conv_run()
    fields = {
        "content": "Hello",
        "in_reply_to": run.message_id,
        "continue_session": False,
        "helper_metadata": {"voice": {"speech_url": "u"}},
    }
    assert await call(outbound, f"outbound.{kind}", run, **fields) == {"success": True}
    assert outbox.sent == [
        (
            "acct",
            "conv1",
            OutboundMessage(
                kind=kind,  # type: ignore[arg-type]
                content="Hello",
                helper_metadata={"voice": {"speech_url": "u"}},
                in_reply_to=run.message,
                continue_session=False,
            ),
        )
    ]


async def test_reply_defaults(outbound: ProtocolHandler, outbox: InMemoryOutbox) -> None:
    run = conv_run()
    await call(
        outbound,
        "outbound.reply_to",
        run,
        content=None,
        in_reply_to=run.message_id,
        helper_metadata=None,
    )
    msg = outbox.sent[0][2]
    assert msg.content is None and msg.continue_session is True and msg.helper_metadata == {}


REPLY_FAILURES = [
    ({"in_reply_to": "MID"}, "'content' must be given."),
    ({"content": 5, "in_reply_to": "MID"}, "'content' must be unicode or null."),
    ({"content": "x"}, "'in_reply_to' must be given."),
    (
        {"content": "x", "in_reply_to": "MID", "continue_session": "yes"},
        "'continue_session' must be either true or false if given",
    ),
    ({"content": "x", "in_reply_to": "other"}, "Could not find original message with id: 'other'"),
    (
        {"content": "x", "in_reply_to": "MID", "helper_metadata": []},
        "'helper_metadata' must be object or null.",
    ),
    (
        {"content": "x", "in_reply_to": "MID", "helper_metadata": {"go": {}}},
        "'helper_metadata' may only contain the following keys: voice",
    ),
]


@pytest.mark.parametrize(("fields", "reason"), REPLY_FAILURES)
async def test_reply_failures(
    outbound: ProtocolHandler, outbox: InMemoryOutbox, fields: dict[str, Any], reason: str
) -> None:
    run = conv_run()
    fields = {k: run.message_id if v == "MID" else v for k, v in fields.items()}
    assert await call(outbound, "outbound.reply_to", run, **fields) == {
        "success": False,
        "reason": reason,
    }
    assert outbox.sent == []


async def test_helper_metadata_refused_without_allow_list(outbox: InMemoryOutbox) -> None:
    handler = ProtocolHandler(ResourceRegistry([OutboundResource(outbox)]))
    run = conv_run()
    reply = await call(
        handler,
        "outbound.reply_to",
        run,
        content="x",
        in_reply_to=run.message_id,
        helper_metadata={"voice": {}},
    )
    assert reply == {"success": False, "reason": "'helper_metadata' is not allowed"}


async def test_reply_to_an_event_fails(outbound: ProtocolHandler) -> None:
    ev = event()
    run = conv_run(ev)
    reply = await call(
        outbound, "outbound.reply_to", run, content="x", in_reply_to=ev["message_id"]
    )
    assert reply["success"] is False and "Could not find original message" in reply["reason"]


@pytest.mark.parametrize("endpoint", ["sms", "default"])
async def test_send_to_endpoint(
    outbound: ProtocolHandler, outbox: InMemoryOutbox, endpoint: str
) -> None:
    reply = await call(
        outbound,
        "outbound.send_to_endpoint",
        conv_run(),
        content="hi",
        to_addr="+27",
        endpoint=endpoint,
    )
    assert reply == {"success": True}
    msg = outbox.sent[0][2]
    assert (msg.kind, msg.to_addr, msg.endpoint, msg.content) == (
        "send_to_endpoint",
        "+27",
        endpoint,
        "hi",
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"to_addr": "+27", "endpoint": "sms"}, "'content' must be given."),
        ({"content": "x", "endpoint": "sms"}, "'to_addr' must be given in sends."),
        ({"content": "x", "to_addr": "+27"}, "'endpoint' must be given in sends."),
        ({"content": "x", "to_addr": "+27", "endpoint": "ussd"}, "Endpoint 'ussd' not configured"),
    ],
)
async def test_send_to_endpoint_failures(
    outbound: ProtocolHandler, outbox: InMemoryOutbox, fields: Any, reason: str
) -> None:
    reply = await call(outbound, "outbound.send_to_endpoint", conv_run(), **fields)
    assert reply == {"success": False, "reason": reason}
    assert outbox.sent == []


async def test_send_to_tag(outbound: ProtocolHandler, outbox: InMemoryOutbox) -> None:
    reply = await call(
        outbound,
        "outbound.send_to_tag",
        conv_run(),
        content="hi",
        to_addr="+27",
        tagpool="pool",
        tag="t1",
    )
    assert reply == {"success": True}
    assert outbox.sent[0][2].endpoint == "pool:t1"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"content": "hi", "to_addr": "+27", "tagpool": "pool"},
            "Tag, content or to_addr not specified",
        ),
        (
            {"content": None, "to_addr": "+27", "tagpool": "pool", "tag": "t1"},
            "Tag, content or to_addr not specified",
        ),
        (
            {"content": "hi", "to_addr": "+27", "tagpool": "pool", "tag": "t2"},
            "Tag ('pool', 't2') not held by account",
        ),
    ],
)
async def test_send_to_tag_failures(outbound: ProtocolHandler, fields: Any, reason: str) -> None:
    reply = await call(outbound, "outbound.send_to_tag", conv_run(), **fields)
    assert reply == {"success": False, "reason": reason}


async def test_sink_failure_becomes_failure_reply() -> None:
    class Down:
        async def send(self, account_key: str, conversation_key: str, msg: OutboundMessage) -> None:
            raise RuntimeError("transport unavailable")

    handler = ProtocolHandler(ResourceRegistry([OutboundResource(Down())]))
    run = conv_run()
    reply = await call(handler, "outbound.reply_to", run, content="x", in_reply_to=run.message_id)
    assert reply == {"success": False, "reason": "transport unavailable"}
