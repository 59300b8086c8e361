"""The ``kv`` resource's store in the database (``sandbox_kv``), per account, with expiry and an
atomic key quota on SQLite and PostgreSQL alike.

Overwriting a live key never needs the quota, so it is one UPDATE. Only creating a key does:
the account's key count is then checked and the key inserted while the account is locked, so
two writers cannot both take the last free slot:

- on PostgreSQL with a transaction-level advisory lock on the account (released at commit);
- on SQLite by the write transaction itself: writers are serialised (one writer per file,
  ``BEGIN IMMEDIATE``, and this process's writers share group commits one at a time).

Expired keys do not count against the quota (the original counted them until the key was
written again). They are deleted for good whenever a key of their account is created.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models.sandbox import MAX_KV_KEY_LENGTH, SandboxKeyValue
from vumigo.leases import lock_key
from vumigo.sandbox.resources.kv import NOT_AN_INTEGER, KeyQuotaExceeded
from vumigo.text import storable

KV = SandboxKeyValue


def _check_key(key: str) -> None:
    if len(key) > MAX_KV_KEY_LENGTH:
        raise ValueError(f"Key too long (at most {MAX_KV_KEY_LENGTH} characters)")
    if not storable(key):
        raise ValueError("Key contains a NUL character or invalid Unicode")


def _usable(key: str) -> bool:
    return len(key) <= MAX_KV_KEY_LENGTH and storable(key)


def _live(now: datetime) -> ColumnElement[bool]:
    return or_(KV.expires_at.is_(None), KV.expires_at > now)


def _this(account_key: str, key: str) -> ColumnElement[bool]:
    return and_(KV.account_key == account_key, KV.key == key)


class DbKeyValueStore:
    """Implements :class:`vumigo.sandbox.resources.kv.KeyValueStore` on ``sandbox_kv``."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def get(self, account_key: str, key: str) -> str | None:
        if not _usable(key):
            return None
        async with self.db.sessions() as session:
            value: str | None = await session.scalar(
                select(KV.value).where(_this(account_key, key), _live(self.clock()))
            )
        return value

    async def set(
        self, account_key: str, key: str, value: str, ttl: int | None, max_keys: int
    ) -> None:
        _check_key(key)
        now = self.clock()
        expires = None if ttl is None else now + timedelta(seconds=ttl)
        full = False
        async with self.db.transaction() as session:
            if not await self._overwrite(session, account_key, key, value, expires, now):
                full = not await self._make_room(session, account_key, max_keys, now)
                # Between the first try and the lock another writer may have made the key.
                if not full and not await self._overwrite(
                    session, account_key, key, value, expires, now
                ):
                    await self._insert(session, account_key, key, value, expires)
        # Raised after the transaction, so the purge of expired keys is kept.
        if full:
            raise KeyQuotaExceeded(key)

    async def incr(self, account_key: str, key: str, amount: int, max_keys: int) -> int:
        _check_key(key)
        now = self.clock()
        full = False
        result = amount
        async with self.db.transaction() as session:
            current = await self._locked_value(session, account_key, key, now)
            if current is None:
                full = not await self._make_room(session, account_key, max_keys, now)
                current = None if full else await self._locked_value(session, account_key, key, now)
                if not full and current is None:
                    await self._insert(session, account_key, key, json.dumps(amount), None)
            if current is not None:
                result = _as_int(current) + amount
                # The expiry is left as it was: incrementing does not renew a key.
                await session.execute(
                    update(KV).where(_this(account_key, key)).values(value=json.dumps(result))
                )
        if full:
            raise KeyQuotaExceeded(key)
        return result

    async def delete(self, account_key: str, key: str) -> bool:
        if not _usable(key):
            return False
        now = self.clock()
        async with self.db.transaction() as session:
            gone = (
                await session.execute(
                    delete(KV).where(_this(account_key, key)).returning(KV.expires_at)
                )
            ).all()
        return any(expires is None or expires > now for (expires,) in gone)

    async def count(self, account_key: str) -> int:
        async with self.db.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(KV)
                    .where(KV.account_key == account_key, _live(self.clock()))
                )
                or 0
            )

    async def _overwrite(
        self,
        session: AsyncSession,
        account_key: str,
        key: str,
        value: str,
        expires: datetime | None,
        now: datetime,
    ) -> bool:
        result = await session.execute(
            update(KV)
            .where(_this(account_key, key), _live(now))
            .values(value=value, expires_at=expires)
        )
        return int(getattr(result, "rowcount", 0) or 0) > 0

    async def _locked_value(
        self, session: AsyncSession, account_key: str, key: str, now: datetime
    ) -> str | None:
        # FOR UPDATE makes concurrent increments of one key queue on PostgreSQL; SQLite has
        # no row locks and needs none (its writers never overlap).
        value: str | None = await session.scalar(
            select(KV.value).where(_this(account_key, key), _live(now)).with_for_update()
        )
        return value

    async def _make_room(
        self, session: AsyncSession, account_key: str, max_keys: int, now: datetime
    ) -> bool:
        """Locks the account's keys, drops its expired ones, and says whether one more fits."""
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": lock_key(f"sandbox_kv:{account_key}")},
            )
        await session.execute(delete(KV).where(KV.account_key == account_key, KV.expires_at <= now))
        count = await session.scalar(
            select(func.count()).select_from(KV).where(KV.account_key == account_key)
        )
        return int(count or 0) < max_keys

    async def _insert(
        self,
        session: AsyncSession,
        account_key: str,
        key: str,
        value: str,
        expires: datetime | None,
    ) -> None:
        await session.execute(
            insert(KV).values(account_key=account_key, key=key, value=value, expires_at=expires)
        )


def _as_int(raw: str) -> int:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(NOT_AN_INTEGER)
    return value
