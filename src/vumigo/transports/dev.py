"""The developer phone transport (type ``dev``): tags act as virtual numbers.

Nothing leaves the platform: an outbound message is "delivered" by storing it as sent, where the
developer phone's API and page pick it up. It acks at once and reports delivery shortly after,
like a well-behaved carrier, so apps see the full event cycle.
"""

from __future__ import annotations

import asyncio
from typing import Any

from vumigo.message import UserMessage
from vumigo.transports.base import Transport

DELIVERY_REPORT_DELAY = 0.05


class DevTransport(Transport):
    transport_type = "dev"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reports: set[asyncio.Task[None]] = set()

    async def stop(self) -> None:
        for task in list(self.reports):
            task.cancel()

    async def send(self, msg: UserMessage) -> None:
        if not await self.claim(msg):
            return
        await self.ack(msg, msg.message_id)
        pool, tag = msg.helper_metadata["tag"]["tag"]
        await self.engine.sent_notifier.notify(pool, tag)
        task = asyncio.create_task(self._report(msg.message_id))
        self.reports.add(task)
        task.add_done_callback(self.reports.discard)

    async def _report(self, message_id: str) -> None:
        await asyncio.sleep(DELIVERY_REPORT_DELAY)
        await self.delivery_report(message_id, "delivered")
