"""Cached look-ups the dispatcher and workers make for every message.

Accounts, tag owners, pool metadata, conversations and routing entries change rarely and are
read for every message, so each is cached for ``ttl`` seconds (the original cached accounts for
5 s). Changes made in this process invalidate the cache at once through ``forget``; changes made
elsewhere (the CLI, another worker) are seen within the TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select

from vumigo.db.engine import Database
from vumigo.db.models import Account, Conversation, Router, RoutingEntry, Tag, TagPool

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AccountInfo:
    key: str
    disable_optouts: bool
    can_manage_optouts: bool


@dataclass(frozen=True, slots=True)
class AppInfo:
    """A conversation or router as the engine needs it."""

    key: str
    account_key: str
    kind: str  # conversation | router
    app_type: str
    status: str
    archived: bool
    config: dict[str, Any]

    @property
    def running(self) -> bool:
        return self.status == "running" and not self.archived


class Lookups:
    def __init__(self, db: Database, ttl: float = 1.0) -> None:
        self.db = db
        self.ttl = ttl
        self._cache: dict[Hashable, tuple[float, Any]] = {}
        self._loading: dict[Hashable, asyncio.Future[Any]] = {}

    def forget(self) -> None:
        self._cache.clear()

    async def _cached(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            value: T = hit[1]
            return value
        # One load per key at a time: a batch of messages for one conversation must not
        # send a hundred identical queries when the entry expires.
        loading = self._loading.get(key)
        if loading is not None:
            shared: T = await asyncio.shield(loading)
            return shared
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so no "never retrieved" warning
            raise
        else:
            future.set_result(value)
            self._cache[key] = (time.monotonic() + self.ttl, value)
            return value
        finally:
            del self._loading[key]

    async def tag_owner(self, pool: str, tag: str) -> str | None:
        async def load() -> str | None:
            async with self.db.sessions() as session:
                query = select(Tag.owner).where(Tag.pool == pool, Tag.tag == tag)
                return (await session.execute(query)).scalar_one_or_none()

        return await self._cached(("owner", pool, tag), load)

    async def pool_meta(self, pool: str) -> dict[str, Any] | None:
        async def load() -> dict[str, Any] | None:
            async with self.db.sessions() as session:
                row = await session.get(TagPool, pool)
                return None if row is None else dict(row.meta)

        return await self._cached(("pool", pool), load)

    async def account(self, key: str) -> AccountInfo | None:
        async def load() -> AccountInfo | None:
            async with self.db.sessions() as session:
                row = await session.get(Account, key)
                if row is None:
                    return None
                return AccountInfo(row.key, row.disable_optouts, row.can_manage_optouts)

        return await self._cached(("account", key), load)

    async def conversation(self, key: str) -> AppInfo | None:
        async def load() -> AppInfo | None:
            async with self.db.sessions() as session:
                row = await session.get(Conversation, key)
                if row is None:
                    return None
                return AppInfo(
                    row.key,
                    row.account_key,
                    "conversation",
                    row.conversation_type,
                    row.status,
                    row.archived,
                    dict(row.config),
                )

        return await self._cached(("conversation", key), load)

    async def router(self, key: str) -> AppInfo | None:
        async def load() -> AppInfo | None:
            async with self.db.sessions() as session:
                row = await session.get(Router, key)
                if row is None:
                    return None
                return AppInfo(
                    row.key,
                    row.account_key,
                    "router",
                    row.router_type,
                    row.status,
                    row.archived,
                    dict(row.config),
                )

        return await self._cached(("router", key), load)

    async def route(
        self, account_key: str, connector: str, endpoint: str
    ) -> tuple[str, str] | None:
        """The (target connector, target endpoint) an account routes (connector, endpoint) to."""

        async def load() -> tuple[str, str] | None:
            async with self.db.sessions() as session:
                query = select(RoutingEntry.target_connector, RoutingEntry.target_endpoint).where(
                    RoutingEntry.account_key == account_key,
                    RoutingEntry.source_connector == connector,
                    RoutingEntry.source_endpoint == endpoint,
                )
                row = (await session.execute(query)).first()
                return None if row is None else (row[0], row[1])

        return await self._cached(("route", account_key, connector, endpoint), load)
