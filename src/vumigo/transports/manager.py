"""Runs one transport per ``transport_name`` found in the tag pools, and feeds it its queue.

Pools are re-read every few seconds, so a pool created while the platform runs gets its
transport without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vumigo.bus import BatchHandler, Delivery
from vumigo.bus import queues as q
from vumigo.db.models import TagPool
from vumigo.engine.decode import decode_all
from vumigo.message import UserMessage
from vumigo.transports.base import Transport
from vumigo.transports.registry import transport_classes

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0


class TransportManager:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.transports: dict[str, Transport] = {}
        self.refresher: asyncio.Task[None] | None = None
        self.classes = transport_classes()

    async def start(self) -> None:
        await self.refresh()
        self.refresher = asyncio.create_task(self._refresh_loop())

    async def stop(self) -> None:
        if self.refresher is not None:
            self.refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.refresher
            self.refresher = None
        for transport in self.transports.values():
            try:
                await transport.stop()
            except Exception:
                log.exception("stopping transport %s", transport.name)
        self.transports.clear()

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing transports")

    async def refresh(self) -> None:
        async with self.engine.db.sessions() as session:
            rows = (await session.execute(select(TagPool.name, TagPool.meta))).all()
        by_name: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        types: dict[str, str] = {}
        for pool, meta in rows:
            name, kind = meta.get("transport_name"), meta.get("transport_type")
            if name and kind in self.classes:
                by_name[name][pool] = dict(meta)
                types[name] = kind
        for name, pools in by_name.items():
            if name in self.transports:
                self.transports[name].update_pools(pools)
                continue
            transport = self.classes[types[name]](self.engine, name, pools)
            await transport.start()
            self.transports[name] = transport
            consumer = await self.engine.bus.consume_batch(
                q.transport_outbound(name), self._handler(transport), 100, 2
            )
            self.engine.consumers.append(consumer)
            log.info("transport %s (%s) serving pools %s", name, types[name], sorted(pools))

    def _handler(self, transport: Transport) -> BatchHandler:
        async def handle(deliveries: list[Delivery]) -> None:
            msgs = decode_all(deliveries, UserMessage)
            if msgs:
                await transport.send_many(msgs)

        return handle

    def health(self) -> list[dict[str, Any]]:
        return [t.health() for t in self.transports.values()]
