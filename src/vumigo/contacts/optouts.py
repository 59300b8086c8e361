"""Opt-outs: the addresses an account must not send new messages to.

Keyed as in the original by (address_type, address) within an account; the address type is a
contact address field name, in practice "msisdn". The message engine calls ``is_opted_out``
before sending and ``set_optout`` when a STOP keyword arrives; the REST API and UI use the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts.dbutil import insert_ignoring_duplicates
from vumigo.db.base import utcnow
from vumigo.db.models.optouts import OptOut
from vumigo.errors import Conflict, InvalidInput
from vumigo.text import storable

MAX_ADDRESS_TYPE = 32
MAX_ADDRESS = 255


def check_address(address_type: str, address: str) -> None:
    """Raises InvalidInput for an address the table cannot hold (so it is never a DB error)."""
    if not address_type or len(address_type) > MAX_ADDRESS_TYPE:
        raise InvalidInput(f"Address type must be 1 to {MAX_ADDRESS_TYPE} characters.")
    if not address or len(address) > MAX_ADDRESS:
        raise InvalidInput(f"Address must be 1 to {MAX_ADDRESS} characters.")
    if not (storable(address_type) and storable(address)):
        raise InvalidInput("Addresses cannot contain NUL characters or invalid Unicode.")


async def get_optout(
    session: AsyncSession, account_key: str, address_type: str, address: str
) -> OptOut | None:
    check_address(address_type, address)
    stmt = select(OptOut).where(
        OptOut.account_key == account_key,
        OptOut.address_type == address_type,
        OptOut.address == address,
    )
    return (await session.scalars(stmt)).first()


async def is_opted_out(
    session: AsyncSession, account_key: str, address_type: str, address: str
) -> bool:
    try:
        check_address(address_type, address)
    except InvalidInput:
        return False  # nothing like it could have been stored
    return await get_optout(session, account_key, address_type, address) is not None


async def opted_out_among(
    session: AsyncSession, account_key: str, address_type: str, addresses: Iterable[str]
) -> set[str]:
    """Which of these addresses are opted out (one query per 500, for batch senders)."""
    wanted = [a for a in dict.fromkeys(addresses) if a and len(a) <= MAX_ADDRESS]
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        stmt = select(OptOut.address).where(
            OptOut.account_key == account_key,
            OptOut.address_type == address_type,
            OptOut.address.in_(wanted[start : start + 500]),
        )
        found.update((await session.scalars(stmt)).all())
    return found


async def set_optout(
    session: AsyncSession,
    account_key: str,
    address_type: str,
    address: str,
    message_id: str | None = None,
    *,
    exist_ok: bool = True,
) -> OptOut:
    """Opts the address out and returns the record.

    With ``exist_ok`` (the default, for STOP keywords, which may race or repeat) an existing
    record is returned as it is; without it an existing record raises Conflict, as the REST
    API's PUT does ("Opt out already exists.").
    """
    check_address(address_type, address)
    values = {
        "account_key": account_key,
        "address_type": address_type,
        "address": address,
        "message_id": message_id,
        "created_at": utcnow(),
    }
    # ON CONFLICT DO NOTHING: two STOPs at once must not fail on the unique constraint.
    result = await session.execute(insert_ignoring_duplicates(session, OptOut).values(**values))
    created = result.rowcount == 1  # type: ignore[attr-defined]
    if not created and not exist_ok:
        raise Conflict("Opt out already exists.")
    optout = await get_optout(session, account_key, address_type, address)
    assert optout is not None
    return optout


async def delete_optout(
    session: AsyncSession, account_key: str, address_type: str, address: str
) -> OptOut | None:
    """Removes the opt-out and returns what it was, or None if there was none."""
    optout = await get_optout(session, account_key, address_type, address)
    if optout is None:
        return None
    await session.delete(optout)
    await session.flush()
    return optout


async def count_optouts(session: AsyncSession, account_key: str) -> int:
    stmt = select(func.count()).select_from(OptOut).where(OptOut.account_key == account_key)
    return int((await session.execute(stmt)).scalar_one())


async def list_optouts(
    session: AsyncSession,
    account_key: str,
    *,
    address_type: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[OptOut]:
    """A page of the account's opt-outs, oldest first (by id, after ``after_id``)."""
    stmt = select(OptOut).where(OptOut.account_key == account_key)
    if address_type is not None:
        stmt = stmt.where(OptOut.address_type == address_type)
    if after_id is not None:
        stmt = stmt.where(OptOut.id > after_id)
    return list((await session.scalars(stmt.order_by(OptOut.id).limit(limit))).all())
