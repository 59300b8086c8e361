"""The HTTP API panel: tokens (shown once, revoked), push URLs, recent push deliveries and
their retry; scoping, CSRF and bad input."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.factories import make_conversation
from tests.web.helpers import Browser
from vumigo.apps.http_api.config import ApiConfig, digest, token_id
from vumigo.db.base import utcnow
from vumigo.db.models import Conversation, PushDelivery

HTMX = {"HX-Request": "true"}
# Loopback, port 9 (discard): nothing there answers, so a retried push fails at once.
HOOK = "http://hook-user:hook-secret@127.0.0.1:9/hook"


async def _api(browser: Browser, kind: str = "http_api", section: Any = None) -> str:
    config = {kind: section} if section is not None else {}
    return await make_conversation(browser.db, browser.account, kind, config)


async def _section(browser: Browser, key: str) -> dict[str, Any]:
    async with browser.db.sessions() as session:
        conv = await session.get(Conversation, key)
    assert conv is not None
    value = conv.config.get(conv.conversation_type, {})
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize("kind", ["http_api", "http_api_nostream"])
async def test_the_conversation_page_loads_the_panel(browser: Browser, kind: str) -> None:
    key = await _api(browser, kind)
    page = await browser.get(f"/conversations/{key}/")
    assert f'hx-get="/conversations/{key}/http_api/settings"' in page.text
    panel = await browser.get(f"/conversations/{key}/http_api/settings", headers=HTMX)
    assert panel.status_code == 200 and "<html" not in panel.text
    assert f"PUT http://testserver/api/v1/go/{kind}/{key}/messages.json" in panel.text
    assert f"user <code>{browser.account}</code>" in panel.text
    assert "No tokens yet" in panel.text and "Nothing pushed yet" in panel.text
    # Only the streaming type has stream URLs to offer.
    assert (f"GET http://testserver/api/v1/go/{kind}/{key}/events.json" in panel.text) == (
        kind == "http_api"
    )
    # Without JavaScript the same panel is a page of its own.
    full = await browser.get(f"/conversations/{key}/http_api/settings")
    assert "<html" in full.text and "Push URLs" in full.text


async def test_a_token_is_shown_once_and_can_be_revoked(browser: Browser) -> None:
    key = await _api(browser)
    made = await browser.post(f"/conversations/{key}/http_api/tokens")
    assert made.status_code == 200
    found = re.search(r'<p class="token" id="new-token">([^<]+)</p>', made.text)
    assert found
    token = found.group(1)
    section = await _section(browser, key)
    assert section["api_tokens"] == [digest(token)]  # only the digest is kept
    assert ApiConfig.from_section(section).accepts(token)
    name = token_id(digest(token))
    panel = await browser.get(f"/conversations/{key}/http_api/settings")
    assert token not in panel.text and f"<code>{name}…</code>" in panel.text
    # A second token; revoke the first.
    await browser.post(f"/conversations/{key}/http_api/tokens")
    revoked = await browser.post(f"/conversations/{key}/http_api/tokens/{name}/revoke")
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"/conversations/{key}/#http-api"
    section = await _section(browser, key)
    assert len(section["api_tokens"]) == 1 and digest(token) not in section["api_tokens"]
    assert not ApiConfig.from_section(section).accepts(token)
    again = await browser.post(f"/conversations/{key}/http_api/tokens/{name}/revoke")
    assert again.status_code == 404 and "has no token" in again.text


async def test_push_urls(browser: Browser) -> None:
    key = await _api(browser, section={"metric_store": "mine"})
    saved = await browser.post(
        f"/conversations/{key}/http_api/push-urls",
        {"push_message_url": "https://example.org/in", "push_event_url": ""},
    )
    assert saved.status_code == 303
    assert await _section(browser, key) == {
        "metric_store": "mine",  # other settings stay as they were
        "push_message_url": "https://example.org/in",
        "push_event_url": None,
    }
    panel = await browser.get(f"/conversations/{key}/http_api/settings")
    assert 'value="https://example.org/in"' in panel.text


async def test_a_push_urls_password_is_kept_but_not_shown(browser: Browser) -> None:
    key = await _api(browser)
    url = f"/conversations/{key}/http_api/push-urls"
    await browser.post(url, {"push_message_url": HOOK, "push_event_url": HOOK + "/events"})
    panel = await browser.get(url.replace("push-urls", "settings"))
    assert "hook-secret" not in panel.text
    assert 'value="http://127.0.0.1:9/hook"' in panel.text
    # The form sent back as shown keeps the passwords; a changed URL replaces its own.
    await browser.post(
        url,
        {"push_message_url": "http://127.0.0.1:9/hook", "push_event_url": "http://127.0.0.1:9/new"},
    )
    section = await _section(browser, key)
    assert section["push_message_url"] == HOOK
    assert section["push_event_url"] == "http://127.0.0.1:9/new"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"push_message_url": "ftp://example.org/x"}, "must be http:// or https://"),
        ({"push_event_url": "https:///nohost"}, "need a host"),
        ({"push_message_url": "http://example.org:99999/"}, "invalid URL"),
        ({"push_message_url": "https://example.org/" + "a" * 2000}, "at most 2000 characters"),
        ({"push_event_url": "https://example.org/\x00"}, "must not contain NUL"),
    ],
)
async def test_bad_push_urls_are_a_400_saying_why(
    browser: Browser, fields: dict[str, str], reason: str
) -> None:
    key = await _api(browser, section={"push_message_url": "https://example.org/old"})
    refused = await browser.post(f"/conversations/{key}/http_api/push-urls", fields)
    assert refused.status_code == 400
    assert reason in refused.text
    assert (await _section(browser, key))["push_message_url"] == "https://example.org/old"


async def _delivery(browser: Browser, key: str, n: int, **values: Any) -> None:
    now = utcnow()
    async with browser.db.transaction() as session:
        session.add(
            PushDelivery(
                account_key=browser.account,
                conversation_key=key,
                kind="message",
                item_id=f"msg-{n}",
                url=HOOK,
                body="{}",
                created_at=now + timedelta(seconds=n),
                updated_at=now,
                **values,
            )
        )


async def test_recent_deliveries_and_retry(browser: Browser) -> None:
    key = await _api(browser, section={"push_message_url": HOOK})
    later = utcnow() + timedelta(days=1)  # pending, but not due while the test runs
    await _delivery(browser, key, 1, status="delivered", attempts=1, last_status_code=200)
    await _delivery(browser, key, 2, status="pending", attempts=2, next_attempt_at=later)
    await _delivery(
        browser, key, 3, status="failed", attempts=5, last_error="connection refused <boom>"
    )
    panel = await browser.get(f"/conversations/{key}/http_api/settings", headers=HTMX)
    text = panel.text
    assert "delivered 1" in text and "pending 1" in text and "failed 1" in text
    assert "HTTP 200" in text and "connection refused &lt;boom&gt;" in text
    assert '<td data-label="Attempts" class="num">5</td>' in text
    # The push URL's password is not shown.
    assert "hook-secret" not in text and "http://127.0.0.1:9/hook" in text
    # Newest first.
    assert text.index("failed</span>") < text.index("delivered</span>")
    refreshed = await browser.get(f"/conversations/{key}/http_api/deliveries", headers=HTMX)
    assert "<html" not in refreshed.text and "connection refused" in refreshed.text
    retried = await browser.post(f"/conversations/{key}/http_api/deliveries/retry")
    assert retried.status_code == 303
    async with browser.db.sessions() as session:
        row = await session.scalar(select(PushDelivery).where(PushDelivery.item_id == "msg-3"))
    assert row is not None and row.status != "failed"
    page = await browser.get(f"/conversations/{key}/")
    assert "1 failed delivery queued again" in page.text


WRITES: tuple[tuple[str, dict[str, str]], ...] = (
    ("tokens", {}),
    ("tokens/0123456789ab/revoke", {}),
    ("push-urls", {"push_message_url": "https://example.org/x"}),
    ("deliveries/retry", {}),
)


async def test_another_accounts_conversation_is_not_found(browser: Browser, other: Browser) -> None:
    section = {"api_tokens": [digest("theirs")], "push_message_url": "https://example.org/t"}
    theirs = await _api(other, section=section)
    for name in ("settings", "deliveries"):
        response = await browser.get(f"/conversations/{theirs}/http_api/{name}", headers=HTMX)
        assert response.status_code == 404, name
    for name, data in WRITES:
        response = await browser.post(f"/conversations/{theirs}/http_api/{name}", data)
        assert response.status_code == 404, name
        assert "https://example.org/t" not in response.text
    assert await _section(other, theirs) == section
    mine = await make_conversation(browser.db, browser.account, "jsbox")
    assert (await browser.get(f"/conversations/{mine}/http_api/settings")).status_code == 404
    assert (await browser.post(f"/conversations/{mine}/http_api/tokens")).status_code == 404


async def test_writes_need_the_csrf_token(browser: Browser) -> None:
    key = await _api(browser)
    for name, data in WRITES:
        response = await browser.client.post(f"/conversations/{key}/http_api/{name}", data=data)
        assert response.status_code == 403, name
    assert await _section(browser, key) == {}
