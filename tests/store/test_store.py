"""The message store on both databases: idempotent writes, counters, uniques, paging."""

from __future__ import annotations

from datetime import timedelta

from vumigo.db.engine import Database
from vumigo.message import Event, UserMessage
from vumigo.store import messages as store
from vumigo.store.batches import batch_key, find_batch
from vumigo.store.counters import counters
from vumigo.store.queries import list_messages, summary, throughput


def inbound(n: int, sender: str) -> UserMessage:
    return UserMessage(
        to_addr="1234",
        from_addr=sender,
        content=f"message {n}",
        transport_name="dev",
        transport_type="sms",
    )


async def test_writes_are_idempotent_and_counted_once(db: Database) -> None:
    msg = inbound(1, "+271")
    async with db.transaction() as session:
        batch = await batch_key(session, "conversation", "c1", None)
        assert await batch_key(session, "conversation", "c1", None) == batch
        assert await store.add_message(session, msg, "inbound", "accepted", None)
        assert not await store.add_message(session, msg, "inbound", "accepted", None)
        await store.attach(session, msg, "inbound", [batch])
        await store.attach(session, msg, "inbound", [batch])
    async with db.sessions() as session:
        assert await counters(session, batch) == {"inbound": 1, "inbound_uniques": 1}


async def test_uniques_count_addresses_once_per_direction(db: Database) -> None:
    async with db.transaction() as session:
        batch = await batch_key(session, "conversation", "c2", None)
        for n, sender in enumerate(["+271", "+272", "+271", "+273", "+272"]):
            msg = inbound(n, sender)
            await store.add_message(session, msg, "inbound", "accepted", None)
            await store.attach(session, msg, "inbound", [batch])
        out = UserMessage.send("+271", "reply")
        await store.add_message(session, out, "outbound", "queued", None)
        await store.attach(session, out, "outbound", [batch])
    async with db.sessions() as session:
        result = await summary(session, batch)
    assert (result.inbound, result.inbound_uniques) == (5, 3)
    assert (result.outbound, result.outbound_uniques) == (1, 1)
    assert result.progress_status["sent"] == 1


async def test_claims_move_state_once(db: Database) -> None:
    msg = inbound(1, "+271")
    async with db.transaction() as session:
        await store.add_message(session, msg, "inbound", "accepted", None)
        assert await store.claim(session, msg.message_id, "accepted", "processed")
        assert not await store.claim(session, msg.message_id, "accepted", "processed")
        record = await store.get_message(session, msg.message_id)
    assert record is not None and record.state == "processed" and record.message == msg


async def test_events_count_progress_status(db: Database) -> None:
    out = UserMessage.send("+271", "hello")
    async with db.transaction() as session:
        batch = await batch_key(session, "conversation", "c3", None)
        await store.add_message(session, out, "outbound", "queued", None)
        events = [
            Event.ack(out.message_id, "smsc-1"),
            Event.delivery_report(out.message_id, "pending"),
            Event.delivery_report(out.message_id, "delivered"),
        ]
        for event in events:
            assert await store.add_event(session, event)
            assert not await store.add_event(session, event)
            await store.count_event(session, event, [batch])
        assert [e.event_id for e in await store.events_for(session, out.message_id)] == [
            e.event_id for e in events
        ]
        counts = await counters(session, batch)
    assert counts == {
        "ack": 1,
        "delivery_report": 2,
        "delivery_report_pending": 1,
        "delivery_report_delivered": 1,
    }


async def test_listing_pages_newest_first_and_searches(db: Database) -> None:
    async with db.transaction() as session:
        batch = await batch_key(session, "conversation", "c4", None)
        for n in range(45):
            msg = inbound(n, f"+27{n % 7}")
            await store.add_message(session, msg, "inbound", "accepted", None)
            await store.attach(session, msg, "inbound", [batch])
    async with db.sessions() as session:
        first = await list_messages(session, batch, "inbound")
        second = await list_messages(session, batch, "inbound", before=first.next_before)
        third = await list_messages(session, batch, "inbound", before=second.next_before)
        found = await list_messages(session, batch, "inbound", search="message 4")
        by_address = await list_messages(session, batch, "inbound", search="+270", limit=100)
        wild = await list_messages(session, batch, "inbound", search="%")
    contents = [m["content"] for m in first.messages + second.messages + third.messages]
    assert contents == [f"message {n}" for n in range(44, -1, -1)]
    assert third.next_before is None
    assert {m["content"] for m in found.messages} == {
        "message 4",
        *(f"message {n}" for n in range(40, 45)),
    }
    assert {m["from_addr"] for m in by_address.messages} == {"+270"}
    assert wild.messages == []


async def test_throughput_is_messages_per_minute_in_the_sample(db: Database) -> None:
    async with db.transaction() as session:
        batch = await batch_key(session, "conversation", "c5", None)
        base = inbound(0, "+27").timestamp
        messages = []
        for n in range(10):
            msg = inbound(n, "+27")
            # Six inside the 5-minute sample before the newest, four well before it.
            offset = n * 10 if n < 6 else 1000 + n
            msg.payload["timestamp"] = base - timedelta(seconds=offset)
            messages.append(msg)
        # Stored in the order they happened, as a batch's messages are.
        for msg in sorted(messages, key=lambda m: m.timestamp):
            await store.add_message(session, msg, "inbound", "accepted", None)
            await store.attach(session, msg, "inbound", [batch])
        rate = await throughput(session, batch, "inbound")
        assert await throughput(session, batch, "outbound") == 0.0
        assert await find_batch(session, "conversation", "missing", None) is None
        # The walk back is bounded: with a window of 3 rows, at most 3 are counted.
        assert await throughput(session, batch, "inbound", window=3) == 3 / 5
    assert rate == 6 / 5
