"""Batches: one per conversation, router and acquired tag, made on first use and cached."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.base import new_key
from vumigo.db.engine import Database
from vumigo.db.models import Batch
from vumigo.db.upsert import insert_for

BatchId = tuple[str, str, str | None]  # (owner kind, owner ref, account key)

# Batches never change once made, so their keys are safe to cache for the process's life.
_cache: dict[tuple[str, BatchId], str] = {}


def _cache_key(session: AsyncSession, ident: BatchId) -> tuple[str, BatchId]:
    # Keyed by database URL as well, so tests and side-by-side instances never mix.
    return (str(session.get_bind().engine.url), ident)


def _query(ident: BatchId) -> Select[str]:
    kind, ref, account_key = ident
    owner = Batch.account_key.is_(None) if account_key is None else Batch.account_key == account_key
    return select(Batch.key).where(Batch.owner_kind == kind, Batch.owner_ref == ref, owner)


async def batch_key(
    session: AsyncSession, owner_kind: str, owner_ref: str, account_key: str | None
) -> str:
    """The key of the batch of (kind, ref, account), making the batch if it is new."""
    ident: BatchId = (owner_kind, owner_ref, account_key)
    cached = _cache.get(_cache_key(session, ident))
    if cached is not None:
        return cached
    key = (await session.execute(_query(ident))).scalar_one_or_none()
    if key is None:
        stmt = insert_for(session, Batch).values(
            key=new_key(), owner_kind=owner_kind, owner_ref=owner_ref, account_key=account_key
        )
        await session.execute(stmt.on_conflict_do_nothing())
        key = (await session.execute(_query(ident))).scalar_one()
    _cache[_cache_key(session, ident)] = key
    return key


async def find_batch(
    session: AsyncSession, owner_kind: str, owner_ref: str, account_key: str | None
) -> str | None:
    """The batch's key if it exists already (read-only: for pages and reports)."""
    ident: BatchId = (owner_kind, owner_ref, account_key)
    cached = _cache.get(_cache_key(session, ident))
    if cached is not None:
        return cached
    return (await session.execute(_query(ident))).scalar_one_or_none()


async def ensure_batch(
    db: Database, owner_kind: str, owner_ref: str, account_key: str | None
) -> str:
    """``batch_key`` outside any transaction: a cache hit costs nothing, a miss makes the batch
    in a short transaction of its own (so units of work never wait on it)."""
    ident: BatchId = (owner_kind, owner_ref, account_key)
    cached = _cache.get((str(db.engine.url), ident))
    if cached is not None:
        return cached
    async with db.transaction() as session:
        return await batch_key(session, owner_kind, owner_ref, account_key)
