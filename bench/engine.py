"""Engine throughput: inbound → static_reply → outbound → ack, with storage, vs the bare bus.

Workload: N messages (default 2,000) from 100 senders to one developer-phone tag routed to a
running static_reply conversation, fed CONCURRENCY at a time through the transport entry point.
A message counts as done when the ack of its reply has been stored and counted.

Baseline, in the same run: the same four hops (inbound, app, outbound, event) on the in-process
bus with the same JSON encoding and no storage at all. The ratio says what persistence costs.

    .venv/bin/python bench/engine.py [--n 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from vumigo.bus import Delivery
from vumigo.bus.memory import MemoryBus
from vumigo.config import Settings
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade
from vumigo.db.models import Account, Conversation, RoutingEntry, Tag, TagPool
from vumigo.engine.core import Engine
from vumigo.message import Event, UserMessage, from_json
from vumigo.store.batches import find_batch
from vumigo.store.counters import counters


async def seed(db: Database) -> tuple[str, str]:
    async with db.transaction() as session:
        account = Account(name="bench")
        session.add(account)
        session.add(TagPool(name="dev", meta={"transport_type": "dev", "transport_name": "dev"}))
        await session.flush()
        session.add(Tag(pool="dev", tag="10001", owner=account.key, acquired_at=utcnow()))
        conv = Conversation(
            account_key=account.key,
            conversation_type="static_reply",
            name="bench",
            config={"reply_text": "thanks"},
            status="running",
        )
        session.add(conv)
        await session.flush()
        tag, conn = "TRANSPORT_TAG:dev:10001", f"CONVERSATION:static_reply:{conv.key}"
        for source, target in ((tag, conn), (conn, tag)):
            session.add(
                RoutingEntry(
                    account_key=account.key,
                    source_connector=source,
                    source_endpoint="default",
                    target_connector=target,
                    target_endpoint="default",
                )
            )
        return account.key, conv.key


def message(n: int) -> UserMessage:
    return UserMessage(
        to_addr="10001",
        from_addr=f"+2782{n % 100:07d}",
        content=f"hello {n}",
        transport_name="dev",
        transport_type="sms",
        helper_metadata={"tag": {"tag": ["dev", "10001"]}},
    )


async def feed(send: object, n: int, concurrency: int) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await send(message(i))  # type: ignore[operator]

    await asyncio.gather(*(one(i) for i in range(n)))


async def run_engine(n: int, concurrency: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        db = Database(settings.resolved_database_url)
        await upgrade(db)
        account, conv = await seed(db)
        engine = Engine(settings, db)
        await engine.start()
        start = time.perf_counter()
        await feed(engine.accept_inbound, n, concurrency)
        while True:
            async with db.sessions() as session:
                batch = await find_batch(session, "conversation", conv, account)
                acks = (await counters(session, batch)).get("ack", 0) if batch else 0
            if acks >= n:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - start
        await engine.stop()
        await db.dispose()
        return n / elapsed


async def run_bare_bus(n: int, concurrency: int) -> float:
    bus = MemoryBus()
    done = asyncio.Event()
    count = 0

    async def app(delivery: Delivery) -> None:
        msg = from_json(delivery.body)
        assert isinstance(msg, UserMessage)
        await bus.publish("outbound", msg.reply("thanks", False).to_json().encode())

    async def transport(delivery: Delivery) -> None:
        msg = from_json(delivery.body)
        assert isinstance(msg, UserMessage)
        await bus.publish("event", Event.ack(msg.message_id, msg.message_id).to_json().encode())

    async def events(delivery: Delivery) -> None:
        nonlocal count
        from_json(delivery.body)
        count += 1
        if count >= n:
            done.set()

    async def dispatch(delivery: Delivery) -> None:
        msg = from_json(delivery.body)
        await bus.publish("app", msg.to_json().encode())

    await bus.consume("inbound", dispatch, 32)
    await bus.consume("app", app, 16)
    await bus.consume("outbound", transport, 16)
    await bus.consume("event", events, 32)

    async def send(msg: UserMessage) -> None:
        await bus.publish("inbound", msg.to_json().encode())

    start = time.perf_counter()
    await feed(send, n, concurrency)
    await done.wait()
    elapsed = time.perf_counter() - start
    await bus.stop()
    return n / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    bare = await run_bare_bus(args.n, args.concurrency)
    stored = await run_engine(args.n, args.concurrency)
    print(f"engine round trip, {args.n} messages, concurrency {args.concurrency}")
    print(f"{'flow':<44} {'msg/s':>10}")
    print(f"{'bare in-process bus, no storage (baseline)':<44} {bare:>10.0f}")
    print(f"{'engine with storage on SQLite':<44} {stored:>10.0f}")
    print(f"ratio engine/bare: {stored / bare:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
