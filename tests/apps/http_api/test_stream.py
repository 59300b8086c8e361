"""The streaming backlog and hub on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from tests.support.factories import make_account
from tests.support.http_api import make_http_api_conversation
from vumigo.apps.http_api import stream
from vumigo.apps.http_api.stream import StreamHub
from vumigo.db.engine import Database


async def conversation(db: Database) -> str:
    account, _ = await make_account(db)
    conv, _ = await make_http_api_conversation(db, account, "http_api")
    return conv


async def put(
    db: Database, conv: str, bodies: list[str], kind: str = "message", keep: int = 100
) -> None:
    for body in bodies:
        async with db.transaction() as session:
            await stream.enqueue(session, conv, kind, body, keep)


async def test_backlog_keeps_the_newest_and_streams_are_separate(db: Database) -> None:
    conv = await conversation(db)
    await put(db, conv, [f"m{i}" for i in range(6)], keep=3)
    await put(db, conv, ["e0"], kind="event", keep=3)
    taken = await stream.take(db, conv, "message", limit=10)
    assert [body for _, body in taken] == ["m3", "m4", "m5"]
    assert await stream.take(db, conv, "message") == []
    assert [body for _, body in await stream.take(db, conv, "event")] == ["e0"]


async def test_each_item_is_taken_once(db: Database) -> None:
    conv = await conversation(db)
    await put(db, conv, [f"m{i}" for i in range(30)])
    other = Database(db.url)
    try:
        batches = await asyncio.gather(
            *(stream.take(d, conv, "message", limit=7) for d in (db, other, db, other, db))
        )
    finally:
        await other.dispose()
    bodies = [body for batch in batches for _, body in batch]
    assert len(bodies) == len(set(bodies))
    rest = await stream.take(db, conv, "message", limit=100)
    assert sorted(bodies + [b for _, b in rest]) == sorted(f"m{i}" for i in range(30))


async def test_restored_items_go_back_in_their_places(db: Database) -> None:
    conv = await conversation(db)
    await put(db, conv, ["a", "b", "c"])
    taken = await stream.take(db, conv, "message", limit=2)
    await put(db, conv, ["d"])
    await stream.restore(db, conv, "message", taken)
    assert [body for _, body in await stream.take(db, conv, "message")] == ["a", "b", "c", "d"]


async def test_hub_wakes_a_waiting_client(sqlite_db: Database) -> None:
    conv = await conversation(sqlite_db)
    hub = StreamHub(sqlite_db, poll_interval=30)  # only a notify can wake it in time
    async with hub.subscribe(conv, "message") as sub:
        assert hub.clients(conv) == 1
        waiting = asyncio.create_task(sub.next_batch())
        await asyncio.sleep(0.1)
        await put(sqlite_db, conv, ["hello"])
        hub.notify(conv, "message")
        batch = await asyncio.wait_for(waiting, 5)
    assert [body for _, body in batch] == ["hello"]
    assert hub.clients() == 0
    hub.notify(conv, "message")  # nobody listening: nothing happens
