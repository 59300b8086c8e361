"""go-http 0.3.2, unmodified, against the platform's HTTP API (reference/http-clients.md §2a)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
import requests
from go_http.exceptions import UserOptedOutException
from go_http.send import HttpApiSender
from sqlalchemy import select

import tests.api.gohttp_shim  # noqa: F401  (the shared py2 fixes; HttpApiSender needs none)
from tests.support.http_api import HttpApiSetup, http_api_setup, use_test_env
from tests.support.live import LiveServer, live_server
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import MetricPoint, OptOut, StoredMessage


@pytest.fixture
async def setup(sqlite_db: Database) -> HttpApiSetup:
    return await http_api_setup(sqlite_db, "http_api_nostream")


@pytest.fixture
def live(
    settings: Settings, setup: HttpApiSetup, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    use_test_env(monkeypatch)
    with live_server(settings) as server:
        yield server


def sender(live: LiveServer, s: HttpApiSetup, token: str | None = None) -> HttpApiSender:
    return HttpApiSender(
        s.account,
        s.conv,
        token or s.token,
        api_url=f"{live.url}/api/v1/go/http_api_nostream",
    )


async def test_send_text_and_voice(
    sqlite_db: Database, live: LiveServer, setup: HttpApiSetup
) -> None:
    client = sender(live, setup)
    msg = client.send_text("+27821110000", "hello from go-http")
    assert msg["to_addr"] == "+27821110000"
    assert msg["content"] == "hello from go-http"
    voice = client.send_voice("+27821110000", "say this", speech_url="http://x/a.ogg")
    assert voice["content"] == "say this"
    async with sqlite_db.sessions() as session:
        rows = (
            await session.execute(select(StoredMessage.message_id, StoredMessage.direction))
        ).all()
    assert {(msg["message_id"], "outbound"), (voice["message_id"], "outbound")} <= set(rows)


async def test_reply_through_raw_send(
    sqlite_db: Database, live: LiveServer, setup: HttpApiSetup
) -> None:
    inbound = httpx.post(
        setup.phone_url(live.url),
        json={"from_addr": "+27821110001", "content": "hi", "wait": 0},
        headers={"Authorization": f"Bearer {setup.account_token}"},
    ).json()["message_id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        async with sqlite_db.sessions() as session:
            row = await session.get(StoredMessage, inbound)
        if row is not None and row.state == "processed":
            break
        await asyncio.sleep(0.05)
    reply = sender(live, setup)._raw_send({"in_reply_to": inbound, "content": "hello back"})
    assert (reply["in_reply_to"], reply["to_addr"]) == (inbound, "+27821110001")


async def test_fire_metric(sqlite_db: Database, live: LiveServer, setup: HttpApiSetup) -> None:
    answer = sender(live, setup).fire_metric("signups", 4, agg="sum")
    assert answer == {"success": True, "reason": "Metrics published"}
    async with sqlite_db.sessions() as session:
        point = (await session.execute(select(MetricPoint))).scalar_one()
    assert (point.name, point.value, point.aggregator) == ("signups", 4.0, "sum")


async def test_opted_out_recipient_raises_user_opted_out(
    sqlite_db: Database, live: LiveServer, setup: HttpApiSetup
) -> None:
    async with sqlite_db.transaction() as session:
        session.add(
            OptOut(account_key=setup.account, address_type="msisdn", address="+27821110002")
        )
    with pytest.raises(UserOptedOutException) as caught:
        sender(live, setup).send_text("+27821110002", "hi")
    assert caught.value.to_addr == "+27821110002"
    assert caught.value.reason == "Recipient with msisdn +27821110002 has opted out"


async def test_bad_token_raises_http_error(live: LiveServer, setup: HttpApiSetup) -> None:
    with pytest.raises(requests.HTTPError) as caught:
        sender(live, setup, token="not-the-token").send_text("+27821110003", "hi")
    assert caught.value.response.status_code == 401
    with pytest.raises(requests.HTTPError):
        sender(live, setup, token="not-the-token").fire_metric("m", 1)
