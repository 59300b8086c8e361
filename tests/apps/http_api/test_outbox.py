"""The push outbox on SQLite and PostgreSQL: claims, outcomes, leases, the per-account cap."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from tests.support.factories import make_account
from tests.support.http_api import make_http_api_conversation
from vumigo.apps.http_api import outbox
from vumigo.apps.http_api.outbox import Outcome
from vumigo.db.engine import Database
from vumigo.db.models import PushDelivery


async def add(db: Database, count: int = 1, max_pending: int = 100) -> tuple[str, str]:
    account, _ = await make_account(db)
    conv, _ = await make_http_api_conversation(db, account)
    async with db.transaction() as session:
        for i in range(count):
            await outbox.enqueue(
                session,
                account_key=account,
                conversation_key=conv,
                kind="message",
                item_id=f"m{i}",
                url="http://example.org/hook",
                body=f'{{"n": {i}}}',
                max_pending=max_pending,
            )
    return account, conv


async def rows(db: Database) -> list[PushDelivery]:
    async with db.sessions() as session:
        return list(
            (await session.execute(select(PushDelivery).order_by(PushDelivery.id))).scalars()
        )


async def test_claim_is_exclusive_until_the_lease_runs_out(db: Database) -> None:
    await add(db, 3)
    claims = await outbox.claim_due(db, limit=10, lease=60)
    assert [c.body for c in claims] == ['{"n": 0}', '{"n": 1}', '{"n": 2}']
    assert {c.attempts for c in claims} == {1}
    assert await outbox.claim_due(db, limit=10, lease=60) == []


async def test_two_workers_never_claim_the_same_delivery(db: Database) -> None:
    await add(db, 20)
    other = Database(db.url)
    try:
        first, second = await asyncio.gather(
            outbox.claim_due(db, limit=20, lease=60), outbox.claim_due(other, limit=20, lease=60)
        )
    finally:
        await other.dispose()
    ids = [c.id for c in first + second]
    assert len(ids) == len(set(ids)) == 20


async def test_outcomes(db: Database) -> None:
    await add(db, 3)
    delivered, given_up, retried = await outbox.claim_due(db, limit=3, lease=60)
    assert await outbox.record(db, delivered, Outcome("delivered", 200), [10])
    assert await outbox.record(db, given_up, Outcome("give_up", 404, "HTTP 404"), [10])
    assert await outbox.record(db, retried, Outcome("retry", 503, "HTTP 503"), [10])
    found = {r.id: r for r in await rows(db)}
    assert found[delivered.id].status == "delivered" and found[delivered.id].next_attempt_at is None
    assert (found[given_up.id].status, found[given_up.id].last_error) == ("given_up", "HTTP 404")
    again = found[retried.id]
    assert (again.status, again.attempts, again.last_status_code) == ("pending", 1, 503)
    assert again.next_attempt_at is not None and again.claimed_by is None
    assert await outbox.claim_due(db, limit=3, lease=60) == []  # not due for 10 s


async def test_retries_run_out_into_failed(db: Database) -> None:
    await add(db)
    intervals = [0.0, 0.0]
    for attempt in (1, 2, 3):
        (claim,) = await outbox.claim_due(db, limit=1, lease=60)
        assert claim.attempts == attempt
        await outbox.record(db, claim, Outcome("retry", error="connection error"), intervals)
    (row,) = await rows(db)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    assert await outbox.claim_due(db, limit=1, lease=60) == []


async def test_a_dead_workers_claim_comes_due_and_its_late_outcome_is_ignored(
    db: Database,
) -> None:
    await add(db)
    (stale,) = await outbox.claim_due(db, limit=1, lease=0)  # its worker "dies"
    (fresh,) = await outbox.claim_due(db, limit=1, lease=60)
    assert (fresh.id, fresh.attempts) == (stale.id, 2)
    assert not await outbox.record(db, stale, Outcome("give_up", 400), [])
    assert await outbox.record(db, fresh, Outcome("delivered", 200), [])
    assert (await rows(db))[0].status == "delivered"


async def test_release_hands_back_unfinished_claims(db: Database) -> None:
    await add(db)
    claims = await outbox.claim_due(db, limit=1, lease=60)
    await outbox.release(db, claims)
    (again,) = await outbox.claim_due(db, limit=1, lease=60)
    assert again.attempts == 1  # the interrupted attempt does not count


async def test_per_account_cap_and_duplicates(db: Database) -> None:
    account, conv = await add(db, 2, max_pending=2)
    async with db.transaction() as session:
        for item_id in ("m1", "m9"):  # a repeat of m1, and one over the cap
            await outbox.enqueue(
                session,
                account_key=account,
                conversation_key=conv,
                kind="message",
                item_id=item_id,
                url="http://example.org/hook",
                body="{}",
                max_pending=2,
            )
    found = await rows(db)
    assert [(r.item_id, r.status) for r in found] == [
        ("m0", "pending"),
        ("m1", "pending"),
        ("m9", "given_up"),
    ]
    assert "too many pending deliveries" in (found[2].last_error or "")


async def test_prune_keeps_pending_and_recent(db: Database) -> None:
    await add(db, 2)
    (claim, _) = await outbox.claim_due(db, limit=2, lease=60)
    await outbox.record(db, claim, Outcome("delivered", 200), [])
    assert await outbox.prune(db, keep_days=1) == 0
    assert await outbox.prune(db, keep_days=-1) == 1  # everything finished is "old"
    assert [r.status for r in await rows(db)] == ["pending"]
