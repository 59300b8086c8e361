"""The developer phone page and its JSON endpoints (session + CSRF header, account-scoped)."""

from __future__ import annotations

import asyncio

from tests.support.factories import make_pool
from tests.web.helpers import Browser
from vumigo.channels.tagpools import assign_pool
from vumigo.conversations.service import create_conversation, start_conversation
from vumigo.routing.table import add_entry


async def _wired(browser: Browser, reply_text: str = "Hello from the app") -> str:
    """A dev pool, a held tag routed both ways to a running static_reply conversation."""
    await make_pool(browser.db, "devpool", ["5551", "5552"])
    async with browser.db.transaction() as session:
        await assign_pool(session, browser.account, "devpool", None)
    await browser.post("/channels/new", {"pool": "devpool", "tag": "5551"})
    async with browser.db.transaction() as session:
        conv = await create_conversation(
            session, browser.account, "static_reply", "Bot", config={"reply_text": reply_text}
        )
        await start_conversation(session, browser.account, conv.key)
        conn = f"CONVERSATION:static_reply:{conv.key}"
        await add_entry(
            session, browser.account, "TRANSPORT_TAG:devpool:5551", "default", conn, "default"
        )
        await add_entry(
            session, browser.account, conn, "default", "TRANSPORT_TAG:devpool:5551", "default"
        )
    browser.platform.engine.lookups.forget()
    await browser.platform.engine.transports.refresh()  # start the dev transport now, not in 5 s
    return conv.key


async def test_phone_page_lists_dev_channels(browser: Browser) -> None:
    empty = await browser.get("/phone/")
    assert empty.status_code == 200 and "need a developer phone channel" in empty.text
    await _wired(browser)
    page = await browser.get("/phone/")
    assert 'data-pool="devpool"' in page.text and 'data-tag="5551"' in page.text


async def test_sms_round_trip_through_the_page_endpoints(browser: Browser) -> None:
    await _wired(browser)
    headers = {"X-CSRF-Token": browser.token}
    response = await browser.client.post(
        "/phone/devpool/5551/send",
        json={"from_addr": "+27821110000", "content": "hi", "wait": 5},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["content"] for r in body["replies"]] == ["Hello from the app"]
    assert body["replies"][0]["to_addr"] == "+27821110000"
    # Polling later from before the exchange sees the same reply (pushes arrive this way).
    polled = await browser.get(
        "/phone/devpool/5551/outbound", params={"after": "0", "to_addr": "+27821110000"}
    )
    assert [m["content"] for m in polled.json()["messages"]] == ["Hello from the app"]
    again = await browser.get(
        "/phone/devpool/5551/outbound", params={"after": polled.json()["cursor"], "wait": "0.2"}
    )
    assert again.json()["messages"] == []


async def test_ussd_session(browser: Browser) -> None:
    await _wired(browser, "Welcome to the menu")
    headers = {"X-CSRF-Token": browser.token}
    start = await browser.client.post(
        "/phone/devpool/5551/send",
        json={"from_addr": "+27829990000", "session_event": "new", "transport_type": "ussd"},
        headers=headers,
    )
    reply = start.json()["replies"][0]
    assert reply["content"] == "Welcome to the menu" and reply["session_event"] == "close"
    end = await browser.client.post(
        "/phone/devpool/5551/send",
        json={
            "from_addr": "+27829990000",
            "session_event": "close",
            "transport_type": "ussd",
            "wait": 0.3,
        },
        headers=headers,
    )
    assert end.status_code == 200 and end.json()["replies"] == []


async def test_phone_endpoints_are_scoped_and_protected(browser: Browser, other: Browser) -> None:
    await _wired(browser)
    no_csrf = await browser.client.post(
        "/phone/devpool/5551/send", json={"from_addr": "+1", "content": "x"}
    )
    assert no_csrf.status_code == 403
    theirs = await other.client.post(
        "/phone/devpool/5551/send",
        json={"from_addr": "+1", "content": "x"},
        headers={"X-CSRF-Token": other.token},
    )
    assert theirs.status_code == 404
    assert (await other.get("/phone/devpool/5551/outbound")).status_code == 404
    unheld = await browser.client.post(
        "/phone/devpool/5552/send",
        json={"from_addr": "+1", "content": "x"},
        headers={"X-CSRF-Token": browser.token},
    )
    assert unheld.status_code == 404
    bad = await browser.client.post(
        "/phone/devpool/5551/send",
        json={"from_addr": "", "content": "x", "transport_type": "fax"},
        headers={"X-CSRF-Token": browser.token},
    )
    assert bad.status_code == 400
    cursor = await browser.get("/phone/devpool/5551/outbound?after=-1")
    assert cursor.status_code == 400
    await asyncio.sleep(0)
