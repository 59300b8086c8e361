"""The open-request limit counted in the database: several web processes share one limit.

Two limiters on two connections to one database stand for two web processes.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from tests.conftest import database_url
from tests.support.factories import make_account
from tests.support.http_api import make_http_api_conversation
from vumigo.apps.http_api.limiter import STALE_SECONDS, DbConcurrencyLimiter, TooManyConnections
from vumigo.apps.http_api.runtime import runtime_for
from vumigo.config import Settings
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import ApiSlot
from vumigo.runtime import Platform
from vumigo.web.app import create_app

AMQP_URL = os.environ.get("VUMIGO_TEST_AMQP_URL")


async def test_two_processes_share_one_accounts_limit(db_url: str) -> None:
    first_db, second_db = Database(db_url), Database(db_url)
    try:
        first = DbConcurrencyLimiter(first_db, 2, holder="web-1")
        second = DbConcurrencyLimiter(second_db, 2, holder="web-2")
        await first.enter("acc")
        await second.enter("acc")
        with pytest.raises(TooManyConnections):
            await first.enter("acc")
        with pytest.raises(TooManyConnections):
            await second.enter("acc")
        await second.enter("other")  # another account has slots of its own
        await second.leave("acc")
        await first.enter("acc")  # the slot the other process gave back
        assert first.open == {"acc": 2} and second.open == {"other": 1}
        await first.leave("acc")
        await first.leave("acc")
        async with first_db.sessions() as session:
            rows = (await session.execute(select(ApiSlot.account_key, ApiSlot.holder))).all()
        assert rows == [("other", "web-2")]  # a process with nothing open keeps no row
    finally:
        await first_db.dispose()
        await second_db.dispose()


async def test_a_dead_processes_slots_stop_counting(db_url: str) -> None:
    db = Database(db_url)
    try:
        dead = DbConcurrencyLimiter(db, 1, holder="web-dead")
        alive = DbConcurrencyLimiter(db, 1, holder="web-alive")
        await dead.enter("acc")
        with pytest.raises(TooManyConnections):
            await alive.enter("acc")
        # The holder stops refreshing its row (it was killed): past the stale time it is
        # ignored, and the slot is free again.
        async with db.transaction() as session:
            await session.execute(
                update(ApiSlot)
                .where(ApiSlot.holder == "web-dead")
                .values(seen_at=utcnow() - timedelta(seconds=STALE_SECONDS + 1))
            )
        await alive.enter("acc")
        # A live holder's refresh keeps its rows counting.
        await alive.refresh()
        with pytest.raises(TooManyConnections):
            await dead.enter("acc")
    finally:
        await db.dispose()


async def test_no_limit_touches_no_table(db_url: str) -> None:
    db = Database(db_url)
    try:
        unlimited = DbConcurrencyLimiter(db, -1)
        for _ in range(5):
            await unlimited.enter("acc")
        async with db.sessions() as session:
            assert (await session.execute(select(ApiSlot))).first() is None
    finally:
        await db.dispose()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url("postgres", request, tmp_path)


@pytest.mark.skipif(not AMQP_URL, reason="the distributed mode needs `make test`'s RabbitMQ")
async def test_web_processes_on_one_database_refuse_over_the_limit(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two distributed web platforms: a request open on one uses the account's only slot, so
    the other answers 403 with the original's reason, and serves again once it is given back."""
    monkeypatch.setenv("VUMIGO_HTTP_API_CONCURRENCY_LIMIT", "1")
    url = pg_url
    db = Database(url)
    account, _ = await make_account(db)
    conv, token = await make_http_api_conversation(db, account)
    prefix = f"limit{uuid.uuid4().hex[:8]}."
    settings = Settings(database_url=url, broker_url=AMQP_URL, broker_prefix=prefix, roles=[])
    first, second = Platform(settings), Platform(settings)
    await first.start()
    await second.start()
    try:
        assert first.engine.distributed
        held = runtime_for(first.engine).limiter
        assert isinstance(held, DbConcurrencyLimiter)
        await held.enter(account)  # like a stream left open on the first web process
        app = create_app(second)
        put = f"/api/v1/go/http_api_nostream/{conv}/messages.json"
        body = {"to_addr": "+27820000000", "content": "hi"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            refused = await http.put(put, json=body, auth=(account, token))
            assert refused.status_code == 403
            assert refused.json() == {
                "success": False,
                "reason": "Too many concurrent connections",
            }
            await held.leave(account)
            sent = await http.put(put, json=body, auth=(account, token))
            assert sent.status_code == 200, sent.text
    finally:
        await second.stop()
        await first.stop()
        await db.dispose()


async def test_requests_coming_and_going_at_once_leak_no_slot(db_url: str) -> None:
    """Enters and leaves interleaved on one process (each awaits the database): whatever the
    order, once all have left the process holds nothing and the whole limit is free again."""
    db = Database(db_url)
    try:
        limiter = DbConcurrencyLimiter(db, 3, holder="web-1")

        async def request(n: int) -> None:
            try:
                await limiter.enter("acc")
            except TooManyConnections:
                return
            await asyncio.sleep(0.001 * (n % 3))
            await limiter.leave("acc")

        for _ in range(5):
            await asyncio.gather(*(request(n) for n in range(12)))
        assert limiter.open == {}
        for _ in range(3):  # the whole limit, as at the start
            await limiter.enter("acc")
        with pytest.raises(TooManyConnections):
            await limiter.enter("acc")
    finally:
        await db.dispose()
