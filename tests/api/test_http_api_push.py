"""Push webhooks end to end: a receiver that fails then recovers, one that refuses, restarts."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.support.http_api import HttpApiSetup, http_api_setup, push_receiver, use_test_env
from tests.support.live import live_server
from vumigo.apps.http_api.deliveries import list_deliveries, status_counts
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import PushDelivery


def phone(base: str, s: HttpApiSetup, content: str, sender: str = "+27820001000") -> str:
    response = httpx.post(
        s.phone_url(base),
        json={"from_addr": sender, "content": content, "wait": 0},
        headers={"Authorization": f"Bearer {s.account_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["message_id"])


async def wait_until(check: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def deliveries(db: Database, conv: str) -> list[PushDelivery]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(PushDelivery).where(PushDelivery.conversation_key == conv)
        )
        return list(rows.scalars())


async def test_failing_receiver_gets_everything_once_it_recovers(
    db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_test_env(monkeypatch)
    # Down for the first 6 attempts (any path), then up.
    with push_receiver(lambda _path, n: 500 if n <= 6 else 200) as receiver:
        s = await http_api_setup(
            db,
            "http_api_nostream",
            push_message_url=receiver.url("/messages", "hook:s3cret"),
            push_event_url=receiver.url("/events"),
        )
        settings = Settings(data_dir=tmp_path / "var", database_url=db_url)
        with live_server(settings) as live:
            inbound = [phone(live.url, s, f"msg {i}") for i in range(3)]
            sent = httpx.put(
                s.api_url(live.url), auth=s.auth, json={"to_addr": "+27820001001", "content": "x"}
            ).json()["message_id"]
            assert receiver.wait_for(3, "/messages")
            # The dev transport acks and reports delivery: two events for the sent message.
            assert receiver.wait_for(2, "/events")

            async def settled() -> bool:
                rows = await deliveries(db, s.conv)
                return len(rows) == 5 and all(r.status == "delivered" for r in rows)

            await wait_until(settled)
        messages = receiver.bodies("/messages")
        assert sorted(m["message_id"] for m in messages) == sorted(inbound)
        assert all(m["helper_metadata"]["go"]["conversation_key"] == s.conv for m in messages)
        events = receiver.bodies("/events")
        assert {e["user_message_id"] for e in events} == {sent}
        assert {e["event_type"] for e in events} == {"ack", "delivery_report"}
        first = next(r for r in receiver.received if r.path == "/messages")
        assert first.headers["Content-Type"] == "application/json; charset=utf-8"
        assert (
            first.headers["Authorization"] == "Basic " + base64.b64encode(b"hook:s3cret").decode()
        )
        assert receiver.attempts > 5  # the failures were retried
        rows = await deliveries(db, s.conv)
        assert max(r.attempts for r in rows) > 1
        async with db.sessions() as session:
            counts = await status_counts(session, s.conv)
            shown = await list_deliveries(session, s.conv)
        assert counts["delivered"] == 5
        assert all("s3cret" not in d.url for d in shown)


async def test_receiver_answering_400_is_not_retried(
    db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_test_env(monkeypatch)
    with push_receiver(lambda _path, _n: 400) as receiver:
        s = await http_api_setup(
            db, "http_api_nostream", push_message_url=receiver.url("/m"), ignore_events=True
        )
        with live_server(Settings(data_dir=tmp_path / "var", database_url=db_url)) as live:
            phone(live.url, s, "hello")

            async def given_up() -> bool:
                rows = await deliveries(db, s.conv)
                return len(rows) == 1 and rows[0].status == "given_up"

            await wait_until(given_up)
            await asyncio.sleep(1.0)  # several retry intervals: nothing more is tried
        rows = await deliveries(db, s.conv)
        assert (rows[0].attempts, rows[0].last_status_code, rows[0].last_error) == (
            1,
            400,
            "HTTP 400",
        )
        assert receiver.attempts == 1


async def test_restart_in_the_middle_loses_nothing(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_test_env(monkeypatch)
    up = False
    with push_receiver(lambda _path, _n: 200 if up else 503) as receiver:
        s = await http_api_setup(
            sqlite_db, "http_api", push_message_url=receiver.url("/m"), ignore_events=True
        )
        settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_db.url)
        with live_server(settings) as live:
            inbound = [phone(live.url, s, f"before {i}") for i in range(4)]

            async def tried() -> bool:
                rows = await deliveries(sqlite_db, s.conv)
                return len(rows) == 4 and all(r.attempts >= 1 for r in rows)

            await wait_until(tried)
            # Stopped straight after accepting more: these may not even be handled yet.
            inbound += [phone(live.url, s, f"late {i}") for i in range(3)]
        assert receiver.bodies() == []
        up = True
        with live_server(settings):
            assert receiver.wait_for(7)

            async def all_delivered() -> bool:
                rows = await deliveries(sqlite_db, s.conv)
                return len(rows) == 7 and all(r.status == "delivered" for r in rows)

            await wait_until(all_delivered)
        assert sorted(b["message_id"] for b in receiver.bodies()) == sorted(inbound)
