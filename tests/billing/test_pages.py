"""The billing pages: an account's credit, statements (HTML and CSV), the operator's page."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from tests.billing.conftest import outbound, send, set_price
from tests.web.helpers import Browser, make_user
from vumigo.accounts import users
from vumigo.billing import credit, pages, policy
from vumigo.billing.step import Billing
from vumigo.config import Settings
from vumigo.db.models import User
from vumigo.runtime import Platform
from vumigo.web.app import create_app

D = Decimal


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    running = Platform(settings.model_copy(update={"roles": []}))
    await running.start()
    yield running
    await running.stop()


async def signed_in(platform: Platform, email: str, admin: bool = False) -> Browser:
    app = create_app(platform)
    if not any(getattr(r, "path", "") == "/billing/" for r in app.routes):
        pages.install(app, platform)  # until the UI lists the billing pages itself
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    me = Browser(client, platform)
    me.account = await make_user(platform.db, email)
    if admin:
        async with platform.db.transaction() as session:
            await session.execute(update(User).where(User.email == email).values(is_admin=True))
    assert (await me.sign_in(email)).status_code == 303
    return me


async def test_account_page_and_statement(platform: Platform) -> None:
    db = platform.db
    me = await signed_in(platform, "alice@example.com")
    await set_price(db, "outbound", "1")
    async with db.transaction() as session:
        await credit.top_up(session, me.account, "1000", "welcome")
        await policy.save_policy(session, (10, 20, 50), cutoff=True)
    await send(Billing(db), db, *[outbound(me.account) for _ in range(3)], pool="sms")
    async with db.transaction() as session:
        await credit.change_balance(session, me.account, D(-800))  # 17% left

    page = await me.get("/billing/")
    assert page.status_code == 200
    assert '<strong id="balance">170</strong>' in page.text
    assert "Your credit is low: 170 credits, 17% of your last top-up" in page.text
    month = datetime.now(UTC).strftime("%Y-%m")
    assert f'href="/billing/statements/{month}.csv"' in page.text

    statement = await me.get(f"/billing/statements/{month}")
    assert statement.status_code == 200
    assert '<th class="num" id="total">30</th>' in statement.text
    download = await me.get(f"/billing/statements/{month}.csv")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[1] == [month, "sms", "Messages sent", "3", "messages", "30.000000"]
    assert (await me.get("/billing/statements/May")).status_code == 400


async def test_held_messages_and_cutoff_banner(platform: Platform) -> None:
    me = await signed_in(platform, "alice@example.com")
    async with platform.db.transaction() as session:
        await policy.save_policy(session, cutoff=True)
    # Changed behind the platform's back (the operator page does this itself): the policy
    # read for the dashboard on sign-in is cached.
    platform.engine.billing.forget()
    page = await me.get("/billing/")
    assert "Your account has run out of credit" in page.text


async def test_operator_page_is_for_operators(platform: Platform) -> None:
    me = await signed_in(platform, "alice@example.com")
    assert (await me.get("/billing/admin/")).status_code == 404
    assert (
        await me.post("/billing/admin/topup", {"account": me.account, "amount": "5"})
    ).status_code == 404


async def test_operator_tops_up_and_sets_prices_and_policy(platform: Platform) -> None:
    op = await signed_in(platform, "op@example.com", admin=True)
    customer = await make_user(platform.db, "customer@example.com")

    done = await op.post(
        "/billing/admin/topup", {"account": customer, "amount": "500", "note": "PO 7"}
    )
    assert done.status_code == 303
    async with platform.db.sessions() as session:
        assert (await credit.credit_state(session, customer)).balance == D(500)
    bad = await op.post("/billing/admin/topup", {"account": customer, "amount": "-1"})
    assert bad.status_code == 400

    saved = await op.post(
        "/billing/admin/costs",
        {"direction": "outbound", "pool": "sms", "message_cost": "0.8", "markup_percent": "12.5"},
    )
    assert saved.status_code == 303
    assert (
        await op.post("/billing/admin/costs", {"direction": "sideways", "message_cost": "1"})
    ).status_code == 400
    assert (
        await op.post("/billing/admin/policy", {"thresholds": "5, 15", "cutoff": "on"})
    ).status_code == 303

    page = await op.get("/billing/admin/")
    assert page.status_code == 200
    assert "PO 7" not in page.text  # notes are on statements, not the report
    assert customer in page.text and "500" in page.text
    assert "<td>sms</td>" in page.text and "12.50" in page.text
    assert 'value="5,15"' in page.text and "checked" in page.text
    report = await op.get("/billing/admin/report.csv")
    assert report.text.splitlines()[0].startswith("month,account,name")
