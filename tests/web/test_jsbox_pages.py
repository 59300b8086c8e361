"""The Javascript App pages: code editor (saved only when it compiles), app config keys, logs,
the conversation page's panel and its push button; scoping, CSRF and bad input."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select

from tests.support.factories import make_conversation
from tests.web.helpers import Browser
from vumigo.apps.jsbox.config import MAX_CODE_BYTES
from vumigo.apps.jsbox.runtime import JsBoxRuntime
from vumigo.contacts.groups import create_group, set_conversation_groups
from vumigo.db.models import Conversation, ScheduledTask
from vumigo.sandbox.syntax import check_syntax

pytestmark = pytest.mark.skipif(not shutil.which("node"), reason="the syntax check needs node")

APP = """var vumigo = require('vumigo_v02');
var App = vumigo.App;
var EndState = vumigo.states.EndState;

var HelloApp = App.extend(function(self) {
    App.call(self, 'states:start');
    self.states.add('states:start', function(name) {
        return new EndState(name, {text: 'Hello'});
    });
});
vumigo.interact(this.api, HelloApp);
"""
BROKEN = "var a = 1;\nfunction f() {\n    return a +;\n}\n"


async def _jsbox(browser: Browser, config: dict[str, Any] | None = None) -> str:
    return await make_conversation(browser.db, browser.account, "jsbox", config)


async def _config(browser: Browser, key: str) -> dict[str, Any]:
    async with browser.db.sessions() as session:
        conv = await session.get(Conversation, key)
    assert conv is not None
    return dict(conv.config)


async def test_the_conversation_page_has_the_panel(browser: Browser) -> None:
    key = await _jsbox(browser, {"jsbox": {"javascript": APP}})
    page = await browser.get(f"/conversations/{key}/")
    assert page.status_code == 200
    assert f'hx-get="/conversations/{key}/jsbox/summary"' in page.text
    assert f'href="/conversations/{key}/jsbox/code"' in page.text
    summary = await browser.get(
        f"/conversations/{key}/jsbox/summary", headers={"HX-Request": "true"}
    )
    assert summary.status_code == 200 and "<html" not in summary.text
    assert f"{APP.count(chr(10))} lines of JavaScript" in summary.text
    # No groups: no push button.
    assert "/jsbox/push" not in summary.text


async def test_code_is_saved_when_it_compiles(browser: Browser) -> None:
    key = await _jsbox(browser)
    editor = await browser.get(f"/conversations/{key}/jsbox/code")
    assert editor.status_code == 200
    for asset in ("codemirror.js", "codemirror.css", "codemirror-javascript.js", "jsbox.js"):
        assert asset in editor.text
    assert "data-code-editor" in editor.text
    saved = await browser.post(f"/conversations/{key}/jsbox/code", {"code": APP})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/conversations/{key}/jsbox/code"
    assert (await _config(browser, key))["jsbox"] == {"javascript": APP, "source_url": ""}
    after = await browser.get(f"/conversations/{key}/jsbox/code")
    assert "no syntax errors" in after.text
    assert str(escape(APP)) in after.text  # the editor holds the saved code


async def test_browsers_crlf_line_ends_are_stored_as_the_code_had_them(browser: Browser) -> None:
    # A textarea's value is submitted with CRLF line ends, whatever the code had.
    key = await _jsbox(browser)
    await browser.post(f"/conversations/{key}/jsbox/code", {"code": APP.replace("\n", "\r\n")})
    config = '{\r\n  "name": "hello"\r\n}'
    await browser.post(f"/conversations/{key}/jsbox/config", {"key": "config", "value": config})
    stored = await _config(browser, key)
    assert stored["jsbox"]["javascript"] == APP
    assert stored["jsbox_app_config"]["config"]["value"] == '{\n  "name": "hello"\n}'
    summary = await browser.get(f"/conversations/{key}/jsbox/summary")
    assert f"{APP.count(chr(10))} lines of JavaScript" in summary.text


async def test_a_syntax_error_is_refused_with_its_line(browser: Browser) -> None:
    key = await _jsbox(browser, {"jsbox": {"javascript": APP}})
    refused = await browser.post(f"/conversations/{key}/jsbox/code", {"code": BROKEN})
    assert refused.status_code == 400
    assert (
        "Not saved: SyntaxError: Unexpected token &#39;;&#39; (line 3, column 15)" in refused.text
    )
    assert 'data-error-line="3"' in refused.text
    assert "    return a +;\n" in refused.text and "              ^" in refused.text
    # What was typed comes back in the editor, and the stored code is untouched.
    assert "function f() {" in refused.text
    assert (await _config(browser, key))["jsbox"]["javascript"] == APP


async def test_the_check_matches_the_sandbox(browser: Browser) -> None:
    # The sandbox compiles a script, not a module: a top-level return is an error there.
    key = await _jsbox(browser)
    refused = await browser.post(f"/conversations/{key}/jsbox/code", {"code": "return 1;"})
    assert refused.status_code == 400 and "Illegal return statement" in refused.text
    assert await check_syntax(APP) is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("   \n", "The JavaScript is empty."),
        ("x" * (MAX_CODE_BYTES + 1), "must be at most"),
        ("var s = '" + "é" * (MAX_CODE_BYTES // 2) + "';", "too large (at most 2048 KiB)"),
        ("var a = 1;\x00", "must not contain NUL"),
    ],
)
async def test_bad_code_is_a_400_saying_why(browser: Browser, code: str, reason: str) -> None:
    key = await _jsbox(browser)
    refused = await browser.post(f"/conversations/{key}/jsbox/code", {"code": code})
    assert refused.status_code == 400
    assert reason in refused.text, refused.text[refused.text.find("<main") :][:800]
    assert "jsbox" not in await _config(browser, key)


async def test_a_body_too_large_for_any_code_is_refused_unread(browser: Browser) -> None:
    key = await _jsbox(browser)
    body = b"csrf_token=" + browser.token.encode() + b"&code=" + b"a" * (7 * MAX_CODE_BYTES)
    refused = await browser.client.post(
        f"/conversations/{key}/jsbox/code",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert refused.status_code == 400 and "Field exceeded maximum size" in refused.text


async def test_app_config_keys_add_edit_remove(browser: Browser) -> None:
    key = await _jsbox(browser)
    url = f"/conversations/{key}/jsbox/config"
    empty = await browser.get(url)
    assert empty.status_code == 200 and "No app config yet" in empty.text
    added = await browser.post(url, {"key": "config", "value": '{"name": "hello", "n": [1, 2]}'})
    assert added.status_code == 303
    await browser.post(url, {"key": "greeting", "value": "Hi there"})
    section = (await _config(browser, key))["jsbox_app_config"]
    assert section == {
        "config": {"value": '{"name": "hello", "n": [1, 2]}', "source_url": ""},
        "greeting": {"value": "Hi there", "source_url": ""},
    }
    page = await browser.get(url)
    # The config key's JSON is shown pretty-printed, first; plain text stays as it is.
    pretty = json.dumps({"name": "hello", "n": [1, 2]}, indent=2)
    assert str(escape(pretty)) in page.text
    assert page.text.index(">config<") < page.text.index(">greeting<")
    # Edit one, then remove the other.
    await browser.post(url, {"key": "greeting", "value": "Howzit"})
    removed = await browser.post(f"{url}/remove", {"key": "config"})
    assert removed.status_code == 303
    section = (await _config(browser, key))["jsbox_app_config"]
    assert section == {"greeting": {"value": "Howzit", "source_url": ""}}
    missing = await browser.post(f"{url}/remove", {"key": "config"})
    assert missing.status_code == 404 and "has no key" in missing.text


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("config", '{"name": "x",}', "must be JSON"),
        ("config", '["not", "an", "object"]', "must be a JSON object"),
        ("translation.af", "{nope", "must be JSON"),
        ("", "x", "Give the key a name"),
        ("k" * 256, "x", "at most 255 characters"),
    ],
)
async def test_bad_app_config_is_a_400_and_kept_for_fixing(
    browser: Browser, name: str, value: str, reason: str
) -> None:
    key = await _jsbox(browser, {"jsbox_app_config": {"config": {"value": '{"name": "ok"}'}}})
    refused = await browser.post(
        f"/conversations/{key}/jsbox/config", {"key": name, "value": value}
    )
    assert refused.status_code == 400
    assert reason in refused.text
    if len(name) <= 255:
        assert str(escape(value)) in refused.text  # what was typed is still there to fix
    assert (await _config(browser, key))["jsbox_app_config"] == {
        "config": {"value": '{"name": "ok"}'}
    }


async def test_logs_newest_first_with_an_htmx_refresh(browser: Browser) -> None:
    key = await _jsbox(browser)
    app = browser.platform.engine.apps.apps["jsbox"]
    runtime = getattr(app, "runtime", None)
    assert isinstance(runtime, JsBoxRuntime)
    for n in range(3):
        await runtime.logs.append(
            browser.account, key, f"[2024-05-0{n + 1}T10:00:00, INFO] line {n}"
        )
    # Still buffered: the page writes them out before reading.
    await runtime.logs.append(browser.account, key, "[2024-05-04T10:00:00, ERROR] <b>boom</b>")
    page = await browser.get(f"/conversations/{key}/jsbox/logs")
    assert page.status_code == 200
    text = page.text
    assert text.index("&lt;b&gt;boom&lt;/b&gt;") < text.index("line 2") < text.index("line 0")
    assert "log-error" in text and "2024-05-04 10:00:00" in text
    assert 'hx-target="#jsbox-logs"' in text
    fragment = await browser.get(
        f"/conversations/{key}/jsbox/logs",
        headers={"HX-Request": "true", "HX-Target": "jsbox-logs"},
    )
    assert "<html" not in fragment.text and "4 lines" in fragment.text
    # Another conversation's lines are not shown.
    other = await _jsbox(browser)
    assert "Nothing logged yet" in (await browser.get(f"/conversations/{other}/jsbox/logs")).text


async def test_push_button_with_groups(browser: Browser) -> None:
    key = await _jsbox(browser, {"jsbox": {"javascript": APP}})
    async with browser.db.transaction() as session:
        group = await create_group(session, browser.account, "Everyone")
        await set_conversation_groups(session, browser.account, key, [group.key])
    summary = await browser.get(f"/conversations/{key}/jsbox/summary")
    assert f'action="/conversations/{key}/jsbox/push"' in summary.text
    code_page = await browser.get(f"/conversations/{key}/jsbox/code")
    assert "Trigger push messages" in code_page.text
    pushed = await browser.post(
        f"/conversations/{key}/jsbox/push", {"delivery_class": "ussd", "back": "code"}
    )
    assert pushed.status_code == 303
    assert pushed.headers["location"] == f"/conversations/{key}/jsbox/code"
    async with browser.db.sessions() as session:
        tasks = (await session.scalars(select(ScheduledTask))).all()
    assert [(t.conversation_key, t.action, t.params) for t in tasks] == [
        (key, "send_jsbox", {"delivery_class": "ussd"})
    ]
    assert "Push messages triggered" in (await browser.get(pushed.headers["location"])).text
    bad = await browser.post(f"/conversations/{key}/jsbox/push", {"delivery_class": "pigeon"})
    assert bad.status_code == 400 and "Unknown delivery class" in bad.text


async def test_push_needs_a_running_conversation_with_groups(browser: Browser) -> None:
    key = await _jsbox(browser, {"jsbox": {"javascript": APP}})
    pushed = await browser.post(f"/conversations/{key}/jsbox/push")
    assert pushed.status_code == 303 and pushed.headers["location"] == f"/conversations/{key}/"
    page = await browser.get(f"/conversations/{key}/")
    assert "Not sent: This action needs a contact group." in page.text


OWN_PAGES = ("code", "config", "logs", "summary")
WRITES: tuple[tuple[str, dict[str, str]], ...] = (
    ("code", {"code": "var a;"}),
    ("config", {"key": "config", "value": "{}"}),
    ("config/remove", {"key": "config"}),
    ("push", {}),
)


async def test_another_accounts_conversation_is_not_found(browser: Browser, other: Browser) -> None:
    theirs = await _jsbox(other, {"jsbox_app_config": {"config": {"value": "{}"}}})
    for name in OWN_PAGES:
        response = await browser.get(f"/conversations/{theirs}/jsbox/{name}")
        assert response.status_code == 404, name
    for name, data in WRITES:
        response = await browser.post(f"/conversations/{theirs}/jsbox/{name}", data)
        assert response.status_code == 404, name
    assert await _config(other, theirs) == {"jsbox_app_config": {"config": {"value": "{}"}}}
    # Nor is one of the account's own conversations of another type a jsbox.
    mine = await make_conversation(browser.db, browser.account, "static_reply")
    assert (await browser.get(f"/conversations/{mine}/jsbox/code")).status_code == 404
    assert (
        await browser.post(f"/conversations/{mine}/jsbox/code", {"code": "1"})
    ).status_code == 404


async def test_writes_need_the_csrf_token(browser: Browser) -> None:
    key = await _jsbox(browser)
    for name, data in WRITES:
        response = await browser.client.post(f"/conversations/{key}/jsbox/{name}", data=data)
        assert response.status_code == 403, name
        assert "This form has expired" in response.text
    assert await _config(browser, key) == {}


async def test_archived_code_cannot_change(browser: Browser) -> None:
    key = await _jsbox(browser, {"jsbox": {"javascript": APP}})
    async with browser.db.transaction() as session:
        conv = await session.get(Conversation, key)
        assert conv is not None
        conv.archived = True
    refused = await browser.post(f"/conversations/{key}/jsbox/code", {"code": "var a;"})
    assert refused.status_code == 409 and "archived" in refused.text
    assert (await _config(browser, key))["jsbox"]["javascript"] == APP
