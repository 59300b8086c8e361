"""Acquiring and releasing tags: how an account comes to hold a channel (``pool:tag``).

Two accounts may race for the last free tag, and one account may race itself past ``max_keys``
(two browser tabs). Both are settled by the database, the same way on SQLite and PostgreSQL:

1. The account's permission row is "touched" with a no-op UPDATE before anything is counted.
   On PostgreSQL that locks the row, so one account's acquisitions in a pool queue up; on
   SQLite it takes the database's write lock, so every acquisition queues up. Either way the
   ``max_keys`` count that follows cannot be stale.
2. A tag is claimed with ``UPDATE tags SET owner = :account WHERE id = :id AND owner IS NULL``,
   and only a row count of 1 means we got it. A loser of the race sees 0 and looks again.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts.queries import get_account
from vumigo.channels.tagpools import get_pool
from vumigo.db.base import utcnow
from vumigo.db.models import Tag, TagPoolPermission
from vumigo.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from vumigo.routing.connectors import transport_tag
from vumigo.routing.table import remove_connector_entries


def _rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def parse_channel(text: str) -> tuple[str, str]:
    """``pool:tag`` → (pool, tag). Only the first ':' splits, since tags may contain one."""
    pool, sep, tag = text.partition(":")
    if not sep or not pool or not tag:
        raise InvalidInput(f"invalid channel {text!r}: expected POOL:TAG")
    return pool, tag


async def _lock_grant(session: AsyncSession, account_key: str, pool: str) -> int | None:
    """Locks the account's grant for the pool and returns its max_keys (None: unlimited).

    The lock is the first statement on purpose: on SQLite a transaction that has only read
    cannot wait for the write lock (it fails with "database is locked" at once), while one
    whose first statement writes waits its turn.
    """
    grant = (TagPoolPermission.account_key == account_key) & (TagPoolPermission.pool == pool)
    touched = await session.execute(
        update(TagPoolPermission)
        .where(grant)
        .values(max_keys=TagPoolPermission.max_keys)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(touched) == 0:
        await get_account(session, account_key)
        await get_pool(session, pool)
        raise PermissionDenied(f"account {account_key} may not use pool {pool}")
    max_keys = await session.execute(select(TagPoolPermission.max_keys).where(grant))
    return max_keys.scalar_one() or None


async def _claim(session: AsyncSession, account_key: str, tag_id: int) -> bool:
    claimed = await session.execute(
        update(Tag)
        .where(Tag.id == tag_id, Tag.owner.is_(None))
        .values(owner=account_key, acquired_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(claimed) == 1


async def _claim_specific(session: AsyncSession, account_key: str, pool: str, tag: str) -> int:
    row = (
        await session.execute(select(Tag.id, Tag.owner).where(Tag.pool == pool, Tag.tag == tag))
    ).one_or_none()
    if row is None:
        raise NotFound(f"no tag {tag} in pool {pool}")
    if row.owner is None and await _claim(session, account_key, row.id):
        return int(row.id)
    owner = (await session.execute(select(Tag.owner).where(Tag.id == row.id))).scalar_one()
    if owner == account_key:
        raise Conflict(f"account {account_key} already holds {pool}:{tag}")
    raise Conflict(f"tag {pool}:{tag} is held by another account")


async def _claim_first_free(session: AsyncSession, account_key: str, pool: str) -> int:
    while True:
        candidate = (
            await session.execute(
                select(Tag.id)
                .where(Tag.pool == pool, Tag.owner.is_(None))
                .order_by(Tag.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if candidate is None:
            raise Conflict(f"no free tags in pool {pool}")
        if await _claim(session, account_key, candidate):
            return candidate
        # Someone else claimed it between our SELECT and UPDATE: look again.


async def acquire_tag(
    session: AsyncSession, account_key: str, pool: str, tag: str | None = None
) -> Tag:
    """Gives the account a tag of ``pool``: ``tag`` itself, or the first free one.

    NotFound for an unknown account, pool or tag; PermissionDenied without a grant or at
    ``max_keys``; Conflict when no tag is free or the one asked for is held.
    """
    max_keys = await _lock_grant(session, account_key, pool)
    if max_keys is not None:
        held = (
            await session.execute(
                select(func.count()).where(Tag.pool == pool, Tag.owner == account_key)
            )
        ).scalar_one()
        if held >= max_keys:
            raise PermissionDenied(
                f"account {account_key} already holds {held} of {max_keys} tags allowed "
                f"in pool {pool}"
            )
    if tag is None:
        tag_id = await _claim_first_free(session, account_key, pool)
    else:
        tag_id = await _claim_specific(session, account_key, pool, tag)
    # populate_existing: the UPDATE above bypassed any copy of this row the session holds.
    result = await session.execute(
        select(Tag).where(Tag.id == tag_id).execution_options(populate_existing=True)
    )
    return result.scalar_one()


async def release_tag(session: AsyncSession, account_key: str, pool: str, tag: str) -> int:
    """Gives the tag back to its pool and drops every routing entry naming its connector.

    Returns the number of routing entries removed. NotFound unless the account holds the tag.
    """
    released = await session.execute(
        update(Tag)
        .where(Tag.pool == pool, Tag.tag == tag, Tag.owner == account_key)
        .values(owner=None, acquired_at=None)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(released) == 0:
        await get_account(session, account_key)
        exists = await session.execute(select(Tag.id).where(Tag.pool == pool, Tag.tag == tag))
        if exists.scalar_one_or_none() is None:
            raise NotFound(f"no tag {tag} in pool {pool}")
        raise NotFound(f"account {account_key} does not hold {pool}:{tag}")
    return await remove_connector_entries(session, account_key, [str(transport_tag(pool, tag))])


async def account_tags(
    session: AsyncSession, account_key: str, pool: str | None = None
) -> list[Tag]:
    """The tags the account holds (optionally of one pool), in the order they were acquired."""
    query = select(Tag).where(Tag.owner == account_key)
    if pool is not None:
        query = query.where(Tag.pool == pool)
    rows = await session.execute(query.order_by(Tag.acquired_at, Tag.id))
    return list(rows.scalars())


async def tag_owner(session: AsyncSession, pool: str, tag: str) -> str | None:
    """The account holding ``pool:tag``, or None (free or unknown): the dispatcher's question."""
    owner = await session.execute(select(Tag.owner).where(Tag.pool == pool, Tag.tag == tag))
    return owner.scalar_one_or_none()
