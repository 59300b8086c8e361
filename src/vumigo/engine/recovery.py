"""Start-up recovery: puts back on the bus whatever was stored but not finished.

Workers are idempotent by message and event id (each claims a state change before it acts), so
re-queuing something that was in fact finished, or queued twice, has no second effect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from vumigo.bus import queues as q
from vumigo.db.models import StoredEvent, StoredMessage

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

CHUNK = 1000


async def requeue_unfinished(engine: Engine) -> dict[str, int]:
    counts = {"inbound": 0, "outbound": 0, "events": 0}
    async with engine.db.sessions() as session:
        inbound = await session.stream_scalars(
            select(StoredMessage.payload)
            .where(StoredMessage.direction == "inbound", StoredMessage.state == "accepted")
            .order_by(StoredMessage.timestamp)
            .execution_options(yield_per=CHUNK)
        )
        async for payload in inbound:
            await engine.bus.publish(q.DISPATCHER_INBOUND, payload.encode())
            counts["inbound"] += 1
        outbound = await session.stream_scalars(
            select(StoredMessage.payload)
            .where(StoredMessage.direction == "outbound", StoredMessage.state == "queued")
            .order_by(StoredMessage.timestamp)
            .execution_options(yield_per=CHUNK)
        )
        async for payload in outbound:
            await engine.bus.publish(q.DISPATCHER_OUTBOUND, payload.encode())
            counts["outbound"] += 1
        events = await session.stream_scalars(
            select(StoredEvent.payload)
            .where(StoredEvent.state.in_(("new", "counted")))
            .order_by(StoredEvent.timestamp)
            .execution_options(yield_per=CHUNK)
        )
        async for payload in events:
            await engine.bus.publish(q.DISPATCHER_EVENT, payload.encode())
            counts["events"] += 1
    return counts
