"""The sequential send panel: schedule, messages and groups in one form; clear 400s; scoping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.web.helpers import Browser
from vumigo.apps.sequential_send import next_occurrence
from vumigo.contacts import conversation_group_keys, create_group
from vumigo.conversations.service import create_conversation, get_conversation

SAVED = {
    "schedule": {"recurring": "day_of_week", "days": "1,3", "time": "08:30:00"},
    "messages": ["Week one", "Week two"],
}


async def _sequential(browser: Browser) -> str:
    async with browser.db.transaction() as session:
        conv = await create_conversation(
            session, browser.account, "sequential_send", "Course", config=dict(SAVED)
        )
        return conv.key


async def _config(browser: Browser, key: str) -> dict[str, object]:
    async with browser.db.sessions() as session:
        return dict((await get_conversation(session, browser.account, key)).config)


def _form(**changes: str) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "recurring": "day_of_week",
        "week_days": ["1", "3"],
        "time": "08:30",
        "message-0-text": "Week one",
        "message-1-text": "Week two",
        "message-2-text": "",
        "delivery_class": "sms",
    }
    form.update(changes)
    return form


async def test_editor_shows_the_saved_schedule(browser: Browser) -> None:
    key = await _sequential(browser)
    page = await browser.get(f"/conversations/{key}/")
    assert f'hx-get="/conversations/{key}/sequential/editor"' in page.text
    assert "2 messages" in page.text
    fragment = await browser.get(
        f"/conversations/{key}/sequential/editor", headers={"HX-Request": "true"}
    )
    assert "<html" not in fragment.text
    assert '<option value="day_of_week" selected>' in fragment.text
    assert 'name="week_days" value="1" checked' in fragment.text
    assert 'name="week_days" value="2" checked' not in fragment.text
    assert 'value="08:30:00"' in fragment.text and ">Week two</textarea>" in fragment.text
    full = await browser.get(f"/conversations/{key}/sequential/editor")
    assert "<html" in full.text and "Schedule and messages" in full.text


async def test_saving_schedule_messages_and_groups(browser: Browser) -> None:
    key = await _sequential(browser)
    async with browser.db.transaction() as session:
        group = await create_group(session, browser.account, "Learners")
    saved = await browser.post(
        f"/conversations/{key}/sequential/editor",
        _form(
            recurring="day_of_month",
            month_days="15, 1, 1",
            time="07:05",
            **{"message-1-remove": "1", "message-2-text": "Week three"},
            groups=group.key,
        ),
    )
    assert saved.status_code == 303, saved.text
    config = await _config(browser, key)
    assert config["schedule"] == {"recurring": "day_of_month", "days": "1,15", "time": "07:05:00"}
    assert config["messages"] == ["Week one", "Week three"]
    assert config["delivery_class"] == "sms"
    schedule = config["schedule"]
    assert isinstance(schedule, dict)
    # The type reads what was saved: after the 1st comes the 15th.
    assert next_occurrence(schedule, datetime(2030, 1, 2, tzinfo=UTC)) == datetime(
        2030, 1, 15, 7, 5, tzinfo=UTC
    )
    async with browser.db.sessions() as session:
        assert await conversation_group_keys(session, browser.account, key) == [group.key]
    # Pausing keeps the messages.
    paused = await browser.post(
        f"/conversations/{key}/sequential/editor",
        _form(recurring="never", **{"message-1-text": "Week three"}),
    )
    assert paused.status_code == 303
    config = await _config(browser, key)
    assert isinstance(config["schedule"], dict) and config["schedule"]["recurring"] == "never"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"recurring": "hourly"}, "Choose how often it runs."),
        ({"time": "25:61"}, "is not a time of day"),
        ({"time": ""}, "is not a time of day"),
        ({"week_days": []}, "Tick at least one day of the week."),
        ({"week_days": ["9"]}, "numbered 1 (Monday) to 7"),
        ({"recurring": "day_of_month", "month_days": "32"}, "numbers from 1 to 31"),
        ({"recurring": "day_of_month", "month_days": "first"}, "numbers from 1 to 31"),
        ({"groups": "f" * 32}, "Unknown group"),
        ({"delivery_class": "pigeon"}, "Unknown way to send"),
        ({"message-0-text": "x" * 1601}, "longer than 1,600 characters"),
    ],
)
async def test_bad_input_is_a_400_and_nothing_changes(
    browser: Browser, changes: dict[str, str], expected: str
) -> None:
    key = await _sequential(browser)
    response = await browser.post(f"/conversations/{key}/sequential/editor", _form(**changes))
    assert response.status_code == 400, response.text
    assert expected in response.text and "<form" in response.text
    assert await _config(browser, key) == SAVED


async def test_scoping_and_csrf(browser: Browser, other: Browser) -> None:
    key = await _sequential(browser)
    assert (await other.get(f"/conversations/{key}/sequential/editor")).status_code == 404
    stranger = await other.post(f"/conversations/{key}/sequential/editor", _form(time="01:00"))
    assert stranger.status_code == 404 and "Week one" not in stranger.text
    forged = await browser.client.post(
        f"/conversations/{key}/sequential/editor", data=_form(time="01:00")
    )
    assert forged.status_code == 403
    assert await _config(browser, key) == SAVED
