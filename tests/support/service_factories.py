"""Factories that go through the foundation services (their rules apply), for their tests.

Each takes an open session and returns what it made; none commits, so a test decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts.apps import enable_apps
from vumigo.channels.acquisition import acquire_tag
from vumigo.channels.tagpools import assign_pool, create_pool
from vumigo.conversations.routers import create_router
from vumigo.conversations.service import create_conversation
from vumigo.db.models import Account, Conversation, Router, Tag, TagPool


async def account(session: AsyncSession, name: str = "acme", apps: bool = True) -> Account:
    """An account with no user (users cost an argon2 hash each); all app types enabled."""
    row = Account(name=name)
    session.add(row)
    await session.flush()
    if apps:
        await enable_apps(session, row.key)
    return row


async def pool(
    session: AsyncSession,
    name: str = "longcode",
    tags: Sequence[str] = ("t1", "t2", "t3"),
    meta: dict[str, Any] | None = None,
    *,
    grant: Sequence[str] = (),
    max_keys: int | None = None,
) -> TagPool:
    """A pool with ``tags``, and a grant of ``max_keys`` for each account key in ``grant``."""
    row = await create_pool(
        session, name, tags, meta or {"transport_name": "sms", "delivery_class": "sms"}
    )
    for account_key in grant:
        await assign_pool(session, account_key, name, max_keys)
    return row


async def channel(session: AsyncSession, account_key: str, pool_name: str = "longcode") -> Tag:
    """A pool (made if missing) granted to the account, and one of its tags acquired."""
    if await session.get(TagPool, pool_name) is None:
        await pool(session, pool_name)
    await assign_pool(session, account_key, pool_name, None)
    return await acquire_tag(session, account_key, pool_name)


async def conversation(
    session: AsyncSession,
    account_key: str,
    conversation_type: str = "bulk_message",
    **kwargs: Any,
) -> Conversation:
    return await create_conversation(
        session, account_key, conversation_type, kwargs.pop("name", "conv"), **kwargs
    )


async def router(
    session: AsyncSession, account_key: str, router_type: str = "keyword", **kwargs: Any
) -> Router:
    return await create_router(session, account_key, router_type, kwargs.pop("name", "r"), **kwargs)


async def enable_all(session: AsyncSession, account_key: str) -> None:
    await enable_apps(session, account_key)
