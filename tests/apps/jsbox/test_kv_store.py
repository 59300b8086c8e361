"""The database key-value store behind the ``kv`` resource, on SQLite and PostgreSQL: the same
contract as the in-memory store, expiry, and a quota that holds under concurrent writers."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from tests.apps.jsbox.resource_helpers import dispatcher, fails, ok, run_for, two_accounts
from vumigo.apps.jsbox.kv import DbKeyValueStore
from vumigo.db.engine import Database
from vumigo.db.models.sandbox import MAX_KV_KEY_LENGTH
from vumigo.sandbox.resources.kv import NOT_AN_INTEGER, KeyQuotaExceeded, KeyValueResource


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kv(db: Database, clock: Clock) -> DbKeyValueStore:
    return DbKeyValueStore(db, clock)


@pytest.fixture
async def accounts(db: Database) -> tuple[str, str]:
    return await two_accounts(db)


async def test_set_get_delete(kv: DbKeyValueStore, accounts: tuple[str, str]) -> None:
    a, b = accounts
    assert await kv.get(a, "k") is None
    await kv.set(a, "k", '{"x": [1, "\\u00fc"]}', None, 10)
    assert json.loads(await kv.get(a, "k") or "") == {"x": [1, "ü"]}
    assert await kv.get(b, "k") is None  # per account
    await kv.set(a, "k", "2", None, 10)  # overwrite
    assert await kv.get(a, "k") == "2"
    assert await kv.delete(a, "k") is True
    assert await kv.delete(a, "k") is False
    assert await kv.get(a, "k") is None


async def test_expiry(kv: DbKeyValueStore, clock: Clock, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    await kv.set(a, "t", '"v"', 10, 10)
    clock.advance(9)
    assert await kv.get(a, "t") == '"v"'
    assert await kv.count(a) == 1
    clock.advance(2)
    assert await kv.get(a, "t") is None
    assert await kv.count(a) == 0
    assert await kv.delete(a, "t") is False  # an expired key did not exist
    # Setting it again makes a fresh key; without seconds it lives for ever.
    await kv.set(a, "t", '"w"', None, 10)
    clock.advance(10**6)
    assert await kv.get(a, "t") == '"w"'


async def test_incr(kv: DbKeyValueStore, clock: Clock, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    assert await kv.incr(a, "n", 1, 10) == 1
    assert await kv.incr(a, "n", 5, 10) == 6
    assert await kv.incr(a, "n", -10, 10) == -4
    assert await kv.get(a, "n") == "-4"
    # Incrementing keeps the key's expiry.
    await kv.set(a, "e", "1", 5, 10)
    assert await kv.incr(a, "e", 1, 10) == 2
    clock.advance(6)
    assert await kv.get(a, "e") is None
    assert await kv.incr(a, "e", 1, 10) == 1
    await kv.set(a, "s", '"text"', None, 10)
    with pytest.raises(ValueError, match=NOT_AN_INTEGER):
        await kv.incr(a, "s", 1, 10)
    await kv.set(a, "b", "true", None, 10)
    with pytest.raises(ValueError, match=NOT_AN_INTEGER):
        await kv.incr(a, "b", 1, 10)


async def test_quota(kv: DbKeyValueStore, clock: Clock, accounts: tuple[str, str]) -> None:
    a, b = accounts
    for i in range(3):
        await kv.set(a, f"k{i}", "1", None, 3)
    with pytest.raises(KeyQuotaExceeded):
        await kv.set(a, "k3", "1", None, 3)
    with pytest.raises(KeyQuotaExceeded):
        await kv.incr(a, "k3", 1, 3)
    assert await kv.get(a, "k3") is None
    await kv.set(a, "k0", "2", None, 3)  # overwriting needs no room
    assert await kv.incr(a, "k1", 1, 3) == 2
    await kv.set(b, "k3", "1", None, 3)  # quotas are per account
    # Expired keys do not count, and are gone once a key is made.
    await kv.delete(a, "k2")
    await kv.set(a, "short", "1", 1, 3)
    clock.advance(2)
    await kv.set(a, "k2", "1", None, 3)
    assert await kv.count(a) == 3


async def test_keys_the_table_cannot_hold(kv: DbKeyValueStore, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    long = "k" * (MAX_KV_KEY_LENGTH + 1)
    with pytest.raises(ValueError, match="too long"):
        await kv.set(a, long, "1", None, 10)
    with pytest.raises(ValueError, match="NUL"):
        await kv.incr(a, "a\x00b", 1, 10)
    assert await kv.get(a, long) is None
    assert await kv.delete(a, "a\x00b") is False
    await kv.set(a, "k" * MAX_KV_KEY_LENGTH, "1", None, 10)


async def test_concurrent_writers_never_pass_the_quota(
    db: Database, accounts: tuple[str, str]
) -> None:
    a, _ = accounts
    # Separate stores and, on PostgreSQL, separate connections: real concurrent transactions.
    stores = [DbKeyValueStore(db) for _ in range(8)]

    async def make(i: int) -> bool:
        try:
            await stores[i % len(stores)].set(a, f"key-{i}", "1", None, 10)
        except KeyQuotaExceeded:
            return False
        return True

    made = await asyncio.gather(*(make(i) for i in range(40)))
    assert sum(made) == 10
    assert await stores[0].count(a) == 10


async def test_concurrent_increments_all_count(db: Database, accounts: tuple[str, str]) -> None:
    a, _ = accounts
    kv = DbKeyValueStore(db)
    await asyncio.gather(*(kv.incr(a, "hits", 1, 100) for _ in range(30)))
    assert await kv.get(a, "hits") == "30"


async def test_through_the_kv_resource(
    db: Database, accounts: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = accounts
    handler = dispatcher(KeyValueResource(DbKeyValueStore(db), max_keys=5))
    run = run_for(a, "conv")
    value = {"answers": {"q1": "yes"}, "n": 1.5, "ok": True, "none": None}
    assert await ok(handler, "kv.set", run, key="users.app.+27", value=value, seconds=None) == {}
    assert await ok(handler, "kv.get", run, key="users.app.+27") == {"value": value}
    assert await ok(handler, "kv.incr", run, key="c", amount=2) == {"value": 2}
    for i in range(3):
        await ok(handler, "kv.set", run, key=f"x{i}", value=i)
    # Past 80% of the quota the conversation log gets one warning.
    assert any("soft limit of 4 keys" in line.message for line in run.logs)
    assert await fails(handler, "kv.set", run, key="one-too-many", value=1) == "Too many keys"
    assert [line.level for line in run.logs if line.message.startswith("Key-value hard")] == [
        logging.ERROR
    ]
    assert await ok(handler, "kv.delete", run, key="c") == {"existed": True}
    assert await fails(handler, "kv.incr", run, key="users.app.+27") == NOT_AN_INTEGER
    with caplog.at_level(logging.CRITICAL):
        reason = await fails(handler, "kv.set", run, key="k" * 600, value=1)
    assert "too long" in reason
