"""Each account's credit: top-ups, and charging billed messages atomically.

The balance only ever changes inside the database, by one ``UPDATE ... SET balance = balance +
:delta`` statement per account, in the same transaction as the transaction rows that explain the
change. Two processes charging one account at once therefore cannot lose an update (PostgreSQL
locks the row; SQLite has one writer), and a message's row is unique per direction, so a
redelivered message is inserted once and charged once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.billing.costs import CREDIT_FACTOR, Charge, parse_amount
from vumigo.billing.policy import Policy, crossed
from vumigo.db.base import utcnow
from vumigo.db.models import Account, CreditAccount, CreditNotification, CreditTransaction
from vumigo.db.models.billing import CREDIT_PLACES, Credits
from vumigo.db.upsert import insert_for
from vumigo.errors import InvalidInput, NotFound

MESSAGE = "message"
TOPUP = "topup"


@dataclass(frozen=True, slots=True)
class CreditState:
    account_key: str
    balance: Decimal
    last_topup_balance: Decimal


async def credit_state(session: AsyncSession, account_key: str) -> CreditState:
    """The account's balance and last top-up (zero for an account never charged or topped up)."""
    row = await session.get(CreditAccount, account_key, populate_existing=True)
    if row is None:
        return CreditState(account_key, Decimal(0), Decimal(0))
    return CreditState(account_key, row.balance, row.last_topup_balance)


async def require_account(session: AsyncSession, account_key: str) -> None:
    if await session.get(Account, account_key) is None:
        raise NotFound(f"no account {account_key}")


async def top_up(
    session: AsyncSession, account_key: str, amount: Decimal | str | int, note: str = ""
) -> CreditState:
    """Adds credits, records a top-up transaction and makes the new balance the reference for
    the low-credit thresholds (as the original's ``load_credits`` did)."""
    credits = parse_amount(amount, "amount", CREDIT_PLACES)
    if credits <= 0:
        raise InvalidInput("amount must be above zero")
    await require_account(session, account_key)
    stmt = insert_for(session, CreditAccount).values(
        account_key=account_key, balance=credits, last_topup_balance=credits, updated_at=utcnow()
    )
    # balance + amount in SQL, never a value computed here: a charge may land in between.
    new_balance = CreditAccount.balance + stmt.excluded.balance
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_key"],
        set_={
            "balance": new_balance,
            "last_topup_balance": new_balance,
            "updated_at": stmt.excluded.updated_at,
        },
    ).returning(CreditAccount.balance, CreditAccount.last_topup_balance)
    conn = await session.connection()
    balance, last_topup = (await conn.execute(stmt)).one()
    await conn.execute(
        insert_for(session, CreditTransaction).values(
            account_key=account_key,
            kind=TOPUP,
            credit_amount=credits,
            credit_factor=CREDIT_FACTOR,
            note=note[:255],
            created_at=utcnow(),
        )
    )
    return CreditState(account_key, balance, last_topup)


@dataclass(frozen=True, slots=True)
class PendingCharge:
    """A message to bill, as planned; written by ``apply_charges`` when its unit commits."""

    account_key: str
    message_id: str
    direction: str
    pool: str | None
    tag: str | None
    provider: str | None
    charge: Charge

    def row(self) -> dict[str, Any]:
        c, cost = self.charge, self.charge.cost
        return {
            "account_key": self.account_key,
            "kind": MESSAGE,
            "message_id": self.message_id,
            "direction": self.direction,
            "pool": self.pool,
            "tag": self.tag,
            "provider": self.provider,
            "session_created": c.session_created,
            "session_length": c.session_length,
            "message_cost": cost.message_cost,
            "storage_cost": cost.storage_cost,
            "session_cost": cost.session_cost,
            "session_unit_cost": cost.session_unit_cost,
            "session_unit_time": cost.session_unit_time,
            "session_length_cost": c.session_length_cost,
            "markup_percent": cost.markup_percent,
            "message_credits": c.message_credits,
            "storage_credits": c.storage_credits,
            "session_credits": c.session_credits,
            "session_length_credits": c.session_length_credits,
            "credit_factor": CREDIT_FACTOR,
            "credit_amount": -c.credits,
            "note": "",
            "created_at": utcnow(),
        }


_CHANGE = (
    update(CreditAccount)
    .where(CreditAccount.account_key == bindparam("key"))
    .values(
        balance=CreditAccount.balance + bindparam("delta", type_=Credits()),
        updated_at=bindparam("now"),
    )
    .returning(CreditAccount.balance, CreditAccount.last_topup_balance)
)


async def change_balance(
    session: AsyncSession, account_key: str, delta: Decimal
) -> tuple[Decimal, Decimal]:
    """Adds ``delta`` (negative for a charge) in one statement; returns the new balance and
    the last top-up."""
    conn = await session.connection()
    params = {"key": account_key, "delta": delta, "now": utcnow()}
    row = (await conn.execute(_CHANGE, params)).one_or_none()
    if row is None:
        # First charge of an account never topped up: make its row, then charge as usual.
        blank = insert_for(session, CreditAccount).values(
            account_key=account_key, balance=0, last_topup_balance=0, updated_at=utcnow()
        )
        await conn.execute(blank.on_conflict_do_nothing())
        row = (await conn.execute(_CHANGE, params)).one()
    return row[0], row[1]


async def apply_charges(
    session: AsyncSession, charges: Sequence[PendingCharge], policy: Policy
) -> int:
    """Records the charges not recorded before and takes them off the balances; adds a
    notification for every account that went down past a threshold. Returns how many of them
    are to be e-mailed (none when the policy's e-mails are off: the banner still shows)."""
    if not charges:
        return 0
    conn = await session.connection()
    stmt = (
        insert_for(session, CreditTransaction)
        .on_conflict_do_nothing(index_elements=["message_id", "direction"])
        .returning(CreditTransaction.account_key, CreditTransaction.credit_amount)
    )
    inserted = (await conn.execute(stmt, [c.row() for c in charges])).all()
    deltas: defaultdict[str, Decimal] = defaultdict(Decimal)
    for account_key, amount in inserted:
        deltas[account_key] += amount
    notices: list[dict[str, Any]] = []
    # A fixed order of row locks, so two transactions charging the same accounts can't deadlock.
    for account_key in sorted(deltas):
        delta = deltas[account_key]
        balance, last_topup = await change_balance(session, account_key, delta)
        level = crossed(policy, balance - delta, balance, last_topup)
        if level is not None:
            notices.append(
                {
                    "account_key": account_key,
                    "level": level,
                    "balance": balance,
                    "last_topup_balance": last_topup,
                    # Whether sending stops here, so the e-mail can say so.
                    "cutoff": policy.cutoff and level == policy.lowest,
                    "created_at": utcnow(),
                    "attempts": 0,
                    # With e-mails off the row is history only: marked done from the start.
                    "emailed_at": None if policy.emails else utcnow(),
                }
            )
    if notices:
        await conn.execute(insert_for(session, CreditNotification), notices)
    return len(notices) if policy.emails else 0


async def recent_transactions(
    session: AsyncSession, account_key: str, limit: int = 50
) -> list[CreditTransaction]:
    query = (
        select(CreditTransaction)
        .where(CreditTransaction.account_key == account_key)
        .order_by(CreditTransaction.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
