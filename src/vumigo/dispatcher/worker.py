"""The dispatcher worker: consumes the dispatcher's three queues, a batch at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vumigo.bus import Delivery
from vumigo.bus import queues as q
from vumigo.dispatcher.events import EventDispatcher
from vumigo.dispatcher.inbound import InboundDispatcher
from vumigo.dispatcher.outbound import OutboundDispatcher
from vumigo.engine.decode import decode_all
from vumigo.message import Event, UserMessage
from vumigo.store.unit import Unit

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

MAX_BATCH = 100


class DispatcherWorker:
    def __init__(self, engine: Engine, concurrency: int = 2) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self.inbound = InboundDispatcher(engine)
        self.outbound = OutboundDispatcher(engine)
        self.events = EventDispatcher(engine)

    async def start(self) -> None:
        bus = self.engine.bus
        for queue, handler in (
            (q.DISPATCHER_INBOUND, self._on_inbound),
            (q.DISPATCHER_OUTBOUND, self._on_outbound),
            (q.DISPATCHER_EVENT, self._on_events),
        ):
            consumer = await bus.consume_batch(queue, handler, MAX_BATCH, self.concurrency)
            self.engine.consumers.append(consumer)

    async def _on_inbound(self, deliveries: list[Delivery]) -> None:
        unit = Unit()
        for msg in decode_all(deliveries, UserMessage):
            await self.inbound.plan(unit, msg)
        await self.engine.run(unit)

    async def _on_outbound(self, deliveries: list[Delivery]) -> None:
        unit = Unit()
        for msg in decode_all(deliveries, UserMessage):
            await self.outbound.plan(unit, msg)
        await self.engine.run(unit)

    async def _on_events(self, deliveries: list[Delivery]) -> None:
        unit = Unit()
        await self.events.plan_all(unit, decode_all(deliveries, Event))
        await self.engine.run(unit)
