"""The figures on the operator overview, each a cheap query.

Counts of accounts, users and conversations are single ``count(*)`` statements; traffic and
backlogs come from ``store.traffic``, which bounds what they read; bus queue depths are asked
with a short timeout, so a slow broker shows as "unknown" rather than holding the page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.bus import queues
from vumigo.channels.tagpools import PoolSummary, list_pools
from vumigo.db.models import Account, Conversation, Router, User
from vumigo.runtime import Platform
from vumigo.store.traffic import Count, Traffic, backlogs, recent_traffic

QUEUES = (queues.DISPATCHER_INBOUND, queues.DISPATCHER_OUTBOUND, queues.DISPATCHER_EVENT)
QUEUE_TIMEOUT = 0.2  # seconds per queue


@dataclass(slots=True)
class Overview:
    accounts: int
    users: int
    admins: int
    conversations: int
    running: int
    routers_running: int
    traffic: Traffic
    backlogs: dict[str, Count]
    queues: dict[str, int | None] = field(default_factory=dict)  # None: could not be read
    pools: list[PoolSummary] = field(default_factory=list)


def period_starts(now: datetime) -> tuple[datetime, datetime]:
    """The start of today and of this week (Monday), in UTC."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today - timedelta(days=today.weekday())


async def _count(session: AsyncSession, query: Any) -> int:
    return int((await session.execute(query)).scalar_one())


async def _queue_depths(platform: Platform) -> dict[str, int | None]:
    depths: dict[str, int | None] = {}
    for name in QUEUES:
        try:
            depths[name] = await asyncio.wait_for(
                platform.engine.bus.depth(name), timeout=QUEUE_TIMEOUT
            )
        except Exception:  # a broker hiccup shows as "unknown"; the page still answers
            depths[name] = None
    return depths


async def overview(platform: Platform, now: datetime | None = None) -> Overview:
    today, week = period_starts(now or datetime.now(UTC))
    live = Conversation.archived.is_(False)
    async with platform.db.sessions() as session:
        figures = Overview(
            accounts=await _count(session, select(func.count()).select_from(Account)),
            users=await _count(session, select(func.count()).where(User.is_active.is_(True))),
            admins=await _count(
                session,
                select(func.count()).where(User.is_admin.is_(True), User.is_active.is_(True)),
            ),
            conversations=await _count(session, select(func.count()).where(live)),
            running=await _count(
                session, select(func.count()).where(live, Conversation.status == "running")
            ),
            routers_running=await _count(
                session,
                select(func.count()).where(Router.archived.is_(False), Router.status == "running"),
            ),
            traffic=await recent_traffic(session, today, week),
            backlogs=await backlogs(session),
            pools=await list_pools(session),
        )
    figures.queues = await _queue_depths(platform)
    return figures
