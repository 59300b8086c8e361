"""The dashboard's notices: low credit, and channels whose transport says they are down."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from tests.web.helpers import Browser
from vumigo.billing.credit import change_balance, top_up
from vumigo.runtime import Platform
from vumigo.web import notices
from vumigo.web.notices import down_pools


async def test_no_notices_for_a_healthy_account(browser: Browser) -> None:
    page = await browser.get("/")
    assert page.status_code == 200
    assert "notice" not in page.text


async def test_low_credit_shows_on_the_dashboard(browser: Browser, platform: Platform) -> None:
    async with platform.db.transaction() as session:
        await top_up(session, browser.account, 100)
        await change_balance(session, browser.account, Decimal(-95))
    page = await browser.get("/")
    assert "Your credit is low" in page.text and 'href="/billing/"' in page.text


async def test_a_down_channel_shows_on_the_dashboard(
    browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def tags(_session: object, _account: str) -> list[Any]:
        return [SimpleNamespace(pool="smpp_za")]

    monkeypatch.setattr(notices, "account_tags", tags)
    monkeypatch.setattr(notices, "down_pools", lambda _p, pools: dict.fromkeys(pools, "unbound"))
    page = await browser.get("/")
    assert "Channels of smpp_za are down (unbound)" in page.text


class FakeTransport:
    def __init__(self, name: str, pools: list[str], health: dict[str, Any]) -> None:
        self.name, self.pools, self._health = name, {pool: {} for pool in pools}, health

    def health(self) -> dict[str, Any]:
        if not self._health:
            raise RuntimeError("broken")
        return self._health


def fake_platform(*transports: FakeTransport, roles: tuple[str, ...] = ("transports",)) -> Any:
    manager = SimpleNamespace(transports={t.name: t for t in transports})
    return SimpleNamespace(roles=roles, engine=SimpleNamespace(transports=manager))


def test_down_pools_reads_each_pools_state() -> None:
    smpp = FakeTransport(
        "smpp",
        ["za", "ke", "ng"],
        {
            "connected": False,
            "pools": {
                "za": {"bound": True},
                "ke": {"bound": False},
                "ng": {"connected": False, "error": "bad password"},
            },
        },
    )
    dev = FakeTransport("dev", ["dev"], {"connected": True})
    broken = FakeTransport("broken", ["x"], {})
    platform = fake_platform(smpp, dev, broken)
    assert down_pools(platform, {"za", "ke", "ng", "dev", "x", "other"}) == {
        "ke": "not connected",
        "ng": "bad password",
    }
    # Only the account's own pools are reported.
    assert down_pools(platform, {"za"}) == {}


def test_down_pools_without_local_transports_reports_nothing() -> None:
    down = FakeTransport("smpp", ["za"], {"connected": False})
    assert down_pools(fake_platform(down, roles=("web",)), {"za"}) == {}
    assert down_pools(fake_platform(down), {"za"}) == {"za": "not connected"}
