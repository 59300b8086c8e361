"""Tag pools: creating them, adding tags, listing them (and one pool's tags and grantees, a page
at a time), purging them, and who may use them.

A pool is a set of addresses of one channel (numbers, short codes, USSD codes); an account holds
some of its tags once it has acquired them (see ``acquisition``). A permission lets an account
hold up to ``max_keys`` tags of a pool; None (or 0, which the original's command took to mean the
same) is unlimited, and is stored as None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.channels.poolspec import check_meta, check_pool_name, check_tags
from vumigo.db.models import Account, Tag, TagPool, TagPoolPermission
from vumigo.errors import Conflict, InvalidInput, NotFound


@dataclass(slots=True)
class PoolSummary:
    name: str
    meta: dict[str, Any]
    total: int
    in_use: int

    @property
    def free(self) -> int:
        return self.total - self.in_use


async def get_pool(session: AsyncSession, name: str) -> TagPool:
    pool = await session.get(TagPool, name)
    if pool is None:
        raise NotFound(f"unknown tagpool {name!r}")
    return pool


async def _existing_tags(session: AsyncSession, pool: str) -> set[str]:
    return set((await session.execute(select(Tag.tag).where(Tag.pool == pool))).scalars())


async def create_pool(
    session: AsyncSession, name: str, tags: Iterable[str], meta: Mapping[str, Any] | None = None
) -> TagPool:
    """A new pool with these tags (duplicates dropped); Conflict if the name is taken."""
    check_pool_name(name)
    tag_list = check_tags(list(tags))
    flat = check_meta(meta or {})
    if await session.get(TagPool, name) is not None:
        raise Conflict(f"tagpool {name} already exists")
    pool = TagPool(name=name, meta=flat)
    session.add(pool)
    await session.flush()
    if tag_list:
        await session.execute(insert(Tag), [{"pool": name, "tag": tag} for tag in tag_list])
    return pool


async def add_tags(session: AsyncSession, name: str, tags: Iterable[str]) -> list[str]:
    """Adds tags to an existing pool; returns the ones that were new (the rest are left alone)."""
    await get_pool(session, name)
    existing = await _existing_tags(session, name)
    new = [tag for tag in check_tags(list(tags)) if tag not in existing]
    if new:
        await session.execute(insert(Tag), [{"pool": name, "tag": tag} for tag in new])
    return new


async def update_meta(
    session: AsyncSession, name: str, meta: Mapping[str, Any], *, replace: bool = False
) -> TagPool:
    """Merges (or with ``replace``, swaps in) pool metadata."""
    pool = await get_pool(session, name)
    flat = check_meta(meta)
    pool.meta = flat if replace else {**pool.meta, **flat}
    await session.flush()
    return pool


async def list_pools(session: AsyncSession) -> list[PoolSummary]:
    """Every pool by name, with its tag counts (one grouped query, not one per pool)."""
    counts = await session.execute(
        select(
            Tag.pool,
            func.count(Tag.id),
            func.sum(case((Tag.owner.is_not(None), 1), else_=0)),
        ).group_by(Tag.pool)
    )
    by_pool = {pool: (int(total), int(used or 0)) for pool, total, used in counts}
    pools = (await session.execute(select(TagPool).order_by(TagPool.name))).scalars()
    return [PoolSummary(p.name, p.meta, *by_pool.get(p.name, (0, 0))) for p in pools]


async def purge_pool(session: AsyncSession, name: str) -> int:
    """Deletes a pool, its tags and its permissions; refused while any tag is held.

    Returns the number of tags deleted.
    """
    await get_pool(session, name)
    in_use = await session.execute(
        select(func.count()).where(Tag.pool == name, Tag.owner.is_not(None))
    )
    held = in_use.scalar_one()
    if held:
        raise Conflict(f"tagpool {name} has {held} tag(s) in use; release them before purging")
    total = (await session.execute(select(func.count()).where(Tag.pool == name))).scalar_one()
    # Explicit deletes rather than relying on ON DELETE CASCADE, which SQLite only honours with
    # its foreign_keys pragma on.
    await session.execute(delete(TagPoolPermission).where(TagPoolPermission.pool == name))
    await session.execute(delete(Tag).where(Tag.pool == name))
    await session.execute(delete(TagPool).where(TagPool.name == name))
    return int(total)


async def assign_pool(
    session: AsyncSession, account_key: str, pool: str, max_keys: int | None
) -> TagPoolPermission:
    """Lets the account hold up to ``max_keys`` tags of the pool (creates or updates the grant)."""
    if max_keys is not None and max_keys < 0:
        raise InvalidInput(f"max_keys must be 0 (unlimited) or more, not {max_keys}")
    if await session.get(Account, account_key) is None:
        raise NotFound(f"unknown account {account_key!r}")
    await get_pool(session, pool)
    grant = (
        await session.execute(
            select(TagPoolPermission).where(
                TagPoolPermission.account_key == account_key, TagPoolPermission.pool == pool
            )
        )
    ).scalar_one_or_none()
    if grant is None:
        grant = TagPoolPermission(account_key=account_key, pool=pool)
        session.add(grant)
    grant.max_keys = max_keys or None
    await session.flush()
    return grant


async def remove_pool_permission(session: AsyncSession, account_key: str, pool: str) -> None:
    """Withdraws the grant. Tags the account already holds stay held until released."""
    if await session.get(Account, account_key) is None:
        raise NotFound(f"unknown account {account_key!r}")
    result = await session.execute(
        delete(TagPoolPermission).where(
            TagPoolPermission.account_key == account_key, TagPoolPermission.pool == pool
        )
    )
    if cast(CursorResult[Any], result).rowcount == 0:
        raise NotFound(f"account {account_key} has no permission for tagpool {pool}")


async def pool_permissions(session: AsyncSession, account_key: str) -> list[TagPoolPermission]:
    rows = await session.execute(
        select(TagPoolPermission)
        .where(TagPoolPermission.account_key == account_key)
        .order_by(TagPoolPermission.pool)
    )
    return list(rows.scalars())


async def pool_summary(session: AsyncSession, name: str) -> PoolSummary:
    """One pool with its tag counts; NotFound for an unknown pool."""
    pool = await get_pool(session, name)
    total, used = (
        await session.execute(
            select(func.count(Tag.id), func.sum(case((Tag.owner.is_not(None), 1), else_=0))).where(
                Tag.pool == name
            )
        )
    ).one()
    return PoolSummary(pool.name, pool.meta, int(total), int(used or 0))


@dataclass(slots=True)
class Holding:
    """A tag of a pool and who holds it (None: free)."""

    tag: str
    owner: str | None
    owner_name: str | None
    acquired_at: datetime | None


async def pool_tags(
    session: AsyncSession,
    name: str,
    *,
    held: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Holding], int]:
    """One page of a pool's tags in tag order (only held or only free ones if asked), with
    their holders' names, and how many such tags there are."""
    await get_pool(session, name)
    where = [Tag.pool == name]
    if held is not None:
        where.append(Tag.owner.is_not(None) if held else Tag.owner.is_(None))
    total = (await session.execute(select(func.count()).where(*where))).scalar_one()
    rows = await session.execute(
        select(Tag.tag, Tag.owner, Account.name, Tag.acquired_at)
        .outerjoin(Account, Account.key == Tag.owner)
        .where(*where)
        .order_by(Tag.tag)
        .offset(offset)
        .limit(limit)
    )
    return [Holding(*row) for row in rows], int(total)


@dataclass(slots=True)
class Grantee:
    """An account allowed to hold tags of a pool."""

    account_key: str
    account_name: str
    max_keys: int | None  # None: unlimited
    held: int


async def pool_grantees(session: AsyncSession, name: str) -> list[Grantee]:
    """The accounts that may use the pool, by name, with how many of its tags each holds."""
    await get_pool(session, name)
    grants = await session.execute(
        select(TagPoolPermission.account_key, Account.name, TagPoolPermission.max_keys)
        .join(Account, Account.key == TagPoolPermission.account_key)
        .where(TagPoolPermission.pool == name)
        .order_by(Account.name, Account.key)
    )
    found = [
        Grantee(key, account_name, max_keys or None, 0) for key, account_name, max_keys in grants
    ]
    if found:
        # Counted through the owner index, one grouped query for all of them.
        counts = await session.execute(
            select(Tag.owner, func.count())
            .where(Tag.owner.in_([g.account_key for g in found]), Tag.pool == name)
            .group_by(Tag.owner)
        )
        held = {str(owner): int(count) for owner, count in counts}
        for grantee in found:
            grantee.held = held.get(grantee.account_key, 0)
    return found
