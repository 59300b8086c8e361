"""The group message and dialogue panels in a real browser.

A group of 50 contacts is seeded through the contacts service; the story then runs in the UI:
create a group message conversation, get a developer phone channel and route it, write a
message (the character count follows), pick the group, confirm, and watch the page's counters
rise through htmx polling until all 50 are sent, acknowledged and delivered. Then a dialogue is
built in the form editor. Screenshots of both, and both pages at phone width.
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CONSOLE_ERRORS, require_browser
from tests.support.live import LiveServer
from vumigo.contacts import create_contact, create_group
from vumigo.db.engine import Database

require_browser()

from playwright.sync_api import Page, expect  # noqa: E402

GROUP_SIZE = 50


async def _seed_group(url: str, account_key: str) -> str:
    db = Database(url)
    try:
        async with db.transaction() as session:
            group = await create_group(session, account_key, "Clinic visitors")
            for n in range(GROUP_SIZE):
                await create_contact(
                    session,
                    account_key,
                    {"msisdn": f"+2783{n:07d}", "name": f"Visitor {n}", "groups": [group.key]},
                )
            return group.key
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def clinic(live: tuple[LiveServer, dict[str, str]]) -> str:
    """A group of 50 contacts in Alice's account, made through the contacts service."""
    server, seeded = live
    url = server.platform.settings.database_url
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _seed_group(url, seeded["alice"])).result()


def _create(page: Page, base: str, name: str, kind: str) -> str:
    page.goto(f"{base}/conversations/new")
    page.fill("input[name=name]", name)
    page.select_option("select[name=conversation_type]", kind)
    page.click("main form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("created and started")
    found = re.search(r"/conversations/([0-9a-f]{32})/", page.url)
    assert found
    return found.group(1)


def _number(page: Page, selector: str) -> int:
    return int(page.locator(selector).inner_text().replace(",", ""))


def _whole_page(page: Page, path: Path) -> None:
    """A screenshot of the whole page in one tall viewport, so sticky bars sit where they
    belong (at the end) instead of across the middle of a stitched capture."""
    size = page.viewport_size
    assert size is not None
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": height})
    page.screenshot(path=path)
    page.set_viewport_size(size)


def _fits(page: Page, width: int, name: str) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name} scrolls sideways at {width}px ({scroll_width}px wide)"


def test_group_message_is_sent_and_counted(
    alice: tuple[Page, str], clinic: str, state: dict[str, Any], shots: Path
) -> None:
    page, base = alice
    key = _create(page, base, "Clinic reminder", "bulk_message")
    state["bulk"] = key

    # A developer phone channel, routed to the conversation.
    page.goto(f"{base}/channels/new")
    page.select_option("select[name=country]", "South Africa")
    page.select_option("select[name=pool]", "devphone")
    page.click("text=Get this channel")
    expect(page.locator(".flash-success")).to_contain_text("devphone:")
    channel = re.search(r"devphone:(\d+)", page.locator(".flash-success").inner_text())
    assert channel
    page.goto(f"{base}/routing/")
    page.select_option("select[name=source]", f"TRANSPORT_TAG:devphone:{channel.group(1)}::default")
    page.select_option("select[name=target]", f"CONVERSATION:bulk_message:{key}::default")
    page.click("text=Add the link")
    expect(page.locator(".flash-success")).to_have_text("Linked.")

    # The form comes into the panel with the account's groups and their sizes.
    page.goto(f"{base}/conversations/{key}/")
    form = page.locator("#bulk-compose form.bulk-form")
    expect(form).to_be_visible()
    group = form.locator(f"input[name=groups][value='{clinic}']")
    picked = page.locator(f"input[name=groups][value='{clinic}']")
    expect(form.locator("label", has=picked)).to_contain_text(f"{GROUP_SIZE} contacts")
    expect(page.locator("#bulk-sent")).to_have_text("0")

    # The count follows the text: GSM fits 160 to an SMS; one emoji makes it Unicode.
    message = page.locator("#bulk-message")
    message.fill("a" * 161)
    expect(page.locator("#bulk-count")).to_have_text("161 characters · 2 SMS")
    message.fill("Hello 😀")
    expect(page.locator("#bulk-count")).to_have_text(
        "7 characters · 1 SMS (Unicode: 70 characters an SMS)"
    )
    message.fill("Your clinic visit is on Tuesday at 9. Reply STOP to opt out.")
    expect(page.locator("#bulk-count")).to_have_text("60 characters · 1 SMS")
    group.check()
    form.screenshot(path=shots / "bulk-form.png")

    # Scheduled a few seconds ahead, so the page is open (and polling) before the send starts.
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    form.locator("input[name=send_at]").fill(due.strftime("%Y-%m-%dT%H:%M:%S"))
    expect(form.locator("input[name=when][value=later]")).to_be_checked()
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Send this message?")
    expect(page.locator("#confirm-recipients")).to_contain_text(f"{GROUP_SIZE} people")
    page.screenshot(path=shots / "bulk-confirm.png", full_page=True)
    page.click("#confirm-send")
    expect(page.locator(".flash-success")).to_contain_text("Scheduled for")
    expect(page.locator("#bulk-progress .badge-send-scheduled")).to_be_visible()

    # The counters rise on this page, without a reload, until everyone has the message.
    page.evaluate("window.notReloaded = true")
    samples = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        samples.append(_number(page, "#bulk-sent"))
        if samples[-1] == GROUP_SIZE and _number(page, "#bulk-delivered") == GROUP_SIZE:
            break
        page.wait_for_timeout(150)
    assert samples[0] == 0 and samples[-1] == GROUP_SIZE, samples
    assert samples == sorted(samples), samples
    print("sent counts seen while polling:", sorted(set(samples)))
    assert page.evaluate("window.notReloaded === true")
    expect(page.locator("#bulk-acked")).to_have_text(str(GROUP_SIZE))
    expect(page.locator("#bulk-progress .badge-send-finished")).to_be_visible()
    expect(page.locator("#bulk-progress")).to_contain_text(f"{GROUP_SIZE} of {GROUP_SIZE} queued")
    page.screenshot(path=shots / "bulk-progress.png", full_page=True)

    # "Send now" goes through the same steps and adds its 50 to the counts.
    form = page.locator("#bulk-compose form.bulk-form")
    form.locator("#bulk-message").fill("Doors open at 8 tomorrow.")
    form.locator(f"input[name=groups][value='{clinic}']").check()
    form.locator("button[type=submit]").click()
    page.click("#confirm-send")
    expect(page.locator(".flash-success")).to_contain_text(f"Sending to {GROUP_SIZE} people.")
    expect(page.locator("#bulk-sent")).to_have_text(str(2 * GROUP_SIZE), timeout=30_000)
    expect(page.locator("#bulk-delivered")).to_have_text(str(2 * GROUP_SIZE), timeout=30_000)


def test_dialogue_is_built_in_the_form_editor(
    alice: tuple[Page, str], state: dict[str, Any], shots: Path
) -> None:
    page, base = alice
    key = _create(page, base, "Clinic survey", "dialogue")
    state["dialogue"] = key
    page.click("#open-dialogue-editor")
    expect(page.locator("h1")).to_have_text("Dialogue")
    expect(page.locator(".empty")).to_contain_text("No states yet")
    page.click("button[name=add][value=choice]")
    expect(page.locator(".flash-success")).to_contain_text("Added")
    page.fill("input[name=state-0-name]", "Visit")
    page.fill("textarea[name=state-0-text]", "How was your visit?")
    page.fill("input[name=state-0-store_as]", "visit")
    page.fill("input[name=choices_0-0-label]", "Good")
    page.fill("input[name=choices_0-1-label]", "Bad")
    page.click("button[name=add][value=freetext]")
    page.click("button[name=add][value=end]")
    expect(page.locator(".state-card")).to_have_count(3)
    page.fill("input[name=state-1-name]", "Why")
    page.fill("textarea[name=state-1-text]", "What went wrong?")
    # The "goes to" lists follow a renamed state at once.
    expect(page.locator("select[name=state-1-next] option[value]").nth(2)).to_have_text(
        "2. Why (again)"
    )
    end_uuid = page.locator("input[name=state-2-uuid]").input_value()
    why_uuid = page.locator("input[name=state-1-uuid]").input_value()
    page.select_option("select[name=choices_0-0-next]", end_uuid)
    page.select_option("select[name=choices_0-1-next]", why_uuid)
    page.select_option("select[name=state-1-next]", end_uuid)
    page.click("#save-dialogue")
    expect(page.locator(".flash-success")).to_have_text("Dialogue saved.")
    expect(page.locator("select[name=choices_0-1-next]")).to_have_value(why_uuid)

    # A question without text is refused, with the reason, and what was typed stays. The
    # browser logs each refusal (a 400) as a console error: checked and taken off the list
    # here, so the later checks of that list see only what nobody meant.
    logged = len(CONSOLE_ERRORS)
    page.fill("textarea[name=state-0-text]", " ")
    page.fill("input[name=state-1-name]", "Why not")
    page.click("#save-dialogue")
    expect(page.locator(".flash-error")).to_contain_text("needs text")
    expect(page.locator("input[name=state-1-name]")).to_have_value("Why not")
    page.fill("textarea[name=state-0-text]", "How was your visit?")
    page.click("#save-dialogue")
    expect(page.locator(".flash-success")).to_have_text("Dialogue saved.")
    _whole_page(page, shots / "dialogue-editor.png")

    # The JSON view tells a broken poll apart before saving, and refuses it on saving.
    page.click("#dialogue-json summary")
    page.fill("textarea[name=poll]", '{"states": [')
    expect(page.locator("#dialogue-json .json-status")).to_contain_text("Not valid JSON")
    page.click("#dialogue-json button[type=submit]")
    expect(page.locator("#dialogue-json .flash-error")).to_contain_text("not valid JSON")
    refusals = CONSOLE_ERRORS[logged:]
    assert len(refusals) == 2 and all("status of 400" in text for text in refusals), refusals
    del CONSOLE_ERRORS[logged:]


def test_panels_fit_a_phone(alice: tuple[Page, str], state: dict[str, Any], shots: Path) -> None:
    page, base = alice
    page.set_viewport_size({"width": 375, "height": 812})
    try:
        page.goto(f"{base}/conversations/{state['bulk']}/")
        expect(page.locator("#bulk-compose form.bulk-form")).to_be_visible()
        expect(page.locator("#bulk-progress .sends")).to_be_visible()
        _fits(page, 375, "group message page")
        page.screenshot(path=shots / "bulk-375.png", full_page=True)
        page.goto(f"{base}/conversations/{state['dialogue']}/dialogue/editor")
        expect(page.locator(".state-card")).to_have_count(3)
        _fits(page, 375, "dialogue editor")
        _whole_page(page, shots / "dialogue-editor-375.png")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_pages_logged_no_errors(alice: tuple[Page, str]) -> None:
    # 404 pages log their status as a console error; nothing else may.
    errors = [text for text in CONSOLE_ERRORS if "404" not in text]
    assert errors == []
