"""The credit formula against worked examples, and which price applies (specificity)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.billing.conftest import new_account, set_price
from vumigo.billing import costs
from vumigo.billing.costs import Cost, charge_for, to_credits
from vumigo.db.engine import Database
from vumigo.errors import InvalidInput, NotFound

D = Decimal

# (message, storage, session, unit cost, unit time, markup, session new, length, credits)
WORKED = [
    # 1 US cent is 10 credits; the markup is a percentage on top.
    ("1", "0", "0", "0", "20", "10", False, None, "11"),
    ("5", "0", "0", "0", "20", "20", False, None, "60"),
    ("5", "0", "0", "0", "20", "50", False, None, "75"),
    # The session cost is charged only on the message that starts the session.
    ("1", "0", "2", "0", "20", "10", True, None, "33"),
    ("5", "0", "2", "0", "20", "20", True, None, "84"),
    ("5", "0", "2", "0", "20", "20", False, None, "60"),
    # Storage is part of every message.
    ("0.9", "0.5", "0", "0", "20", "0", False, None, "14"),
    # Session length: every started unit is charged, 45 s of 20 s units is 3 units.
    ("1", "0", "0", "3", "20", "0", False, "45", "100"),
    ("1", "0", "0", "3", "20", "0", False, "40", "70"),
    ("1", "0", "0", "3", "20", "0", False, "40.001", "100"),
    ("0", "0", "0", "3", "20", "0", False, "0", "0"),
    # Everything at once: (0.8 + 0.2 + 1.5 + 2 x 0.25) x 1.125 x 10.
    ("0.8", "0.2", "1.5", "0.25", "30", "12.5", True, "31", "33.75"),
    # Fractions of a credit are kept to six places.
    ("0.001", "0", "0", "0", "20", "33.33", False, None, "0.013333"),
    ("0.333", "0", "0", "0", "20", "0.01", False, None, "3.330333"),
]


@pytest.mark.parametrize(
    ("message", "storage", "session", "unit_cost", "unit_time", "markup", "new", "length", "want"),
    WORKED,
)
def test_worked_examples(
    message: str,
    storage: str,
    session: str,
    unit_cost: str,
    unit_time: str,
    markup: str,
    new: bool,
    length: str | None,
    want: str,
) -> None:
    cost = Cost(D(message), D(storage), D(session), D(unit_cost), D(unit_time), D(markup))
    charge = charge_for(cost, new, D(length) if length is not None else None)
    assert charge.credits == D(want)
    assert charge.credits.as_tuple().exponent >= -6


def test_quantising_rounds_half_to_even_as_the_decimal_module_does() -> None:
    assert to_credits(D("0.00000005"), D(0)) == D("0.000000")
    assert to_credits(D("0.00000015"), D(0)) == D("0.000002")
    assert to_credits(D("0.00000025"), D(0)) == D("0.000002")


def test_components_are_recorded_with_the_total() -> None:
    cost = Cost(D("0.8"), D("0.2"), D("1.5"), D("0.25"), D("30"), D("12.5"))
    charge = charge_for(cost, True, D("31"))
    assert charge.message_credits == D("9")
    assert charge.storage_credits == D("2.25")
    assert charge.session_credits == D("16.875")
    assert charge.session_length_cost == D("0.50")
    assert charge.session_length_credits == D("5.625")


cents = st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False)
markups = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)


@given(cents, cents, cents, cents, markups, st.booleans(), st.integers(0, 3600))
def test_components_add_up_to_the_total(
    message: Decimal,
    storage: Decimal,
    session: Decimal,
    unit_cost: Decimal,
    markup: Decimal,
    new: bool,
    seconds: int,
) -> None:
    """Statements show the components; they must add up to what was taken, to the digit."""
    charge = charge_for(Cost(message, storage, session, unit_cost, D(20), markup), new, D(seconds))
    parts = (
        charge.message_credits
        + charge.storage_credits
        + charge.session_credits
        + charge.session_length_credits
    )
    assert parts == charge.credits


@pytest.mark.parametrize(
    ("text", "places", "ok"),
    [
        ("1.5", 3, True),
        ("0.125", 3, True),
        ("0.1255", 3, False),
        ("-1", 3, False),
        ("abc", 3, False),
        ("NaN", 3, False),
        ("12.34", 2, True),
        ("12.345", 2, False),
        ("1e400", 3, False),
    ],
)
def test_prices_must_fit_their_columns(text: str, places: int, ok: bool) -> None:
    if ok:
        assert costs.parse_amount(text, "price", places) == D(text)
    else:
        with pytest.raises(InvalidInput):
            costs.parse_amount(text, "price", places)


async def _find(db: Database, account: str, pool: str | None, provider: str | None) -> str | None:
    async with db.sessions() as session:
        cost = await costs.find_cost(session, account, pool, provider, "outbound")
    return None if cost is None else str(cost.message_cost.normalize())


async def test_most_specific_price_wins(db: Database) -> None:
    a = await new_account(db, "A")
    b = await new_account(db, "B")
    await set_price(db, "outbound", "1")
    await set_price(db, "outbound", "2", pool="sms")
    await set_price(db, "outbound", "3", provider="mtn")
    await set_price(db, "outbound", "4", pool="sms", provider="mtn")
    await set_price(db, "outbound", "5", account=a)
    await set_price(db, "outbound", "6", account=a, pool="sms")
    await set_price(db, "inbound", "9", account=a, pool="sms", provider="mtn")

    assert await _find(db, b, "other", None) == "1"
    assert await _find(db, b, "sms", None) == "2"
    assert await _find(db, b, "other", "mtn") == "3"
    assert await _find(db, b, "sms", "mtn") == "4"
    # The account comes first, before any pool or provider.
    assert await _find(db, a, "other", "mtn") == "5"
    assert await _find(db, a, "sms", "mtn") == "6"
    # Then the pool, before the provider.
    async with db.transaction() as session:
        rows = await costs.list_costs(session)
        pool_and_provider = next(
            r for r in rows if r.pool == "sms" and r.provider == "mtn" and r.direction == "outbound"
        )
        await costs.remove_cost(session, pool_and_provider.id)
    assert await _find(db, b, "sms", "mtn") == "2"


async def test_no_price_means_none(db: Database) -> None:
    a = await new_account(db)
    await set_price(db, "inbound", "1")
    assert await _find(db, a, "sms", None) is None


async def test_setting_a_scope_again_replaces_it(db: Database) -> None:
    a = await new_account(db)
    await set_price(db, "outbound", "1", account=a, pool="sms")
    await set_price(db, "outbound", "2.5", account=a, pool="sms", markup_percent="10")
    async with db.sessions() as session:
        rows = await costs.list_costs(session, a)
    assert len(rows) == 1
    assert rows[0].cost.message_cost == D("2.5")
    assert rows[0].cost.markup_percent == D("10")
    assert costs.describe(rows[0])["credits_per_message"] == "27.500000"


async def test_removing_an_unknown_price_fails(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(NotFound):
            await costs.remove_cost(session, 12345)


async def test_cache_keeps_a_lookup_until_forgotten(db: Database) -> None:
    a = await new_account(db)
    await set_price(db, "outbound", "1")
    cache = costs.CostCache(ttl=60)
    first = await cache.find(db, a, "sms", None, "outbound")
    await set_price(db, "outbound", "2")
    assert await cache.find(db, a, "sms", None, "outbound") == first
    cache.forget()
    again = await cache.find(db, a, "sms", None, "outbound")
    assert again is not None and again.message_cost == D(2)
