"""The subscription manager panel: keyword rows in place, checked; clear 400s; scoping."""

from __future__ import annotations

import pytest

from tests.web.helpers import Browser
from vumigo.conversations.service import create_conversation, get_conversation

SAVED = {
    "handlers": [
        {"keyword": "join", "operation": "subscribe", "campaign_name": "news", "reply_copy": "In!"}
    ]
}


async def _subscription(browser: Browser) -> str:
    async with browser.db.transaction() as session:
        conv = await create_conversation(
            session, browser.account, "subscription", "Signups", config=dict(SAVED)
        )
        return conv.key


async def _handlers(browser: Browser, key: str) -> object:
    async with browser.db.sessions() as session:
        return (await get_conversation(session, browser.account, key)).config.get("handlers")


def _row(n: int, keyword: str, operation: str, campaign: str, reply: str) -> dict[str, str]:
    return {
        f"handler-{n}-keyword": keyword,
        f"handler-{n}-operation": operation,
        f"handler-{n}-campaign_name": campaign,
        f"handler-{n}-reply_copy": reply,
    }


async def test_panel_shows_the_rows_and_saves_changes(browser: Browser) -> None:
    key = await _subscription(browser)
    page = await browser.get(f"/conversations/{key}/")
    assert page.status_code == 200
    assert 'name="handler-0-keyword" value="join"' in page.text
    assert 'name="handler-1-keyword"' in page.text  # the blank row for adding
    form = {
        **_row(0, "join", "subscribe", "news", "You're in!"),
        **_row(1, "STOP", "unsubscribe", "news", "Bye"),
        **_row(2, "", "subscribe", "", ""),  # the blank row, untouched
    }
    saved = await browser.post(f"/conversations/{key}/subscription/handlers", form)
    assert saved.status_code == 303
    assert await _handlers(browser, key) == [
        {
            "keyword": "join",
            "operation": "subscribe",
            "campaign_name": "news",
            "reply_copy": "You're in!",
        },
        {
            "keyword": "STOP",
            "operation": "unsubscribe",
            "campaign_name": "news",
            "reply_copy": "Bye",
        },
    ]
    removed = await browser.post(
        f"/conversations/{key}/subscription/handlers", {**form, "handler-0-remove": "1"}
    )
    assert removed.status_code == 303
    handlers = await _handlers(browser, key)
    assert isinstance(handlers, list) and [h["keyword"] for h in handlers] == ["STOP"]
    full = await browser.get(f"/conversations/{key}/subscription/handlers")
    assert full.status_code == 200 and 'value="STOP"' in full.text


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (("two words", "subscribe", "news", "x"), "must be one word"),
        (("", "subscribe", "news", "x"), "must be one word"),
        (("stop", "explode", "news", "x"), "choose subscribe or unsubscribe"),
        (("stop", "subscribe", "", "x"), "name the campaign"),
        (("JOIN", "subscribe", "other", "x"), "already used above"),
    ],
)
async def test_bad_rows_are_a_400_naming_the_row(
    browser: Browser, row: tuple[str, str, str, str], expected: str
) -> None:
    key = await _subscription(browser)
    form = {**_row(0, "join", "subscribe", "news", "In!"), **_row(1, *row)}
    response = await browser.post(f"/conversations/{key}/subscription/handlers", form)
    assert response.status_code == 400
    assert "Row 2" in response.text and expected in response.text
    assert f'value="{row[2]}"' in response.text  # what was typed is still there
    assert await _handlers(browser, key) == SAVED["handlers"]


async def test_scoping_and_csrf(browser: Browser, other: Browser) -> None:
    key = await _subscription(browser)
    form = _row(0, "hack", "subscribe", "x", "y")
    assert (await other.get(f"/conversations/{key}/subscription/handlers")).status_code == 404
    stranger = await other.post(f"/conversations/{key}/subscription/handlers", form)
    assert stranger.status_code == 404
    forged = await browser.client.post(f"/conversations/{key}/subscription/handlers", data=form)
    assert forged.status_code == 403
    assert await _handlers(browser, key) == SAVED["handlers"]
