"""Outbound messages a carrier has not answered yet, kept safe across crashes.

``Transport.claim_many`` marks a message ``sent`` the moment it is taken off the queue. For a
carrier that answers later (an SMSC's submit_sm_resp, an aggregator behind retries) a crash in
between would lose the message: the bus delivery is acknowledged and the store says sent. So
these transports claim into ``sending`` instead, and move the message on to ``sent`` (ack) or
``failed`` (nack) in the transaction that stores the carrier's answer. That claim is also what
makes an answer count once: a second ack of the same message finds it no longer ``sending``.

On start, whatever this transport left ``sending`` (it stopped or crashed before the carrier
answered) goes back to ``queued`` and onto its queue, to be sent again. A carrier that had in
fact accepted it delivers it twice; one that had answered and been recorded never sees it again.
This assumes one process runs a given transport name, as one SMPP bind per pool implies anyway.
In the distributed mode, what the transport stored but may have died before publishing (answers
and receipts still ``new``, inbound messages still ``accepted``) is published again on start
too: the embedded mode's start-up recovery does that for the whole platform.

Answers are written in batches by a background task: the SMPP client reports acks from its
reading loop, and a commit per ack would cap a bind at one message per commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.bus import queues as q
from vumigo.db.models import StoredEvent, StoredMessage
from vumigo.message import Event, UserMessage, from_json
from vumigo.store.unit import Unit

if TYPE_CHECKING:
    from vumigo.transports.base import Transport

log = logging.getLogger(__name__)

SENDING = "sending"
MAX_BATCH = 500
_EVENT_NAMESPACE = uuid.UUID("5f0c3a52-1c1e-4b55-9a8e-3f5d0a7c2b11")


def event_id_for(*parts: str) -> str:
    """A stable event id, so the same receipt delivered twice is stored once."""
    return uuid.uuid5(_EVENT_NAMESPACE, "\x1f".join(parts)).hex


@dataclass(frozen=True, slots=True)
class Outcome:
    message_id: str
    event: Event
    failure: str | None = None  # set for a nack: why


class Handoff:
    def __init__(
        self, transport: Transport, before_write: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.transport = transport
        self.engine = transport.engine
        # Called before answers are written, e.g. to make carrier ids durable first.
        self.before_write = before_write
        self._outcomes: list[Outcome] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self.write_errors = 0

    # -- taking messages -------------------------------------------------------------

    async def take(self, msgs: list[UserMessage]) -> list[UserMessage]:
        """Claims queued messages as ``sending``; returns those not taken before."""
        unit = Unit()
        guards = []
        for msg in msgs:
            guard = unit.claim_message(msg.message_id, "queued", SENDING)
            unit.save_payload(msg, msg.helper_metadata.get("go", {}).get("user_account"), guard)
            guards.append(guard)
        ids = [msg.message_id for msg in msgs]
        name = self.transport.name

        async def mark_transport(session: AsyncSession) -> None:
            # The store fills this column when a message is stored, before routing chose the
            # transport; requeue_unanswered finds a transport's messages by it.
            await session.execute(
                update(StoredMessage)
                .where(StoredMessage.message_id.in_(ids), StoredMessage.state == SENDING)
                .values(transport_name=name)
            )

        unit.write(mark_transport)
        await self.engine.run(unit)
        taken = [msg for msg, guard in zip(msgs, guards, strict=True) if unit.ok(guard)]
        self.transport.sent += len(taken)
        return taken

    async def requeue_unanswered(self) -> int:
        """Puts what this transport left ``sending`` back on its queue (see the module doc)."""
        async with self.engine.db.transaction() as session:
            result = await session.execute(
                update(StoredMessage)
                .where(
                    StoredMessage.direction == "outbound",
                    StoredMessage.state == SENDING,
                    StoredMessage.transport_name == self.transport.name,
                )
                .values(state="queued")
                .returning(StoredMessage.payload)
            )
            payloads = list(result.scalars())
        queue = q.transport_outbound(self.transport.name)
        for payload in payloads:
            msg = from_json(payload)
            if isinstance(msg, UserMessage):
                await self.engine.publish(queue, msg)
        if payloads:
            log.warning("%s: re-sending %d unanswered messages", self.transport.name, len(payloads))
        if self.engine.distributed:
            await self._republish_stored()
        return len(payloads)

    async def _republish_stored(self) -> None:
        """Puts on the bus again what this transport stored that nobody has handled yet. Their
        handlers are idempotent: one that was published after all is handled once."""
        name = self.transport.name
        async with self.engine.db.sessions() as session:
            events = (
                await session.scalars(
                    select(StoredEvent.payload)
                    .join(StoredMessage, StoredMessage.message_id == StoredEvent.user_message_id)
                    .where(StoredEvent.state == "new", StoredMessage.transport_name == name)
                )
            ).all()
            inbound = (
                await session.scalars(
                    select(StoredMessage.payload).where(
                        StoredMessage.direction == "inbound",
                        StoredMessage.state == "accepted",
                        StoredMessage.transport_name == name,
                    )
                )
            ).all()
        await self.engine.bus.publish_many(
            [(q.DISPATCHER_EVENT, p.encode()) for p in events]
            + [(q.DISPATCHER_INBOUND, p.encode()) for p in inbound]
        )
        if events or inbound:
            log.warning(
                "%s: published again %d events and %d inbound messages stored before a stop",
                name,
                len(events),
                len(inbound),
            )

    # -- answers ---------------------------------------------------------------------

    def ack(self, message_id: str, sent_message_id: str, **fields: object) -> None:
        event = Event.ack(message_id, sent_message_id, **fields)
        self._add(Outcome(message_id, event))

    def nack(self, message_id: str, reason: str, **fields: object) -> None:
        event = Event.nack(message_id, nack_reason=reason, **fields)
        self._add(Outcome(message_id, event, failure=reason))

    def _add(self, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        self._idle.clear()
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="handoff writer")

    async def settled(self, timeout: float = 5.0) -> None:
        """Waits until every answer reported so far is written (or ``timeout`` passes)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self) -> None:
        await self.settled()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    async def _write_loop(self) -> None:
        delay = 0.05
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outcomes:
                batch, self._outcomes = self._outcomes[:MAX_BATCH], self._outcomes[MAX_BATCH:]
                try:
                    await self._write(batch)
                    delay = 0.05
                except Exception:
                    # The database is down: keep the answers and try again, backing off.
                    self.write_errors += 1
                    log.exception("%s: storing carrier answers", self.transport.name)
                    self._outcomes = batch + self._outcomes
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            self._idle.set()

    async def _write(self, batch: list[Outcome]) -> None:
        if self.before_write is not None:
            await self.before_write()
        unit = Unit()
        seen: set[str] = set()
        for outcome in batch:
            if outcome.message_id in seen:
                continue  # a message is answered once; its claim below guards the rest
            seen.add(outcome.message_id)
            state = "failed" if outcome.failure is not None else "sent"
            guard = unit.claim_message(outcome.message_id, SENDING, state)
            if outcome.failure is not None:
                unit.fail(outcome.message_id, outcome.failure, guard)
            unit.add_event(outcome.event, guard)
            unit.publish(q.DISPATCHER_EVENT, outcome.event, guard)
        await self.engine.run(unit)
