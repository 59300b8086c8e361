"""Factories for test data, written straight through the models (fast, no service rules)."""

from __future__ import annotations

from typing import Any

from vumigo.accounts.tokens import create_token
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import Account, Conversation, RoutingEntry, Tag, TagPool, TagPoolPermission

DEV_POOL_META: dict[str, Any] = {
    "transport_type": "dev",
    "transport_name": "dev",
    "delivery_class": "sms",
    "display_name": "Developer phone",
    "supports.generic_sends": True,
    "supports.replies": True,
    "reply_to_unroutable_inbound": True,
}


async def make_account(db: Database, **fields: Any) -> tuple[str, str]:
    """A new account and a bearer token for it."""
    async with db.transaction() as session:
        account = Account(name=fields.pop("name", "Test account"), **fields)
        session.add(account)
        await session.flush()
        _, token = await create_token(session, account.key)
        return account.key, token


async def make_pool(
    db: Database, name: str, tags: list[str], meta: dict[str, Any] | None = None
) -> None:
    async with db.transaction() as session:
        session.add(TagPool(name=name, meta=dict(DEV_POOL_META if meta is None else meta)))
        await session.flush()
        for tag in tags:
            session.add(Tag(pool=name, tag=tag))


async def hold_tag(db: Database, account_key: str, pool: str, tag: str) -> None:
    from sqlalchemy import update

    from vumigo.db.upsert import insert_for

    async with db.transaction() as session:
        permission = insert_for(session, TagPoolPermission).values(
            account_key=account_key, pool=pool, max_keys=0
        )
        await session.execute(permission.on_conflict_do_nothing())
        await session.execute(
            update(Tag)
            .where(Tag.pool == pool, Tag.tag == tag)
            .values(owner=account_key, acquired_at=utcnow())
        )


async def make_conversation(
    db: Database,
    account_key: str,
    conversation_type: str,
    config: dict[str, Any] | None = None,
    status: str = "running",
) -> str:
    async with db.transaction() as session:
        conversation = Conversation(
            account_key=account_key,
            conversation_type=conversation_type,
            name=f"{conversation_type} test",
            config=config or {},
            status=status,
        )
        session.add(conversation)
        await session.flush()
        return conversation.key


async def link(
    db: Database,
    account_key: str,
    source: str,
    target: str,
    source_ep: str = "default",
    target_ep: str = "default",
) -> None:
    async with db.transaction() as session:
        session.add(
            RoutingEntry(
                account_key=account_key,
                source_connector=source,
                source_endpoint=source_ep,
                target_connector=target,
                target_endpoint=target_ep,
            )
        )


async def route_both_ways(db: Database, account_key: str, pool: str, tag: str, conv: str) -> None:
    """Links a tag and a conversation in both directions on their default endpoints."""
    await link(db, account_key, f"TRANSPORT_TAG:{pool}:{tag}", conv)
    await link(db, account_key, conv, f"TRANSPORT_TAG:{pool}:{tag}")
