"""Conversation pages: create (started at once), list filters and paging, show, edit, lifecycle,
and account scoping (another account's keys are 404)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.web.helpers import Browser, seed_messages
from vumigo.accounts.apps import disable_app
from vumigo.conversations.service import create_conversation
from vumigo.db.models import Conversation


async def _create(browser: Browser, name: str, kind: str = "static_reply") -> str:
    response = await browser.post(
        "/conversations/new", {"name": name, "description": "d", "conversation_type": kind}
    )
    assert response.status_code == 303, response.text
    found = re.match(r"/conversations/([0-9a-f]{32})/$", response.headers["location"])
    assert found
    return found.group(1)


async def test_create_starts_the_conversation(browser: Browser) -> None:
    form = await browser.get("/conversations/new")
    assert form.status_code == 200 and 'value="static_reply"' in form.text
    key = await _create(browser, "Hello bot")
    async with browser.db.sessions() as session:
        conv = await session.get(Conversation, key)
    assert conv is not None and conv.status == "running" and conv.account_key == browser.account
    page = await browser.get(f"/conversations/{key}/")
    assert page.status_code == 200
    assert "Hello bot" in page.text and "created and started" in page.text
    assert "badge-running" in page.text
    # The flash shows once.
    assert "created and started" not in (await browser.get(f"/conversations/{key}/")).text


async def test_create_refuses_types_not_permitted(browser: Browser) -> None:
    async with browser.db.transaction() as session:
        await disable_app(session, browser.account, "jsbox")
    form = await browser.get("/conversations/new")
    assert 'value="jsbox"' not in form.text
    refused = await browser.post("/conversations/new", {"name": "x", "conversation_type": "jsbox"})
    assert refused.status_code == 403 and "may not create" in refused.text
    unknown = await browser.post("/conversations/new", {"name": "x", "conversation_type": "nope"})
    assert unknown.status_code == 400
    unnamed = await browser.post("/conversations/new", {"name": "", "conversation_type": "opt_out"})
    assert unnamed.status_code == 400 and "Give the conversation a name" in unnamed.text


async def test_list_filters_and_pages(browser: Browser) -> None:
    async with browser.db.transaction() as session:
        for n in range(14):
            await create_conversation(session, browser.account, "static_reply", f"Reply {n:02d}")
        await create_conversation(session, browser.account, "opt_out", "Opt outs")
    first = await browser.get("/conversations/")
    assert first.status_code == 200
    assert first.text.count('href="/conversations/') - first.text.count("/conversations/new") >= 12
    assert "Page 1 of 2 (15 in all)" in first.text
    second = await browser.get("/conversations/?p=2")
    assert "Page 2 of 2" in second.text
    by_type = await browser.get("/conversations/?type=opt_out")
    assert "Opt outs" in by_type.text and "Reply 00" not in by_type.text
    by_name = await browser.get("/conversations/?query=reply%2007")
    assert "Reply 07" in by_name.text and "Reply 08" not in by_name.text
    running = await browser.get("/conversations/?status=running")
    assert "No conversations match" in running.text  # made through the service: stopped
    drafts = await browser.get("/conversations/?status=draft")  # the original's name
    assert "Reply 03" in drafts.text
    # htmx asks for the results only.
    partial = await browser.get(
        "/conversations/?query=opt",
        headers={"HX-Request": "true", "HX-Target": "conversation-results"},
    )
    assert "<html" not in partial.text and "Opt outs" in partial.text
    # Junk in the query string is ignored, not an error.
    assert (await browser.get("/conversations/?p=abc&status=zzz&type=%00")).status_code == 200


async def test_show_has_counts_and_throughput(browser: Browser) -> None:
    key = await _create(browser, "Counted")
    await seed_messages(browser.db, browser.account, key, 30, "inbound")
    await seed_messages(browser.db, browser.account, key, 7, "outbound")
    page = await browser.get(f"/conversations/{key}/")
    assert page.status_code == 200
    numbers = re.findall(r"<small>(Received|Sent)</small><strong>(\d+)</strong>", page.text)
    assert numbers == [("Received", "30"), ("Sent", "7")]
    assert "delivery report pending" in page.text  # progress_status keys are listed
    assert "Inbound / min" in page.text


async def test_config_editor_validates_json(browser: Browser) -> None:
    key = await _create(browser, "Configured")
    bad = await browser.post(
        f"/conversations/{key}/edit", {"name": "Configured", "config": '{"reply_text": '}
    )
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    assert "{&#34;reply_text&#34;: " in bad.text  # the text typed is kept for fixing
    not_object = await browser.post(f"/conversations/{key}/edit", {"name": "C", "config": "[1]"})
    assert not_object.status_code == 400 and "must be a JSON object" in not_object.text
    ok = await browser.post(
        f"/conversations/{key}/edit",
        {
            "name": "Renamed",
            "description": "new",
            "config": '{"reply_text": "Hi!"}',
            "endpoints": "extra_one, extra_two",
        },
    )
    assert ok.status_code == 303
    async with browser.db.sessions() as session:
        conv = await session.get(Conversation, key)
    assert conv is not None
    assert conv.name == "Renamed" and conv.config == {"reply_text": "Hi!"}
    assert conv.extra_endpoints == ["extra_one", "extra_two"]


async def test_stop_start_archive(browser: Browser) -> None:
    key = await _create(browser, "Lifecycle")
    refused = await browser.post(f"/conversations/{key}/archive")
    assert refused.status_code == 303
    page = await browser.get(f"/conversations/{key}/")
    assert "Only stopped conversations can be archived" in page.text
    assert (await browser.post(f"/conversations/{key}/stop")).status_code == 303
    assert "badge-stopped" in (await browser.get(f"/conversations/{key}/")).text
    assert (await browser.post(f"/conversations/{key}/start")).status_code == 303
    await browser.post(f"/conversations/{key}/stop")
    assert (await browser.post(f"/conversations/{key}/archive")).status_code == 303
    async with browser.db.sessions() as session:
        conv = await session.get(Conversation, key)
    assert conv is not None and conv.archived
    assert (await browser.post(f"/conversations/{key}/explode")).status_code == 400


async def test_another_accounts_conversation_is_not_found(browser: Browser, other: Browser) -> None:
    key = await _create(browser, "Private")
    for path in (
        f"/conversations/{key}/",
        f"/conversations/{key}/messages",
        f"/conversations/{key}/export",
        f"/conversations/{key}/export?format=csv",
    ):
        response = await other.get(path)
        assert response.status_code == 404, path
        assert "Private" not in response.text
    for path in ("stop", "archive", "edit", "messages/reply"):
        response = await other.post(
            f"/conversations/{key}/{path}",
            {"name": "stolen", "config": "{}", "message_id": "x", "content": "x"},
        )
        assert response.status_code == 404, path
    unknown = await browser.get("/conversations/0123456789abcdef0123456789abcdef/")
    assert unknown.status_code == 404
    async with browser.db.sessions() as session:
        conv = (await session.execute(select(Conversation))).scalar_one()
    assert conv.name == "Private" and conv.status == "running"
