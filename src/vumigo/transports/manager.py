"""Runs one transport per ``transport_name`` found in the tag pools, and feeds it its queue.

Pools are re-read every few seconds, so a pool created while the platform runs gets its
transport without a restart.

In the distributed mode several transports processes may run, and a transport (its SMPP binds,
its XMPP logins, its record of what the carrier has not answered) must run in one of them at a
time. Each process therefore runs a transport only while it holds the ``transport:<name>``
lease (``vumigo.leases``), and consumes that transport's queue only then. The processes share
the transports out: each is a member of the ``transports`` group and holds at most its fair
share (the number of transports over the number of members, rounded up), handing one back
every round while it holds more, so a process that joins gets work. When a holder dies its
leases are freed with its database connections, and the others take its transports over on
their next round, a second or so later; the new holder sends again what the dead one had sent
but the carrier had not answered (``vumigo.transports.handoff``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import zlib
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vumigo.bus import BatchHandler, Consumer, Delivery
from vumigo.bus import queues as q
from vumigo.db.models import TagPool
from vumigo.engine.decode import decode_all
from vumigo.leases import Lease, Membership
from vumigo.message import UserMessage
from vumigo.transports.base import Transport
from vumigo.transports.registry import transport_classes

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0
# How often a distributed transports process looks for free transports and checks its leases.
LEASE_SECONDS = 1.0
GROUP = "transports"

Wanted = dict[str, tuple[str, dict[str, dict[str, Any]]]]  # name → (type, pool → metadata)


def lease_name(transport_name: str) -> str:
    return f"transport:{transport_name}"


class TransportManager:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.transports: dict[str, Transport] = {}
        self.consumers: dict[str, Consumer] = {}
        self.leases: dict[str, Lease] = {}
        self.membership: Membership | None = None
        self.wanted: Wanted = {}
        self.refresher: asyncio.Task[None] | None = None
        self.classes = transport_classes()
        self._read_at = 0.0

    @property
    def shared(self) -> bool:
        """Whether other processes may run these transports too (then leases decide)."""
        return self.engine.distributed

    async def start(self) -> None:
        if self.shared:
            self.membership = Membership(self.engine.db, GROUP)
            await self.membership.join()
        await self.refresh()
        self.refresher = asyncio.create_task(self._refresh_loop())

    async def stop(self) -> None:
        if self.refresher is not None:
            self.refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.refresher
            self.refresher = None
        for name in list(self.transports):
            await self._stop_one(name)
        if self.membership is not None:
            await self.membership.leave()
            self.membership = None

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS if self.shared else REFRESH_SECONDS)
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing transports")

    async def refresh(self) -> None:
        """Re-reads the pools (at most every REFRESH_SECONDS when shared) and starts, updates
        or (when shared) hands over transports."""
        now = time.monotonic()
        if not self.shared or now - self._read_at >= REFRESH_SECONDS or not self._read_at:
            self.wanted = await self._read_pools()
            self._read_at = now
            for name, (_kind, pools) in self.wanted.items():
                if name in self.transports:
                    self.transports[name].update_pools(pools)
        if self.shared:
            await self._balance()
            return
        for name in self.wanted:
            if name not in self.transports:
                await self._start_one(name)

    async def _read_pools(self) -> Wanted:
        async with self.engine.db.sessions() as session:
            rows = (await session.execute(select(TagPool.name, TagPool.meta))).all()
        by_name: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        types: dict[str, str] = {}
        for pool, meta in rows:
            name, kind = meta.get("transport_name"), meta.get("transport_type")
            if name and kind in self.classes:
                by_name[name][pool] = dict(meta)
                types[name] = kind
        return {name: (types[name], pools) for name, pools in by_name.items()}

    async def _balance(self) -> None:
        """One round of the distributed mode: drop lost leases, hand back one transport if
        this process holds more than its share, take free ones up to it."""
        assert self.membership is not None
        for name, lease in list(self.leases.items()):
            if not await lease.still_held():
                log.warning("transport %s: lease lost; stopping it here", name)
                await self._stop_one(name)
        await self.membership.join()
        members = await self.membership.count()
        share = math.ceil(len(self.wanted) / members) if self.wanted else 0
        held = [name for name in self.transports if name in self.wanted]
        for name in [n for n in self.transports if n not in self.wanted]:
            await self._stop_one(name)  # its pools are gone
        if len(held) > share:
            name = max(held, key=lambda n: _preference(n, self.membership))
            log.info("transport %s: handing it over (%d held, share %d)", name, len(held), share)
            await self._stop_one(name)
            return
        free = sorted(
            (n for n in self.wanted if n not in self.transports),
            key=lambda n: _preference(n, self.membership),
        )
        for name in free:
            if len(self.transports) >= share:
                break
            lease = Lease(self.engine.db, lease_name(name))
            if not await lease.acquire():
                continue
            self.leases[name] = lease
            try:
                await self._start_one(name)
            except Exception:
                log.exception("transport %s: could not start", name)
                await self._stop_one(name)

    async def _start_one(self, name: str) -> None:
        kind, pools = self.wanted[name]
        transport = self.classes[kind](self.engine, name, pools)
        await transport.start()
        self.transports[name] = transport
        consumer = await self.engine.bus.consume_batch(
            q.transport_outbound(name), self._handler(transport), 100, 2
        )
        self.consumers[name] = consumer
        self.engine.consumers.append(consumer)
        log.info("transport %s (%s) serving pools %s", name, kind, sorted(pools))

    async def _stop_one(self, name: str) -> None:
        """Stops taking the transport's queue, stops it, and gives its lease back."""
        consumer = self.consumers.pop(name, None)
        if consumer is not None:
            with contextlib.suppress(ValueError):
                self.engine.consumers.remove(consumer)
            try:
                await consumer.cancel()
            except Exception:
                log.exception("transport %s: cancelling its consumer", name)
        transport = self.transports.pop(name, None)
        if transport is not None:
            try:
                await transport.stop()
            except Exception:
                log.exception("stopping transport %s", name)
        lease = self.leases.pop(name, None)
        if lease is not None:
            await lease.release()

    def _handler(self, transport: Transport) -> BatchHandler:
        async def handle(deliveries: list[Delivery]) -> None:
            msgs = decode_all(deliveries, UserMessage)
            if msgs:
                await transport.send_many(msgs)

        return handle

    def health(self) -> list[dict[str, Any]]:
        return [t.health() for t in self.transports.values()]


def _preference(name: str, membership: Membership | None) -> int:
    """How much this member wants a transport, lowest first: a hash of the name and the
    member's slot, so members prefer different transports and contend less."""
    slot = membership.lease.name if membership is not None and membership.lease else ""
    return zlib.crc32(f"{name}\x1f{slot}".encode())
