"""Crash recovery through `vumigo serve`: accepted messages are processed exactly once.

A real server process is killed with SIGKILL and started again on the same database.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.support.factories import (
    hold_tag,
    make_account,
    make_conversation,
    make_pool,
    route_both_ways,
)
from tests.support.serve import ServeProcess
from vumigo.db.engine import Database
from vumigo.db.models import StoredMessage


async def setup(db: Database) -> tuple[str, str]:
    account, token = await make_account(db)
    await make_pool(db, "dev", ["10001"])
    await hold_tag(db, account, "dev", "10001")
    conv = await make_conversation(db, account, "static_reply", {"reply_text": "got it"})
    await route_both_ways(db, account, "dev", "10001", f"CONVERSATION:static_reply:{conv}")
    return account, token


def send_many(url: str, token: str, count: int, prefix: str) -> list[str]:
    """Sends ``count`` messages without waiting for replies; returns the accepted ids."""

    def one(n: int) -> str:
        response = httpx.post(
            f"{url}/api/v1/dev/dev/10001/messages",
            json={"from_addr": f"+27{prefix}{n:05d}", "content": f"m{n}", "wait": 0},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["message_id"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


async def replies_per_message(db: Database) -> tuple[dict[str, str], Counter[str]]:
    async with db.sessions() as session:
        rows = (await session.execute(select(StoredMessage))).scalars().all()
    inbound = {r.message_id: r.state for r in rows if r.direction == "inbound"}
    replies = Counter(r.in_reply_to for r in rows if r.direction == "outbound" and r.in_reply_to)
    return inbound, replies


async def wait_until_all_answered(db: Database, ids: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inbound, replies = await replies_per_message(db)
        if all(inbound.get(i) == "processed" and replies[i] >= 1 for i in ids):
            return
        await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_accepted_but_unprocessed_messages_survive_sigkill(
    sqlite_db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    _, token = await setup(sqlite_db)
    # No app workers: messages are accepted (200) and routed, but nobody handles them.
    first = ServeProcess(sqlite_url, tmp_path, roles='["dispatcher","transports"]')
    try:
        accepted = send_many(first.url, token, 40, "1")
    finally:
        first.kill()
    inbound, replies = await replies_per_message(sqlite_db)
    assert all(inbound[i] == "accepted" for i in accepted)
    assert not replies

    second = ServeProcess(sqlite_url, tmp_path)
    try:
        await wait_until_all_answered(sqlite_db, accepted)
    finally:
        second.stop()
    inbound, replies = await replies_per_message(sqlite_db)
    assert {inbound[i] for i in accepted} == {"processed"}
    assert [i for i in accepted if replies[i] != 1] == []


@pytest.mark.slow
async def test_sigkill_mid_traffic_processes_every_message_exactly_once(
    sqlite_db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    _, token = await setup(sqlite_db)
    first = ServeProcess(sqlite_url, tmp_path)
    try:
        accepted = send_many(first.url, token, 150, "2")
    finally:
        first.kill()  # at once: some are handled, some in flight, some still queued

    second = ServeProcess(sqlite_url, tmp_path)
    try:
        more = send_many(second.url, token, 10, "3")
        await wait_until_all_answered(sqlite_db, accepted + more)
    finally:
        second.stop()
    inbound, replies = await replies_per_message(sqlite_db)
    everything = accepted + more
    assert {inbound[i] for i in everything} == {"processed"}
    assert [i for i in everything if replies[i] != 1] == []
    async with sqlite_db.sessions() as session:
        states = Counter(
            (
                await session.execute(
                    select(StoredMessage.state).where(StoredMessage.direction == "outbound")
                )
            ).scalars()
        )
    assert states == {"sent": len(everything)}
