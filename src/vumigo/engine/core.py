"""The engine: owns the bus and the look-ups, and starts the workers of the roles it runs.

Every message enters the platform through ``accept_inbound`` / ``accept_event`` (a transport
stores it, then puts it on the bus) or through a worker that stores what it sends before it
publishes. Recovery re-queues what was stored but not finished, so the in-process bus can lose
nothing that was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from vumigo.billing import Billing
from vumigo.bus import Bus, Consumer, Handler, create_bus
from vumigo.bus import queues as q
from vumigo.bus.memory import MemoryBus
from vumigo.config import Settings
from vumigo.db.availability import unavailable
from vumigo.db.engine import Database
from vumigo.dispatcher.lookups import Lookups
from vumigo.engine.notify import SentNotifier
from vumigo.message import Event, UserMessage
from vumigo.roles import EMBEDDED_ROLES, AppParts, app_parts, check_roles
from vumigo.store import messages as store
from vumigo.store.unit import Unit

log = logging.getLogger(__name__)

ROLES = EMBEDDED_ROLES


class Engine:
    def __init__(self, settings: Settings, db: Database, bus: Bus | None = None) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus or create_bus(settings.broker_url, settings.broker_prefix)
        # A delivery that fails because the database is down is retried, not dead-lettered.
        self.bus.outage_test = unavailable
        self.lookups = Lookups(db)
        self.sent_notifier = SentNotifier()
        self.billing = Billing(db, settings)
        self.consumers: list[Consumer] = []
        self.roles: tuple[str, ...] = ()
        # Until start() says otherwise, what the settings' roles would run (tests start apps
        # on an engine that was never started).
        self.parts: AppParts = app_parts(settings.roles, settings.dedicated_roles)
        # Imported here: these modules import the engine's types.
        from vumigo.apps.workers import AppWorkers
        from vumigo.transports.manager import TransportManager

        self.apps = AppWorkers(self)
        self.transports = TransportManager(self)

    # -- life cycle -------------------------------------------------------------------

    async def start(self, roles: Iterable[str] = ROLES, recover: bool = True) -> None:
        from vumigo.dispatcher.worker import DispatcherWorker
        from vumigo.engine.recovery import requeue_unfinished

        self.roles = tuple(roles)
        check_roles(self.roles)
        self.parts = app_parts(self.roles, self.settings.dedicated_roles)
        await self.bus.start()
        # With RabbitMQ, accepted work waits durably in its queues; re-queuing it from the
        # database would only duplicate it. The in-process bus loses its queues on a crash.
        recover = recover and isinstance(self.bus, MemoryBus)
        if recover and "dispatcher" in self.roles:
            counts = await requeue_unfinished(self)
            if any(counts.values()):
                log.info("recovery re-queued %s", counts)
        if "transports" in self.roles:
            await self.transports.start()
        if "dispatcher" in self.roles:
            await DispatcherWorker(self).start()
            # Low-credit e-mails, and held messages released once their account is topped up.
            await self.billing.start(self.requeue_outbound)
        if self.parts.any:
            await self.apps.start()

    async def stop(self) -> None:
        await self.billing.stop()
        for consumer in reversed(self.consumers):
            await consumer.cancel()
        self.consumers.clear()
        await self.transports.stop()
        await self.apps.stop()
        await self.bus.stop()

    @property
    def distributed(self) -> bool:
        """Whether other processes share this engine's work (the bus is RabbitMQ): then state
        that an embedded engine keeps in memory lives in the database instead."""
        return not isinstance(self.bus, MemoryBus)

    async def consume(self, queue: str, handler: Handler, prefetch: int = 16) -> None:
        self.consumers.append(await self.bus.consume(queue, handler, prefetch))

    # -- entry points -------------------------------------------------------------------

    async def accept_inbound(self, msg: UserMessage) -> bool:
        """Stores a message from a transport, then queues it; False if it was a repeat."""
        async with self.db.transaction() as session:
            fresh = await store.add_message(session, msg, store.INBOUND, "accepted", None)
        if fresh:
            await self.bus.publish(q.DISPATCHER_INBOUND, msg.to_json().encode())
        return fresh

    async def accept_event(self, event: Event) -> bool:
        """Stores a transport's event, then queues it; False if it was a repeat."""
        async with self.db.transaction() as session:
            fresh = await store.add_event(session, event)
        if fresh:
            await self.bus.publish(q.DISPATCHER_EVENT, event.to_json().encode())
        return fresh

    async def accept_events(self, events: list[Event]) -> None:
        """Stores a batch of a transport's events, then queues the new ones."""
        if not events:
            return
        async with self.db.transaction() as session:
            fresh = await store.add_events(session, events)
        await self.bus.publish_many(
            [(q.DISPATCHER_EVENT, e.to_json().encode()) for e in events if e.event_id in fresh]
        )

    async def run(self, unit: Unit) -> None:
        """Commits a unit of work, then publishes what it planned to publish."""
        published = await unit.commit(self.db)
        await self.bus.publish_many([(queue, msg.to_json().encode()) for queue, msg in published])

    async def requeue_outbound(self, message_ids: Sequence[str]) -> None:
        """Puts stored outbound messages (e.g. released from held) back on the dispatcher."""
        async with self.db.sessions() as session:
            found = await store.get_messages(session, message_ids)
        for message_id in message_ids:
            record = found.get(message_id)
            if record is not None:
                await self.publish(q.DISPATCHER_OUTBOUND, record.message)

    async def publish(self, queue: str, msg: UserMessage | Event) -> None:
        await self.bus.publish(queue, msg.to_json().encode())

    async def publish_all(self, queue: str, msgs: Iterable[UserMessage]) -> None:
        for msg in msgs:
            await self.publish(queue, msg)

    async def settle(self, timeout: float = 10.0) -> None:
        """Waits until the bus's queues are empty (tests and benchmarks use it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            depth = 0
            for name in list(getattr(self.bus, "queues", {})):
                depth += await self.bus.depth(name)
            busy = any(getattr(c, "in_hand", None) for c in self.consumers)
            if depth == 0 and not busy:
                return
            await asyncio.sleep(0.01)
