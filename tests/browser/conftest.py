"""Browser tests: Debian's Chromium, driven by Playwright's Python API, against a live platform.

Playwright never downloads a browser here: it launches /usr/bin/chromium (the apt package
``chromium``). Without it, or without the playwright package, these tests skip and say why.
One live server and one browser serve the whole module, so the suite stays well under a minute.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.factories import DEV_POOL_META
from tests.support.live import LiveServer
from vumigo.accounts.apps import enable_apps
from vumigo.accounts.users import create_user
from vumigo.channels.tagpools import assign_pool, create_pool
from vumigo.config import Settings
from vumigo.conversations.service import create_conversation
from vumigo.db.engine import Database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser test pw"
CONSOLE_ERRORS: list[str] = []
ALICE = "alice@example.com"
BOB = "bob@example.com"

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page


def require_browser() -> None:
    """Skips the calling test module, saying what is missing, when no browser can run."""
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
            allow_module_level=True,
        )
    pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")


async def _seed(url: str) -> dict[str, str]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            alice = await create_user(session, ALICE, PASSWORD, name="Alice")
            await enable_apps(session, alice.key)
            meta = {**DEV_POOL_META, "country_name": "South Africa"}
            await create_pool(session, "devphone", ["100", "101", "102"], meta)
            await assign_pool(session, alice.key, "devphone", None)
            bob = await create_user(session, BOB, PASSWORD, name="Bob")
            await enable_apps(session, bob.key)
            private = await create_conversation(session, bob.key, "opt_out", "Bob's secret")
        return {"alice": alice.key, "bob": bob.key, "bob_conversation": private.key}
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def live(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("browser")
    shutil.copyfile(sqlite_template, folder / "vumigo.db")
    url = f"sqlite+aiosqlite:///{folder / 'vumigo.db'}"
    # In a thread of its own: Playwright's sync API may already run an event loop here.
    with ThreadPoolExecutor(1) as pool:
        seeded = pool.submit(asyncio.run, _seed(url)).result()
    server = LiveServer(Settings(data_dir=folder / "var", database_url=url))
    server.start()
    try:
        yield server, seeded
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def sign_in(context: BrowserContext, base: str, email: str) -> Page:
    page = context.new_page()
    page.goto(f"{base}/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


@pytest.fixture(scope="module")
def alice(chromium: Browser, live: tuple[LiveServer, dict[str, str]]) -> Iterator[tuple[Page, str]]:
    server, _ = live
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = sign_in(context, server.url, ALICE)
    # Anything the pages log as an error (a CSP refusal, a script failure) fails the suite.
    page.on("console", lambda msg: CONSOLE_ERRORS.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: CONSOLE_ERRORS.append(str(exc)))
    yield page, server.url
    context.close()


@pytest.fixture(scope="module", autouse=True)
def fresh_console_errors() -> None:
    """Each module checks the errors its own pages logged, not those of the modules before."""
    CONSOLE_ERRORS.clear()


# Screenshots go to docs/screenshots/ only when asked (VUMIGO_SCREENSHOTS=1), so an ordinary
# test run leaves the work tree alone; otherwise to a scratch folder.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's screenshots go."""
    folder = (
        DOCS_SCREENSHOTS
        if os.environ.get("VUMIGO_SCREENSHOTS")
        else tmp_path_factory.mktemp("screenshots")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    """What one test leaves for the next (the conversation the story made)."""
    return {}
