"""Pages of contacts and bounded counts, cheap on an account of any size.

Lists page by key (``after`` / ``before`` a key), never by OFFSET, so a late page costs what the
first does. Counts of searches and smart groups stop at ``CAP`` ("10,000+"), as the original's
lists did (an exact count of 100,000 contacts reads 100,000 index entries); a static group's
count is exact, as it reads only its membership rows.

A filtered list first asks only for the keys that match, at most ``CAP + 1`` of them and in no
order, which lets the database use the filter's own index (a number, a name, an extras value).
If that is all of them, it is the count too, and the page is cut from those keys. Only a
broad match (more than ``CAP``) is paged by walking the account's contacts in key order, which
then finds a page's worth within a few hundred rows. Asking for a filtered page in key order
straight away would let SQLite walk the key index for a rare match, reading every contact.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from vumigo.contacts.service import plausible_key
from vumigo.db.models.contacts import Contact, GroupMember

PER_PAGE = 50
CAP = 10_000


@dataclass(frozen=True)
class ContactPage:
    contacts: Sequence[Contact]
    # Keys to page from; None where there is nothing further that way.
    previous_before: str | None
    next_after: str | None


@dataclass(frozen=True)
class Count:
    value: int
    capped: bool  # True: at least ``value``


@dataclass(frozen=True)
class Listing:
    page: ContactPage
    count: Count


def cursor_key(value: str | None) -> str | None:
    """A paging key from the query string, or None for a value that cannot be one."""
    return value if value and plausible_key(value) else None


async def _rows(session: AsyncSession, account_key: str, keys: Sequence[str]) -> list[Contact]:
    """The account's contacts with these keys, in the keys' order."""
    if not keys:
        return []
    stmt = select(Contact).where(Contact.account_key == account_key, Contact.key.in_(list(keys)))
    found = {contact.key: contact for contact in await session.scalars(stmt)}
    return [found[key] for key in keys if key in found]


def _cut(
    keys: list[str], more: bool, after: str | None, backwards: bool
) -> tuple[str | None, str | None]:
    """(previous_before, next_after) of a page of ``keys`` read after or (backwards) before."""
    if not keys:
        return None, None
    if backwards:
        return (keys[0] if more else None), keys[-1]
    return (keys[0] if after is not None else None), (keys[-1] if more else None)


async def _key_page(
    session: AsyncSession,
    column: InstrumentedAttribute[str],
    where: Sequence[ColumnElement[bool]],
    after: str | None,
    before: str | None,
    limit: int,
) -> tuple[list[str], str | None, str | None]:
    """A page of keys from ``column`` in key order, with the cursors either side."""
    stmt = select(column).where(*where)
    backwards = False
    if before is not None and after is None:
        backwards = True
        stmt = stmt.where(column < before).order_by(column.desc())
    else:
        if after is not None:
            stmt = stmt.where(column > after)
        stmt = stmt.order_by(column)
    keys = list((await session.scalars(stmt.limit(limit + 1))).all())
    more = len(keys) > limit
    keys = keys[:limit]
    if backwards:
        keys.reverse()
    previous, following = _cut(keys, more, after, backwards)
    return keys, previous, following


async def contact_page(
    session: AsyncSession,
    account_key: str,
    where: ColumnElement[bool] | None,
    after: str | None = None,
    before: str | None = None,
    limit: int | None = None,
) -> ContactPage:
    """A page of the account's contacts matching ``where``, walking them in key order."""
    limit = PER_PAGE if limit is None else limit
    conditions = [Contact.account_key == account_key]
    if where is not None:
        conditions.append(where)
    keys, previous, following = await _key_page(
        session, Contact.key, conditions, after, before, limit
    )
    return ContactPage(await _rows(session, account_key, keys), previous, following)


def _window(
    keys: list[str], after: str | None, before: str | None, limit: int
) -> tuple[list[str], str | None, str | None]:
    """A page cut from all the (sorted) matching keys."""
    if after is not None or before is None:
        start = bisect_right(keys, after) if after is not None else 0
        chunk = keys[start : start + limit]
        previous = chunk[0] if start > 0 and chunk else None
        following = chunk[-1] if start + limit < len(keys) else None
        return chunk, previous, following
    end = bisect_left(keys, before)
    start = max(0, end - limit)
    chunk = keys[start:end]
    previous = chunk[0] if start > 0 and chunk else None
    following = chunk[-1] if chunk and end < len(keys) else None
    return chunk, previous, following


async def list_matching(
    session: AsyncSession,
    account_key: str,
    where: ColumnElement[bool] | None,
    after: str | None = None,
    before: str | None = None,
    limit: int | None = None,
    cap: int | None = None,
) -> Listing:
    """A page of the contacts matching ``where`` (everyone if None) and how many there are."""
    limit = PER_PAGE if limit is None else limit
    cap = CAP if cap is None else cap
    if where is None:
        page = await contact_page(session, account_key, None, after, before, limit)
        return Listing(page, await count_contacts_capped(session, account_key, None, cap))
    probe = select(Contact.key).where(Contact.account_key == account_key, where).limit(cap + 1)
    keys = list((await session.scalars(probe)).all())
    if len(keys) > cap:
        page = await contact_page(session, account_key, where, after, before, limit)
        return Listing(page, Count(cap, True))
    keys.sort()
    chunk, previous, following = _window(keys, after, before, limit)
    page = ContactPage(await _rows(session, account_key, chunk), previous, following)
    return Listing(page, Count(len(keys), False))


async def member_page(
    session: AsyncSession,
    account_key: str,
    group_key: str,
    after: str | None = None,
    before: str | None = None,
    limit: int | None = None,
) -> ContactPage:
    """A page of a static group's members, walking the membership table's primary key."""
    limit = PER_PAGE if limit is None else limit
    keys, previous, following = await _key_page(
        session, GroupMember.contact_key, [GroupMember.group_key == group_key], after, before, limit
    )
    return ContactPage(await _rows(session, account_key, keys), previous, following)


async def count_contacts_capped(
    session: AsyncSession,
    account_key: str,
    where: ColumnElement[bool] | None,
    cap: int | None = None,
) -> Count:
    cap = CAP if cap is None else cap
    inner = select(Contact.key).where(Contact.account_key == account_key)
    if where is not None:
        inner = inner.where(where)
    sub = inner.limit(cap + 1).subquery()
    value = int((await session.execute(select(func.count()).select_from(sub))).scalar_one())
    return Count(min(value, cap), value > cap)


async def static_counts(session: AsyncSession, group_keys: Sequence[str]) -> dict[str, int]:
    """Members of each static group, from the membership table's primary key alone.

    Members are always the group's own account's contacts (adding checks it, deleting a
    contact removes its memberships), so no join with contacts is needed.
    """
    counts = dict.fromkeys(group_keys, 0)
    if group_keys:
        stmt = (
            select(GroupMember.group_key, func.count())
            .where(GroupMember.group_key.in_(list(group_keys)))
            .group_by(GroupMember.group_key)
        )
        for key, value in await session.execute(stmt):
            counts[key] = int(value)
    return counts
