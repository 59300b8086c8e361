"""Routers: like conversations, but they sit between channels and conversations and pick an
endpoint for each message (by keyword, by contact group, by a USSD menu).

A router has two connectors: ``ROUTER:<type>:<key>:INBOUND`` faces the channels and
``ROUTER:<type>:<key>:OUTBOUND`` faces the conversations. Each offers ``default`` plus its
extra endpoints (``extra_inbound_endpoints`` and ``extra_outbound_endpoints``).
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
from vumigo.db.models import Router
from vumigo.errors import NotFound
from vumigo.routing import connectors
from vumigo.routing.table import remove_connector_entries

LABEL = "router"


def inbound_connector(router: Router) -> connectors.Connector:
    return connectors.router(router.router_type, router.key, "INBOUND")


def outbound_connector(router: Router) -> connectors.Connector:
    return connectors.router(router.router_type, router.key, "OUTBOUND")


async def create_router(
    session: AsyncSession,
    account_key: str,
    router_type: str,
    name: str,
    *,
    description: str = "",
    config: dict[str, Any] | None = None,
    extra_inbound_endpoints: Iterable[str] | None = None,
    extra_outbound_endpoints: Iterable[str] | None = None,
) -> Router:
    """A new, stopped router. PermissionDenied if the account may not use the type."""
    await get_account(session, account_key)
    app = await require_allowed(session, account_key, router_type, "router")
    router = Router(
        account_key=account_key,
        router_type=app.name,
        name=lifecycle.check_name(name),
        description=description or "",
        config=lifecycle.check_config(config),
        extra_inbound_endpoints=lifecycle.check_endpoints(extra_inbound_endpoints),
        extra_outbound_endpoints=lifecycle.check_endpoints(extra_outbound_endpoints),
        status="stopped",
        archived=False,
    )
    session.add(router)
    await session.flush()
    return router


async def find_router(session: AsyncSession, key: str) -> Router:
    """Any account's router by key (operators only); NotFound if there is none."""
    router = await session.get(Router, key)
    if router is None:
        raise NotFound(f"unknown router {key!r}")
    return router


async def get_router(session: AsyncSession, account_key: str, key: str) -> Router:
    router = await session.get(Router, key)
    if router is None or router.account_key != account_key:
        raise NotFound(f"account {account_key} has no router {key}")
    return router


async def list_routers(
    session: AsyncSession,
    account_key: str,
    *,
    router_type: str | None = None,
    status: str | None = None,
    archived: bool | None = False,
) -> list[Router]:
    """The account's routers, newest first. ``archived=None`` lists both kinds."""
    query = select(Router).where(Router.account_key == account_key)
    if router_type is not None:
        query = query.where(Router.router_type == router_type)
    if status is not None:
        query = query.where(Router.status == lifecycle.check_status(status))
    if archived is not None:
        query = query.where(Router.archived.is_(archived))
    rows = await session.execute(query.order_by(Router.created_at.desc()))
    return list(rows.scalars())


async def start_router(session: AsyncSession, account_key: str, key: str) -> Router:
    router = await get_router(session, account_key, key)
    lifecycle.start(router, LABEL)
    await session.flush()
    return router


async def stop_router(session: AsyncSession, account_key: str, key: str) -> Router:
    router = await get_router(session, account_key, key)
    lifecycle.stop(router, LABEL)
    await session.flush()
    return router


async def archive_router(session: AsyncSession, account_key: str, key: str) -> int:
    """Archives a stopped router and drops its routing entries (both sides); returns how many."""
    router = await get_router(session, account_key, key)
    lifecycle.archive(router, LABEL)
    await session.flush()
    names = [str(inbound_connector(router)), str(outbound_connector(router))]
    return await remove_connector_entries(session, account_key, names)


async def update_router(
    session: AsyncSession,
    account_key: str,
    key: str,
    *,
    name: str | None = None,
    description: str | None = None,
    config: dict[str, Any] | None = None,
    extra_inbound_endpoints: Iterable[str] | None = None,
    extra_outbound_endpoints: Iterable[str] | None = None,
) -> Router:
    """Changes what is given. Endpoints that disappear are detached from the routing table."""
    router = await get_router(session, account_key, key)
    lifecycle.refuse_archived(router, LABEL)
    if name is not None:
        router.name = lifecycle.check_name(name)
    if description is not None:
        router.description = description
    if config is not None:
        router.config = lifecycle.check_config(config)
    if extra_inbound_endpoints is not None:
        new = lifecycle.check_endpoints(extra_inbound_endpoints)
        gone = set(router.extra_inbound_endpoints) - set(new)
        router.extra_inbound_endpoints = new
        if gone:
            conn = str(inbound_connector(router))
            await remove_connector_entries(session, account_key, [conn], endpoints=gone)
    if extra_outbound_endpoints is not None:
        new = lifecycle.check_endpoints(extra_outbound_endpoints)
        gone = set(router.extra_outbound_endpoints) - set(new)
        router.extra_outbound_endpoints = new
        if gone:
            conn = str(outbound_connector(router))
            await remove_connector_entries(session, account_key, [conn], endpoints=gone)
    router.updated_at = utcnow()
    await session.flush()
    return router
