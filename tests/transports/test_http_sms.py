"""The generic HTTP SMS transport through the platform, against a fake aggregator on 127.0.0.1.

The operator allow-list (``VUMIGO_HTTP_SMS_ALLOW``) names 127.0.0.1 so the transport may reach
the fake aggregator; without it, loopback is refused before any connection is made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.transports.aggregator import Aggregator, Call, aggregator
from tests.transports.platform_support import RunningPlatform, make_channel, wait_for
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.transports.http_sms import delivery_status, dig, render
from vumigo.web.app import create_app

TAG = "+27123"
PHONE = "+27820002222"
HOOKS = "/api/v1/transports/http_sms/aggsms"

Start = Callable[..., Any]


def sms_meta(agg: Aggregator, **settings: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "transport_type": "http_sms",
        "transport_name": "http_sms_test",
        "delivery_class": "sms",
        "http_sms.send.url": agg.url("/send"),
        "http_sms.send.retry_delays": "0.05,0.05",
    }
    meta.update({f"http_sms.{key}": value for key, value in settings.items()})
    return meta


@pytest.fixture
async def start(
    sqlite_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Start]:
    started: list[tuple[RunningPlatform, httpx.AsyncClient]] = []

    async def run(
        agg: Aggregator, allow: str = "127.0.0.1/32", **pool_settings: Any
    ) -> tuple[RunningPlatform, httpx.AsyncClient]:
        monkeypatch.setenv("VUMIGO_HTTP_SMS_ALLOW", allow)
        meta = sms_meta(agg, **pool_settings)
        channel = await make_channel(
            sqlite_db, "aggsms", [TAG], meta, config={"reply_text": "Got it"}
        )
        platform = RunningPlatform(settings, channel)
        await platform.start()
        app = create_app(platform.platform)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        started.append((platform, client))
        return platform, client

    yield run
    for platform, client in started:
        await client.aclose()
        await platform.stop()


async def test_post_form_ack_with_their_id_and_a_delivered_status_callback(start: Start) -> None:
    with aggregator(lambda _n, _c: (200, {"data": {"id": "agg-77"}})) as agg:
        platform, hooks = await start(
            agg,
            **{"send.id_field": "data.id", "send.username": "acct", "send.password": "key"},
        )
        message_id = await platform.send(PHONE, "hello there")
        await platform.wait_events(message_id, "ack")
        [call] = agg.calls
    assert (call.method, call.path) == ("POST", "/send")
    assert call.form == {
        "to": PHONE, "from": TAG, "content": "hello there", "message_id": message_id
    }  # fmt: skip
    assert call.headers["authorization"].startswith("Basic ")
    [ack] = await platform.events(message_id)
    assert ack.sent_message_id == "agg-77"

    response = await hooks.post(f"{HOOKS}/status", data={"id": "agg-77", "status": "DELIVRD"})
    assert response.json() == {"matched": True}
    await platform.wait_events(message_id, "delivery_report.delivered")
    [(_, state)] = await platform.messages("outbound")
    assert state == "sent"


async def test_get_with_url_template_and_a_failed_callback_quoting_our_id(start: Start) -> None:
    with aggregator() as agg:
        platform, hooks = await start(
            agg,
            **{
                "send.url": agg.url("/api/{to}/sms"),
                "send.method": "GET",
                "send.fields": {"text": "{content}", "sender": "{from}", "ref": "{message_id}"},
                "send.headers": {"X-Api-Key": "k-1"},
            },
        )
        message_id = await platform.send(PHONE, "a & b / c")
        await platform.wait_events(message_id, "ack")
        [call] = agg.calls
    assert call.path == "/api/%2B27820002222/sms"  # URL-quoted into the path
    assert call.query == {"text": "a & b / c", "sender": TAG, "ref": message_id}
    assert call.headers["x-api-key"] == "k-1"
    [ack] = await platform.events(message_id)
    assert ack.sent_message_id == message_id

    await hooks.get(f"{HOOKS}/status", params={"id": message_id, "status": "rejected"})
    await platform.wait_events(message_id, "delivery_report.failed")


async def test_json_body(start: Start) -> None:
    with aggregator() as agg:
        platform, _ = await start(agg, **{"send.body": "json"})
        message_id = await platform.send(PHONE, "json please")
        await platform.wait_events(message_id, "ack")
    assert agg.calls[0].json["content"] == "json please"


def flaky(failures: int, status: int = 503) -> Callable[[int, Call], tuple[int, Any]]:
    return lambda n, _call: (status, {"error": "busy"}) if n <= failures else (200, {})


async def test_server_errors_are_retried_then_acked(start: Start) -> None:
    with aggregator(flaky(2)) as agg:
        platform, _ = await start(agg)
        message_id = await platform.send(PHONE, "try again")
        await platform.wait_events(message_id, "ack")
    assert len(agg.calls) == 3
    assert await platform.event_types(message_id) == ["ack"]


async def test_retries_run_out_and_the_message_is_nacked(start: Start) -> None:
    with aggregator(flaky(10, status=429)) as agg:
        platform, _ = await start(agg)
        message_id = await platform.send(PHONE, "never")
        await platform.wait_events(message_id, "nack")
        assert platform.transport("http_sms_test").health()["throttled"] is True
    [nack] = await platform.events(message_id)
    assert "gave up after 3 attempts" in str(nack.nack_reason)
    [(_, state)] = await platform.messages("outbound")
    assert state == "failed"


async def test_a_client_error_is_nacked_at_once(start: Start) -> None:
    with aggregator(flaky(10, status=400)) as agg:
        platform, _ = await start(agg)
        message_id = await platform.send(PHONE, "bad")
        await platform.wait_events(message_id, "nack")
    assert len(agg.calls) == 1
    [nack] = await platform.events(message_id)
    assert str(nack.nack_reason).startswith("HTTP 400")


async def test_loopback_is_refused_without_the_allow_list(start: Start) -> None:
    with aggregator() as agg:
        platform, _ = await start(agg, allow="")
        message_id = await platform.send(PHONE, "to localhost")
        await platform.wait_events(message_id, "nack")
    assert agg.calls == []
    [nack] = await platform.events(message_id)
    assert "not allowed" in str(nack.nack_reason)


async def test_inbound_webhook_routes_to_the_conversation_once(start: Start) -> None:
    with aggregator() as agg:
        platform, hooks = await start(
            agg,
            secret="hush",
            **{"inbound.from": "msisdn", "inbound.to": "shortcode", "inbound.content": "text"},
        )
        fields = {"msisdn": PHONE, "shortcode": TAG.lstrip("+"), "text": "hi", "id": "mo-1"}
        denied = await hooks.post(f"{HOOKS}/messages", data=fields)
        assert denied.status_code == 401
        first = await hooks.post(f"{HOOKS}/messages", data={**fields, "secret": "hush"})
        again = await hooks.post(
            f"{HOOKS}/messages", data=fields, headers={"X-Vumigo-Secret": "hush"}
        )
        assert first.json()["duplicate"] is False
        assert again.json() == {"message_id": first.json()["message_id"], "duplicate": True}
        calls = await wait_for(lambda: _calls(agg, 1))
    assert calls[0].form["content"] == "Got it"
    assert calls[0].form["to"] == PHONE
    [(inbound, state)] = await platform.messages("inbound")
    assert (inbound.from_addr, inbound.to_addr, inbound.content) == (PHONE, TAG, "hi")
    assert state == "processed"


async def _calls(agg: Aggregator, count: int) -> list[Call]:
    return list(agg.calls) if len(agg.calls) >= count else []


async def test_status_for_an_unknown_id_is_not_matched(start: Start) -> None:
    with aggregator() as agg:
        _, hooks = await start(agg)
        response = await hooks.post(f"{HOOKS}/status", json={"id": "nope", "status": "DELIVRD"})
    assert response.status_code == 200
    assert response.json() == {"matched": False}


@pytest.mark.parametrize(
    ("word", "overrides", "expected"),
    [
        ("DELIVRD", {}, "delivered"),
        ("delivered", {}, "delivered"),
        ("UNDELIV", {}, "failed"),
        ("Expired", {}, "failed"),
        ("sent", {}, "pending"),
        ("buffered", {}, "pending"),
        ("3", {"3": "delivered"}, "delivered"),
        ("DELIVRD", {"delivrd": "failed"}, "failed"),
        ("x", {"x": "nonsense"}, "pending"),
    ],
)
def test_delivery_status(word: str, overrides: dict[str, str], expected: str) -> None:
    assert delivery_status(word, overrides) == expected


def test_render_and_dig() -> None:
    values = {"to": "+27 82", "content": "a&b"}
    assert render("https://x/{to}?t={content}&k={key}", values, escape=True) == (
        "https://x/%2B27%2082?t=a%26b&k={key}"
    )
    assert render("{content}!", values) == "a&b!"
    assert dig({"messages": [{"id": 5}]}, "messages.0.id") == "5"
    assert dig({"messages": []}, "messages.0.id") is None
    assert dig({"a": {"b": "c"}}, "a") is None


async def test_webhooks_work_where_the_transport_does_not_run(
    sqlite_db: Database, settings: Settings
) -> None:
    with aggregator() as agg:
        channel = await make_channel(sqlite_db, "aggsms", [TAG], sms_meta(agg))
    web_only = settings.model_copy(update={"roles": ["dispatcher", "apps"]})
    platform = RunningPlatform(web_only, channel)
    await platform.start()
    try:
        app = create_app(platform.platform)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as hooks:
            fields = {"from": PHONE, "to": TAG, "content": "from afar"}
            response = await hooks.post(f"{HOOKS}/messages", data=fields)
        assert response.status_code == 200
        assert platform.engine.transports.transports == {}
        [(inbound, _)] = await wait_for(lambda: platform.messages("inbound"))
        assert inbound.content == "from afar"
    finally:
        await platform.stop()
