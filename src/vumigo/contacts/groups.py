"""Contact groups: static (members added by hand or import) and smart (a live Lucene query).

A group's contacts are its static members plus, for a smart group, every contact matching its
query right now; a conversation's recipients are the union of its groups' contacts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts.dbutil import dialect_of, insert_ignoring_duplicates
from vumigo.contacts.fields import check_text
from vumigo.contacts.query import parse
from vumigo.contacts.query_sql import contact_condition
from vumigo.contacts.service import count_contacts, list_contacts, plausible_key
from vumigo.db.base import new_key, utcnow
from vumigo.db.models.contacts import Contact, ContactGroup, ConversationGroup, GroupMember
from vumigo.db.models.conversations import Conversation
from vumigo.errors import InvalidInput, NotFound

GROUP_FIELDS = frozenset(("name", "query"))
IGNORED_GROUP_FIELDS = frozenset(("$VERSION",))


def clean_group_data(data: object, *, creating: bool) -> dict[str, Any]:
    """Checks group data from a client: ``name`` (required on create) and ``query`` (or null)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("The group data must be a JSON object.")
    unknown = sorted(str(k) for k in data if k not in GROUP_FIELDS | IGNORED_GROUP_FIELDS)
    if unknown:
        raise InvalidInput(f"Invalid group fields: {', '.join(unknown)}")
    cleaned: dict[str, Any] = {}
    if "name" in data or creating:
        name = data.get("name")
        if name is None or (isinstance(name, str) and not name.strip()):
            raise InvalidInput("Group name is required.")
        cleaned["name"] = check_text("name", name, 255)
    if "query" in data:
        query = data["query"]
        if query is not None:
            query = check_text("query", query, 4000)
            parse(query)  # refuse a smart group whose query would fail every time it runs
        cleaned["query"] = query or None
    return cleaned


async def create_group(
    session: AsyncSession, account_key: str, name: str, query: str | None = None
) -> ContactGroup:
    values = clean_group_data({"name": name, "query": query}, creating=True)
    group = ContactGroup(key=new_key(), account_key=account_key, created_at=utcnow(), **values)
    session.add(group)
    await session.flush()
    return group


async def find_group(session: AsyncSession, account_key: str, key: str) -> ContactGroup | None:
    if not plausible_key(key):
        return None
    group = await session.get(ContactGroup, key)
    if group is None or group.account_key != account_key:
        return None
    return group


async def get_group(session: AsyncSession, account_key: str, key: str) -> ContactGroup:
    group = await find_group(session, account_key, key)
    if group is None:
        raise NotFound(f"Group '{key}' not found.")
    return group


async def groups_named(session: AsyncSession, account_key: str, name: str) -> list[ContactGroup]:
    """The account's groups with this name (names are not unique, as in the original)."""
    stmt = select(ContactGroup).where(
        ContactGroup.account_key == account_key, ContactGroup.name == name
    )
    return list((await session.scalars(stmt.order_by(ContactGroup.created_at))).all())


async def list_groups(
    session: AsyncSession, account_key: str, *, after: str | None = None, limit: int | None = None
) -> list[ContactGroup]:
    stmt = select(ContactGroup).where(ContactGroup.account_key == account_key)
    if after is not None:
        stmt = stmt.where(ContactGroup.key > after)
    stmt = stmt.order_by(ContactGroup.key)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.scalars(stmt)).all())


async def update_group(
    session: AsyncSession, account_key: str, key: str, data: Mapping[str, Any]
) -> ContactGroup:
    group = await get_group(session, account_key, key)
    for name, value in clean_group_data(data, creating=False).items():
        setattr(group, name, value)
    await session.flush()
    return group


async def delete_group(session: AsyncSession, account_key: str, key: str) -> ContactGroup:
    group = await get_group(session, account_key, key)
    await session.execute(delete(GroupMember).where(GroupMember.group_key == key))
    await session.execute(delete(ConversationGroup).where(ConversationGroup.group_key == key))
    await session.delete(group)
    await session.flush()
    return group


async def add_to_group(
    session: AsyncSession, account_key: str, group_key: str, contact_keys: Iterable[str]
) -> None:
    """Adds the account's contacts to a group; members already there stay as they are."""
    await get_group(session, account_key, group_key)
    keys = list(dict.fromkeys(contact_keys))
    owned = (
        await session.scalars(
            select(Contact.key).where(Contact.account_key == account_key, Contact.key.in_(keys))
        )
    ).all()
    if len(owned) != len(keys):
        missing = sorted(set(keys) - set(owned))
        raise InvalidInput(f"Contact '{missing[0]}' not found.")
    if keys:
        stmt = insert_ignoring_duplicates(session, GroupMember)
        await session.execute(stmt, [{"group_key": group_key, "contact_key": k} for k in keys])


async def remove_from_group(
    session: AsyncSession, account_key: str, group_key: str, contact_keys: Iterable[str]
) -> None:
    await get_group(session, account_key, group_key)
    await session.execute(
        delete(GroupMember).where(
            GroupMember.group_key == group_key, GroupMember.contact_key.in_(list(contact_keys))
        )
    )


def groups_condition(
    groups: Sequence[ContactGroup], account_key: str, dialect: str
) -> ColumnElement[bool]:
    """SQL selecting the contacts in any of the groups: static members or smart-query matches."""
    if not groups:
        return false()
    static = select(GroupMember.contact_key).where(
        GroupMember.group_key.in_([group.key for group in groups])
    )
    conditions: list[ColumnElement[bool]] = [Contact.key.in_(static.scalar_subquery())]
    conditions.extend(
        contact_condition(group.query, account_key, dialect) for group in groups if group.query
    )
    return or_(*conditions)


async def group_contacts(
    session: AsyncSession,
    account_key: str,
    group_key: str,
    *,
    after: str | None = None,
    limit: int = 100,
) -> list[Contact]:
    """A page of a group's contacts (static and smart members together) in key order."""
    group = await get_group(session, account_key, group_key)
    where = groups_condition([group], account_key, dialect_of(session))
    return await list_contacts(session, account_key, after=after, limit=limit, where=where)


async def count_group_contacts(session: AsyncSession, account_key: str, group_key: str) -> int:
    group = await get_group(session, account_key, group_key)
    where = groups_condition([group], account_key, dialect_of(session))
    return await count_contacts(session, account_key, where=where)


async def set_conversation_groups(
    session: AsyncSession, account_key: str, conversation_key: str, group_keys: Iterable[str]
) -> None:
    """Makes these the groups a conversation sends to (replacing any it had)."""
    conversation = await session.get(Conversation, conversation_key)
    if conversation is None or conversation.account_key != account_key:
        raise NotFound(f"Conversation '{conversation_key}' not found.")
    keys = list(dict.fromkeys(group_keys))
    for key in keys:
        await get_group(session, account_key, key)
    await session.execute(
        delete(ConversationGroup).where(ConversationGroup.conversation_key == conversation_key)
    )
    if keys:
        rows = [{"conversation_key": conversation_key, "group_key": key} for key in keys]
        await session.execute(insert_ignoring_duplicates(session, ConversationGroup), rows)


async def conversation_group_keys(
    session: AsyncSession, account_key: str, conversation_key: str
) -> list[str]:
    """The keys of the account's groups a conversation sends to, in key order."""
    stmt = (
        select(ConversationGroup.group_key)
        .join(ContactGroup, ContactGroup.key == ConversationGroup.group_key)
        .where(
            ConversationGroup.conversation_key == conversation_key,
            ContactGroup.account_key == account_key,
        )
        .order_by(ConversationGroup.group_key)
    )
    return list((await session.scalars(stmt)).all())
