"""Operators' platform-wide figures: recent traffic through tag batches, capped backlogs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from vumigo.db.engine import Database
from vumigo.db.models import MessageBatch
from vumigo.message import Event, UserMessage
from vumigo.store import messages as store
from vumigo.store.batches import batch_key
from vumigo.store.traffic import Count, backlogs, first_seq_since, recent_traffic

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)  # a Wednesday
TODAY = NOW.replace(hour=0)
WEEK = TODAY - timedelta(days=2)


def message(direction: str, when: datetime) -> UserMessage:
    ends = ("+271", "100") if direction == "inbound" else ("100", "+271")
    return UserMessage(
        from_addr=ends[0],
        to_addr=ends[1],
        content="hi",
        transport_name="dev",
        transport_type="sms",
        timestamp=when,
    )


async def store_messages(
    db: Database, items: list[tuple[str, datetime]], state: str = "processed"
) -> list[UserMessage]:
    """Messages through a tag and a conversation, as the dispatcher stores them, in order."""
    made = [(message(direction, when), direction) for direction, when in items]
    async with db.transaction() as session:
        tag = await batch_key(session, "tag", "pool:100", None)
        conv = await batch_key(session, "conversation", "c1", None)
        await store.add_messages(session, [(m, d, state, None) for m, d in made])
        for m, d in made:
            await store.attach_many(session, [(m, d, [tag, conv])])
    return [m for m, _ in made]


async def test_traffic_counts_each_message_once_by_period(db: Database) -> None:
    await store_messages(
        db,
        [
            ("inbound", WEEK - timedelta(hours=1)),  # last week: not counted
            ("inbound", WEEK + timedelta(hours=1)),
            ("outbound", WEEK + timedelta(hours=2)),
            ("inbound", TODAY + timedelta(hours=1)),
            ("inbound", TODAY + timedelta(hours=2)),
            ("outbound", TODAY + timedelta(hours=3)),
        ],
    )
    async with db.sessions() as session:
        traffic = await recent_traffic(session, TODAY, WEEK)
        tomorrow = await recent_traffic(session, NOW + timedelta(days=1), NOW)
    # Each message sits in two batches; only its tag batch row is counted.
    assert traffic.inbound_today == Count(2, False) and traffic.outbound_today == Count(1, False)
    assert traffic.inbound_week == Count(3, False) and traffic.outbound_week == Count(2, False)
    assert tomorrow.inbound_today == Count(0, False) and tomorrow.inbound_week == Count(0, False)


async def test_traffic_stops_counting_at_the_cap(db: Database) -> None:
    await store_messages(db, [("inbound", TODAY + timedelta(minutes=n)) for n in range(6)])
    async with db.sessions() as session:
        capped = await recent_traffic(session, TODAY, WEEK, cap=4)
        exact = await recent_traffic(session, TODAY, WEEK, cap=6)
    assert capped.inbound_today == Count(4, True)
    assert exact.inbound_today == Count(6, False)


async def test_the_first_row_of_a_period(db: Database) -> None:
    async with db.sessions() as session:
        assert await first_seq_since(session, TODAY) is None  # nothing stored at all
    await store_messages(db, [("inbound", TODAY + timedelta(hours=n)) for n in range(5)])
    async with db.sessions() as session:
        first = await first_seq_since(session, TODAY - timedelta(days=1))
        third = await first_seq_since(session, TODAY + timedelta(hours=2))
        between = await first_seq_since(session, TODAY + timedelta(hours=1, minutes=30))
        after = await first_seq_since(session, TODAY + timedelta(hours=5))
    assert first is not None and third is not None
    # Two rows (tag and conversation batch) per message: the third message starts 4 rows on.
    assert third - first == 4 and between == third and after is None


async def test_backlogs_count_unfinished_work_up_to_a_cap(db: Database) -> None:
    await store_messages(db, [("inbound", NOW)] * 3, state="accepted")
    queued = await store_messages(db, [("outbound", NOW)] * 2, state="queued")
    await store_messages(db, [("outbound", NOW)], state="sent")
    async with db.transaction() as session:
        ack = Event.ack(queued[0].message_id, sent_message_id="smsc-1")
        await store.add_events(session, [ack], state="new")
    async with db.sessions() as session:
        found = await backlogs(session, cap=10)
        capped = await backlogs(session, cap=2)
        exactly = await backlogs(session, cap=3)
    assert found == {
        "inbound": Count(3, False),
        "outbound": Count(2, False),
        "events": Count(1, False),
        "pushes": Count(0, False),
    }
    assert capped["inbound"] == Count(2, True) and capped["events"] == Count(1, False)
    assert exactly["inbound"] == Count(3, False)


async def test_the_search_agrees_with_reading_every_row(db: Database) -> None:
    # 60 messages (120 rows) an hour apart, a run of them deleted to leave a gap in seq.
    made = await store_messages(
        db, [("inbound", WEEK + timedelta(hours=n)) for n in range(60)], state="processed"
    )
    async with db.transaction() as session:
        await session.execute(
            delete(MessageBatch).where(
                MessageBatch.message_id.in_([m.message_id for m in made[20:35]])
            )
        )
    async with db.sessions() as session:
        rows = (await session.execute(select(MessageBatch.seq, MessageBatch.timestamp))).all()
        for hours in (-5, 0, 1, 19.5, 20, 27, 34.5, 35, 58, 59, 59.5, 80):
            moment = WEEK + timedelta(hours=hours)
            wanted = min((seq for seq, when in rows if when >= moment), default=None)
            for fanout in (2, 3, 8, 32):
                found = await first_seq_since(session, moment, fanout=fanout)
                assert found == wanted, (hours, fanout)
