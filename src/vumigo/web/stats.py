"""The message figures pages show for a conversation or router: counts, progress, throughput.

Counts come from the store's incrementally kept counters (``store.queries.summary``), so they cost
a few indexed reads whatever the number of messages behind them.

Throughput is the original's measure (messages in the 300 s before the newest, per minute),
read with a bounded cost by ``store.queries.throughput``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.store.batches import find_batch
from vumigo.store.counters import PROGRESS_KEYS
from vumigo.store.queries import summary, throughput


@dataclass(slots=True)
class Figures:
    batch_key: str | None = None
    inbound: int = 0
    outbound: int = 0
    inbound_uniques: int = 0
    outbound_uniques: int = 0
    progress: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROGRESS_KEYS, 0))
    inbound_per_minute: float = 0.0
    outbound_per_minute: float = 0.0


async def figures(
    session: AsyncSession,
    owner_kind: str,
    key: str,
    account_key: str,
    with_throughput: bool = False,
) -> Figures:
    """The figures of a conversation's (or router's) batch; zeros before its first message."""
    batch = await find_batch(session, owner_kind, key, account_key)
    if batch is None:
        return Figures()
    counts = await summary(session, batch)
    result = Figures(
        batch_key=batch,
        inbound=counts.inbound,
        outbound=counts.outbound,
        inbound_uniques=counts.inbound_uniques,
        outbound_uniques=counts.outbound_uniques,
        progress=counts.progress_status,
    )
    if with_throughput:
        result.inbound_per_minute = await throughput(session, batch, "inbound")
        result.outbound_per_minute = await throughput(session, batch, "outbound")
    return result
