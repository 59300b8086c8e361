"""Leases: one holder at a time, and a takeover when the holder's connection dies."""

from __future__ import annotations

import asyncio

from vumigo.db.engine import Database
from vumigo.leases import Lease, Membership, lock_key, run_while_held


def test_lock_keys_are_stable_signed_64_bit() -> None:
    assert lock_key("smpp:pool") == lock_key("smpp:pool")
    assert lock_key("smpp:pool") != lock_key("smpp:other")
    assert all(-(2**63) <= lock_key(n) < 2**63 for n in ("a", "scheduler", "x" * 300))


async def test_one_holder_at_a_time_and_release(db_url: str) -> None:
    first_db, second_db = Database(db_url), Database(db_url)
    try:
        first, second = Lease(first_db, "job"), Lease(second_db, "job")
        other = Lease(second_db, "another-job")
        assert await first.acquire()
        assert not await second.acquire()
        assert await other.acquire()
        await first.release()
        assert await second.acquire()
        await second.release()
        await other.release()
    finally:
        await first_db.dispose()
        await second_db.dispose()


async def test_work_moves_to_a_waiting_process_when_the_holder_dies(db_url: str) -> None:
    first_db, second_db = Database(db_url), Database(db_url)
    ran: list[str] = []

    def worker(name: str) -> object:
        async def work() -> None:
            ran.append(name)
            await asyncio.sleep(3600)

        return work

    first = asyncio.create_task(
        run_while_held(first_db, "singleton", worker("first"), 0.05, 0.05)  # type: ignore[arg-type]
    )
    await asyncio.sleep(0.3)
    second = asyncio.create_task(
        run_while_held(second_db, "singleton", worker("second"), 0.05, 0.05)  # type: ignore[arg-type]
    )
    await asyncio.sleep(0.3)
    assert ran == ["first"]
    first.cancel()  # like a crash: the holder goes away
    await asyncio.gather(first, return_exceptions=True)
    for _ in range(100):
        if ran == ["first", "second"]:
            break
        await asyncio.sleep(0.05)
    assert ran == ["first", "second"]
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    await first_db.dispose()
    await second_db.dispose()


async def test_members_are_counted_while_their_connections_live(db_url: str) -> None:
    first_db, second_db = Database(db_url), Database(db_url)
    first, second = Membership(first_db, "group"), Membership(second_db, "group")
    try:
        assert await first.join()
        assert await first.join()  # joining again keeps the same place
        if first_db.dialect != "postgresql":
            assert await first.count() == 1  # one process: one member
            return
        assert await first.count() == 1
        assert await second.join()
        assert first.lease is not None and second.lease is not None
        assert first.lease.name != second.lease.name
        assert await first.count() == await second.count() == 2
        assert await Membership(first_db, "another-group").count() == 1  # only the caller
        await second.leave()
        assert await first.count() == 1
    finally:
        await first.leave()
        await second.leave()
        await first_db.dispose()
        await second_db.dispose()
