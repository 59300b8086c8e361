"""In-process wake-ups for readers waiting on what transports send."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict


class SentNotifier:
    """Wakes readers of a tag (the developer phone) when a transport of this process sends on it.

    Readers also poll the store, so what a transport in another process sends is seen too.
    """

    def __init__(self) -> None:
        self.conditions: defaultdict[tuple[str, str], asyncio.Condition] = defaultdict(
            asyncio.Condition
        )

    async def notify(self, pool: str, tag: str) -> None:
        condition = self.conditions[(pool, tag)]
        async with condition:
            condition.notify_all()

    async def wait(self, pool: str, tag: str, timeout: float) -> None:
        condition = self.conditions[(pool, tag)]
        async with condition:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(condition.wait(), timeout)
