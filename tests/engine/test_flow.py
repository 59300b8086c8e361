"""End to end through a live platform and the developer phone: inbound → app → outbound → events."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support.factories import (
    hold_tag,
    link,
    make_account,
    make_conversation,
    make_pool,
    route_both_ways,
)
from tests.support.live import live_server
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import OptOut, StoredMessage
from vumigo.store.batches import find_batch
from vumigo.store.counters import counters, progress_status


async def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.05)


async def batch_counts(db: Database, account: str, conv: str) -> dict[str, int]:
    async with db.sessions() as session:
        batch = await find_batch(session, "conversation", conv, account)
        return await counters(session, batch) if batch else {}


@pytest.fixture
async def static_reply_setup(sqlite_db: Database) -> dict[str, str]:
    account, token = await make_account(sqlite_db)
    await make_pool(sqlite_db, "dev", ["10001", "10002", "10003"])
    await hold_tag(sqlite_db, account, "dev", "10001")
    conv = await make_conversation(sqlite_db, account, "static_reply", {"reply_text": "Hello!"})
    await route_both_ways(sqlite_db, account, "dev", "10001", f"CONVERSATION:static_reply:{conv}")
    return {"account": account, "token": token, "conv": conv}


async def test_static_reply_round_trip(
    sqlite_db: Database, settings: Settings, static_reply_setup: dict[str, str]
) -> None:
    s = static_reply_setup
    with live_server(settings) as server:
        response = httpx.post(
            f"{server.url}/api/v1/dev/dev/10001/messages",
            json={"from_addr": "+27821234567", "content": "hi", "wait": 5},
            headers={"Authorization": f"Bearer {s['token']}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["replies"]) == 1
        reply = body["replies"][0]
        assert reply["content"] == "Hello!"
        assert reply["in_reply_to"] == body["message_id"]
        assert reply["to_addr"] == "+27821234567"
        assert reply["session_event"] == "close"
        assert reply["helper_metadata"]["tag"] == {"tag": ["dev", "10001"]}
        assert reply["helper_metadata"]["go"]["conversation_key"] == s["conv"]

        async def settled() -> bool:
            counts = await batch_counts(sqlite_db, s["account"], s["conv"])
            return counts.get("delivery_report_delivered", 0) == 1

        assert await wait_for(settled)
    counts = await batch_counts(sqlite_db, s["account"], s["conv"])
    status = progress_status(counts)
    assert status["sent"] == 1
    assert status["ack"] == 1
    assert status["delivery_report"] == 1
    assert status["delivery_report_delivered"] == 1
    assert counts["inbound"] == 1
    assert counts["inbound_uniques"] == 1
    async with sqlite_db.sessions() as session:
        states = dict(
            (await session.execute(select(StoredMessage.direction, StoredMessage.state))).all()
        )
    assert states == {"inbound": "processed", "outbound": "sent"}


async def test_stop_records_optout_and_routes_to_optout_conversation(
    sqlite_db: Database, settings: Settings, static_reply_setup: dict[str, str]
) -> None:
    s = static_reply_setup
    optout_conv = await make_conversation(sqlite_db, s["account"], "opt_out")
    await link(sqlite_db, s["account"], "OPT_OUT", f"CONVERSATION:opt_out:{optout_conv}")
    with live_server(settings) as server:
        response = httpx.post(
            f"{server.url}/api/v1/dev/dev/10001/messages",
            json={"from_addr": "+27820000001", "content": "  STOP ", "wait": 5},
            headers={"Authorization": f"Bearer {s['token']}"},
            timeout=10,
        )
    assert response.status_code == 200, response.text
    replies = response.json()["replies"]
    assert [r["content"] for r in replies] == ["You have opted out"]
    assert replies[0]["helper_metadata"]["tag"] == {"tag": ["dev", "10001"]}
    assert replies[0]["helper_metadata"]["go"]["conversation_key"] == optout_conv
    async with sqlite_db.sessions() as session:
        rows = (await session.execute(select(OptOut))).scalars().all()
    assert [(r.account_key, r.address_type, r.address) for r in rows] == [
        (s["account"], "msisdn", "+27820000001")
    ]
    assert rows[0].message_id == response.json()["message_id"]


async def test_stop_without_optout_route_gets_default_reply(
    sqlite_db: Database, settings: Settings, static_reply_setup: dict[str, str]
) -> None:
    s = static_reply_setup
    with live_server(settings) as server:
        response = httpx.post(
            f"{server.url}/api/v1/dev/dev/10001/messages",
            json={"from_addr": "+27820000002", "content": "stop", "wait": 5},
            headers={"Authorization": f"Bearer {s['token']}"},
            timeout=10,
        )
    assert [r["content"] for r in response.json()["replies"]] == ["You have opted out"]


async def test_optouts_disabled_for_account_routes_normally(
    sqlite_db: Database, settings: Settings
) -> None:
    account, token = await make_account(sqlite_db, disable_optouts=True)
    await make_pool(sqlite_db, "dev", ["20001"])
    await hold_tag(sqlite_db, account, "dev", "20001")
    conv = await make_conversation(sqlite_db, account, "static_reply", {"reply_text": "ok"})
    await route_both_ways(sqlite_db, account, "dev", "20001", f"CONVERSATION:static_reply:{conv}")
    with live_server(settings) as server:
        response = httpx.post(
            f"{server.url}/api/v1/dev/dev/20001/messages",
            json={"from_addr": "+27820000003", "content": "stop", "wait": 5},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert [r["content"] for r in response.json()["replies"]] == ["ok"]
    async with sqlite_db.sessions() as session:
        assert (await session.execute(select(OptOut))).first() is None


async def test_unroutable_inbound_gets_pool_reply_and_is_stored(
    sqlite_db: Database, settings: Settings, static_reply_setup: dict[str, str]
) -> None:
    s = static_reply_setup
    await hold_tag(sqlite_db, s["account"], "dev", "10002")  # held but not routed
    with live_server(settings) as server:
        response = httpx.post(
            f"{server.url}/api/v1/dev/dev/10002/messages",
            json={"from_addr": "+27820000004", "content": "anyone?", "wait": 5},
            headers={"Authorization": f"Bearer {s['token']}"},
            timeout=10,
        )
    assert response.status_code == 200
    replies = response.json()["replies"]
    assert [r["content"] for r in replies] == [
        "Vumi Go could not route your message. Please try again soon."
    ]
    assert replies[0]["session_event"] == "close"
    assert replies[0]["routing_metadata"]["is_reply_to_unroutable"] is True
    async with sqlite_db.sessions() as session:
        stored = await session.get(StoredMessage, response.json()["message_id"])
    assert stored is not None and stored.state == "processed"


async def test_stopped_conversation_receives_nothing_but_message_is_stored(
    sqlite_db: Database, settings: Settings
) -> None:
    account, token = await make_account(sqlite_db)
    await make_pool(sqlite_db, "dev", ["30001"])
    await hold_tag(sqlite_db, account, "dev", "30001")
    conv = await make_conversation(
        sqlite_db, account, "static_reply", {"reply_text": "x"}, status="stopped"
    )
    await route_both_ways(sqlite_db, account, "dev", "30001", f"CONVERSATION:static_reply:{conv}")
    with live_server(settings) as server:
        response = httpx.post(
            f"{server.url}/api/v1/dev/dev/30001/messages",
            json={"from_addr": "+27820000005", "content": "hello", "wait": 0.5},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert response.json()["replies"] == []
    counts = await batch_counts(sqlite_db, account, conv)
    assert counts["inbound"] == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"content": "no sender"}, 400),
        ({"from_addr": "", "content": "x"}, 400),
        ({"from_addr": "1", "content": 5}, 400),
        ({"from_addr": "1", "session_event": "bogus"}, 400),
        ({"from_addr": "1", "wait": 1000}, 400),
        ({"from_addr": "1", "unexpected": True}, 400),
        ({"from_addr": "1\u0000", "content": "x"}, 400),
        (b'{"from_addr": "1", "content": "bad \\ud800 surrogate"}', 400),
    ],
)
async def test_dev_phone_rejects_bad_input(
    sqlite_db: Database,
    settings: Settings,
    static_reply_setup: dict[str, str],
    body: dict[str, Any] | bytes,
    status: int,
) -> None:
    s = static_reply_setup
    headers = {"Authorization": f"Bearer {s['token']}", "Content-Type": "application/json"}
    with live_server(settings) as server:
        url = f"{server.url}/api/v1/dev/dev/10001/messages"
        if isinstance(body, bytes):
            response = httpx.post(url, content=body, headers=headers)
        else:
            response = httpx.post(url, json=body, headers=headers)
    assert response.status_code == status
    assert "reason" in response.json()


async def test_dev_phone_auth_and_scoping(
    sqlite_db: Database, settings: Settings, static_reply_setup: dict[str, str]
) -> None:
    _other, other_token = await make_account(sqlite_db)
    url_path = "/api/v1/dev/dev/10001/messages"
    with live_server(settings) as server:
        url = server.url + url_path
        no_auth = httpx.post(url, json={"from_addr": "1"})
        bad = httpx.post(url, json={"from_addr": "1"}, headers={"Authorization": "Bearer nope"})
        odd = httpx.post(url, json={"from_addr": "1"}, headers={"Authorization": "Basic x:y"})
        other = httpx.post(
            url, json={"from_addr": "1"}, headers={"Authorization": f"Bearer {other_token}"}
        )
        malformed = httpx.post(
            url,
            content=b"{not json",
            headers={
                "Authorization": f"Bearer {static_reply_setup['token']}",
                "Content-Type": "application/json",
            },
        )
    assert (no_auth.status_code, bad.status_code, odd.status_code) == (401, 401, 401)
    assert other.status_code == 404
    assert malformed.status_code == 400
    for response in (no_auth, bad, odd, other, malformed):
        assert response.json()["success"] is False
