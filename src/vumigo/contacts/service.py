"""Contacts: create, read, update, delete, list, search and look up by address.

Every function takes the caller's session (the caller owns the transaction) and the account
key, and never touches another account's rows: a key from account B is "not found" to A.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts.dbutil import dialect_of
from vumigo.contacts.fields import (
    MAP_FIELDS,
    TEXT_FIELDS,
    address_field,
    clean_contact_data,
    normalise_address,
)
from vumigo.contacts.query_sql import contact_condition
from vumigo.db.base import utcnow
from vumigo.db.models.contacts import Contact, ContactField, ContactGroup, GroupMember
from vumigo.errors import InvalidInput, NotFound
from vumigo.text import storable

# extra → "extras", subscription → "subscription": the query prefixes, used as side-table kinds.
FIELD_KINDS = {"extra": "extras", "subscription": "subscription"}


def new_contact_key() -> str:
    """A contact key: 32 hex digits like every key, but starting with the time in ms.

    Keys that grow with time keep an import's inserts at the right-hand edge of the key
    indexes (a 100,000-row import into SQLite ran about a third faster than with random
    keys), and
    make key order (the APIs' paging order) roughly creation order. 80 random bits remain.
    """
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


async def create_contact(
    session: AsyncSession, account_key: str, data: Mapping[str, Any] | None = None, **fields: Any
) -> Contact:
    """Creates a contact from client data (checked here) and/or keyword fields."""
    values = clean_contact_data({**(data or {}), **fields})
    groups = values.pop("groups", [])
    if groups:
        await _check_groups(session, account_key, groups)
    contact = Contact(key=new_contact_key(), account_key=account_key, extra={}, subscription={})
    contact.created_at = values.pop("created_at", None) or utcnow()
    for name, value in values.items():
        setattr(contact, name, value)
    session.add(contact)
    await session.flush()
    await write_side_fields(session, contact)
    if groups:
        await session.execute(
            insert(GroupMember), [{"group_key": g, "contact_key": contact.key} for g in groups]
        )
    return contact


def plausible_key(key: str) -> bool:
    """Whether a key could exist; others (huge, NUL, bad Unicode) are not sent to the DB."""
    return 0 < len(key) <= 64 and storable(key)


async def find_contact(session: AsyncSession, account_key: str, key: str) -> Contact | None:
    if not plausible_key(key):
        return None
    contact = await session.get(Contact, key)
    if contact is None or contact.account_key != account_key:
        return None
    return contact


async def get_contact(session: AsyncSession, account_key: str, key: str) -> Contact:
    contact = await find_contact(session, account_key, key)
    if contact is None:
        raise NotFound(f"Contact '{key}' not found.")
    return contact


async def update_contact(
    session: AsyncSession, account_key: str, key: str, data: Mapping[str, Any]
) -> Contact:
    """Changes the given fields only (the API's PUT is a PATCH); maps and groups are replaced."""
    contact = await get_contact(session, account_key, key)
    values = clean_contact_data(data)
    groups = values.pop("groups", None)
    for name, value in values.items():
        setattr(contact, name, value)
    await session.flush()
    if any(name in values for name in MAP_FIELDS):
        await write_side_fields(session, contact, replace=True)
    if groups is not None:
        await set_contact_groups(session, account_key, contact.key, groups)
    return contact


async def delete_contact(session: AsyncSession, account_key: str, key: str) -> Contact:
    contact = await get_contact(session, account_key, key)
    # Explicit deletes so the dependents go on SQLite too, whatever its foreign_keys pragma.
    await session.execute(delete(ContactField).where(ContactField.contact_key == key))
    await session.execute(delete(GroupMember).where(GroupMember.contact_key == key))
    await session.delete(contact)
    await session.flush()
    return contact


async def write_side_fields(session: AsyncSession, contact: Contact, replace: bool = False) -> None:
    """Mirrors ``extra`` and ``subscription`` into ``contact_fields`` for indexed queries."""
    if replace:
        await session.execute(delete(ContactField).where(ContactField.contact_key == contact.key))
    rows = side_field_rows(contact.account_key, contact.key, contact.extra, contact.subscription)
    if rows:
        await session.execute(insert(ContactField), rows)


def side_field_rows(
    account_key: str,
    contact_key: str,
    extra: Mapping[str, str] | None,
    subscription: Mapping[str, str] | None,
) -> list[dict[str, str]]:
    rows = []
    for kind, mapping in (("extras", extra), ("subscription", subscription)):
        for name, value in (mapping or {}).items():
            rows.append(
                {
                    "contact_key": contact_key,
                    "account_key": account_key,
                    "kind": kind,
                    "name": name,
                    "value": value,
                }
            )
    return rows


async def groups_of(session: AsyncSession, contact_keys: Sequence[str]) -> dict[str, list[str]]:
    """The static groups of each contact, as sorted group keys."""
    found: dict[str, list[str]] = {key: [] for key in contact_keys}
    if not contact_keys:
        return found
    rows = await session.execute(
        select(GroupMember.contact_key, GroupMember.group_key)
        .where(GroupMember.contact_key.in_(list(contact_keys)))
        .order_by(GroupMember.contact_key, GroupMember.group_key)
    )
    for contact_key, group_key in rows:
        found[contact_key].append(group_key)
    return found


async def set_contact_groups(
    session: AsyncSession, account_key: str, contact_key: str, group_keys: Iterable[str]
) -> None:
    """Makes the contact a static member of exactly these groups."""
    wanted = list(dict.fromkeys(group_keys))
    await _check_groups(session, account_key, wanted)
    await session.execute(delete(GroupMember).where(GroupMember.contact_key == contact_key))
    if wanted:
        await session.execute(
            insert(GroupMember), [{"group_key": g, "contact_key": contact_key} for g in wanted]
        )


async def _check_groups(session: AsyncSession, account_key: str, group_keys: list[str]) -> None:
    if not group_keys:
        return
    found = set(
        (
            await session.scalars(
                select(ContactGroup.key).where(
                    ContactGroup.account_key == account_key, ContactGroup.key.in_(group_keys)
                )
            )
        ).all()
    )
    missing = [key for key in group_keys if key not in found]
    if missing:
        raise InvalidInput(f"Group '{missing[0]}' not found.")


def account_contacts(account_key: str) -> ColumnElement[bool]:
    return Contact.account_key == account_key


async def list_contacts(
    session: AsyncSession,
    account_key: str,
    *,
    after: str | None = None,
    limit: int = 100,
    query: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[Contact]:
    """A page of the account's contacts in key order, after the key ``after``.

    ``query`` is a Lucene query (see vumigo.contacts.query); ``where`` an extra SQL condition.
    """
    stmt = select(Contact).where(account_contacts(account_key))
    if query is not None:
        stmt = stmt.where(contact_condition(query, account_key, dialect_of(session)))
    if where is not None:
        stmt = stmt.where(where)
    if after is not None:
        stmt = stmt.where(Contact.key > after)
    stmt = stmt.order_by(Contact.key).limit(limit)
    return list((await session.scalars(stmt)).all())


async def count_contacts(
    session: AsyncSession,
    account_key: str,
    query: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> int:
    stmt = select(func.count()).select_from(Contact).where(account_contacts(account_key))
    if query is not None:
        stmt = stmt.where(contact_condition(query, account_key, dialect_of(session)))
    if where is not None:
        stmt = stmt.where(where)
    return int((await session.execute(stmt)).scalar_one())


async def find_by_address(
    session: AsyncSession, account_key: str, delivery_class: str, address: str
) -> Contact | None:
    """The contact with this address for the delivery class; if several have it, the newest."""
    return await find_by_field(session, account_key, address_field(delivery_class), address)


async def find_by_field(
    session: AsyncSession, account_key: str, field: str, value: str
) -> Contact | None:
    """The newest contact whose address field ``field`` equals ``value`` (normalised)."""
    if field not in TEXT_FIELDS:
        raise InvalidInput(f"Unknown contact field {field!r}")
    value = normalise_address(field, value)
    if not value or len(value) > 255 or not storable(value):
        return None
    column = getattr(Contact, field)
    stmt = (
        select(Contact)
        .where(account_contacts(account_key), column == value)
        # Newest wins; the key breaks a tie so the answer is the same every time.
        .order_by(Contact.created_at.desc(), Contact.key.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def get_or_create_by_address(
    session: AsyncSession, account_key: str, delivery_class: str, address: str
) -> tuple[Contact, bool]:
    """The contact for an address, made (and saved) if there is none; True when it was made.

    As in the original, a contact made for a non-MSISDN address gets msisdn "unknown".
    """
    field = address_field(delivery_class)
    contact = await find_by_field(session, account_key, field, address)
    if contact is not None:
        return contact, False
    fields = {field: normalise_address(field, address)}
    if field != "msisdn":
        fields["msisdn"] = "unknown"
    return await create_contact(session, account_key, fields), True
