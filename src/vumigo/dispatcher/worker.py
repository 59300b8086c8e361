"""The dispatcher worker: consumes the dispatcher's three queues."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vumigo.bus import Delivery
from vumigo.bus import queues as q
from vumigo.dispatcher.events import EventDispatcher
from vumigo.dispatcher.inbound import InboundDispatcher
from vumigo.dispatcher.outbound import OutboundDispatcher
from vumigo.message import Event, MessageError, UserMessage, from_json

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

import logging

log = logging.getLogger(__name__)


class DispatcherWorker:
    def __init__(self, engine: Engine, prefetch: int = 32) -> None:
        self.engine = engine
        self.prefetch = prefetch
        self.inbound = InboundDispatcher(engine)
        self.outbound = OutboundDispatcher(engine)
        self.events = EventDispatcher(engine)

    async def start(self) -> None:
        await self.engine.consume(q.DISPATCHER_INBOUND, self._on_inbound, self.prefetch)
        await self.engine.consume(q.DISPATCHER_OUTBOUND, self._on_outbound, self.prefetch)
        await self.engine.consume(q.DISPATCHER_EVENT, self._on_event, self.prefetch)

    async def _on_inbound(self, delivery: Delivery) -> None:
        msg = _decode(delivery)
        if isinstance(msg, UserMessage):
            await self.inbound.dispatch(msg)

    async def _on_outbound(self, delivery: Delivery) -> None:
        msg = _decode(delivery)
        if isinstance(msg, UserMessage):
            await self.outbound.dispatch(msg)

    async def _on_event(self, delivery: Delivery) -> None:
        event = _decode(delivery)
        if isinstance(event, Event):
            await self.events.dispatch(event)


def _decode(delivery: Delivery) -> UserMessage | Event | None:
    try:
        return from_json(delivery.body)
    except MessageError as exc:
        # A malformed message can never succeed: log it and let it go (it cannot be stored).
        log.error("dropping undecodable message on %s: %s", delivery.queue, exc)
        return None
