"""Billing: message costs, each account's credit, the credit transactions and notifications.

Money is exact. Every amount is a ``Decimal`` in Python and a scaled integer in the database
(credits in millionths, prices in thousandths of a cent, markup in hundredths of a percent), so
the two databases agree to the last digit and ``balance = balance - :amount`` is integer
arithmetic that SQLite, which has no exact decimal type, cannot round.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, utcnow

CREDIT_PLACES = 6  # credits are quantised to 1e-6, as the original did
PRICE_PLACES = 3  # prices in cents have three decimal places, as the original's columns
MARKUP_PLACES = 2


class ScaledDecimal(TypeDecorator[Decimal]):
    """A ``Decimal`` with a fixed number of places, stored as an integer of its smallest unit.

    Binding a value with more places than the column keeps is an error, never a silent rounding:
    callers quantise first (the cost formula says how).
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int) -> None:
        super().__init__()
        self.places = places

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places)


def Credits() -> ScaledDecimal:  # a column type, so named like one
    return ScaledDecimal(CREDIT_PLACES)


def Cents() -> ScaledDecimal:
    return ScaledDecimal(PRICE_PLACES)


class CreditAccount(Base):
    """An account's credit. ``last_topup_balance`` is the balance just after the last top-up:
    the low-credit thresholds are percentages of it."""

    __tablename__ = "accounts_credit"

    account_key: Mapped[str] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), primary_key=True
    )
    balance: Mapped[Decimal] = mapped_column(Credits(), default=Decimal(0))
    last_topup_balance: Mapped[Decimal] = mapped_column(Credits(), default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageCost(Base):
    """What one message costs, in US cents, for a direction and an optional scope.

    A null ``account_key`` / ``pool`` / ``provider`` means "any"; the most specific row wins
    (account, then pool, then provider). ``scope`` spells the four scope columns as one string so
    that a unique constraint can hold even though the columns are nullable (NULLs never clash).
    """

    __tablename__ = "billing_costs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(400), unique=True)
    account_key: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), nullable=True, index=True
    )
    pool: Mapped[str | None] = mapped_column(String(128), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(64), nullable=True)
    direction: Mapped[str] = mapped_column(String(8))  # inbound | outbound
    message_cost: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    storage_cost: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    session_cost: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    session_unit_cost: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    session_unit_time: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(20))  # seconds
    markup_percent: Mapped[Decimal] = mapped_column(
        ScaledDecimal(MARKUP_PLACES), default=Decimal(0)
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditTransaction(Base):
    """One change of an account's credit: a billed message (negative) or a top-up (positive).

    A message is billed at most once per direction, whatever the redeliveries: the unique
    ``(message_id, direction)`` makes a second insert a no-op, and the balance only moves for
    rows that were inserted. The components keep the prices used, so a statement can be
    explained line by line after the costs have changed.
    """

    __tablename__ = "billing_transactions"
    __table_args__ = (
        UniqueConstraint("message_id", "direction"),
        Index("ix_billing_transactions_account_created", "account_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # message | topup
    message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    direction: Mapped[str | None] = mapped_column(String(8), nullable=True)
    pool: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tag: Mapped[str | None] = mapped_column(String(128), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_created: Mapped[bool] = mapped_column(Boolean, default=False)
    session_length: Mapped[Decimal | None] = mapped_column(Cents(), nullable=True)  # seconds
    message_cost: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    storage_cost: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    session_cost: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    session_unit_cost: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    session_unit_time: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    session_length_cost: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(0))
    markup_percent: Mapped[Decimal] = mapped_column(
        ScaledDecimal(MARKUP_PLACES), default=Decimal(0)
    )
    message_credits: Mapped[Decimal] = mapped_column(Credits(), default=Decimal(0))
    storage_credits: Mapped[Decimal] = mapped_column(Credits(), default=Decimal(0))
    session_credits: Mapped[Decimal] = mapped_column(Credits(), default=Decimal(0))
    session_length_credits: Mapped[Decimal] = mapped_column(Credits(), default=Decimal(0))
    credit_factor: Mapped[Decimal] = mapped_column(Cents(), default=Decimal(10))
    credit_amount: Mapped[Decimal] = mapped_column(Credits())
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditNotification(Base):
    """A low-credit threshold the account crossed: shown as a banner, e-mailed once.

    Also the e-mail outbox: a row is written in the transaction that crossed the threshold and
    ``emailed_at`` is set once the SMTP server took the message, so a crash in between means a
    late e-mail, not a lost one.
    """

    __tablename__ = "billing_notifications"
    __table_args__ = (Index("ix_billing_notifications_pending", "emailed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_key: Mapped[str] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(Integer)  # the threshold, in percent of the last top-up
    balance: Mapped[Decimal] = mapped_column(Credits())
    last_topup_balance: Mapped[Decimal] = mapped_column(Credits())
    cutoff: Mapped[bool] = mapped_column(Boolean, default=False)  # sending stops at this threshold
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    email_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class BillingPolicy(Base):
    """Operator overrides of the billing settings, changeable while the platform runs.

    One row (id 1) at most; a null column means "as the settings say".
    """

    __tablename__ = "billing_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    low_credit_percentages: Mapped[str | None] = mapped_column(String(255), nullable=True)
    credit_cutoff: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
