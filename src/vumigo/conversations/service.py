"""Conversations: an account's instances of an app type (a survey, a group message, a jsbox app).

Every function is scoped by account: another account's conversation is NotFound, exactly as an
unknown key is, so keys can't be probed across accounts. ``find_conversation`` is the one
unscoped read, for operators.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts.apps import require_allowed
from vumigo.accounts.queries import get_account
from vumigo.conversations import lifecycle
from vumigo.db.base import utcnow
from vumigo.db.models import Conversation
from vumigo.errors import NotFound
from vumigo.routing import connectors
from vumigo.routing.table import remove_connector_entries

LABEL = "conversation"


def connector(conv: Conversation) -> connectors.Connector:
    """The routing-table connector of a conversation (``CONVERSATION:<type>:<key>``)."""
    return connectors.conversation(conv.conversation_type, conv.key)


def endpoints(conv: Conversation) -> list[str]:
    return [connectors.DEFAULT_ENDPOINT, *conv.extra_endpoints]


async def create_conversation(
    session: AsyncSession,
    account_key: str,
    conversation_type: str,
    name: str,
    *,
    description: str = "",
    config: dict[str, Any] | None = None,
    extra_endpoints: Iterable[str] | None = None,
) -> Conversation:
    """A new, stopped conversation. PermissionDenied if the account may not use the type."""
    await get_account(session, account_key)
    app = await require_allowed(session, account_key, conversation_type, "conversation")
    conv = Conversation(
        account_key=account_key,
        conversation_type=app.name,
        name=lifecycle.check_name(name),
        description=description or "",
        config=lifecycle.check_config(config),
        extra_endpoints=lifecycle.check_endpoints(extra_endpoints),
        status="stopped",
        archived=False,
    )
    session.add(conv)
    await session.flush()
    return conv


async def find_conversation(session: AsyncSession, key: str) -> Conversation:
    """Any account's conversation by key (operators only); NotFound if there is none."""
    conv = await session.get(Conversation, key)
    if conv is None:
        raise NotFound(f"unknown conversation {key!r}")
    return conv


async def get_conversation(session: AsyncSession, account_key: str, key: str) -> Conversation:
    conv = await session.get(Conversation, key)
    if conv is None or conv.account_key != account_key:
        raise NotFound(f"account {account_key} has no conversation {key}")
    return conv


async def list_conversations(
    session: AsyncSession,
    account_key: str,
    *,
    conversation_type: str | None = None,
    status: str | None = None,
    archived: bool | None = False,
) -> list[Conversation]:
    """The account's conversations, newest first. ``archived=None`` lists both kinds."""
    query = select(Conversation).where(Conversation.account_key == account_key)
    if conversation_type is not None:
        query = query.where(Conversation.conversation_type == conversation_type)
    if status is not None:
        query = query.where(Conversation.status == lifecycle.check_status(status))
    if archived is not None:
        query = query.where(Conversation.archived.is_(archived))
    rows = await session.execute(query.order_by(Conversation.created_at.desc()))
    return list(rows.scalars())


async def start_conversation(session: AsyncSession, account_key: str, key: str) -> Conversation:
    conv = await get_conversation(session, account_key, key)
    lifecycle.start(conv, LABEL)
    await session.flush()
    return conv


async def stop_conversation(session: AsyncSession, account_key: str, key: str) -> Conversation:
    conv = await get_conversation(session, account_key, key)
    lifecycle.stop(conv, LABEL)
    await session.flush()
    return conv


async def archive_conversation(session: AsyncSession, account_key: str, key: str) -> int:
    """Archives a stopped conversation and drops its routing entries; returns how many."""
    conv = await get_conversation(session, account_key, key)
    lifecycle.archive(conv, LABEL)
    await session.flush()
    return await remove_connector_entries(session, account_key, [str(connector(conv))])


async def update_conversation(
    session: AsyncSession,
    account_key: str,
    key: str,
    *,
    name: str | None = None,
    description: str | None = None,
    config: dict[str, Any] | None = None,
    extra_endpoints: Iterable[str] | None = None,
) -> Conversation:
    """Changes what is given. Endpoints that disappear are detached from the routing table."""
    conv = await get_conversation(session, account_key, key)
    lifecycle.refuse_archived(conv, LABEL)
    if name is not None:
        conv.name = lifecycle.check_name(name)
    if description is not None:
        conv.description = description
    if config is not None:
        conv.config = lifecycle.check_config(config)
    if extra_endpoints is not None:
        new = lifecycle.check_endpoints(extra_endpoints)
        gone = set(conv.extra_endpoints) - set(new)
        conv.extra_endpoints = new
        if gone:
            await remove_connector_entries(
                session, account_key, [str(connector(conv))], endpoints=gone
            )
    conv.updated_at = utcnow()
    await session.flush()
    return conv
