"""The group message panel: the form and its groups, review, confirm, the send it asks for,
progress polling, cancelling a scheduled send, and refusals (scoping, CSRF, bad input)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.apps.helpers import wait_for
from tests.support.factories import hold_tag, make_pool, route_both_ways
from tests.web.helpers import Browser
from vumigo.contacts import conversation_group_keys, create_contact, create_group
from vumigo.conversations.service import create_conversation, start_conversation
from vumigo.db.models import ScheduledTask
from vumigo.web.pages.bulk_ui import sms_parts, still_moving


async def _conversation(browser: Browser, kind: str = "bulk_message", running: bool = True) -> str:
    async with browser.db.transaction() as session:
        conv = await create_conversation(session, browser.account, kind, "News")
        if running:
            await start_conversation(session, browser.account, conv.key)
        return conv.key


async def _group(browser: Browser, name: str, size: int, first: int = 0) -> str:
    async with browser.db.transaction() as session:
        group = await create_group(session, browser.account, name)
        for n in range(first, first + size):
            await create_contact(
                session, browser.account, {"msisdn": f"+2782{n:07d}", "groups": [group.key]}
            )
        return group.key


def _form(group: str, **changes: str) -> dict[str, str]:
    return {"message": "Clinic opens at 9", "groups": group, "when": "now", **changes}


async def _tasks(browser: Browser, key: str) -> list[ScheduledTask]:
    async with browser.db.sessions() as session:
        found = await session.scalars(
            select(ScheduledTask).where(ScheduledTask.conversation_key == key)
        )
        return list(found.all())


def test_sms_parts_follow_the_alphabet() -> None:
    assert sms_parts("a" * 160) == 1
    assert sms_parts("a" * 161) == 2
    assert sms_parts("a" * 306) == 2 and sms_parts("a" * 307) == 3
    assert sms_parts("€" * 80) == 1 and sms_parts("€" * 81) == 2  # two GSM places each
    assert sms_parts("ש" * 70) == 1 and sms_parts("ש" * 71) == 2  # UCS-2


async def test_panel_form_lists_groups_with_sizes(browser: Browser) -> None:
    key = await _conversation(browser)
    await _group(browser, "Clinic", 3)
    await _group(browser, "Empty", 0)
    page = await browser.get(f"/conversations/{key}/")
    assert page.status_code == 200
    assert f'hx-get="/conversations/{key}/bulk/compose"' in page.text
    assert f'hx-get="/conversations/{key}/bulk/progress"' in page.text
    fragment = await browser.get(
        f"/conversations/{key}/bulk/compose", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert re.search(r"Clinic\s*<span[^>]*>3 contacts", fragment.text)
    assert re.search(r"Empty\s*<span[^>]*>0 contacts", fragment.text)
    # Without JavaScript the same form is a page of its own.
    full = await browser.get(f"/conversations/{key}/bulk/compose")
    assert full.status_code == 200 and "<html" in full.text and "Send a message" in full.text


async def test_review_then_send_now_asks_for_the_bulk_send(browser: Browser) -> None:
    key = await _conversation(browser)
    group = await _group(browser, "Clinic", 4)
    await _group(browser, "Other", 2, first=100)
    review = await browser.post(f"/conversations/{key}/bulk/review", _form(group, dedupe="1"))
    assert review.status_code == 200
    assert "Send this message?" in review.text and "Clinic opens at 9" in review.text
    assert "4 people by sms, once per address" in review.text
    assert await _tasks(browser, key) == []  # reviewing sends nothing
    unconfirmed = await browser.post(f"/conversations/{key}/bulk/send", _form(group))
    assert unconfirmed.status_code == 400 and "needs confirmation" in unconfirmed.text
    sent = await browser.post(
        f"/conversations/{key}/bulk/send", _form(group, dedupe="1", confirmed="yes")
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/conversations/{key}/#bulk-progress"
    [task] = await _tasks(browser, key)
    assert task.action == "bulk_send"
    assert task.params == {
        "message": "Clinic opens at 9",
        "delivery_class": "sms",
        "dedupe": True,
        "window": 100,
    }
    assert abs((task.due_at - datetime.now(UTC)).total_seconds()) < 30
    async with browser.db.sessions() as session:
        assert await conversation_group_keys(session, browser.account, key) == [group]
    page = await browser.get(f"/conversations/{key}/")
    assert "Sending to 4 people." in page.text


async def test_change_it_goes_back_to_the_form_with_the_draft(browser: Browser) -> None:
    key = await _conversation(browser)
    group = await _group(browser, "Clinic", 1)
    back = await browser.post(
        f"/conversations/{key}/bulk/review", _form(group, message="Draft text", edit="1")
    )
    assert back.status_code == 200 and ">Draft text</textarea>" in back.text
    assert f'value="{group}" checked' in back.text


async def test_scheduled_send_is_due_later_and_can_be_cancelled(browser: Browser) -> None:
    key = await _conversation(browser)
    group = await _group(browser, "Clinic", 2)
    later = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    form = _form(group, when="later", send_at=later.strftime("%Y-%m-%dT%H:%M"), confirmed="yes")
    review = await browser.post(f"/conversations/{key}/bulk/review", form)
    assert review.status_code == 200 and later.strftime("%Y-%m-%d %H:%M") in review.text
    sent = await browser.post(f"/conversations/{key}/bulk/send", form)
    assert sent.status_code == 303
    [task] = await _tasks(browser, key)
    assert task.status == "pending" and task.due_at == later.replace(second=0)
    progress = await browser.get(
        f"/conversations/{key}/bulk/progress", headers={"HX-Request": "true"}
    )
    assert "scheduled" in progress.text and "Due " in progress.text
    # Due in two days: the panel does not poll for it.
    assert 'hx-trigger="every' not in progress.text
    cancelled = await browser.post(f"/conversations/{key}/bulk/sends/{task.id}/cancel")
    assert cancelled.status_code == 303
    [task] = await _tasks(browser, key)
    assert task.status == "cancelled"
    again = await browser.post(f"/conversations/{key}/bulk/sends/{task.id}/cancel")
    assert again.status_code == 303  # already cancelled: said so, nothing changes
    page = await browser.get(f"/conversations/{key}/")
    assert "already started" in page.text
    unknown = await browser.post(f"/conversations/{key}/bulk/sends/{'0' * 32}/cancel")
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"message": ""}, "Write the message to send."),
        ({"message": "   "}, "Write the message to send."),
        ({"message": "x" * 1601}, "at most 1,600 characters"),
        ({"groups": ""}, "This action needs a contact group."),
        ({"groups": "f" * 32}, "Unknown group"),
        ({"groups": "x" * 5000}, "Unknown group"),
        ({"when": "later", "send_at": "2001-01-01T09:00"}, "has passed"),
        ({"when": "later", "send_at": ""}, "Choose the date and time"),
        ({"when": "later", "send_at": "next tuesday"}, "is not a date and time"),
        ({"delivery_class": "pigeon"}, "Unknown way to send"),
    ],
)
async def test_bad_input_is_a_400_with_the_reason(
    browser: Browser, changes: dict[str, str], expected: str
) -> None:
    key = await _conversation(browser)
    group = await _group(browser, "Clinic", 1)
    for step in ("review", "send"):
        response = await browser.post(
            f"/conversations/{key}/bulk/{step}", {**_form(group, confirmed="yes"), **changes}
        )
        assert response.status_code == 400, (step, response.text)
        assert expected in response.text
        assert "<form" in response.text  # the form again, with what was typed
    assert await _tasks(browser, key) == []


async def test_another_accounts_group_is_unknown(browser: Browser, other: Browser) -> None:
    key = await _conversation(browser)
    theirs = await _group(other, "Theirs", 2, first=500)
    response = await browser.post(f"/conversations/{key}/bulk/send", _form(theirs, confirmed="yes"))
    assert response.status_code == 400 and "Unknown group" in response.text
    assert await _tasks(browser, key) == []


async def test_stopped_conversation_cannot_send(browser: Browser) -> None:
    key = await _conversation(browser, running=False)
    group = await _group(browser, "Clinic", 1)
    page = await browser.get(f"/conversations/{key}/")
    assert "Start the conversation to send a message." in page.text
    response = await browser.post(f"/conversations/{key}/bulk/send", _form(group, confirmed="yes"))
    assert response.status_code == 400 and "needs a running conversation" in response.text


async def test_scoping_csrf_and_type(browser: Browser, other: Browser) -> None:
    key = await _conversation(browser)
    group = await _group(browser, "Clinic", 1)
    for url in (f"/conversations/{key}/bulk/compose", f"/conversations/{key}/bulk/progress"):
        assert (await other.get(url)).status_code == 404
    for step in ("review", "send"):
        stranger = await other.post(
            f"/conversations/{key}/bulk/{step}", _form(group, confirmed="yes")
        )
        assert stranger.status_code == 404
        assert "Clinic opens" not in stranger.text
    forged = await browser.client.post(
        f"/conversations/{key}/bulk/send", data=_form(group, confirmed="yes")
    )
    assert forged.status_code == 403 and "expired" in forged.text
    wrong = await browser.post(
        f"/conversations/{key}/bulk/send",
        {**_form(group, confirmed="yes"), "csrf_token": "not-the-token"},
    )
    assert wrong.status_code == 403
    assert await _tasks(browser, key) == []
    # A conversation of another type has no group message panel.
    reply = await _conversation(browser, kind="static_reply")
    assert (await browser.get(f"/conversations/{reply}/bulk/compose")).status_code == 404
    wrong_type = await browser.post(
        f"/conversations/{reply}/bulk/send", _form(group, confirmed="yes")
    )
    assert wrong_type.status_code == 404


async def test_send_goes_out_and_progress_reaches_everyone(browser: Browser) -> None:
    """End to end through the running platform: the scheduler runs the send on a developer
    phone channel, and the polled progress shows every message sent and acknowledged."""
    key = await _conversation(browser)
    group = await _group(browser, "Clinic", 12)
    await make_pool(browser.db, "devpool", ["500"])
    await hold_tag(browser.db, browser.account, "devpool", "500")
    await route_both_ways(
        browser.db, browser.account, "devpool", "500", f"CONVERSATION:bulk_message:{key}"
    )
    browser.platform.engine.lookups.forget()
    sent = await browser.post(f"/conversations/{key}/bulk/send", _form(group, confirmed="yes"))
    assert sent.status_code == 303
    seen: list[str] = []

    async def all_acked() -> bool:
        fragment = await browser.get(
            f"/conversations/{key}/bulk/progress", headers={"HX-Request": "true"}
        )
        acked = re.search(r'id="bulk-acked">(\d+)<', fragment.text)
        assert acked is not None
        seen.append(fragment.text)
        return acked.group(1) == "12" and "badge-send-finished" in fragment.text

    assert await wait_for(all_acked, 20, every=0.1), seen[-1]
    assert re.search(r'id="bulk-sent">12<', seen[-1])
    assert "12 of 12 queued" in seen[-1]
    # Just finished: it keeps polling a little while, for the delivery reports.
    assert 'hx-trigger="every' in seen[-1]


@pytest.mark.parametrize(
    ("status", "due_in", "finished_ago", "in_flight", "polls"),
    [
        ("running", 0, None, 0, True),
        ("pending", 60, None, 0, True),
        ("pending", 3600, None, 0, False),  # next hour's send: no polling yet
        ("done", 0, 5, 0, True),  # delivery reports still coming
        ("done", 0, 60, 0, False),
        ("done", 0, 60, 3, True),  # acks still awaited
        ("done", 0, 600, 3, False),  # given up on, as the sender's window does
        ("cancelled", 0, None, 0, False),
        ("failed", 0, None, 0, False),
    ],
)
def test_the_panel_polls_only_while_counts_can_move(
    status: str, due_in: float, finished_ago: float | None, in_flight: int, polls: bool
) -> None:
    now = datetime.now(UTC)
    task = ScheduledTask(id="t", status=status, due_at=now + timedelta(seconds=due_in), params={})
    finished = None if finished_ago is None else now - timedelta(seconds=finished_ago)
    sent = {"finished_at": finished, "in_flight": in_flight} if status != "cancelled" else None
    assert still_moving(task, sent, now) is polls
