"""Top-ups and charges: atomic balance updates, no double charge, no lost update."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.billing.conftest import new_account, outbound, send, set_price
from vumigo.billing import credit
from vumigo.billing.step import Billing
from vumigo.db.engine import Database
from vumigo.db.models import CreditTransaction
from vumigo.errors import InvalidInput, NotFound
from vumigo.message import UserMessage, from_json

D = Decimal


async def balance(db: Database, account: str) -> credit.CreditState:
    async with db.sessions() as session:
        return await credit.credit_state(session, account)


async def test_top_up_adds_credit_and_sets_the_reference(db: Database) -> None:
    a = await new_account(db)
    async with db.transaction() as session:
        await credit.top_up(session, a, "1000", "first")
        await credit.change_balance(session, a, D("-400.5"))
        after = await credit.top_up(session, a, D("250.25"))
    assert after.balance == D("849.75")
    # The thresholds are percentages of the balance just after the last top-up.
    assert after.last_topup_balance == D("849.75")
    async with db.sessions() as session:
        rows = (await session.execute(select(CreditTransaction))).scalars().all()
    assert sorted((r.kind, r.credit_amount, r.note) for r in rows) == [
        ("topup", D("250.25"), ""),
        ("topup", D("1000"), "first"),
    ]


@pytest.mark.parametrize("amount", ["0", "-5", "1.0000001", "lots"])
async def test_top_up_refuses_bad_amounts(sqlite_db: Database, amount: str) -> None:
    a = await new_account(sqlite_db)
    async with sqlite_db.transaction() as session:
        with pytest.raises(InvalidInput):
            await credit.top_up(session, a, amount)


async def test_top_up_needs_an_account(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        with pytest.raises(NotFound):
            await credit.top_up(session, "nobody", "5")


async def test_an_account_never_topped_up_goes_negative(db: Database) -> None:
    a = await new_account(db)
    await set_price(db, "outbound", "1")
    await send(Billing(db), db, outbound(a))
    state = await balance(db, a)
    assert (state.balance, state.last_topup_balance) == (D(-10), D(0))


async def test_concurrent_sends_leave_the_balance_exactly_right(db: Database) -> None:
    """200 messages billed by concurrent units of work, each delivered twice, by two billing
    instances (as two dispatcher processes would), while top-ups land in between."""
    a = await new_account(db)
    await set_price(db, "outbound", "1.234", markup_percent="10")  # 13.574 credits
    async with db.transaction() as session:
        await credit.top_up(session, a, "100000")
    billers = [Billing(db), Billing(db)]
    originals = [outbound(a) for _ in range(200)]
    # Each message twice: the second copy is a redelivery, a fresh decode of the same JSON.
    copies = [from_json(m.to_json()) for m in originals for _ in range(2)]

    async def deliver(i: int) -> None:
        msg = copies[i]
        assert isinstance(msg, UserMessage)
        await send(billers[i % 2], db, msg)

    async def top_up() -> None:
        async with db.transaction() as session:
            await credit.top_up(session, a, "100")

    work = [deliver(i) for i in range(400)] + [top_up() for _ in range(10)]
    await asyncio.gather(*work)

    state = await balance(db, a)
    assert state.balance == D("100000") + D("1000") - 200 * D("13.574")
    async with db.sessions() as session:
        charged = await session.scalar(
            select(func.count()).where(CreditTransaction.kind == "message")
        )
        amounts = (await session.execute(select(CreditTransaction.credit_amount))).scalars().all()
    assert charged == 200
    # The balance is the sum of the transactions: nothing was lost or counted twice.
    assert sum(amounts, D(0)) == state.balance
