"""The developer phone transport (type ``dev``): tags act as virtual numbers.

Nothing leaves the platform: an outbound message is "delivered" by storing it as sent, where the
developer phone's API and page pick it up. It acks at once and reports delivery shortly after,
like a well-behaved carrier, so apps see the full event cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from vumigo.message import Event, UserMessage
from vumigo.transports.base import Transport

DELIVERY_REPORT_DELAY = 0.05


class DevTransport(Transport):
    transport_type = "dev"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending_reports: list[str] = []
        self.reporter: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.reporter = asyncio.create_task(self._report_loop())

    async def stop(self) -> None:
        if self.reporter is not None:
            self.reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reporter
        await self._flush_reports()

    async def send(self, msg: UserMessage) -> None:
        await self.send_many([msg])

    async def send_many(self, msgs: list[UserMessage]) -> None:
        claimed = await self.claim_many(msgs)
        if not claimed:
            return
        await self.engine.accept_events([Event.ack(m.message_id, m.message_id) for m in claimed])
        for pool, tag in {tuple(m.helper_metadata["tag"]["tag"]) for m in claimed}:
            await self.engine.sent_notifier.notify(pool, tag)
        self.pending_reports.extend(m.message_id for m in claimed)

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(DELIVERY_REPORT_DELAY)
            await self._flush_reports()

    async def _flush_reports(self) -> None:
        if not self.pending_reports:
            return
        ids, self.pending_reports = self.pending_reports, []
        await self.engine.accept_events(
            [Event.delivery_report(message_id, delivery_status="delivered") for message_id in ids]
        )
