"""The operator pages in a real browser: an operator sets up a new customer end to end.

The tests run in order and share one signed-in operator: create an account with its first user,
create a tag pool, grant it to the account, top up its credit; then the new user signs in and
finds the pool offered on their channels page. Screenshots of the overview and an account page
are taken at desktop and phone widths, and no operator page may scroll sideways at 375 px.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ALICE, CONSOLE_ERRORS, PASSWORD, require_browser, sign_in
from tests.support.live import LiveServer
from vumigo.accounts.users import create_user
from vumigo.db.engine import Database

require_browser()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

OPERATOR = "operator@example.com"
NURSE = "nurse@acme.example"
NURSE_PASSWORD = "nurse password 1"


async def _make_operator(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            await create_user(session, OPERATOR, PASSWORD, name="Olu", is_admin=True)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def operator(
    chromium: Browser, live: tuple[LiveServer, dict[str, str]]
) -> Iterator[tuple[Page, str]]:
    server, _ = live
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _make_operator(server.platform.settings.database_url)).result()
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = sign_in(context, server.url, OPERATOR)
    page.on("console", lambda msg: CONSOLE_ERRORS.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: CONSOLE_ERRORS.append(str(exc)))
    yield page, server.url
    context.close()


@pytest.fixture(scope="module")
def made() -> dict[str, Any]:
    """What one test leaves for the next (the new account's key)."""
    return {}


def test_operator_sets_up_a_customer(operator: tuple[Page, str], made: dict[str, Any]) -> None:
    page, base = operator
    page.goto(f"{base}/")
    page.click("header .nav-wide a:has-text('Operator')")
    expect(page.locator("h1")).to_have_text("Operator")

    # A new account with its first user.
    page.click("a:has-text('Accounts')")
    page.click("text=New account")
    page.fill("input[name=account_name]", "Acme Clinic")
    page.fill("input[name=email]", NURSE)
    page.fill("input[name=name]", "Nia")
    page.fill("input[name=password]", NURSE_PASSWORD)
    expect(page.locator("input[name=all_apps]")).to_be_checked()
    page.click("#new-account button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Account “Acme Clinic” created")
    key = re.search(r"/admin/accounts/([0-9a-f]{32})/", page.url)
    assert key
    made["account"] = key.group(1)

    # A tag pool of three numbers, for Kenya on the developer phone.
    page.click(".admin-tabs a:has-text('Tag pools')")
    page.fill("#new-pool input[name=name]", "acme-sms")
    page.fill("#new-pool input[name=tag_range]", "2547:5001-5003")
    page.fill(
        "#new-pool textarea[name=meta]",
        "display_name: Acme SMS\ncountry_name: Kenya\ntransport_name: dev\n"
        "transport_type: dev\ndelivery_class: sms\n",
    )
    page.click("#new-pool button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Pool acme-sms created with 3 tags")
    expect(page.locator("#pool-free")).to_have_text("3")

    # Granted to the new account, at most two tags.
    page.fill("#grantees input[name=account]", made["account"])
    page.fill("#grantees input[name=max_keys]", "2")
    page.click("#grantees button[type=submit]")
    expect(page.locator("#grantees")).to_contain_text("Acme Clinic")

    # Credit, from the account's page.
    page.click("#grantees a:has-text('Acme Clinic')")
    page.fill("#credit input[name=amount]", "500")
    page.fill("#credit input[name=note]", "Welcome credit")
    page.click("#credit button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("the balance is now 500")
    expect(page.locator("#balance")).to_have_text("500")
    expect(page.locator("#pools")).to_contain_text("acme-sms")


def test_the_new_user_sees_the_pool(
    chromium: Browser, live: tuple[LiveServer, dict[str, str]]
) -> None:
    server, _ = live
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.url}/signin")
        page.fill("input[name=email]", NURSE)
        page.fill("input[name=password]", NURSE_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        expect(page.locator("footer")).to_contain_text("Acme Clinic")
        expect(page.locator("header")).not_to_contain_text("Operator")
        page.goto(f"{server.url}/channels/new")
        expect(page.locator("select[name=pool]")).to_contain_text("Acme SMS")
        expect(page.locator("select[name=country]")).to_have_value("Kenya")
        response = page.goto(f"{server.url}/admin/")
        assert response is not None and response.status == 404
    finally:
        context.close()


def test_others_find_no_operator_pages(
    chromium: Browser, live: tuple[LiveServer, dict[str, str]], made: dict[str, Any]
) -> None:
    server, _ = live
    context = chromium.new_context()
    try:
        page = sign_in(context, server.url, ALICE)
        for path in ("/admin/", f"/admin/accounts/{made['account']}/", "/admin/pools/acme-sms/"):
            response = page.goto(server.url + path)
            assert response is not None and response.status == 404
            expect(page.locator("h1")).to_have_text("Not found")
            expect(page.locator("body")).not_to_contain_text("Acme")
    finally:
        context.close()


PAGES = {
    "admin-overview": "/admin/",
    "admin-accounts": "/admin/accounts/",
    "admin-account": "/admin/accounts/{account}/",
    "admin-account-new": "/admin/accounts/new",
    "admin-users": "/admin/users/",
    "admin-pools": "/admin/pools/",
    "admin-pool": "/admin/pools/acme-sms/",
}
SHOTS = ("admin-overview", "admin-account")


def test_screenshots_and_narrow_screens(
    operator: tuple[Page, str], made: dict[str, Any], shots: Path
) -> None:
    page, base = operator
    for width, height in ((1280, 900), (375, 812)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in PAGES.items():
            response = page.goto(base + path.format(**made))
            assert response is not None and response.status == 200, path
            if name in SHOTS:
                page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width, f"{name} scrolls sideways at {width}px"
    # At phone width the operator entry is in the collapsed menu.
    page.goto(base + "/")
    page.click(".nav-narrow summary")
    expect(page.locator(".nav-narrow a:has-text('Operator')")).to_be_visible()


def test_operator_pages_logged_no_errors(operator: tuple[Page, str]) -> None:
    errors = [text for text in CONSOLE_ERRORS if "404" not in text]
    assert errors == []
