"""What the dashboard warns an account about: its credit running low, and its channels down.

Credit comes from the billing policy's thresholds (the same banner as the billing page). A
channel is reported down when a transport of this process serves one of the account's pools
and says it is not connected (an SMPP bind lost, say). Transports running in other processes
(the distributed mode's transports role) are not asked: their state is not visible here, and a
notice that is sometimes missing is better than one that is wrong.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.billing.notify import banner
from vumigo.billing.step import current_policy
from vumigo.channels.acquisition import account_tags
from vumigo.runtime import Platform

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Notice:
    level: str  # "info" or "error", as the UI's flashes
    text: str
    link: str = ""


async def credit_notice(session: AsyncSession, platform: Platform, account: str) -> Notice | None:
    policy = await current_policy(platform.engine, platform.db, platform.settings)
    shown = await banner(session, account, policy)
    return None if shown is None else Notice(shown.level, shown.text, "/billing/")


def down_pools(platform: Platform, pools: set[str]) -> dict[str, str]:
    """The account's pools that a transport of this process serves and reports down, with why."""
    down: dict[str, str] = {}
    if "transports" not in platform.roles:
        return down
    for transport in platform.engine.transports.transports.values():
        mine = pools & set(transport.pools)
        if not mine:
            continue
        try:
            health: dict[str, Any] = transport.health()
        except Exception:  # a notice must never break the dashboard
            log.exception("health of transport %s", transport.name)
            continue
        per_pool = health.get("pools")
        for pool in mine:
            state = per_pool.get(pool, health) if isinstance(per_pool, dict) else health
            if not state.get("connected", True) or state.get("bound") is False:
                down[pool] = str(state.get("error") or "not connected")
    return down


async def account_notices(session: AsyncSession, platform: Platform, account: str) -> list[Notice]:
    notices: list[Notice] = []
    credit = await credit_notice(session, platform, account)
    if credit is not None:
        notices.append(credit)
    pools = {tag.pool for tag in await account_tags(session, account)}
    for pool, why in sorted(down_pools(platform, pools).items()):
        notices.append(
            Notice(
                "error",
                f"Channels of {pool} are down ({why}): messages to them wait until it is back.",
                "/channels/",
            )
        )
    return notices
