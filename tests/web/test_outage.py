"""With its database (or its broker) away, the web app answers 503 with a reason, not 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from tests.support.live import free_port
from vumigo.bus import BusUnavailable
from vumigo.config import Settings
from vumigo.runtime import Platform
from vumigo.web import sessions
from vumigo.web.app import create_app


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    """The app of a platform whose PostgreSQL is not there (nothing listens on its port)."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/vumigo"
    platform = Platform(Settings(data_dir=tmp_path / "var", database_url=url))
    built = create_app(platform)  # not started: it could not be

    @built.get("/api/test/integrity")
    async def integrity() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    @built.get("/api/test/broker")
    async def broker() -> None:
        raise BusUnavailable("RabbitMQ cannot be reached")

    yield built
    await platform.db.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["success"] is False
    assert "unavailable" in body["reason"]


async def test_http_api_send_is_503(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/api/v1/go/http_api_nostream/abc/messages.json",
        auth=("account", "token"),
        json={"to_addr": "+27820000000", "content": "hi"},
    )
    assert_unavailable(response)


async def test_developer_phone_is_503(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/dev/dev/10001/messages",
        json={"from_addr": "+27820000000", "content": "hi"},
        headers={"Authorization": "Bearer token"},
    )
    assert_unavailable(response)


async def test_a_page_is_an_html_503(client: httpx.AsyncClient) -> None:
    # A signed-in browser: its session is looked up in the database.
    response = await client.get(
        "/", headers={"Accept": "text/html", "Cookie": f"{sessions.COOKIE}=some-session"}
    )
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Unavailable</h1>" in response.text


async def test_broker_away_is_503(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/test/broker")
    assert response.status_code == 503
    assert "broker" in response.json()["reason"]


async def test_other_database_errors_stay_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/test/integrity")
    assert response.status_code == 500
