"""Router form editors: keyword, group and menu configs with their endpoints kept in step,
clear 400s, scoping and CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.factories import link
from tests.web.helpers import Browser
from vumigo.contacts import create_group
from vumigo.conversations.routers import create_router, get_router
from vumigo.db.models import Router, RoutingEntry


async def _router(
    browser: Browser,
    kind: str,
    config: dict[str, Any] | None = None,
    extra: list[str] | None = None,
) -> str:
    async with browser.db.transaction() as session:
        rtr = await create_router(
            session,
            browser.account,
            kind,
            f"{kind} router",
            config=config or {},
            extra_outbound_endpoints=extra,
        )
        return rtr.key


async def _saved(browser: Browser, key: str) -> Router:
    async with browser.db.sessions() as session:
        return await get_router(session, browser.account, key)


async def _routed_from(browser: Browser, endpoint: str) -> list[str]:
    async with browser.db.sessions() as session:
        rows = (await session.scalars(select(RoutingEntry))).all()
    return [r.source_connector for r in rows if r.source_endpoint == endpoint]


async def test_keyword_editor_keeps_endpoints_in_step(browser: Browser) -> None:
    key = await _router(
        browser, "keyword", {"keyword_endpoint_mapping": {"yes": "kw_yes"}}, ["kw_yes", "manual"]
    )
    page = await browser.get(f"/routers/{key}/")
    assert f'hx-get="/routers/{key}/config/form"' in page.text
    fragment = await browser.get(f"/routers/{key}/config/form", headers={"HX-Request": "true"})
    assert 'name="keyword-0-keyword" value="yes"' in fragment.text
    assert 'name="keyword-0-endpoint" value="kw_yes"' in fragment.text
    outbound = f"ROUTER:keyword:{key}:OUTBOUND"
    await link(browser.db, browser.account, outbound, "CONVERSATION:opt_out:x", "kw_yes")
    assert await _routed_from(browser, "kw_yes") == [outbound]
    saved = await browser.post(
        f"/routers/{key}/config/form",
        {
            "keyword-0-keyword": "yes",
            "keyword-0-endpoint": "kw_yes",
            "keyword-0-remove": "1",
            "keyword-1-keyword": "Join",
            "keyword-1-endpoint": "join_app",
            "keyword-2-keyword": "",
            "keyword-2-endpoint": "",
        },
    )
    assert saved.status_code == 303, saved.text
    rtr = await _saved(browser, key)
    assert rtr.config == {"keyword_endpoint_mapping": {"Join": "join_app"}}
    # kw_yes went with its keyword (and its routing entry); the hand-typed endpoint stayed.
    assert rtr.extra_outbound_endpoints == ["manual", "join_app"]
    assert await _routed_from(browser, "kw_yes") == []


async def test_group_editor_offers_the_accounts_groups(browser: Browser, other: Browser) -> None:
    async with browser.db.transaction() as session:
        staff = await create_group(session, browser.account, "Staff")
    async with other.db.transaction() as session:
        theirs = await create_group(session, other.account, "Theirs")
    key = await _router(browser, "group")
    fragment = await browser.get(f"/routers/{key}/config/form", headers={"HX-Request": "true"})
    assert re.search(rf'<option value="{staff.key}"\s*>Staff \(0\)</option>', fragment.text)
    assert "Theirs" not in fragment.text
    saved = await browser.post(
        f"/routers/{key}/config/form", {"rule-0-group": staff.key, "rule-0-endpoint": "staff"}
    )
    assert saved.status_code == 303
    rtr = await _saved(browser, key)
    assert rtr.config == {"rules": [{"group": staff.key, "endpoint": "staff"}]}
    assert rtr.extra_outbound_endpoints == ["staff"]
    refused = await browser.post(
        f"/routers/{key}/config/form", {"rule-0-group": theirs.key, "rule-0-endpoint": "x"}
    )
    assert refused.status_code == 400 and "Unknown group" in refused.text
    assert (await _saved(browser, key)).config == rtr.config


async def test_menu_editor(browser: Browser) -> None:
    key = await _router(
        browser, "app_multiplexer", {"entries": [{"label": "Old", "endpoint": "old"}]}, ["old"]
    )
    full = await browser.get(f"/routers/{key}/config/form")
    assert full.status_code == 200 and "<html" in full.text and 'value="Old"' in full.text
    saved = await browser.post(
        f"/routers/{key}/config/form",
        {
            "menu_title": "Pick one",
            "entry-0-label": "Weather",
            "entry-0-endpoint": "weather",
            "entry-1-label": "News",
            "entry-1-endpoint": "news",
            "invalid_input_message": "",
            "error_message": "Gone",
            "session_expiry": "120",
        },
    )
    assert saved.status_code == 303, saved.text
    rtr = await _saved(browser, key)
    assert rtr.config == {
        "menu_title": {"content": "Pick one"},
        "entries": [
            {"label": "Weather", "endpoint": "weather"},
            {"label": "News", "endpoint": "news"},
        ],
        "invalid_input_message": "",
        "error_message": "Gone",
        "session_expiry": 120,
    }
    assert rtr.extra_outbound_endpoints == ["weather", "news"]


@pytest.mark.parametrize(
    ("kind", "form", "expected"),
    [
        ("keyword", {"keyword-0-keyword": "two words", "keyword-0-endpoint": "x"}, "one word"),
        ("keyword", {"keyword-0-keyword": "yes", "keyword-0-endpoint": ""}, "name the endpoint"),
        ("keyword", {"keyword-0-keyword": "yes", "keyword-0-endpoint": "a::b"}, "one word without"),
        (
            "keyword",
            {
                "keyword-0-keyword": "yes",
                "keyword-0-endpoint": "a",
                "keyword-1-keyword": "YES",
                "keyword-1-endpoint": "b",
            },
            "already used above",
        ),
        ("group", {"rule-0-group": "", "rule-0-endpoint": "x"}, "choose a group"),
        ("group", {"rule-0-group": "f" * 32, "rule-0-endpoint": "x"}, "Unknown group"),
        ("app_multiplexer", {"menu_title": "x"}, "at least one item"),
        (
            "app_multiplexer",
            {"entry-0-label": "", "entry-0-endpoint": "x"},
            "give the menu item a label",
        ),
        (
            "app_multiplexer",
            {"entry-0-label": "A", "entry-0-endpoint": "a", "session_expiry": "soon"},
            "number of seconds",
        ),
        (
            "app_multiplexer",
            {"entry-0-label": "A", "entry-0-endpoint": "a", "session_expiry": "-5"},
            "between 1 second",
        ),
        (
            "app_multiplexer",
            {"entry-0-label": "A", "entry-0-endpoint": "a", "session_expiry": "nan"},
            "between 1 second",
        ),
    ],
)
async def test_bad_input_is_a_400_and_nothing_changes(
    browser: Browser, kind: str, form: dict[str, str], expected: str
) -> None:
    key = await _router(browser, kind)
    response = await browser.post(f"/routers/{key}/config/form", form)
    assert response.status_code == 400, response.text
    assert expected in response.text and "<form" in response.text
    rtr = await _saved(browser, key)
    assert rtr.config == {} and rtr.extra_outbound_endpoints == []


async def test_scoping_csrf_and_types_without_an_editor(browser: Browser, other: Browser) -> None:
    key = await _router(browser, "keyword", {"keyword_endpoint_mapping": {"yes": "kw_yes"}})
    form = {"keyword-0-keyword": "hack", "keyword-0-endpoint": "x"}
    assert (await other.get(f"/routers/{key}/config/form")).status_code == 404
    stranger = await other.post(f"/routers/{key}/config/form", form)
    assert stranger.status_code == 404 and "kw_yes" not in stranger.text
    forged = await browser.client.post(f"/routers/{key}/config/form", data=form)
    assert forged.status_code == 403
    assert (await _saved(browser, key)).config == {"keyword_endpoint_mapping": {"yes": "kw_yes"}}
