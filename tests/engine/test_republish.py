"""In the distributed mode, what a process stored but died before publishing is published again.

The embedded mode's start-up recovery re-queues everything unfinished; with RabbitMQ there is
no such sweep, so each place that can meet the gap between a commit and its publish closes it:
a redelivered message's replies, a transport's stored answers and inbound messages, a resumed
group send's chunk. The bus here stands for RabbitMQ (the engine is then ``distributed``) and
records what is published.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.apps.helpers import (
    ask,
    channel,
    conversation,
    give_groups,
    make_contacts,
    make_group,
    outbound_to,
)
from vumigo.apps.actions import ActionRun, find_action
from vumigo.apps.bulk_message.sender import GroupSend, same_text
from vumigo.apps.registry import app_classes
from vumigo.bus import Bus, Consumer, Delivery, Handler
from vumigo.bus import queues as q
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.engine.core import Engine
from vumigo.message import Event, UserMessage, from_json
from vumigo.store import messages as store
from vumigo.transports.base import Transport
from vumigo.transports.handoff import Handoff


class Idle(Consumer):
    async def cancel(self) -> None:
        return None


class RecordingBus(Bus):
    """A broker's bus as far as the engine can tell; it keeps what is published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, queue: str, body: bytes) -> None:
        self.published.append((queue, body))

    async def consume(self, queue: str, handler: Handler, prefetch: int = 1) -> Consumer:
        return Idle()

    async def consume_batch(self, *_args: object, **_kwargs: object) -> Consumer:
        return Idle()

    async def depth(self, queue: str) -> int:
        return 0

    async def dead_letters(self, queue: str) -> list[Delivery]:
        return []

    async def replay_dead_letters(self, queue: str) -> int:
        return 0

    def ids(self, queue: str) -> list[str]:
        """The ids of what was published to ``queue``, in order."""
        found = []
        for name, body in self.published:
            if name == queue:
                item = from_json(body)
                found.append(item.event_id if isinstance(item, Event) else item.message_id)
        return found


class DyingBus(RecordingBus):
    """Its process dies as it publishes: what was committed before is never published."""

    async def publish_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        raise RuntimeError("killed")


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
def engine(settings: Settings, sqlite_db: Database, bus: RecordingBus) -> Engine:
    built = Engine(settings, sqlite_db, bus)
    assert built.distributed
    return built


async def test_a_redelivered_message_has_its_queued_reply_published_again(
    sqlite_db: Database, engine: Engine, bus: RecordingBus
) -> None:
    account, _ = await channel(sqlite_db, ["10001"])
    conv = await conversation(sqlite_db, account, "static_reply", {"reply_text": "hi"}, "10001")
    go = {"user_account": account, "conversation_type": "static_reply", "conversation_key": conv}
    inbound = UserMessage(
        to_addr="10001",
        from_addr="+27820000001",
        content="hello",
        transport_name="dev",
        transport_type="sms",
        helper_metadata={"go": go, "tag": {"tag": ["dev", "10001"]}},
    )
    stored_reply = inbound.reply("hi", continue_session=False)
    stored_reply.helper_metadata["go"] = dict(go)
    # What the worker that died had committed: the message handled, its reply queued.
    async with sqlite_db.transaction() as session:
        await store.add_message(session, inbound, store.INBOUND, "processed", account)
        await store.add_message(session, stored_reply, store.OUTBOUND, "queued", account)

    app = app_classes()["static_reply"](engine)
    await engine.apps.handle_messages(app, [inbound])

    assert bus.ids(q.DISPATCHER_OUTBOUND) == [stored_reply.message_id]
    assert [m.message_id for m in await outbound_to(sqlite_db, account)] == [
        stored_reply.message_id
    ]  # the redelivery made no second reply


async def test_a_starting_transport_publishes_again_what_it_stored(
    sqlite_db: Database, engine: Engine, bus: RecordingBus
) -> None:
    def on(transport: str) -> UserMessage:
        return UserMessage(
            to_addr="1", from_addr="2", content="x", transport_name=transport, transport_type="sms"
        )

    sent, received, elsewhere = on("t1"), on("t1"), on("t2")
    answered = Event.ack(sent.message_id, "smsc-1")
    handled = Event.delivery_report(sent.message_id, delivery_status="delivered")
    async with sqlite_db.transaction() as session:
        await store.add_message(session, sent, store.OUTBOUND, "sent", None)
        await store.add_message(session, received, store.INBOUND, "accepted", None)
        await store.add_message(session, elsewhere, store.INBOUND, "accepted", None)
        await store.add_event(session, answered)  # stored "new": never published
        await store.add_event(session, handled, state="dispatched")

    await Handoff(Transport(engine, "t1", {})).requeue_unanswered()

    assert bus.ids(q.DISPATCHER_EVENT) == [answered.event_id]
    assert bus.ids(q.DISPATCHER_INBOUND) == [received.message_id]


async def test_a_resumed_group_send_publishes_its_stored_chunk_again(
    sqlite_db: Database, settings: Settings, engine: Engine, bus: RecordingBus
) -> None:
    account, _ = await channel(sqlite_db, ["10001"])
    conv = await conversation(sqlite_db, account, "bulk_message", {}, "10001")
    group = await make_group(sqlite_db, account, "everyone")
    await make_contacts(sqlite_db, account, [{"msisdn": f"+2782{n:07d}"} for n in range(5)], group)
    await give_groups(sqlite_db, account, conv, [group])
    task = await ask(sqlite_db, conv, "bulk_send", {"message": "hi"})
    info = await engine.lookups.conversation(conv)
    assert info is not None

    def send_on(on: Engine) -> GroupSend:
        run = ActionRun(on, task, info, find_action("bulk_message", "bulk_send"), {})
        return GroupSend(run, "bulk_send", same_text("hi"), window=10)

    dying = Engine(settings, sqlite_db, DyingBus())
    with pytest.raises(RuntimeError, match="killed"):
        await send_on(dying).run()
    chunk = {m.message_id for m in await outbound_to(sqlite_db, account)}
    assert len(chunk) == 5  # stored, never published

    result = await send_on(engine).run()

    assert set(bus.ids(q.DISPATCHER_OUTBOUND)) == chunk
    assert len(bus.ids(q.DISPATCHER_OUTBOUND)) == 5
    assert {m.message_id for m in await outbound_to(sqlite_db, account)} == chunk
    assert result["queued"] == 5
