"""The HTTP API's examples (docs/examples/http-api/ with curl, docs/examples/go-http/ with
go-http 0.3.2) against a running platform: sending, replying, opt-outs, metrics, push and
streaming, with the answers the docs describe."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.docs.conftest import EXAMPLES, DocsPlatform
from tests.docs.examples import run_python, running
from tests.support.live import free_port
from vumigo.db.engine import Database
from vumigo.db.models import StoredMessage

CURL = EXAMPLES / "http-api"
GO_HTTP = EXAMPLES / "go-http"


def _json_lines(output: str) -> list[Any]:
    return [json.loads(line) for line in output.splitlines() if line.startswith(("{", "["))]


def _inbound(p: DocsPlatform, env: dict[str, str], from_addr: str, content: str) -> str:
    """A message from the developer phone to the conversation's channel, once the platform
    has handled it; returns its message_id."""
    message_id = p.phone(env["CHANNEL"], from_addr, content)

    async def processed() -> bool:
        db = Database(p.db_url)
        try:
            async with db.sessions() as session:
                row = await session.get(StoredMessage, message_id)
            return row is not None and row.state == "processed"
        finally:
            await db.dispose()

    for _ in range(300):
        if asyncio.run(processed()):
            return message_id
        time.sleep(0.05)
    raise AssertionError("the inbound message was not handled")


@pytest.fixture(scope="module")
def nostream(docs_platform: DocsPlatform) -> dict[str, str]:
    return docs_platform.http_api("http_api_nostream", "Orders")


def test_send_reply_and_metrics_with_curl(
    docs_platform: DocsPlatform, nostream: dict[str, str]
) -> None:
    p = docs_platform
    (sent,) = _json_lines(p.bridge.script(CURL / "send.sh", nostream).stdout)
    assert (sent["to_addr"], sent["content"]) == ("+27820000020", "Your order has shipped.")
    assert sent["helper_metadata"]["go"]["conversation_key"] == nostream["CONVERSATION_KEY"]

    inbound = _inbound(p, nostream, "+27820000022", "Where is my order?")
    done = p.bridge.script(CURL / "reply.sh", {**nostream, "IN_REPLY_TO": inbound})
    (reply,) = _json_lines(done.stdout)
    assert (reply["in_reply_to"], reply["to_addr"]) == (inbound, "+27820000022")
    assert (reply["content"], reply["session_event"]) == ("Thanks, got it!", "close")

    (fired,) = _json_lines(p.bridge.script(CURL / "metrics.sh", nostream).stdout)
    assert fired == {"success": True, "reason": "Metrics published"}


def test_opted_out_recipient_with_curl_and_go_http(
    docs_platform: DocsPlatform, nostream: dict[str, str]
) -> None:
    done = docs_platform.bridge.script(CURL / "opted-out.sh", nostream)
    optout, refusal = _json_lines(done.stdout)
    assert optout["status"]["code"] == 200
    assert refusal == {
        "success": False,
        "reason": "Recipient with msisdn +27820000029 has opted out",
    }
    assert done.stdout.rstrip().endswith("HTTP status 400")
    printed = run_python(GO_HTTP / "opted_out.py", nostream)
    assert printed == (
        "not sent to +27820000029 - Recipient with msisdn +27820000029 has opted out\n"
    )


def test_go_http_send_reply_and_metric(
    docs_platform: DocsPlatform, nostream: dict[str, str]
) -> None:
    p = docs_platform
    sent = run_python(GO_HTTP / "send.py", nostream).split()
    assert sent[0] == "sent" and len(sent[1]) == 32 and sent[2:] == ["to", "+27820000021"]
    inbound = _inbound(p, nostream, "+27820000023", "Thanks")
    replied = run_python(GO_HTTP / "reply.py", {**nostream, "IN_REPLY_TO": inbound}).split()
    assert replied[:4] == ["replied", "to", "+27820000023", "with"]
    fired = run_python(GO_HTTP / "fire_metric.py", nostream)
    assert fired == "{'success': True, 'reason': 'Metrics published'}\n"


def test_push_to_a_receiver(docs_platform: DocsPlatform) -> None:
    p = docs_platform
    env = p.http_api("http_api_nostream", "Pushed")
    port = free_port()
    receiver = p.bridge.popen(CURL / "push_receiver.py", {"PORT": str(port)})
    with running(receiver) as printed:
        assert printed.next() == f"listening on port {port}"
        done = p.bridge.script(
            CURL / "push-urls.sh", {**env, "RECEIVER_URL": f"http://127.0.0.1:{port}"}
        )
        assert f"http://127.0.0.1:{port}/messages" in done.stdout
        inbound = p.phone(env["CHANNEL"], "+27820000024", "Is anyone there?")
        assert printed.next() == f"message {inbound} from +27820000024 : Is anyone there?"
        (sent,) = _json_lines(p.bridge.script(CURL / "send.sh", env).stdout)
        assert printed.next() == f"event ack for {sent['message_id']}"


def test_streams_of_messages_and_events(docs_platform: DocsPlatform) -> None:
    p = docs_platform
    env = p.http_api("http_api", "Streamed")
    with (
        running(p.bridge.popen(CURL / "stream-messages.sh", env)) as messages,
        running(p.bridge.popen(CURL / "stream-events.sh", env)) as events,
    ):
        inbound = p.phone(env["CHANNEL"], "+27820000025", "Streaming?")
        streamed = json.loads(messages.next())
        assert (streamed["message_id"], streamed["content"]) == (inbound, "Streaming?")
        sent = p.api_send(env, "+27820000025", "Yes, streaming.")
        event = json.loads(events.next())
        assert (event["event_type"], event["user_message_id"]) == ("ack", sent)
