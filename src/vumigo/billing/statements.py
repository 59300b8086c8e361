"""Monthly statements per account, and the operator's report across accounts.

Both are read straight from the credit transactions, so they always agree with the balance: a
statement's lines add up to what the month's message transactions took, and its opening and
closing balances are the current balance less the transactions after each date. Line items
follow the original's: messages, sessions, session length and storage, per channel (tag pool).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from vumigo.billing.credit import MESSAGE, TOPUP, credit_state
from vumigo.db.models import Account, CreditAccount, CreditTransaction
from vumigo.db.models.billing import Credits
from vumigo.errors import InvalidInput, NotFound

T = CreditTransaction
ZERO = Decimal(0)


def parse_month(text: str) -> tuple[int, int]:
    """Reads "2024-05" as (2024, 5)."""
    try:
        year, month = (int(part) for part in text.split("-"))
    except ValueError:
        raise InvalidInput(f"a month is written YYYY-MM, not {text!r}") from None
    if not (1 <= month <= 12 and 1970 <= year <= 9999):
        raise InvalidInput(f"a month is written YYYY-MM, not {text!r}")
    return year, month


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


@dataclass(frozen=True, slots=True)
class Line:
    channel: str  # the tag pool, or "" when the message had none
    description: str
    units: Decimal  # messages, sessions or seconds, as ``unit`` says
    unit: str
    credits: Decimal


@dataclass(slots=True)
class Statement:
    account_key: str
    account_name: str
    year: int
    month: int
    lines: list[Line] = field(default_factory=list)
    topups: list[tuple[datetime, Decimal, str]] = field(default_factory=list)
    opening_balance: Decimal = ZERO
    closing_balance: Decimal = ZERO

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def charged(self) -> Decimal:
        return sum((line.credits for line in self.lines), ZERO)

    @property
    def topped_up(self) -> Decimal:
        return sum((amount for _, amount, _ in self.topups), ZERO)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return type_coerce(func.coalesce(func.sum(case((condition, 1), else_=0)), 0), Integer())


def _sum(value: Any) -> ColumnElement[Decimal]:
    """A sum of a credits or cents column (raw integers in SQL), read back as a Decimal."""
    return type_coerce(func.coalesce(func.sum(value), 0), value.type)


def _sum_credits(value: Any) -> ColumnElement[Decimal]:
    return type_coerce(func.coalesce(func.sum(value), 0), Credits())


def _lines(
    pool: str | None,
    direction: str | None,
    count: int,
    msg: Decimal,
    storage: Decimal,
    sessions: int,
    session_cr: Decimal,
    seconds: Decimal,
    length_cr: Decimal,
    total: Decimal,
) -> list[Line]:
    channel = pool or ""
    n = Decimal(count)
    verb = "sent" if direction == "outbound" else "received"
    parts = [Line(channel, f"Messages {verb}", n, "messages", msg)]
    if storage:
        parts.append(Line(channel, "Message storage", n, "messages", storage))
    if sessions or session_cr:
        parts.append(Line(channel, "Sessions started", Decimal(sessions), "sessions", session_cr))
    if seconds or length_cr:
        parts.append(Line(channel, "Session length", seconds, "seconds", length_cr))
    # Each component is converted to credits on its own; should a price ever have had more
    # places than the formula keeps exact, say so rather than let the total disagree.
    difference = -total - sum((p.credits for p in parts), ZERO)
    if difference:
        parts.append(Line(channel, "Rounding", ZERO, "", difference))
    return parts


async def statement(session: AsyncSession, account_key: str, year: int, month: int) -> Statement:
    account = await session.get(Account, account_key)
    if account is None:
        raise NotFound(f"no account {account_key}")
    start, end = month_bounds(year, month)
    result = Statement(account_key, account.name or account_key, year, month)
    in_month = and_(T.account_key == account_key, T.created_at >= start, T.created_at < end)
    grouped = await session.execute(
        select(
            T.pool,
            T.direction,
            func.count(),
            _sum(T.message_credits),
            _sum(T.storage_credits),
            _count(T.session_created.is_(True)),
            _sum(T.session_credits),
            _sum(T.session_length),
            _sum(T.session_length_credits),
            _sum(T.credit_amount),
        )
        .where(in_month, T.kind == MESSAGE)
        .group_by(T.pool, T.direction)
        .order_by(T.pool, T.direction)
    )
    for pool, direction, count, *sums in grouped.all():
        msg, storage, sessions, session_cr, seconds, length_cr, total = sums
        result.lines.extend(
            _lines(
                pool,
                direction,
                count,
                msg,
                storage,
                sessions,
                session_cr,
                seconds,
                length_cr,
                total,
            )
        )
    topups = await session.execute(
        select(T.created_at, T.credit_amount, T.note)
        .where(in_month, T.kind == TOPUP)
        .order_by(T.created_at, T.id)
    )
    result.topups = [(when, amount, note) for when, amount, note in topups.all()]
    since_end = await session.scalar(
        select(_sum(T.credit_amount)).where(T.account_key == account_key, T.created_at >= end)
    )
    net = await session.scalar(select(_sum(T.credit_amount)).where(in_month))
    now = (await credit_state(session, account_key)).balance
    result.closing_balance = now - (since_end or ZERO)
    result.opening_balance = result.closing_balance - (net or ZERO)
    return result


def statement_csv(stmt: Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", "channel", "description", "units", "unit", "credits"])
    for line in stmt.lines:
        writer.writerow(
            [stmt.label, line.channel, line.description, line.units, line.unit, line.credits]
        )
    writer.writerow([stmt.label, "", "Total charged", "", "", stmt.charged])
    for when, amount, note in stmt.topups:
        writer.writerow([stmt.label, "", f"Top-up {when:%Y-%m-%d} {note}".strip(), "", "", amount])
    writer.writerow([stmt.label, "", "Opening balance", "", "", stmt.opening_balance])
    writer.writerow([stmt.label, "", "Closing balance", "", "", stmt.closing_balance])
    return out.getvalue()


async def first_month(session: AsyncSession, account_key: str) -> tuple[int, int] | None:
    """The month of the account's first transaction, if any (statements start there)."""
    first = await session.scalar(select(func.min(T.created_at)).where(T.account_key == account_key))
    if first is None:
        return None
    return first.year, first.month


def months_between(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    """Every month from ``first`` to ``last`` inclusive, newest first."""
    months: list[tuple[int, int]] = []
    year, month = last
    while (year, month) >= first:
        months.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


@dataclass(frozen=True, slots=True)
class ReportRow:
    account_key: str
    account_name: str
    inbound: int
    outbound: int
    sessions: int
    charged: Decimal
    topped_up: Decimal
    balance: Decimal
    last_topup_balance: Decimal


async def operator_report(session: AsyncSession, year: int, month: int) -> list[ReportRow]:
    """Every account with credit or activity: the month's messages, charges and top-ups."""
    start, end = month_bounds(year, month)
    is_msg = T.kind == MESSAGE
    activity = await session.execute(
        select(
            T.account_key,
            _count(and_(is_msg, T.direction == "inbound")),
            _count(and_(is_msg, T.direction == "outbound")),
            _count(and_(is_msg, T.session_created.is_(True))),
            _sum_credits(case((is_msg, T.credit_amount), else_=0)),
            _sum_credits(case((T.kind == TOPUP, T.credit_amount), else_=0)),
        )
        .where(T.created_at >= start, T.created_at < end)
        .group_by(T.account_key)
    )
    months: dict[str, tuple[int, int, int, Decimal, Decimal]] = {
        key: (inbound, outbound, sessions, charged, topped)
        for key, inbound, outbound, sessions, charged, topped in activity.all()
    }
    credit = {
        key: (balance, last)
        for key, balance, last in (
            await session.execute(
                select(
                    CreditAccount.account_key,
                    CreditAccount.balance,
                    CreditAccount.last_topup_balance,
                )
            )
        ).all()
    }
    names = dict((await session.execute(select(Account.key, Account.name))).all())
    rows = []
    for key in sorted(set(months) | set(credit), key=lambda k: (names.get(k) or k, k)):
        inbound, outbound, sessions, charged, topped = months.get(key, (0, 0, 0, ZERO, ZERO))
        balance, last = credit.get(key, (ZERO, ZERO))
        rows.append(
            ReportRow(
                key,
                names.get(key) or key,
                inbound,
                outbound,
                sessions,
                -charged,
                topped,
                balance,
                last,
            )
        )
    return rows


def report_csv(year: int, month: int, rows: list[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "month",
            "account",
            "name",
            "inbound",
            "outbound",
            "sessions",
            "charged",
            "topped_up",
            "balance",
            "last_topup_balance",
        ]
    )
    label = f"{year:04d}-{month:02d}"
    for r in rows:
        writer.writerow(
            [
                label,
                r.account_key,
                r.account_name,
                r.inbound,
                r.outbound,
                r.sessions,
                r.charged,
                r.topped_up,
                r.balance,
                r.last_topup_balance,
            ]
        )
    return out.getvalue()
