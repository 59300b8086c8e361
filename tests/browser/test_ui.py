"""The UI in a real browser: the whole story from a new conversation to a reply on the phone.

The tests run in order and share one signed-in browser: create a static_reply conversation,
get a developer phone channel, route it, stop and start, talk to it on the phone page, read the
messages and export them; then check another account's URLs and take screenshots.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import BOB, CONSOLE_ERRORS, require_browser, sign_in
from tests.support.live import LiveServer

require_browser()

from playwright.sync_api import Browser, Page, expect  # noqa: E402


def test_sign_in_shows_the_dashboard(alice: tuple[Page, str]) -> None:
    page, _ = alice
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("footer")).to_contain_text("alice@example.com")


def test_create_route_start_and_talk(
    alice: tuple[Page, str], state: dict[str, Any], shots: Path
) -> None:
    page, base = alice
    # A static reply conversation, started on creation.
    page.goto(f"{base}/conversations/new")
    page.fill("input[name=name]", "Greeter")
    page.select_option("select[name=conversation_type]", "static_reply")
    page.click("main form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("created and started")
    key = re.search(r"/conversations/([0-9a-f]{32})/", page.url)
    assert key
    state["conversation"] = key.group(1)
    page.fill("textarea[name=config]", '{"reply_text": "Hello from Greeter"}')
    expect(page.locator(".json-status")).to_have_text("Valid JSON")
    page.click("text=Save")
    expect(page.locator(".flash-success")).to_have_text("Saved.")

    # A developer phone channel: country, then pool, automatic tag.
    page.goto(f"{base}/channels/new")
    page.select_option("select[name=country]", "South Africa")
    page.select_option("select[name=pool]", "devphone")
    page.click("text=Get this channel")
    expect(page.locator(".flash-success")).to_contain_text("devphone:100")

    # Route it both ways.
    page.goto(f"{base}/routing/")
    page.select_option("select[name=source]", "TRANSPORT_TAG:devphone:100::default")
    page.select_option(
        "select[name=target]", f"CONVERSATION:static_reply:{state['conversation']}::default"
    )
    page.click("text=Add the link")
    expect(page.locator(".flash-success")).to_have_text("Linked.")
    expect(page.locator("form[action='/routing/remove']")).to_have_count(2)

    # Stop and start it again from its page.
    page.goto(f"{base}/conversations/{state['conversation']}/")
    page.click("button:has-text('Stop')")
    expect(page.locator("hgroup .badge")).to_have_text("stopped")
    page.click("button:has-text('Start')")
    expect(page.locator("hgroup .badge")).to_have_text("running")

    # Talk to it on the phone: SMS, then a USSD session.
    page.goto(f"{base}/phone/")
    page.fill("#phone-input", "hi there")
    page.click("#phone-send")
    expect(page.locator(".bubble.them").first).to_have_text("Hello from Greeter")
    page.check("input[name=mode][value=ussd]")
    page.click("#ussd-start")
    expect(page.locator(".bubble.them")).to_have_count(2)
    expect(page.locator(".bubble.system").last).to_contain_text("Session ended by the app")
    page.locator("#handset").screenshot(path=shots / "phone-chat.png")


def test_messages_and_export(alice: tuple[Page, str], state: dict[str, Any]) -> None:
    page, base = alice
    key = state["conversation"]
    page.goto(f"{base}/conversations/{key}/messages?direction=inbound")
    expect(page.locator(".msg-content").first).to_have_text("hi there")
    page.click("a:has-text('Sent')")
    expect(page.locator(".msg-content").first).to_have_text("Hello from Greeter")
    # A one-off reply to the message received.
    page.click("a:has-text('Received')")
    page.locator("details.reply summary").last.click()
    page.locator("input[name=content]").last.fill("A personal answer")
    page.locator("form.reply-form button").last.click()
    expect(page.locator(".flash-success")).to_contain_text("Reply sent")
    # Export the received messages as CSV.
    page.goto(f"{base}/conversations/{key}/export")
    with page.expect_download() as caught:
        page.click("text=Download")
    download = caught.value
    assert download.suggested_filename == f"{key}-inbound.csv"
    text = Path(download.path()).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["timestamp", "message_id", "to_addr"]
    assert "hi there" in [row[6] for row in rows[1:]]


def test_live_filters(alice: tuple[Page, str], state: dict[str, Any]) -> None:
    page, base = alice
    page.goto(f"{base}/conversations/")
    page.fill("input[name=query]", "zzz")
    expect(page.locator("#conversation-results")).to_contain_text("No conversations match")
    page.fill("input[name=query]", "greet")
    expect(page.locator("#conversation-results a:has-text('Greeter')")).to_be_visible()
    page.select_option("select[name=status]", "archived")
    expect(page.locator("#conversation-results")).to_contain_text("No conversations match")
    assert "status=archived" in page.url  # the filters are in the address, for back and links
    page.goto(f"{base}/conversations/{state['conversation']}/messages?direction=inbound")
    page.fill("input[name=q]", "there")
    expect(page.locator(".msg-content")).to_have_count(1)
    page.fill("input[name=q]", "nothing like this")
    expect(page.locator("#message-results")).to_contain_text("No messages match")


def test_another_accounts_urls_are_not_found(
    chromium: Browser, live: tuple[LiveServer, dict[str, str]], state: dict[str, Any]
) -> None:
    server, seeded = live
    context = chromium.new_context()
    try:
        page = sign_in(context, server.url, BOB)
        response = page.goto(f"{server.url}/conversations/{state['conversation']}/")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("Not found")
        expect(page.locator("body")).not_to_contain_text("Greeter")
        own = page.goto(f"{server.url}/conversations/{seeded['bob_conversation']}/")
        assert own is not None and own.status == 200
    finally:
        context.close()


PAGES = {
    "dashboard": "/",
    "conversations": "/conversations/",
    "conversation": "/conversations/{conversation}/",
    "messages": "/conversations/{conversation}/messages?direction=outbound",
    "channels": "/channels/",
    "channel-new": "/channels/new",
    "routing": "/routing/",
    "phone": "/phone/",
    "account": "/account/",
    "tokens": "/account/tokens",
}


def test_screenshots(
    chromium: Browser, alice: tuple[Page, str], state: dict[str, Any], shots: Path
) -> None:
    page, base = alice
    for width, height in ((1280, 900), (375, 812)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in PAGES.items():
            page.goto(base + path.format(**state))
            page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width, f"{name} scrolls sideways at {width}px"
        # At phone width the menu collapses into a button that opens it.
        if width == 375:
            page.goto(base + "/")
            expect(page.locator(".nav-wide")).to_be_hidden()
            page.click(".nav-narrow summary")
            expect(page.locator(".nav-narrow a:has-text('Routing')")).to_be_visible()
            page.screenshot(path=shots / "menu-375.png")
    signed_out = chromium.new_page(viewport={"width": 375, "height": 700})
    signed_out.goto(base + "/signin")
    signed_out.screenshot(path=shots / "signin-375.png")
    signed_out.close()


def test_pages_logged_no_errors(alice: tuple[Page, str]) -> None:
    # 404 pages log their status as a console error; nothing else may.
    errors = [text for text in CONSOLE_ERRORS if "404" not in text]
    assert errors == []
