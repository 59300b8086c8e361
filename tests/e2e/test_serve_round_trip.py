"""The engine's round trip through a real `vumigo serve` process and the developer phone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from tests.support.factories import (
    hold_tag,
    make_account,
    make_conversation,
    make_pool,
    route_both_ways,
)
from tests.support.serve import ServeProcess
from vumigo.db.engine import Database
from vumigo.store.batches import find_batch
from vumigo.store.queries import summary


async def test_static_reply_through_vumigo_serve(
    sqlite_db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    account, token = await make_account(sqlite_db)
    await make_pool(sqlite_db, "dev", ["10001"])
    await hold_tag(sqlite_db, account, "dev", "10001")
    conv = await make_conversation(sqlite_db, account, "static_reply", {"reply_text": "Hello!"})
    await route_both_ways(sqlite_db, account, "dev", "10001", f"CONVERSATION:static_reply:{conv}")

    server = ServeProcess(sqlite_url, tmp_path)
    try:
        response = httpx.post(
            f"{server.url}/api/v1/dev/dev/10001/messages",
            json={"from_addr": "+27821234567", "content": "hi", "wait": 10},
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        [reply] = body["replies"]
        assert reply["content"] == "Hello!"
        assert reply["in_reply_to"] == body["message_id"]

        deadline = time.monotonic() + 15
        while True:
            async with sqlite_db.sessions() as session:
                batch = await find_batch(session, "conversation", conv, account)
                counts = await summary(session, batch) if batch else None
            if counts and counts.progress_status["delivery_report_delivered"] == 1:
                break
            assert time.monotonic() < deadline, counts
            await asyncio.sleep(0.1)
    finally:
        server.stop()
    assert counts.progress_status["sent"] == 1
    assert counts.progress_status["ack"] == 1
    assert counts.progress_status["delivery_report_delivered"] == 1
    assert counts.inbound_uniques == 1
