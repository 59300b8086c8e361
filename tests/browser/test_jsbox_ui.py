"""A JavaScript app in a real browser, from an empty conversation to a USSD session on the phone.

The tests run in order and share one signed-in browser: create a jsbox conversation, see a
syntax error refused, paste the vumigo_v02 toolkit's ``simple`` example into the CodeMirror
editor (its ``require`` pointed at the installed package) and save it, give it its app config,
get a developer phone channel, route it, stop and start the conversation, and talk to the app
on the phone page over two USSD turns, expecting the replies the example's own test file
(``examples/simple/test/app.test.js``) expects. Then the logs, and the pages at phone width.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CONSOLE_ERRORS, require_browser
from tests.sandbox.helpers import NODE_READY, example_app

require_browser()
if not NODE_READY:
    pytest.skip("the jsbox journey needs node and node_modules/vumigo_v02", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

# What examples/simple/test/app.test.js expects: the start state's menu, then the tea state.
MENU = "Tea or coffee?\n1. Tea\n2. Coffee"
TEA = "Meh. Bye."
# The app's first run starts a sandbox process and loads the toolkit: allow for a slow machine.
APP_WAIT = 30_000


def editor_value(page: Page) -> str:
    value = page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")
    assert isinstance(value, str)
    return value


def paste_into_editor(page: Page, text: str) -> None:
    """Selects everything in the editor and pastes ``text`` from the clipboard."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Control+V")


def test_create_a_jsbox_conversation(alice: tuple[Page, str], state: dict[str, Any]) -> None:
    page, base = alice
    page.goto(f"{base}/conversations/new")
    page.fill("input[name=name]", "Tea or coffee")
    page.select_option("select[name=conversation_type]", "jsbox")
    page.click("main form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("created and started")
    found = re.search(r"/conversations/([0-9a-f]{32})/", page.url)
    assert found
    state["jsbox"] = found.group(1)
    # The type's panel, its summary loaded by htmx.
    expect(page.locator("#jsbox .jsbox-summary")).to_contain_text("No code yet")
    page.click("#jsbox a:has-text('Edit code')")
    expect(page.locator(".CodeMirror")).to_be_visible()
    expect(page.locator("textarea[name=code]")).to_be_hidden()  # CodeMirror stands in for it


def test_a_syntax_error_is_shown_on_its_line(
    alice: tuple[Page, str], state: dict[str, Any], shots: Path
) -> None:
    page, base = alice
    page.goto(f"{base}/conversations/{state['jsbox']}/jsbox/code")
    paste_into_editor(page, "var greeting = 'hi';\nvar broken = ;\n")
    page.click("button:has-text('Save code')")
    expect(page.locator(".syntax-error")).to_contain_text(
        "Not saved: SyntaxError: Unexpected token ';' (line 2, column 14)"
    )
    # The code typed is still in the editor, its bad line marked.
    assert editor_value(page) == "var greeting = 'hi';\nvar broken = ;\n"
    expect(page.locator(".CodeMirror .syntax-error-line")).to_have_count(1)
    expect(page.locator(".CodeMirror .syntax-error-line")).to_contain_text("var broken = ;")
    cursor = page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getCursor()")
    assert (cursor["line"], cursor["ch"]) == (1, 13)  # on the ';' it stumbled on
    page.screenshot(path=shots / "jsbox-syntax-error.png")


def test_paste_the_simple_example_and_save(
    alice: tuple[Page, str], state: dict[str, Any], shots: Path
) -> None:
    page, base = alice
    source = example_app("simple")
    assert "require('vumigo_v02')" in source
    page.goto(f"{base}/conversations/{state['jsbox']}/jsbox/code")
    paste_into_editor(page, source)
    assert editor_value(page) == source
    page.locator(".CodeMirror").screenshot(path=shots / "jsbox-editor-code.png")
    page.click("button:has-text('Save code')")
    lines = source.count("\n")
    expect(page.locator(".flash-success")).to_have_text(f"Saved: {lines} lines, no syntax errors.")
    assert editor_value(page) == source  # what was saved is what the editor now shows
    page.screenshot(path=shots / "jsbox-editor-1280.png", full_page=True)

    # The app's JSON config, as its test sets it up (tester.setup.config.app).
    page.click(".jsbox-tabs a:has-text('App config')")
    page.fill("#new-key input[name=key]", "config")
    page.fill("#new-key textarea[name=value]", '{"name": "some_app"}')
    expect(page.locator("#new-key .json-status")).to_have_text("Valid JSON")
    page.click("#new-key button:has-text('Add')")
    expect(page.locator(".flash-success")).to_have_text("Saved app config “config”.")
    shown = page.locator(".config-key textarea[name=value]").first.input_value()
    assert shown == json.dumps({"name": "some_app"}, indent=2)
    # A plain-text key is not checked as JSON; removing it asks first.
    page.fill("#new-key input[name=key]", "scratch")
    page.fill("#new-key textarea[name=value]", "just words")
    expect(page.locator("#new-key .json-status")).to_have_text("Plain text")
    page.click("#new-key button:has-text('Add')")
    expect(page.locator(".config-key .key-name")).to_have_text(["config", "scratch"])
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".config-key", has_text="scratch").locator("button:has-text('Remove')").click()
    expect(page.locator(".flash-success")).to_have_text("Removed app config “scratch”.")
    expect(page.locator(".config-key .key-name")).to_have_text(["config"])


def test_the_plain_textarea_when_codemirror_is_missing(
    alice: tuple[Page, str], state: dict[str, Any]
) -> None:
    main, base = alice
    page = main.context.new_page()
    try:
        page.route(re.compile(r"/static/vendor/codemirror"), lambda route: route.abort())
        page.goto(f"{base}/conversations/{state['jsbox']}/jsbox/code")
        area = page.locator("textarea[name=code]")
        expect(area).to_be_visible()
        expect(page.locator(".CodeMirror")).to_have_count(0)
        source = area.input_value()
        assert source == example_app("simple")
        # Tab indents instead of leaving the field; saving posts the textarea as it is.
        area.press("Control+End")
        area.press("Tab")
        area.type("// by hand")
        page.click("button:has-text('Save code')")
        expect(page.locator(".flash-success")).to_contain_text("no syntax errors")
        assert area.input_value() == source + "    // by hand"
    finally:
        page.close()


def test_route_a_phone_channel_to_it(alice: tuple[Page, str], state: dict[str, Any]) -> None:
    page, base = alice
    key = state["jsbox"]
    page.goto(f"{base}/channels/new")
    page.select_option("select[name=country]", "South Africa")
    page.select_option("select[name=pool]", "devphone")
    page.click("text=Get this channel")
    expect(page.locator(".flash-success")).to_contain_text("devphone:100")

    page.goto(f"{base}/routing/")
    page.select_option("select[name=source]", "TRANSPORT_TAG:devphone:100::default")
    page.select_option("select[name=target]", f"CONVERSATION:jsbox:{key}::default")
    page.click("text=Add the link")
    expect(page.locator(".flash-success")).to_have_text("Linked.")

    # Stop it and start it again from its page, where the panel now describes the app.
    page.goto(f"{base}/conversations/{key}/")
    expect(page.locator("#jsbox .jsbox-summary")).to_contain_text("app some_app")
    page.click("button:has-text('Stop')")
    expect(page.locator("hgroup .badge")).to_have_text("stopped")
    page.click("button:has-text('Start')")
    expect(page.locator("hgroup .badge")).to_have_text("running")


def test_two_ussd_turns_on_the_phone(
    alice: tuple[Page, str], state: dict[str, Any], shots: Path
) -> None:
    page, base = alice
    page.goto(f"{base}/phone/")
    page.check("input[name=mode][value=ussd]")
    page.fill("#phone-number", "+27820000042")
    replies = page.locator(".bubble.them")

    page.click("#ussd-start")  # turn 1: a new session gets the start state's menu
    expect(replies).to_have_count(1, timeout=APP_WAIT)
    assert replies.nth(0).text_content() == MENU
    expect(page.locator("#ussd-end")).to_be_enabled()
    page.locator("#handset").screenshot(path=shots / "jsbox-phone-ussd.png")

    page.fill("#phone-input", "1")  # turn 2: tea, and the app ends the session
    page.click("#phone-send")
    expect(replies).to_have_count(2, timeout=APP_WAIT)
    assert replies.nth(1).text_content() == TEA
    expect(page.locator(".bubble.system").last).to_contain_text("Session ended by the app")


def test_the_logs_view(alice: tuple[Page, str], state: dict[str, Any], shots: Path) -> None:
    page, base = alice
    page.goto(f"{base}/conversations/{state['jsbox']}/jsbox/logs")
    lines = page.locator("#jsbox-logs .log-lines li")
    expect(lines.first).to_be_visible()
    texts = lines.all_text_contents()
    # The toolkit's lines for both turns, newest first: the answer "1" above the new session.
    received = [n for n, text in enumerate(texts) if "Received inbound message:" in text]
    assert [texts[n].rsplit(": ", 1)[1] for n in received] == ["1", "null"]
    assert texts[0].endswith("INFO Done.")
    # The refresh button swaps in the lines again (htmx), without reloading the page.
    page.evaluate("document.querySelector('#jsbox-logs').dataset.stale = 'yes'; window.kept = 1")
    page.evaluate("document.querySelector('#jsbox-logs p').dataset.stale = 'yes'")
    page.click("#refresh-logs")
    expect(page.locator("#jsbox-logs p[data-stale]")).to_have_count(0)
    assert page.evaluate("window.kept") == 1
    assert lines.all_text_contents()[: len(texts)] == texts  # newest first, nothing new
    page.screenshot(path=shots / "jsbox-logs-1280.png", full_page=True)


def test_pages_fit_a_phone_screen(
    alice: tuple[Page, str], state: dict[str, Any], shots: Path
) -> None:
    page, base = alice
    key = state["jsbox"]
    page.set_viewport_size({"width": 375, "height": 812})
    try:
        for name, path in (
            ("jsbox-config", f"/conversations/{key}/jsbox/config"),
            ("jsbox-logs", f"/conversations/{key}/jsbox/logs"),
            ("jsbox-conversation", f"/conversations/{key}/"),
            # Last: typing in it leaves unsaved changes, which the page asks about on leaving.
            ("jsbox-editor", f"/conversations/{key}/jsbox/code"),
        ):
            page.goto(base + path)
            if name == "jsbox-editor":
                expect(page.locator(".CodeMirror")).to_be_visible()
                # Usable: the editor fits the screen, and takes typing.
                box = page.locator(".CodeMirror").bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
                page.locator(".CodeMirror").click()
                page.keyboard.press("Control+End")
                page.keyboard.type("// typed at 375 px")
                assert editor_value(page).endswith("// typed at 375 px")
            page.screenshot(path=shots / f"{name}-375.png", full_page=True)
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= 375, f"{name} scrolls sideways at 375px ({scroll_width}px)"
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_pages_logged_no_errors(alice: tuple[Page, str]) -> None:
    # The refused syntax error is a 400 page, which the browser logs; nothing else may log.
    refused = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    errors = [text for text in CONSOLE_ERRORS if "404" not in text]
    assert errors == [refused]
