"""A conversation's message list (paging, search, statuses), one-off replies, and export."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.web.helpers import Browser, seed_events, seed_messages
from vumigo.conversations.service import create_conversation, start_conversation
from vumigo.db.models import StoredMessage
from vumigo.message import Event, UserMessage
from vumigo.store.batches import find_batch
from vumigo.web import export


async def _conversation(browser: Browser, running: bool = True) -> str:
    async with browser.db.transaction() as session:
        conv = await create_conversation(session, browser.account, "static_reply", "Msgs")
        if running:
            await start_conversation(session, browser.account, conv.key)
        return conv.key


def _contents(html: str) -> list[str]:
    return re.findall(r'<span class="msg-content">([^<]*)</span>', html)


async def test_list_pages_newest_first(browser: Browser) -> None:
    key = await _conversation(browser)
    await seed_messages(browser.db, browser.account, key, 45, "inbound")
    page = await browser.get(f"/conversations/{key}/messages?direction=inbound")
    assert page.status_code == 200
    first = _contents(page.text)
    assert first == [f"hello {n}" for n in range(44, 24, -1)]
    older = re.search(r'href="\?([^"]*before=\d+[^"]*)" rel="next"', page.text)
    assert older
    second = await browser.get(
        f"/conversations/{key}/messages?{older.group(1).replace('&amp;', '&')}"
    )
    assert _contents(second.text) == [f"hello {n}" for n in range(24, 4, -1)]
    empty = await browser.get(f"/conversations/{key}/messages?direction=outbound")
    assert "No sent messages yet" in empty.text


async def test_search_by_address_or_content(browser: Browser) -> None:
    key = await _conversation(browser)
    await seed_messages(browser.db, browser.account, key, 12, "inbound")
    by_text = await browser.get(f"/conversations/{key}/messages?q=hello%201")
    assert sorted(_contents(by_text.text)) == ["hello 1", "hello 10", "hello 11"]
    by_address = await browser.get(f"/conversations/{key}/messages?q=%2B27820000003")
    assert _contents(by_address.text) == ["hello 3"]
    nothing = await browser.get(f"/conversations/{key}/messages?q=%25_%5C")
    assert "No messages match" in nothing.text


async def test_outbound_statuses(browser: Browser) -> None:
    key = await _conversation(browser)
    sent = await seed_messages(browser.db, browser.account, key, 3, "outbound")
    await seed_events(
        browser.db,
        [
            Event.ack(sent[0].message_id, sent[0].message_id),
            Event.delivery_report(sent[0].message_id, delivery_status="delivered"),
            Event.nack(sent[1].message_id, nack_reason="no credit"),
        ],
    )
    page = await browser.get(f"/conversations/{key}/messages?direction=outbound")
    assert "Accepted (delivered)" in page.text
    assert "Rejected: no credit" in page.text
    assert "Sending" in page.text


async def test_reply_to_an_inbound_message(browser: Browser) -> None:
    key = await _conversation(browser)
    inbound = await seed_messages(browser.db, browser.account, key, 1, "inbound")
    response = await browser.post(
        f"/conversations/{key}/messages/reply",
        {"message_id": inbound[0].message_id, "content": "Thanks for writing"},
    )
    assert response.status_code == 303
    async with browser.db.sessions() as session:
        rows = (
            (
                await session.execute(
                    select(StoredMessage).where(StoredMessage.direction == "outbound")
                )
            )
            .scalars()
            .all()
        )
        batch = await find_batch(session, "conversation", key, browser.account)
    assert len(rows) == 1
    reply = json.loads(rows[0].payload)
    assert reply["content"] == "Thanks for writing"
    assert reply["in_reply_to"] == inbound[0].message_id
    assert reply["to_addr"] == inbound[0].from_addr
    assert reply["helper_metadata"]["go"]["conversation_key"] == key
    sent_page = await browser.get(f"/conversations/{key}/messages?direction=outbound")
    assert "Thanks for writing" in sent_page.text
    assert batch is not None
    # Unknown message, another conversation's message, empty reply: refused.
    other_key = await _conversation(browser)
    theirs = await seed_messages(browser.db, browser.account, other_key, 1, "inbound")
    for message_id in ("nope", theirs[0].message_id):
        refused = await browser.post(
            f"/conversations/{key}/messages/reply", {"message_id": message_id, "content": "x"}
        )
        assert refused.status_code == 404
    empty = await browser.post(
        f"/conversations/{key}/messages/reply",
        {"message_id": inbound[0].message_id, "content": "  "},
    )
    assert empty.status_code == 400


async def test_export_csv_and_json_lines(browser: Browser) -> None:
    key = await _conversation(browser)
    made = await seed_messages(
        browser.db, browser.account, key, 2500, "inbound", content='say "hi", {n}'
    )
    form = await browser.get(f"/conversations/{key}/export")
    assert form.status_code == 200 and 'name="date_preset"' in form.text
    response = await browser.get(f"/conversations/{key}/export?format=csv&direction=inbound")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{key}-inbound.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(export.MESSAGE_COLUMNS)
    assert len(rows) == 2501
    assert rows[1][1] == made[0].message_id and rows[1][6] == 'say "hi", 0'
    assert rows[1][3] == made[0].from_addr and rows[1][7] == ""
    lines = await browser.get(f"/conversations/{key}/export?format=json&direction=inbound")
    parsed = [json.loads(line) for line in lines.text.splitlines()]
    assert len(parsed) == 2500 and parsed[-1]["message_id"] == made[-1].message_id


async def test_export_date_presets_and_events(browser: Browser) -> None:
    key = await _conversation(browser)
    now = datetime.now(UTC)
    await seed_messages(
        browser.db, browser.account, key, 10, "outbound",
        start=now - timedelta(days=9, hours=12), step=timedelta(days=1),
    )  # fmt: skip
    counts = {}
    for preset in ("all", "30d", "7d", "1d"):
        response = await browser.get(
            f"/conversations/{key}/export?format=csv&direction=outbound&date_preset={preset}"
        )
        counts[preset] = len(response.text.strip().splitlines()) - 1
    assert counts == {"all": 10, "30d": 10, "7d": 7, "1d": 1}
    async with browser.db.sessions() as session:
        ids = (await session.execute(select(StoredMessage.message_id))).scalars().all()
    await seed_events(browser.db, [Event.nack(ids[0], nack_reason="bad number")])
    events = await browser.get(f"/conversations/{key}/export?format=csv&direction=events")
    rows = list(csv.reader(io.StringIO(events.text)))
    assert rows[0] == list(export.EVENT_COLUMNS)
    assert rows[1][2:] == ["nack", ids[0], "bad number"]


@pytest.mark.parametrize(
    "query",
    [
        "format=xml",
        "format=csv&direction=sideways",
        "format=csv&date_preset=2y",
        "format=csv&date_from=31-12-2026",
        "format=csv&date_from=02/01/2026&date_to=01/01/2026",
    ],
)
async def test_export_bad_input_is_a_400(browser: Browser, query: str) -> None:
    key = await _conversation(browser)
    response = await browser.get(f"/conversations/{key}/export?{query}")
    assert response.status_code == 400


async def test_search_goes_back_a_window_at_a_time(
    browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vumigo.web import search

    monkeypatch.setattr(search, "WINDOW", 10)
    monkeypatch.setattr("vumigo.web.pages.messages.search_messages", search.search_messages)
    key = await _conversation(browser)
    await seed_messages(browser.db, browser.account, key, 30, "inbound", content="msg {n}")
    async with browser.db.sessions() as session:
        batch = await find_batch(session, "conversation", key, browser.account)
        assert batch
        found = await search.search_messages(session, batch, "inbound", "msg 3", window=10)
        assert found.messages == [] and found.searched_to is not None
        pages = 1
        while not found.messages and found.next_before is not None:
            found = await search.search_messages(
                session, batch, "inbound", "msg 3", before=found.next_before, window=10
            )
            pages += 1
        assert [m["content"] for m in found.messages] == ["msg 3"] and pages == 3
        everything = await search.search_messages(session, batch, "inbound", "msg", limit=5)
        assert len(everything.messages) == 5 and everything.searched_to is None
    page = await browser.get(f"/conversations/{key}/messages?q=nothing")
    assert "No messages match" in page.text


def test_export_reads_group_from_the_json_only_when_set() -> None:
    from datetime import UTC, datetime

    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    plain = UserMessage(to_addr="1", from_addr="2", transport_name="t", transport_type="sms")
    grouped = UserMessage(
        to_addr="1", from_addr="2", transport_name="t", transport_type="sms", group="#chat"
    )
    for msg, group in ((plain, None), (grouped, "#chat")):
        row = (1, msg.to_json(), when, msg.message_id, "1", "2", None, None, "hi")
        assert export._message_record(row) == [
            "2026-01-02 03:04:05.000000",
            msg.message_id,
            "1",
            "2",
            None,
            None,
            "hi",
            group,
        ]


def test_export_cells_are_never_spreadsheet_formulas() -> None:
    text = export._csv_text([['=HYPERLINK("http://x")', "+27821234567", None, 3]])
    row = next(csv.reader(io.StringIO(text)))
    assert row == ['\'=HYPERLINK("http://x")', "+27821234567", "", "3"]
