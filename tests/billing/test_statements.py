"""Monthly statements add up to the transactions; the operator report covers every account."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from tests.billing.conftest import inbound, new_account, outbound, receive, send, set_price
from vumigo.billing import credit, statements
from vumigo.billing.step import Billing
from vumigo.db.engine import Database
from vumigo.db.models import CreditTransaction
from vumigo.errors import InvalidInput

D = Decimal


def test_months() -> None:
    assert statements.parse_month("2024-05") == (2024, 5)
    for bad in ("2024", "2024-13", "May 2024", "0000-01"):
        with pytest.raises(InvalidInput):
            statements.parse_month(bad)
    start, end = statements.month_bounds(2024, 12)
    assert (start, end) == (datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert statements.months_between((2023, 11), (2024, 2)) == [
        (2024, 2),
        (2024, 1),
        (2023, 12),
        (2023, 11),
    ]


async def month_total(db: Database, account: str, year: int, month: int) -> Decimal:
    start, end = statements.month_bounds(year, month)
    async with db.sessions() as session:
        amounts = await session.scalars(
            select(CreditTransaction.credit_amount).where(
                CreditTransaction.account_key == account,
                CreditTransaction.kind == "message",
                CreditTransaction.created_at >= start,
                CreditTransaction.created_at < end,
            )
        )
        return -sum(amounts, D(0))


async def test_statement_adds_up_to_the_transactions(db: Database) -> None:
    a = await new_account(db, "Clinic")
    other = await new_account(db, "Other")
    await set_price(db, "outbound", "0.8", pool="sms", storage_cost="0.2", markup_percent="12.5")
    await set_price(
        db,
        "outbound",
        "1",
        pool="ussd",
        session_cost="5",
        session_unit_cost="2",
        session_unit_time="20",
        markup_percent="12.5",
    )
    await set_price(db, "inbound", "0.333", markup_percent="0.01")
    billing = Billing(db)
    async with db.transaction() as session:
        await credit.top_up(session, a, "1000", "opening credit")
        await credit.top_up(session, other, "10")

    await send(billing, db, *[outbound(a) for _ in range(3)], pool="sms")
    closing = outbound(a, session_event="close")
    closing.helper_metadata["session_metadata"] = {"session_start": 0, "session_end": 50}
    await send(billing, db, outbound(a, session_event="new"), closing, pool="ussd")
    await receive(billing, db, a, inbound(a), inbound(a))
    await send(billing, db, outbound(other), pool="sms")

    now = datetime.now(UTC)
    stmt = await _statement(db, a, now.year, now.month)
    lines = {(ln.channel, ln.description): (ln.units, ln.credits) for ln in stmt.lines}
    assert lines == {
        ("pool", "Messages received"): (D(2), D("6.660666")),
        ("sms", "Messages sent"): (D(3), D("27")),
        ("sms", "Message storage"): (D(3), D("6.75")),
        ("ussd", "Messages sent"): (D(2), D("22.5")),
        ("ussd", "Sessions started"): (D(1), D("56.25")),
        ("ussd", "Session length"): (D(50), D("67.5")),  # 3 units of 20 s at 2 cents
    }
    assert stmt.charged == await month_total(db, a, now.year, now.month) == D("186.660666")
    assert stmt.topups[0][1:] == (D(1000), "opening credit")
    assert stmt.opening_balance == 0
    async with db.sessions() as session:
        assert stmt.closing_balance == (await credit.credit_state(session, a)).balance
    assert stmt.closing_balance == D(1000) - stmt.charged

    rows = list(csv.reader(io.StringIO(statements.statement_csv(stmt))))
    assert rows[0] == ["month", "channel", "description", "units", "unit", "credits"]
    body = [r for r in rows[1:] if r[1]]
    assert sum(D(r[5]) for r in body) == stmt.charged
    assert ["Total charged", str(stmt.charged)] == [rows[len(body) + 1][2], rows[len(body) + 1][5]]


async def _statement(db: Database, account: str, year: int, month: int) -> statements.Statement:
    async with db.sessions() as session:
        return await statements.statement(session, account, year, month)


async def test_months_chain_their_balances(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    await set_price(sqlite_db, "outbound", "1")
    billing = Billing(sqlite_db)
    async with sqlite_db.transaction() as session:
        await credit.top_up(session, a, "100")
    await send(billing, sqlite_db, outbound(a), outbound(a))
    # Move the first top-up and one message into last month.
    now = datetime.now(UTC)
    last = (now.replace(day=1) - timedelta(days=1)).replace(hour=12)
    async with sqlite_db.transaction() as session:
        first_message = await session.scalar(
            select(func.min(CreditTransaction.id)).where(CreditTransaction.kind == "message")
        )
        await session.execute(
            update(CreditTransaction)
            .where((CreditTransaction.kind == "topup") | (CreditTransaction.id == first_message))
            .values(created_at=last)
        )
    async with sqlite_db.transaction() as session:
        await credit.top_up(session, a, "50")
        assert await statements.first_month(session, a) == (last.year, last.month)
    before = await _statement(sqlite_db, a, last.year, last.month)
    this = await _statement(sqlite_db, a, now.year, now.month)
    assert (before.opening_balance, before.charged, before.closing_balance) == (0, 10, 90)
    assert (this.opening_balance, this.charged, this.topped_up) == (90, 10, 50)
    assert this.closing_balance == 130


async def test_operator_report_covers_every_account(db: Database) -> None:
    a = await new_account(db, "Alpha")
    b = await new_account(db, "Beta")
    await new_account(db, "Idle")  # no credit, no activity: not listed
    await set_price(db, "outbound", "1")
    await set_price(db, "inbound", "0.5")
    billing = Billing(db)
    async with db.transaction() as session:
        await credit.top_up(session, a, "100")
    await send(billing, db, outbound(a, session_event="new"), outbound(a))
    await receive(billing, db, a, inbound(a))
    await send(billing, db, outbound(b))
    now = datetime.now(UTC)
    async with db.sessions() as session:
        report = await statements.operator_report(session, now.year, now.month)
    got = [
        (r.account_name, r.inbound, r.outbound, r.sessions, r.charged, r.topped_up, r.balance)
        for r in report
    ]
    assert got == [
        ("Alpha", 1, 2, 1, D(25), D(100), D(75)),
        ("Beta", 0, 1, 0, D(10), D(0), D(-10)),
    ]
    text = statements.report_csv(now.year, now.month, report)
    assert text.splitlines()[1].endswith(",Alpha,1,2,1,25.000000,100.000000,75.000000,100.000000")
