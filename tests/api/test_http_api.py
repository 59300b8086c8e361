"""The HTTP API over a live platform: send, reply, metrics, auth, limits and error shapes."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support.factories import make_account
from tests.support.http_api import (
    HttpApiSetup,
    http_api_setup,
    make_http_api_conversation,
    update_section,
    use_test_env,
)
from tests.support.live import LiveServer, live_server
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import Conversation, MetricPoint, OptOut, StoredMessage

JSON_UTF8 = "application/json; charset=utf-8"


@pytest.fixture
async def nostream(db: Database) -> HttpApiSetup:
    return await http_api_setup(db, "http_api_nostream", content_length_limit=10)


@pytest.fixture
def live(
    db_url: str, nostream: HttpApiSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    """A live platform on this test's database (SQLite, then PostgreSQL), started after the
    set-up so that the developer phone's transport runs from the start."""
    use_test_env(monkeypatch)
    with live_server(Settings(data_dir=tmp_path / "var", database_url=db_url)) as server:
        yield server


def put(url: str, auth: tuple[str, str] | None, body: Any = None, **kw: Any) -> httpx.Response:
    # json.dumps escapes non-ASCII, so lone surrogates can be sent as JSON does.
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return httpx.put(url, auth=auth, content=json.dumps(body), headers=headers, timeout=10, **kw)


async def stored(db: Database, message_id: str) -> StoredMessage | None:
    async with db.sessions() as session:
        return await session.get(StoredMessage, message_id)


async def test_send_stores_then_answers_with_the_vumi_message(
    db: Database, live: LiveServer, nostream: HttpApiSetup
) -> None:
    s = nostream
    response = put(s.api_url(live.url), s.auth, {"to_addr": "+27831112222", "content": "hi"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON_UTF8
    msg = response.json()
    assert msg["message_type"] == "user_message"
    assert (msg["to_addr"], msg["content"], msg["in_reply_to"]) == ("+27831112222", "hi", None)
    assert msg["helper_metadata"]["go"] == {
        "user_account": s.account,
        "conversation_type": "http_api_nostream",
        "conversation_key": s.conv,
    }
    row = await stored(db, msg["message_id"])
    assert row is not None and row.direction == "outbound"

    async def sent() -> bool:
        row = await stored(db, msg["message_id"])
        return row is not None and row.state == "sent"

    deadline = time.monotonic() + 10
    while not await sent() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await sent()


async def test_reply_to_an_inbound_message_of_the_conversation(
    db: Database, live: LiveServer, nostream: HttpApiSetup
) -> None:
    s = nostream
    inbound = httpx.post(
        s.phone_url(live.url),
        json={"from_addr": "+27835550000", "content": "question", "wait": 0},
        headers={"Authorization": f"Bearer {s.account_token}"},
        timeout=10,
    ).json()["message_id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = await stored(db, inbound)
        if row is not None and row.state == "processed":
            break
        await asyncio.sleep(0.05)
    body = {
        "in_reply_to": inbound,
        "content": "answer",
        "session_event": "close",
        "helper_metadata": {"load_balancer": {"x": 1}, "ignored": True},
    }
    response = put(s.api_url(live.url), s.auth, body)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["in_reply_to"] == inbound
    assert (reply["to_addr"], reply["content"]) == ("+27835550000", "answer")
    assert reply["session_event"] == "close"
    assert reply["helper_metadata"]["load_balancer"] == {"x": 1}
    assert "ignored" not in reply["helper_metadata"]
    assert reply["helper_metadata"]["go"]["conversation_key"] == s.conv

    # An outbound id, an unknown id and another conversation's inbound are all refused.
    other_conv, other_token = await make_http_api_conversation(db, s.account)
    for in_reply_to, auth, conv in [
        (reply["message_id"], s.auth, s.conv),
        ("f" * 32, s.auth, s.conv),
        (inbound, (s.account, other_token), other_conv),
        (12345, s.auth, s.conv),
    ]:
        url = f"{live.url}/api/v1/go/http_api_nostream/{conv}/messages.json"
        bad = put(url, auth, {"in_reply_to": in_reply_to, "content": "x"})
        assert (bad.status_code, bad.json()) == (
            400,
            {"success": False, "reason": "Invalid in_reply_to value"},
        )


SEND_ERRORS: list[tuple[Any, str]] = [
    ({"content": "no address"}, "Invalid or missing value for payload key 'to_addr'"),
    ({"to_addr": 5, "content": "x"}, "Invalid or missing value for payload key 'to_addr'"),
    (
        {"to_addr": None, "content": 5},
        "Errors:\n* Invalid or missing value for payload key 'content'\n"
        "* Invalid or missing value for payload key 'to_addr'",
    ),
    ({"to_addr": "+1", "content": "x" * 11}, "Payload content too long: 11 > 10"),
    (
        {"to_addr": "+1", "content": "nul\u0000"},
        "Invalid or missing value for payload key 'content'",
    ),
    ({"to_addr": "+1", "content": "\ud800"}, "Invalid or missing value for payload key 'content'"),
    ({"to_addr": "1" * 256}, "Invalid or missing value for payload key 'to_addr'"),
    ({"to_addr": ""}, "Invalid or missing value for payload key 'to_addr'"),
    ([1, 2], "Invalid Message"),
    ("text", "Invalid Message"),
    (None, "Invalid Message"),
]


async def test_send_validation_texts(live: LiveServer, nostream: HttpApiSetup) -> None:
    for body, reason in SEND_ERRORS:
        response = put(nostream.api_url(live.url), nostream.auth, body)
        assert response.status_code == 400, body
        assert response.headers["content-type"] == JSON_UTF8
        assert response.json() == {"success": False, "reason": reason}, body


async def test_opted_out_recipient_is_refused_unless_the_account_disables_optouts(
    db: Database, live: LiveServer, nostream: HttpApiSetup
) -> None:
    s = nostream
    async with db.transaction() as session:
        session.add(OptOut(account_key=s.account, address_type="msisdn", address="+27830000001"))
    response = put(s.api_url(live.url), s.auth, {"to_addr": "+27830000001", "content": "hi"})
    assert (response.status_code, response.json()) == (
        400,
        {"success": False, "reason": "Recipient with msisdn +27830000001 has opted out"},
    )
    # Another address type is another opt-out.
    other_type = {"to_addr": "+27830000001", "to_addr_type": "twitter_handle"}
    assert put(s.api_url(live.url), s.auth, other_type).status_code == 200

    relaxed, _ = await make_account(db, disable_optouts=True)
    conv, token = await make_http_api_conversation(db, relaxed)
    async with db.transaction() as session:
        session.add(OptOut(account_key=relaxed, address_type="msisdn", address="+27830000001"))
    url = f"{live.url}/api/v1/go/http_api_nostream/{conv}/messages.json"
    assert put(url, (relaxed, token), {"to_addr": "+27830000001"}).status_code == 200


async def test_metrics_are_stored_as_points(
    db: Database, live: LiveServer, nostream: HttpApiSetup
) -> None:
    s = nostream
    url = s.api_url(live.url, "metrics.json")
    response = put(url, s.auth, [["visits", 3, "sum"], ["load", "0.5", "AVG"]])
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_UTF8
    assert response.json() == {"success": True, "reason": "Metrics published"}
    async with db.sessions() as session:
        rows = (await session.execute(select(MetricPoint).order_by(MetricPoint.id))).scalars()
        points = [(r.account_key, r.store, r.name, r.aggregator, r.value) for r in rows]
    assert points == [
        (s.account, "default", "visits", "sum", 3.0),
        (s.account, "default", "load", "avg", 0.5),
    ]


METRIC_ERRORS: list[tuple[Any, str]] = [
    ([["m", 1, "median"]], "'median' is not a valid aggregate."),
    ([["m", "abc", "sum"]], "Invalid Message"),
    ([["m", 1]], "Invalid Message"),
    ([["m", [1], "sum"]], "Invalid Message"),
    ([["m", 1, 5]], "Invalid Message"),
    ([["", 1, "sum"]], "Invalid Message"),
    ({"m": 1}, "Invalid Message"),
]


async def test_metric_errors(live: LiveServer, nostream: HttpApiSetup) -> None:
    for body, reason in METRIC_ERRORS:
        response = put(nostream.api_url(live.url, "metrics.json"), nostream.auth, body)
        assert (response.status_code, response.json()) == (
            400,
            {"success": False, "reason": reason},
        ), body
    infinite = b'[["m", 1e999, "sum"]]'  # json.loads reads it as inf
    response = httpx.put(
        nostream.api_url(live.url, "metrics.json"), auth=nostream.auth, content=infinite
    )
    assert response.json()["reason"] == "Invalid Message"


async def test_metric_store_comes_from_the_conversation(
    db: Database, nostream: HttpApiSetup, tmp_path: Path, db_url: str
) -> None:
    s = nostream
    await update_section(db, s.conv, metric_store="shop")
    with live_server(Settings(data_dir=tmp_path / "var", database_url=db_url)) as live:
        response = put(s.api_url(live.url, "metrics.json"), s.auth, [["a", 1, "max"]])
    assert response.status_code == 200
    async with db.sessions() as session:
        point = (await session.execute(select(MetricPoint))).scalar_one()
    assert (point.store, point.name, point.aggregator) == ("shop", "a", "max")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_every_auth_failure_is_the_same_401(
    db: Database, live: LiveServer, nostream: HttpApiSetup
) -> None:
    s = nostream
    other_account, _ = await make_account(db)
    foreign_conv, foreign_token = await make_http_api_conversation(db, other_account)
    streaming_conv, streaming_token = await make_http_api_conversation(db, s.account, "http_api")
    archived_conv, archived_token = await make_http_api_conversation(db, s.account)
    async with db.transaction() as session:
        row = await session.get(Conversation, archived_conv)
        assert row is not None
        row.archived = True
    base = f"{live.url}/api/v1/go/http_api_nostream"
    cases: list[tuple[str, dict[str, str]]] = [
        (s.conv, {}),
        (s.conv, {"Authorization": basic(s.account, "wrong")}),
        (s.conv, {"Authorization": basic(other_account, s.token)}),
        (s.conv, {"Authorization": "Basic !!!not-base64"}),
        (s.conv, {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}),
        (s.conv, {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()}),
        (s.conv, {"Authorization": f"Bearer {s.account_token}"}),
        (s.conv, {"Authorization": "Basic " + "A" * 5000}),
        (foreign_conv, {"Authorization": basic(s.account, foreign_token)}),
        (streaming_conv, {"Authorization": basic(s.account, streaming_token)}),
        (archived_conv, {"Authorization": basic(s.account, archived_token)}),
        ("no-such-conversation", {"Authorization": basic(s.account, s.token)}),
        ("bad%00key", {"Authorization": basic(s.account, s.token)}),
    ]
    for conv, headers in cases:
        response = httpx.put(f"{base}/{conv}/messages.json", json={"to_addr": "1"}, headers=headers)
        assert response.status_code == 401, (conv, headers, response.text)
        assert response.json() == {"success": False, "reason": "Unauthorized"}
        assert response.headers["www-authenticate"] == 'Basic realm="Conversation Realm"'
        assert response.headers["content-type"] == JSON_UTF8


async def test_unknown_paths_and_methods_are_json_4xx(
    db: Database, live: LiveServer, nostream: HttpApiSetup
) -> None:
    s = nostream
    base = f"{live.url}/api/v1/go/http_api_nostream"
    for method, url in [
        ("PUT", f"{base}//messages.json"),
        ("PUT", f"{base}/{s.conv}/other.json"),
        ("GET", f"{base}/{s.conv}/events.json"),
        ("GET", f"{base}/{s.conv}/messages.json"),  # no streaming on nostream
        ("DELETE", f"{base}/{s.conv}/messages.json"),
        ("POST", f"{base}/{s.conv}/metrics.json"),
    ]:
        response = httpx.request(method, url, auth=s.auth)
        assert response.status_code in (404, 405), (method, url)
        assert response.json()["success"] is False


async def test_malformed_and_huge_bodies(
    db: Database, live: LiveServer, nostream: HttpApiSetup
) -> None:
    s = nostream
    url = s.api_url(live.url)
    for raw in [b"{not json", b"\xff\xfe", b"[" * 100_000, b""]:
        response = httpx.put(url, auth=s.auth, content=raw)
        assert (response.status_code, response.json()["reason"]) == (400, "Invalid Message")
    huge = b'{"to_addr": "1", "content": "' + b"x" * 300_000 + b'"}'
    response = httpx.put(url, auth=s.auth, content=huge)
    assert response.status_code == 413
    assert response.json()["success"] is False

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is found while reading
        yield b'{"to_addr": "1", "content": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}'

    response = httpx.put(url, auth=s.auth, content=chunks())
    assert response.status_code == 413


async def test_concurrency_limit_counts_open_streams(
    db: Database, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_test_env(monkeypatch, VUMIGO_HTTP_API_CONCURRENCY_LIMIT="2")
    account, _ = await make_account(db)
    conv, token = await make_http_api_conversation(db, account, "http_api")
    s = HttpApiSetup(account, "", conv, token, "http_api")
    with live_server(Settings(data_dir=tmp_path / "var", database_url=db_url)) as live:
        async with httpx.AsyncClient(auth=s.auth, timeout=10) as client:
            async with (
                client.stream("GET", s.api_url(live.url)) as first,
                client.stream("GET", s.api_url(live.url, "events.json")) as second,
            ):
                assert (first.status_code, second.status_code) == (200, 200)
                assert first.headers["content-type"] == JSON_UTF8
                assert first.headers["x-accel-buffering"] == "no"
                refused = await client.put(s.api_url(live.url), json={"to_addr": "1"})
                assert refused.status_code == 403
                assert refused.json() == {
                    "success": False,
                    "reason": "Too many concurrent connections",
                }
            # Closing the streams frees their slots.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                again = await client.put(s.api_url(live.url), json={"to_addr": "1"})
                if again.status_code == 200:
                    break
                await asyncio.sleep(0.05)
            assert again.status_code == 200
