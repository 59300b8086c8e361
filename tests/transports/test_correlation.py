"""The database correlation store: ids visible at once, durable after flush, scoped, pruned."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import SmscCorrelation
from vumigo.transports.correlation import DbCorrelationStore


async def rows(db: Database) -> set[tuple[str, str, str, str]]:
    async with db.sessions() as session:
        found = (await session.execute(select(SmscCorrelation))).scalars().all()
    return {(r.transport, r.link, r.smsc_id, r.message_id) for r in found}


async def test_put_is_visible_at_once_and_durable_after_flush(db: Database) -> None:
    store = DbCorrelationStore(db, "smpp1", "vumi@smsc:2775")
    await store.put("1000", "msg-a")
    assert await store.get("1000") == "msg-a"
    await store.flush()
    assert await rows(db) == {("smpp1", "vumi@smsc:2775", "1000", "msg-a")}
    # A new store (a restart) finds it in the database.
    again = DbCorrelationStore(db, "smpp1", "vumi@smsc:2775")
    assert await again.get("1000") == "msg-a"
    assert await again.get("1001") is None


async def test_ids_are_scoped_by_transport_and_link(db: Database) -> None:
    one = DbCorrelationStore(db, "smpp1", "a@one:2775")
    two = DbCorrelationStore(db, "smpp1", "a@two:2775")
    await one.put("1", "from-one")
    await two.put("1", "from-two")
    await one.close()
    await two.close()
    assert await DbCorrelationStore(db, "smpp1", "a@one:2775").get("1") == "from-one"
    assert await DbCorrelationStore(db, "smpp1", "a@two:2775").get("1") == "from-two"
    assert await DbCorrelationStore(db, "smpp2", "a@one:2775").get("1") is None


async def test_a_reused_id_belongs_to_the_newest_message(db: Database) -> None:
    store = DbCorrelationStore(db, "t", "l")
    await store.put("7", "old")
    await store.flush()
    await store.put("7", "new")
    await store.flush()
    assert await DbCorrelationStore(db, "t", "l").get("7") == "new"


async def test_many_puts_are_written_in_batches(db: Database) -> None:
    store = DbCorrelationStore(db, "t", "l", recent=10)
    for n in range(1200):
        await store.put(str(n), f"m{n}")
    await store.close()
    assert len(await rows(db)) == 1200
    assert await store.get("5") == "m5"  # long gone from memory, read back from the database


async def test_prune_forgets_old_ids(db: Database) -> None:
    store = DbCorrelationStore(db, "t", "l")
    await store.put("old", "m1")
    await store.put("new", "m2")
    await store.flush()
    async with db.transaction() as session:
        await session.execute(
            update(SmscCorrelation)
            .where(SmscCorrelation.smsc_id == "old")
            .values(created_at=utcnow() - timedelta(days=10))
        )
    assert await store.prune(timedelta(days=7)) == 1
    assert {r[2] for r in await rows(db)} == {"new"}
