"""The ready-made conversation types end to end, through a live platform and the dev phone.

A group message to a smart group (one member opted out by texting STOP, two sharing a number,
one without a number); a three-question dialogue over USSD whose answers land on the contact;
a sequential send across two scheduled runs; subscribing and unsubscribing by keyword.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.apps.helpers import (
    ask,
    channel,
    conversation,
    everything_sent_on,
    give_groups,
    make_contacts,
    make_group,
    phone,
    task_of,
    wait_for,
)
from tests.support.live import live_server
from vumigo.apps import scheduler
from vumigo.apps.bulk_message.window import progress
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import Contact, ScheduledTask

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VUMIGO_APPS_POLL_INTERVAL", "0.1")


async def contact_by(db: Database, msisdn: str) -> Contact:
    async with db.sessions() as session:
        found = (await session.scalars(select(Contact).where(Contact.msisdn == msisdn))).first()
    assert found is not None
    return found


async def test_bulk_send_to_smart_group_skips_optout_and_dedupes(
    sqlite_db: Database, settings: Settings
) -> None:
    account, token = await channel(sqlite_db, ["10001"])
    conv = await conversation(sqlite_db, account, "bulk_message", {}, tag="10001")
    cape_town = {"extra": {"city": "CPT"}}
    await make_contacts(
        sqlite_db,
        account,
        [
            {"msisdn": "+27820000001", **cape_town},
            {"msisdn": "+27820000002", **cape_town},  # will text STOP
            {"msisdn": "+27820000003", **cape_town},
            {"msisdn": "+27820000003", "name": "twin", **cape_town},  # the same number again
            {"name": "no number", **cape_town},
            {"msisdn": "+27820000009", "extra": {"city": "JHB"}},  # not in the group
        ],
    )
    smart = await make_group(sqlite_db, account, "Cape Town", "extras-city:CPT")
    await give_groups(sqlite_db, account, conv, [smart])
    with live_server(settings) as server:
        stop = phone(server.url, token, "10001", "+27820000002", "STOP")
        assert [r["content"] for r in stop] == ["You have opted out"]
        task = await ask(
            sqlite_db, conv, "bulk_send", {"message": "Water off on Friday", "dedupe": True}
        )

        async def done() -> bool:
            found = await task_of(sqlite_db, task)
            return found is not None and found.status == "done"

        assert await wait_for(done, 20)
        found = await task_of(sqlite_db, task)
        assert found is not None and found.result is not None

        async def acked() -> bool:
            async with sqlite_db.sessions() as session:
                summary = await progress(session, task)
            return summary is not None and summary["acked"] == 2

        assert await wait_for(acked)
        sent = everything_sent_on(server.url, token, "10001")
    group_messages = [m for m in sent if m["content"] == "Water off on Friday"]
    assert Counter(m["to_addr"] for m in group_messages) == {"+27820000001": 1, "+27820000003": 1}
    assert found.result["queued"] == 2


THREE_QUESTIONS: dict[str, Any] = {
    "start_state": {"uuid": "colour"},
    "poll_metadata": {"repeatable": False},
    "states": [
        {
            "uuid": "colour",
            "name": "colour",
            "type": "choice",
            "text": "Favourite colour?",
            "store_as": "colour",
            "entry_endpoint": {"uuid": "colour-in"},
            "choice_endpoints": [
                {"value": "red", "label": "Red", "uuid": "colour-red"},
                {"value": "blue", "label": "Blue", "uuid": "colour-blue"},
            ],
        },
        {
            "uuid": "name",
            "name": "name",
            "type": "freetext",
            "text": "Your name?",
            "store_as": "name",
            "entry_endpoint": {"uuid": "name-in"},
            "exit_endpoint": {"uuid": "name-out"},
        },
        {
            "uuid": "happy",
            "name": "happy",
            "type": "choice",
            "text": "Happy?",
            "store_as": "happy",
            "entry_endpoint": {"uuid": "happy-in"},
            "choice_endpoints": [
                {"value": "yes", "label": "Yes", "uuid": "happy-yes"},
                {"value": "no", "label": "No", "uuid": "happy-no"},
            ],
        },
        {
            "uuid": "end",
            "name": "end",
            "type": "end",
            "text": "Thank you!",
            "entry_endpoint": {"uuid": "end-in"},
        },
    ],
    "connections": [
        {"source": {"uuid": "colour-red"}, "target": {"uuid": "name-in"}},
        {"source": {"uuid": "colour-blue"}, "target": {"uuid": "name-in"}},
        {"source": {"uuid": "name-out"}, "target": {"uuid": "happy-in"}},
        {"source": {"uuid": "happy-yes"}, "target": {"uuid": "end-in"}},
        {"source": {"uuid": "happy-no"}, "target": {"uuid": "end-in"}},
    ],
}


async def test_three_question_dialogue_over_ussd_stores_answers_on_contact(
    sqlite_db: Database, settings: Settings
) -> None:
    account, token = await channel(sqlite_db, ["1202"])
    await conversation(sqlite_db, account, "dialogue", {"poll": THREE_QUESTIONS}, tag="1202")
    who = "+27823334444"

    def say(content: str | None, event: str = "resume") -> dict[str, Any]:
        replies = phone(
            server.url, token, "1202", who, content, session_event=event, transport_type="ussd"
        )
        assert len(replies) == 1, replies
        return replies[0]

    with live_server(settings) as server:
        assert say(None, "new")["content"] == "Favourite colour?\n1. Red\n2. Blue"
        assert say("7")["content"].startswith("Favourite colour?")  # not a choice: asked again
        assert say("2")["content"] == "Your name?"
        # Cut off, and dialling again: the current question again, not the start.
        assert say(None, "new")["content"] == "Your name?"
        assert say("Thandi")["content"] == "Happy?\n1. Yes\n2. No"
        last = say("yes")  # labels are accepted as well as numbers
        assert (last["content"], last["session_event"]) == ("Thank you!", "close")

        async def stored() -> bool:
            return "happy" in (await contact_by(sqlite_db, who)).extra

        assert await wait_for(stored)
    contact = await contact_by(sqlite_db, who)
    assert contact.extra == {
        "colour": "blue",
        "colour-1": "blue",
        "name": "Thandi",
        "name-1": "Thandi",
        "happy": "yes",
        "happy-1": "yes",
    }


class FakeClock:
    """The scheduler's clock, moved by the test; it runs on in real time between moves."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(UTC)
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return datetime.now(UTC) + self.offset

    def jump_to(self, when: datetime) -> None:
        with self.lock:
            self.offset = when - datetime.now(UTC)


async def test_sequential_send_gives_each_contact_the_next_message_per_run(
    sqlite_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(datetime(2030, 1, 1, 8, 59, 50, tzinfo=UTC))
    monkeypatch.setattr(scheduler, "CLOCK", clock)
    account, token = await channel(sqlite_db, ["10003"])
    config = {
        "schedule": {"recurring": "daily", "time": "09:00:00"},
        "messages": ["Day one", "Day two", "Day three"],
    }
    conv = await conversation(sqlite_db, account, "sequential_send", config, tag="10003")
    group = await make_group(sqlite_db, account, "course")
    people = [f"+2782555000{n}" for n in range(3)]
    await make_contacts(sqlite_db, account, [{"msisdn": p} for p in people], group=group)
    await give_groups(sqlite_db, account, conv, [group])

    async def runs(status: str) -> list[ScheduledTask]:
        async with sqlite_db.sessions() as session:
            rows = await session.scalars(
                select(ScheduledTask).where(
                    ScheduledTask.conversation_key == conv, ScheduledTask.status == status
                )
            )
            return list(rows.all())

    with live_server(settings) as server:

        async def first_planned() -> bool:
            pending = await runs("pending")
            return bool(pending) and pending[0].due_at == datetime(2030, 1, 1, 9, tzinfo=UTC)

        assert await wait_for(first_planned)
        assert everything_sent_on(server.url, token, "10003") == []
        clock.jump_to(datetime(2030, 1, 1, 9, 0, 1, tzinfo=UTC))
        assert await wait_for(lambda: _count(runs("done"), 1), 20)
        clock.jump_to(datetime(2030, 1, 2, 9, 0, 1, tzinfo=UTC))
        assert await wait_for(lambda: _count(runs("done"), 2), 20)

        def texts() -> Counter[tuple[str, str]]:
            sent = everything_sent_on(server.url, token, "10003")
            return Counter((m["to_addr"], m["content"]) for m in sent)

        assert await wait_for(_sync(lambda: len(texts()) == 6))
        assert texts() == {(p, day): 1 for p in people for day in ("Day one", "Day two")}
    contact = await contact_by(sqlite_db, people[0])
    assert contact.extra[f"scheduled_message_index_{conv}"] == "2"


async def _count(pending: Any, n: int) -> bool:
    return len(await pending) >= n


def _sync(check: Any) -> Any:
    async def run() -> Any:
        return check()

    return run


async def test_subscribe_and_unsubscribe_by_keyword(
    sqlite_db: Database, settings: Settings
) -> None:
    account, token = await channel(sqlite_db, ["10004"])
    handlers = [
        {
            "keyword": "join",
            "operation": "subscribe",
            "campaign_name": "news",
            "reply_copy": "Welcome to the news",
        },
        {
            "keyword": "LEAVE",
            "operation": "unsubscribe",
            "campaign_name": "news",
            "reply_copy": "You will get no more news",
        },
    ]
    await conversation(sqlite_db, account, "subscription", {"handlers": handlers}, tag="10004")
    who = "+27826667777"
    with live_server(settings) as server:
        joined = phone(server.url, token, "10004", who, "JOIN please")
        assert [r["content"] for r in joined] == ["Welcome to the news"]
        assert await wait_for(_subscribed(sqlite_db, who, "subscribed"))
        left = phone(server.url, token, "10004", who, "leave")
        assert [r["content"] for r in left] == ["You will get no more news"]
        assert await wait_for(_subscribed(sqlite_db, who, "unsubscribed"))
        what = phone(server.url, token, "10004", who, "huh")
        assert [r["content"] for r in what] == ["Unrecognised keyword."]
    contact = await contact_by(sqlite_db, who)
    assert contact.subscription == {"news": "unsubscribed"}


def _subscribed(db: Database, who: str, status: str) -> Any:
    async def check() -> bool:
        async with db.sessions() as session:
            found = (await session.scalars(select(Contact).where(Contact.msisdn == who))).first()
        return found is not None and found.subscription.get("news") == status

    return check
