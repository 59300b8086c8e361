"""Account pages: profile, API tokens (shown once, revocable), users of the account."""

from __future__ import annotations

import re

from tests.web.helpers import Browser
from vumigo.accounts.tokens import account_for_token
from vumigo.db.models import Account, User


async def test_profile(browser: Browser) -> None:
    page = await browser.get("/account/")
    assert page.status_code == 200 and "alice@example.com" in page.text
    saved = await browser.post(
        "/account/profile",
        {"name": "Alice", "surname": "Smith", "msisdn": "+27821234567", "email_summary": "weekly"},
    )
    assert saved.status_code == 303
    async with browser.db.sessions() as session:
        account = await session.get(Account, browser.account)
        users = (await session.execute(User.__table__.select())).all()
    assert account is not None
    assert (account.msisdn, account.email_summary) == ("+27821234567", "weekly")
    assert users[0].name == "Alice" and users[0].surname == "Smith"
    bad = await browser.post(
        "/account/profile", {"name": "A", "msisdn": "call me", "email_summary": "weekly"}
    )
    assert bad.status_code == 400 and "only digits" in bad.text
    odd = await browser.post("/account/profile", {"email_summary": "hourly"})
    assert odd.status_code == 400


async def test_tokens_show_once_and_revoke(browser: Browser, other: Browser) -> None:
    made = await browser.post("/account/tokens", {"name": "CRM"})
    assert made.status_code == 200
    token = re.search(r'<p class="token" id="new-token">([^<]+)</p>', made.text)
    assert token
    async with browser.db.sessions() as session:
        assert await account_for_token(session, token.group(1)) == browser.account
    listing = await browser.get("/account/tokens")
    assert token.group(1) not in listing.text and token.group(1)[:8] in listing.text
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', listing.text)
    assert token_id
    stolen = await other.post(f"/account/tokens/{token_id.group(1)}/revoke")
    assert stolen.status_code == 404
    revoked = await browser.post(f"/account/tokens/{token_id.group(1)}/revoke")
    assert revoked.status_code == 303
    async with browser.db.sessions() as session:
        assert await account_for_token(session, token.group(1)) is None
    assert (await browser.post("/account/tokens/abc/revoke")).status_code == 400


async def test_users_of_the_account(browser: Browser, other: Browser) -> None:
    page = await browser.get("/account/users")
    assert "alice@example.com" in page.text and "bob@example.com" not in page.text
