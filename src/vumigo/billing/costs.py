"""Message costs: the prices operators set, which one applies, and what a message costs in credits.

Prices are US cents. A message is charged ``(message + storage + session start (if it started a
session) + session length units) * (1 + markup/100) * 10`` credits (10 credits = 1 US cent),
quantised to 1e-6 with the decimal module's default rounding (half even), as the original did.
Every component is also converted on its own, for the statement's line items; with prices of
three places and markups of two, each conversion is exact, so the components add up to the total.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import MessageCost
from vumigo.db.models.billing import MARKUP_PLACES, PRICE_PLACES
from vumigo.db.upsert import insert_for
from vumigo.errors import InvalidInput, NotFound

INBOUND = "inbound"
OUTBOUND = "outbound"
DIRECTIONS = (INBOUND, OUTBOUND)

CREDIT_FACTOR = Decimal(10)  # credits per US cent
QUANTUM = Decimal("0.000001")
DEFAULT_UNIT_TIME = Decimal(20)  # seconds, the original's default session unit
# Wide enough that nothing but the final quantise ever rounds.
MAX_CACHED = 10_000
_EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN)


def to_credits(cents: Decimal, markup_percent: Decimal) -> Decimal:
    """A cost in cents with the markup applied, in credits (quantised to 1e-6)."""
    marked_up = _EXACT.add(cents, _EXACT.divide(_EXACT.multiply(cents, markup_percent), 100))
    return _EXACT.multiply(marked_up, CREDIT_FACTOR).quantize(QUANTUM, context=_EXACT)


def session_length_cost(unit_cost: Decimal, unit_time: Decimal, length: Decimal | None) -> Decimal:
    """Cents for a session of ``length`` seconds: every started unit is charged in full."""
    if not unit_cost or not unit_time or not length or length <= 0:
        return Decimal(0)
    units = _EXACT.divide(length, unit_time).to_integral_value(rounding=ROUND_CEILING)
    return _EXACT.multiply(units, unit_cost)


@dataclass(frozen=True, slots=True)
class Cost:
    """One row of prices, as looked up for a message."""

    message_cost: Decimal = Decimal(0)
    storage_cost: Decimal = Decimal(0)
    session_cost: Decimal = Decimal(0)
    session_unit_cost: Decimal = Decimal(0)
    session_unit_time: Decimal = DEFAULT_UNIT_TIME
    markup_percent: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Charge:
    """What one message costs: the prices used and the credits, component by component."""

    cost: Cost
    session_created: bool
    session_length: Decimal | None
    session_length_cost: Decimal  # cents
    message_credits: Decimal
    storage_credits: Decimal
    session_credits: Decimal
    session_length_credits: Decimal
    credits: Decimal  # the total, positive; the transaction records it negated


def charge_for(cost: Cost, session_created: bool, session_length: Decimal | None) -> Charge:
    markup = cost.markup_percent
    length_cents = session_length_cost(
        cost.session_unit_cost, cost.session_unit_time, session_length
    )
    base = cost.message_cost + cost.storage_cost + length_cents
    if session_created:
        base += cost.session_cost
    return Charge(
        cost=cost,
        session_created=session_created,
        session_length=session_length,
        session_length_cost=length_cents,
        message_credits=to_credits(cost.message_cost, markup),
        storage_credits=to_credits(cost.storage_cost, markup),
        session_credits=to_credits(cost.session_cost, markup) if session_created else Decimal(0),
        session_length_credits=to_credits(length_cents, markup),
        credits=to_credits(base, markup),
    )


# -- the prices table --------------------------------------------------------------------


def parse_amount(text: str | Decimal | int, what: str, places: int = PRICE_PLACES) -> Decimal:
    """An operator's number as an exact ``Decimal``; refuses what the columns cannot hold."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidInput(f"{what} must be a number, not {text!r}") from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(f"{what} must be zero or more, not {text}")
    try:
        exact = value.quantize(Decimal(1).scaleb(-places), context=_EXACT)
    except InvalidOperation:  # more digits than the context holds: far beyond any column
        raise InvalidInput(f"{what} is too large: {text}") from None
    if value != exact:
        raise InvalidInput(f"{what} can have at most {places} decimal places, not {text}")
    return value


def scope_of(account: str | None, pool: str | None, provider: str | None, direction: str) -> str:
    # "*" is no valid account key, pool or provider name, so this cannot clash with a real one.
    return "|".join((account or "*", pool or "*", provider or "*", direction))


@dataclass(frozen=True, slots=True)
class CostRow:
    id: int
    account_key: str | None
    pool: str | None
    provider: str | None
    direction: str
    cost: Cost


def _row(row: MessageCost) -> CostRow:
    return CostRow(
        row.id,
        row.account_key,
        row.pool,
        row.provider,
        row.direction,
        Cost(
            row.message_cost,
            row.storage_cost,
            row.session_cost,
            row.session_unit_cost,
            row.session_unit_time,
            row.markup_percent,
        ),
    )


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise InvalidInput(f"direction must be inbound or outbound, not {direction!r}")
    return direction


async def set_cost(
    session: AsyncSession,
    direction: str,
    cost: Cost,
    account_key: str | None = None,
    pool: str | None = None,
    provider: str | None = None,
) -> CostRow:
    """Creates or replaces the prices for one scope (nulls meaning "any")."""
    check_direction(direction)
    if cost.session_unit_cost and not cost.session_unit_time:
        raise InvalidInput("a session unit cost needs a session unit time above zero")
    for value, what in (
        (cost.message_cost, "message cost"),
        (cost.storage_cost, "storage cost"),
        (cost.session_cost, "session cost"),
        (cost.session_unit_cost, "session unit cost"),
        (cost.session_unit_time, "session unit time"),
    ):
        parse_amount(value, what)
    parse_amount(cost.markup_percent, "markup", MARKUP_PLACES)
    prices = {
        "message_cost": cost.message_cost,
        "storage_cost": cost.storage_cost,
        "session_cost": cost.session_cost,
        "session_unit_cost": cost.session_unit_cost,
        "session_unit_time": cost.session_unit_time,
        "markup_percent": cost.markup_percent,
        "updated_at": utcnow(),
    }
    scope = scope_of(account_key, pool, provider, direction)
    stmt = insert_for(session, MessageCost).values(
        scope=scope,
        account_key=account_key or None,
        pool=pool or None,
        provider=provider or None,
        direction=direction,
        **prices,
    )
    await session.execute(stmt.on_conflict_do_update(index_elements=["scope"], set_=prices))
    row = (
        await session.execute(select(MessageCost).where(MessageCost.scope == scope))
    ).scalar_one()
    await session.refresh(row)
    return _row(row)


async def list_costs(session: AsyncSession, account_key: str | None = None) -> list[CostRow]:
    """Every price row (or those that can apply to ``account_key``), most general first."""
    query = select(MessageCost)
    if account_key is not None:
        query = query.where(
            or_(MessageCost.account_key == account_key, MessageCost.account_key.is_(None))
        )
    query = query.order_by(
        MessageCost.account_key.is_not(None),
        MessageCost.account_key,
        MessageCost.pool.is_not(None),
        MessageCost.pool,
        MessageCost.provider.is_not(None),
        MessageCost.provider,
        MessageCost.direction,
    )
    return [_row(row) for row in (await session.execute(query)).scalars()]


async def remove_cost(session: AsyncSession, cost_id: int) -> None:
    result = await session.execute(delete(MessageCost).where(MessageCost.id == cost_id))
    if not getattr(result, "rowcount", 0):
        raise NotFound(f"no cost with id {cost_id}")


async def find_cost(
    session: AsyncSession,
    account_key: str,
    pool: str | None,
    provider: str | None,
    direction: str,
) -> Cost | None:
    """The prices for a message: the most specific row, account before pool before provider."""
    query = (
        select(MessageCost)
        .where(
            MessageCost.direction == direction,
            or_(MessageCost.account_key == account_key, MessageCost.account_key.is_(None)),
            or_(MessageCost.pool == pool, MessageCost.pool.is_(None)),
            or_(MessageCost.provider == provider, MessageCost.provider.is_(None)),
        )
        # False sorts before True on both databases: specific (not null) rows come first.
        .order_by(
            MessageCost.account_key.is_(None),
            MessageCost.pool.is_(None),
            MessageCost.provider.is_(None),
        )
        .limit(1)
    )
    row = (await session.execute(query)).scalar_one_or_none()
    return _row(row).cost if row is not None else None


class CostCache:
    """Look-ups of ``find_cost``, kept for ``ttl`` seconds: prices change rarely and every
    message needs one. A change made in this process calls ``forget``; elsewhere, it shows
    within the TTL."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._hits: dict[tuple[str, str | None, str | None, str], tuple[float, Cost | None]] = {}

    def forget(self) -> None:
        self._hits.clear()

    async def find(
        self,
        db: Database,
        account_key: str,
        pool: str | None,
        provider: str | None,
        direction: str,
    ) -> Cost | None:
        key = (account_key, pool, provider, direction)
        now = time.monotonic()
        hit = self._hits.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with db.sessions() as session:
            cost = await find_cost(session, account_key, pool, provider, direction)
        if len(self._hits) >= MAX_CACHED:
            self._hits.clear()  # crude, but bounded; a refill costs one query per scope
        self._hits[key] = (now + self.ttl, cost)
        return cost


def describe(row: CostRow) -> dict[str, object]:
    """A row as plain data (for ``--json`` and the operator page)."""
    c = row.cost
    return {
        "id": row.id,
        "account": row.account_key,
        "pool": row.pool,
        "provider": row.provider,
        "direction": row.direction,
        "message_cost": str(c.message_cost),
        "storage_cost": str(c.storage_cost),
        "session_cost": str(c.session_cost),
        "session_unit_cost": str(c.session_unit_cost),
        "session_unit_time": str(c.session_unit_time),
        "markup_percent": str(c.markup_percent),
        "credits_per_message": str(to_credits(c.message_cost + c.storage_cost, c.markup_percent)),
    }


__all__ = [
    "Charge",
    "Cost",
    "CostCache",
    "CostRow",
    "charge_for",
    "find_cost",
    "list_costs",
    "remove_cost",
    "session_length_cost",
    "set_cost",
    "to_credits",
]
