"""What the developer phone has been sent: read back from its tag's batch, and waited for.

Both faces of the developer phone (the bearer-token API and the UI's phone page) read replies
this way. Waiting is woken by the engine's in-process notifier and also polls the store, so a
transport running in another process is seen too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from vumigo.db.engine import Database
from vumigo.db.models import MessageBatch, StoredMessage
from vumigo.runtime import Platform
from vumigo.store.batches import find_batch

POLL_INTERVAL = 0.1

Sent = list[tuple[int, dict[str, Any]]]  # (cursor, Vumi message JSON)


async def latest_seq(db: Database) -> int:
    """A cursor before anything sent from now on."""
    async with db.sessions() as session:
        return int((await session.execute(select(func.max(MessageBatch.seq)))).scalar() or 0)


async def sent_after(
    db: Database,
    account: str,
    pool: str,
    tag: str,
    after: int,
    to_addr: str | None,
    limit: int = 100,
) -> Sent:
    """Messages sent on ``pool:tag`` after the cursor (to ``to_addr`` only, if given)."""
    async with db.sessions() as session:
        batch = await find_batch(session, "tag", f"{pool}:{tag}", account)
        if batch is None:
            return []
        query = (
            select(MessageBatch.seq, StoredMessage.payload)
            .join(StoredMessage, StoredMessage.message_id == MessageBatch.message_id)
            .where(
                MessageBatch.batch_key == batch,
                MessageBatch.direction == "outbound",
                MessageBatch.seq > after,
            )
            .order_by(MessageBatch.seq)
            .limit(limit)
        )
        if to_addr:
            query = query.where(StoredMessage.to_addr == to_addr)
        rows = (await session.execute(query)).all()
    return [(seq, json.loads(payload)) for seq, payload in rows]


async def wait_for_sent(
    platform: Platform,
    account: str,
    pool: str,
    tag: str,
    after: int,
    to_addr: str | None,
    wait: float,
    gone: Callable[[], Awaitable[bool]] | None = None,
) -> Sent:
    """``sent_after``, waiting up to ``wait`` seconds for something (or until ``gone()``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    found = await sent_after(platform.db, account, pool, tag, after, to_addr)
    while not found and loop.time() < deadline:
        remaining = max(0.0, deadline - loop.time())
        await platform.engine.sent_notifier.wait(pool, tag, min(POLL_INTERVAL, remaining))
        if gone is not None and await gone():
            break
        found = await sent_after(platform.db, account, pool, tag, after, to_addr)
    return found
