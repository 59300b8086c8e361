"""Helpers for the billing tests: accounts, prices and messages to bill."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.support.factories import make_account
from vumigo.billing import costs
from vumigo.billing.step import Billing
from vumigo.db.engine import Database
from vumigo.message import UserMessage
from vumigo.store.unit import Unit


async def new_account(db: Database, name: str = "Billing test") -> str:
    key, _token = await make_account(db, name=name)
    return key


async def set_price(
    db: Database,
    direction: str,
    message_cost: str,
    account: str | None = None,
    pool: str | None = None,
    provider: str | None = None,
    **prices: str,
) -> None:
    cost = costs.Cost(
        message_cost=Decimal(message_cost), **{k: Decimal(v) for k, v in prices.items()}
    )
    async with db.transaction() as session:
        await costs.set_cost(session, direction, cost, account, pool, provider)


def outbound(
    account: str, session_event: str | None = None, content: str = "hello", **fields: Any
) -> UserMessage:
    msg = UserMessage.send("+27820000001", content, session_event=session_event, **fields)
    msg.helper_metadata["go"] = {"user_account": account}
    return msg


def inbound(account: str, session_event: str | None = None, **fields: Any) -> UserMessage:
    msg = UserMessage(
        to_addr="10001",
        from_addr="+27820000002",
        transport_name="dev",
        transport_type="sms",
        content="hi",
        session_event=session_event,
        **fields,
    )
    msg.helper_metadata["tag"] = {"tag": ["pool", "10001"]}
    return msg


async def send(billing: Billing, db: Database, *msgs: UserMessage, pool: str = "pool") -> list[Any]:
    """Plans outbound messages into one unit and commits it; returns the decisions."""
    unit = Unit()
    decisions = []
    for msg in msgs:
        account = msg.helper_metadata["go"]["user_account"]
        decisions.append(await billing.plan_outbound(unit, msg, account, pool, "10001"))
    await unit.commit(db)
    return decisions


async def receive(billing: Billing, db: Database, account: str, *msgs: UserMessage) -> None:
    unit = Unit()
    for msg in msgs:
        await billing.plan_inbound(unit, msg, account, "pool", "10001")
    await unit.commit(db)
