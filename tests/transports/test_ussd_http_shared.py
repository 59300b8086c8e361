"""USSD over HTTP in the distributed mode: the aggregator's request is held by a web process
and the reply is sent by another process's transport; they meet in the session's row.

Two platforms on one PostgreSQL database and one RabbitMQ stand for the two processes: one
runs only the web app, the other the dispatcher, the app workers and the transports.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import database_url
from tests.transports.platform_support import wait_for
from tests.transports.test_ussd_http import (
    CODE,
    URL,
    MenuApp,
    menu_app,
    step,
    ussd_channel,
)
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import UssdSession
from vumigo.runtime import Platform
from vumigo.web.app import create_app

AMQP_URL = os.environ.get("VUMIGO_TEST_AMQP_URL")

pytestmark = pytest.mark.skipif(
    not AMQP_URL, reason="the distributed mode needs `make test`'s RabbitMQ"
)

__all__ = ["menu_app"]  # the menu conversation type, registered for every test here


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url("postgres", request, tmp_path)


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    yield database
    await database.dispose()


Running = tuple[Platform, Platform, httpx.AsyncClient]  # web, engine, a client of web's app


async def two_processes(pg_url: str, prefix: str) -> Running:
    common: dict[str, Any] = {
        "database_url": pg_url,
        "broker_url": AMQP_URL,
        "broker_prefix": prefix,
    }
    web = Platform(Settings(roles=[], **common))
    engine = Platform(Settings(roles=["dispatcher", "apps", "transports"], **common))
    await engine.start()
    await web.start()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(web)), base_url="http://t", timeout=20
    )
    return web, engine, http


@pytest.fixture
async def cluster(pg_url: str) -> AsyncIterator[Callable[[], Awaitable[Running]]]:
    started: list[Running] = []
    prefix = f"ussd{uuid.uuid4().hex[:8]}."

    async def start() -> Running:
        started.append(await two_processes(pg_url, prefix))
        return started[-1]

    yield start
    for web, engine, http in started:
        await http.aclose()
        await web.stop()
        await engine.stop()


async def test_a_session_through_a_web_process_that_runs_no_transport(
    pg_db: Database, cluster: Callable[[], Awaitable[Running]]
) -> None:
    await ussd_channel(pg_db)
    web, engine, http = await cluster()
    assert web.engine.transports.transports == {}  # the transport runs elsewhere only

    async def bound() -> bool:
        return "ussd_test" in engine.engine.transports.transports

    await wait_for(bound, 10)
    answers = []
    for text in ("", "1", "1*2"):
        response = await http.post(URL, data=step("shared-1", text))
        assert response.status_code == 200, response.text
        answers.append(response.text)
    assert answers == [
        "CON Welcome!\n1. News\n2. Quit",
        "CON News:\n1. Today\n2. Quit",
        "END Goodbye.",
    ]
    assert MenuApp.seen == [("new", None), ("resume", "1"), ("resume", "2")]
    async with pg_db.sessions() as session:
        row = await session.get(UssdSession, ("ussd_test", "shared-1"))
    assert row is not None
    assert (row.state, row.turns, row.tag, row.waiting_for) == ("closed", 3, CODE, None)


async def test_no_reply_in_time_ends_the_session_and_the_app_hears_close(
    pg_db: Database, cluster: Callable[[], Awaitable[Running]]
) -> None:
    await ussd_channel(pg_db, reply_timeout=3, timeout_text="Try later")
    _web, engine, http = await cluster()

    async def bound() -> bool:
        return "ussd_test" in engine.engine.transports.transports

    await wait_for(bound, 10)
    assert (await http.post(URL, data=step("shared-2", ""))).text.startswith("CON Welcome!")
    response = await http.post(URL, data=step("shared-2", "silent"))
    assert response.text == "END Try later"

    async def closed() -> bool:
        return MenuApp.seen[-1:] == [("close", None)]

    await wait_for(closed, 10)
    async with pg_db.sessions() as session:
        row = await session.get(UssdSession, ("ussd_test", "shared-2"))
    assert row is not None and (row.state, row.waiting_for) == ("closed", None)
