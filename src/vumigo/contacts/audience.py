"""Who a send goes to: the contacts of some groups, as (contact key, address) pairs.

The bulk sender walks these for conversations of any size, so they stream in keyset-paged
batches (one indexed query per batch, nothing held between batches but the last row seen) in a
stable order: by address, then newest contact first, then key. That order makes "one message per
address" (``dedupe``) a matter of skipping repeats, with the newest contact winning as in lookups.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts.dbutil import dialect_of
from vumigo.contacts.fields import address_field
from vumigo.contacts.groups import conversation_group_keys, get_group, groups_condition
from vumigo.db.models.contacts import Contact
from vumigo.db.models.optouts import OptOut

BATCH_SIZE = 1000


async def _condition(
    session: AsyncSession,
    account_key: str,
    group_keys: Iterable[str],
    field: str,
    skip_opted_out: bool,
) -> ColumnElement[bool]:
    groups = [await get_group(session, account_key, key) for key in dict.fromkeys(group_keys)]
    column = getattr(Contact, field)
    condition = and_(
        Contact.account_key == account_key,
        column.is_not(None),
        column != "",
        groups_condition(groups, account_key, dialect_of(session)),
    )
    if skip_opted_out:
        # Opt-outs are keyed by the address type, which is the contact field's name.
        opted_out = exists().where(
            OptOut.account_key == account_key,
            OptOut.address_type == field,
            OptOut.address == column,
        )
        condition = and_(condition, ~opted_out)
    return condition


async def recipients(
    session: AsyncSession,
    account_key: str,
    group_keys: Iterable[str],
    delivery_class: str,
    *,
    skip_opted_out: bool = False,
    dedupe: bool = False,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[tuple[str, str]]:
    """Yields (contact_key, address) for every contact in any of the groups with an address
    for the delivery class (sms/ussd/voice → msisdn, gtalk → gtalk_id, ...).

    A contact in several groups comes once. ``skip_opted_out`` leaves out addresses the account
    has opted out; ``dedupe`` yields each address once (for its newest contact). Unknown group
    keys raise NotFound; an unknown delivery class raises InvalidInput.
    """
    field = address_field(delivery_class)
    column = getattr(Contact, field)
    condition = await _condition(session, account_key, group_keys, field, skip_opted_out)
    last: tuple[str, str, datetime] | None = None
    previous_address: str | None = None
    while True:
        stmt = select(Contact.key, column, Contact.created_at).where(condition)
        if last is not None:
            key, address, created = last
            stmt = stmt.where(
                or_(
                    column > address,
                    and_(
                        column == address,
                        or_(
                            Contact.created_at < created,
                            and_(Contact.created_at == created, Contact.key > key),
                        ),
                    ),
                )
            )
        stmt = stmt.order_by(column, Contact.created_at.desc(), Contact.key).limit(batch_size)
        rows = (await session.execute(stmt)).all()
        for key, address, _created in rows:
            if not (dedupe and address == previous_address):
                yield key, address
            previous_address = address
        if len(rows) < batch_size:
            return
        last_key, last_address, last_created = rows[-1]
        last = (last_key, last_address, last_created)


async def count_recipients(
    session: AsyncSession,
    account_key: str,
    group_keys: Iterable[str],
    delivery_class: str,
    *,
    skip_opted_out: bool = False,
    dedupe: bool = False,
) -> int:
    """How many pairs ``recipients`` would yield with the same arguments (one query)."""
    field = address_field(delivery_class)
    column = getattr(Contact, field)
    condition = await _condition(session, account_key, group_keys, field, skip_opted_out)
    counted = func.count(func.distinct(column)) if dedupe else func.count()
    stmt = select(counted).select_from(Contact).where(condition)
    return int((await session.execute(stmt)).scalar_one())


async def conversation_recipients(
    session: AsyncSession,
    account_key: str,
    conversation_key: str,
    delivery_class: str,
    *,
    skip_opted_out: bool = False,
    dedupe: bool = False,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[tuple[str, str]]:
    """``recipients`` for the union of a conversation's groups (nothing if it has none)."""
    group_keys = await conversation_group_keys(session, account_key, conversation_key)
    async for pair in recipients(
        session,
        account_key,
        group_keys,
        delivery_class,
        skip_opted_out=skip_opted_out,
        dedupe=dedupe,
        batch_size=batch_size,
    ):
        yield pair
