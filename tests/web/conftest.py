"""A running platform with the UI, and signed-in browsers on it (two accounts for isolation)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from tests.web.helpers import Browser, make_user
from vumigo.accounts import users
from vumigo.config import Settings
from vumigo.runtime import Platform
from vumigo.web.app import create_app


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
async def platform(db_url: str, tmp_path: Path) -> AsyncIterator[Platform]:
    """The platform on SQLite, and on PostgreSQL too when `make test` provides one."""
    running = Platform(Settings(data_dir=tmp_path / "var", database_url=db_url))
    await running.start()
    yield running
    await running.stop()


BrowserFactory = Callable[[], Awaitable[Browser]]


@pytest.fixture
async def new_browser(platform: Platform) -> AsyncIterator[BrowserFactory]:
    app = create_app(platform)  # the lifespan is not run: the fixture started the platform
    clients: list[httpx.AsyncClient] = []

    async def make() -> Browser:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        clients.append(client)
        return Browser(client, platform)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def browser(new_browser: BrowserFactory, platform: Platform) -> Browser:
    """Signed in as alice@example.com, in an account of her own."""
    me = await new_browser()
    me.account = await make_user(platform.db, "alice@example.com")
    response = await me.sign_in("alice@example.com")
    assert response.status_code == 303
    return me


@pytest.fixture
async def other(new_browser: BrowserFactory, platform: Platform) -> Browser:
    """Signed in as bob@example.com, in another account."""
    them = await new_browser()
    them.account = await make_user(platform.db, "bob@example.com")
    response = await them.sign_in("bob@example.com")
    assert response.status_code == 303
    return them
