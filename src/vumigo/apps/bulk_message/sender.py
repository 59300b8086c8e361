"""Sending to every contact of a conversation's groups: windowed, resumable, exactly once.

The recipients stream from the contacts service a page at a time, in a stable order, with
opted-out addresses and contacts without an address left out (and repeated addresses too, when
de-duplicating). They go out in chunks, each chunk one unit of work that stores the messages
(``queued``, to be sent by the engine) together with one ``bulk_recipients`` row per contact,
keyed by (send, contact). So after a crash a resumed send walks the same stream and skips every
contact that has a row: nobody gets a second copy, and nobody whose chunk had not committed is
missed. A chunk that committed but was not yet published is put on the bus again when the send
resumes: by engine recovery at start-up in the embedded mode, by the resumed send itself in the
distributed mode (its messages still ``queued``; one also waiting on the bus goes out once all
the same, as the transport claims it before sending).

Only a window of messages is in flight at once (queued but not yet acked or nacked); the sender
waits while it is full, woken by the conversation's event handler in this process, or by a
short poll when the events are handled elsewhere. Memory use is one page of recipients.

What goes to each recipient is up to a ``Planner``: the same text for a group message, the
contact's next message for a sequential send, the first question for a dialogue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.actions import NEEDS_GROUP, ActionError, ActionRun
from vumigo.apps.base import AppContext, ExtraWrite
from vumigo.apps.bulk_message.window import in_flight, progress
from vumigo.bus import queues as q
from vumigo.contacts import conversation_group_keys, count_recipients, recipients
from vumigo.contacts.fields import DELIVERY_CLASSES
from vumigo.db.base import utcnow
from vumigo.db.models import BulkRecipient, BulkSend, StoredMessage
from vumigo.store.unit import Unit

DEFAULT_WINDOW = 100
# How long a waiting sender sleeps before it looks again without being woken.
POLL_INTERVAL = 0.5


@dataclass(frozen=True)
class Recipient:
    contact_key: str
    address: str


@dataclass
class Outgoing:
    """One message of a send, and the writes that must commit with it."""

    recipient: Recipient
    content: str | None
    writes: list[ExtraWrite] = field(default_factory=list)
    endpoint: str = "default"
    session_event: str | None = None


Planner = Callable[[list[Recipient]], Awaitable[list[Outgoing]]]


def same_text(content: str) -> Planner:
    async def plan(chunk: list[Recipient]) -> list[Outgoing]:
        return [Outgoing(recipient, content) for recipient in chunk]

    return plan


class GroupSend:
    def __init__(
        self,
        run: ActionRun,
        kind: str,
        plan: Planner,
        *,
        delivery_class: str = "sms",
        dedupe: bool = False,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        if delivery_class not in DELIVERY_CLASSES:
            known = ", ".join(sorted(DELIVERY_CLASSES))
            raise ActionError(f"Unknown delivery class {delivery_class!r}; use one of: {known}")
        self.run_info = run
        self.engine = run.engine
        self.conversation = run.conversation
        self.send_id = run.task_id
        self.kind = kind
        self.plan = plan
        self.delivery_class = delivery_class
        self.dedupe = dedupe
        self.window = max(1, window)
        # Chunks smaller than this wait for more room, so a trickle of acks does not turn
        # into a trickle of one-message transactions.
        self.min_chunk = max(1, self.window // 4)
        self.resumed = False

    async def run(self) -> dict[str, Any]:
        conversation = self.conversation
        async with self.engine.db.transaction() as session:
            groups = await conversation_group_keys(
                session, conversation.account_key, conversation.key
            )
            if not groups:
                raise ActionError(NEEDS_GROUP)
            send = await self._begin(session, groups)
            finished = send.status == "finished"
        if not finished:
            if self.resumed and self.engine.distributed:
                await self._requeue_stored()
            await self._walk(groups)
            async with self.engine.db.transaction() as session:
                await session.execute(
                    update(BulkSend)
                    .where(BulkSend.id == self.send_id)
                    .values(status="finished", finished_at=utcnow())
                )
        async with self.engine.db.sessions() as session:
            summary = await progress(session, self.send_id)
        assert summary is not None
        return {k: v for k, v in summary.items() if k not in ("created_at", "finished_at")}

    async def _begin(self, session: AsyncSession, groups: list[str]) -> BulkSend:
        send = await session.get(BulkSend, self.send_id)
        if send is not None:
            self.resumed = send.queued > 0
            return send
        total = await count_recipients(
            session,
            self.conversation.account_key,
            groups,
            self.delivery_class,
            skip_opted_out=True,
            dedupe=self.dedupe,
        )
        send = BulkSend(
            id=self.send_id,
            account_key=self.conversation.account_key,
            conversation_key=self.conversation.key,
            kind=self.kind,
            delivery_class=self.delivery_class,
            dedupe=self.dedupe,
            window=self.window,
            status="sending",
            total=total,
            queued=0,
        )
        session.add(send)
        await session.flush()
        return send

    async def _requeue_stored(self) -> None:
        """Publishes again the messages this send stored that no transport has taken yet:
        the process that stored them may have died before it published them."""
        async with self.engine.db.sessions() as session:
            payloads = (
                await session.scalars(
                    select(StoredMessage.payload)
                    .join(BulkRecipient, BulkRecipient.message_id == StoredMessage.message_id)
                    .where(BulkRecipient.send_id == self.send_id, StoredMessage.state == "queued")
                )
            ).all()
        await self.engine.bus.publish_many([(q.DISPATCHER_OUTBOUND, p.encode()) for p in payloads])

    async def _walk(self, groups: list[str]) -> None:
        from vumigo.apps.scheduler import services_for

        services = services_for(self.engine)
        with services.send_waiter(self.conversation.key) as woken:
            async with self.engine.db.sessions() as reader:
                stream = recipients(
                    reader,
                    self.conversation.account_key,
                    groups,
                    self.delivery_class,
                    skip_opted_out=True,
                    dedupe=self.dedupe,
                )
                try:
                    await self._drain(stream, reader, woken)
                finally:
                    # Ends the stream's own query promptly, even when the send stops early.
                    aclose = getattr(stream, "aclose", None)
                    if aclose is not None:
                        await aclose()

    async def _drain(
        self,
        stream: AsyncIterator[tuple[str, str]],
        reader: AsyncSession,
        woken: asyncio.Event,
    ) -> None:
        exhausted = False
        while not exhausted:
            room = await self._room(woken)
            chunk: list[Recipient] = []
            while len(chunk) < room:
                try:
                    contact_key, address = await anext(stream)
                except StopAsyncIteration:
                    exhausted = True
                    break
                chunk.append(Recipient(contact_key, address))
            # End the reader's transaction between pages: a read held open for a whole send
            # would stop SQLite checkpointing its log (and PostgreSQL vacuuming).
            await reader.rollback()
            if chunk:
                await self._send(chunk)
            await self._check_running()

    async def _room(self, woken: asyncio.Event) -> int:
        """Waits until at least a chunk's worth of the window is free; returns how much is."""
        while True:
            woken.clear()
            async with self.engine.db.sessions() as session:
                busy = await in_flight(session, self.send_id)
            free = self.window - busy
            if free >= self.min_chunk:
                return free
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), POLL_INTERVAL)

    async def _check_running(self) -> None:
        info = await self.engine.lookups.conversation(self.conversation.key)
        if info is None or not info.running:
            raise ActionError("The conversation was stopped during the send.")

    async def _unsent(self, chunk: list[Recipient]) -> list[Recipient]:
        """The chunk without the contacts (and, de-duplicating, addresses) already sent to."""
        keys = [r.contact_key for r in chunk]
        async with self.engine.db.sessions() as session:
            done = set(
                (
                    await session.scalars(
                        select(BulkRecipient.contact_key).where(
                            BulkRecipient.send_id == self.send_id,
                            BulkRecipient.contact_key.in_(keys),
                        )
                    )
                ).all()
            )
            reached: set[str] = set()
            if self.dedupe:
                reached = set(
                    (
                        await session.scalars(
                            select(BulkRecipient.address).where(
                                BulkRecipient.send_id == self.send_id,
                                BulkRecipient.address.in_([r.address for r in chunk]),
                            )
                        )
                    ).all()
                )
        return [r for r in chunk if r.contact_key not in done and r.address not in reached]

    async def _send(self, chunk: list[Recipient]) -> None:
        if self.resumed:
            # Only a send that has stored something before can meet its own recipients again.
            chunk = await self._unsent(chunk)
        outgoing = await self.plan(chunk) if chunk else []
        if not outgoing:
            return
        ctx = AppContext(self.engine, self.conversation)
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for item in outgoing:
            fields: dict[str, Any] = {}
            if item.session_event is not None:
                fields["session_event"] = item.session_event
            msg = ctx.send_to(item.recipient.address, item.content, item.endpoint, **fields)
            rows.append(
                {
                    "send_id": self.send_id,
                    "contact_key": item.recipient.contact_key,
                    "address": item.recipient.address,
                    "message_id": msg.message_id,
                    "status": "queued",
                    "queued_at": now,
                }
            )
            ctx.extra_writes.extend(item.writes)
        ctx.extra_writes.append(self._record(rows))
        unit = Unit()
        await self.engine.apps.plan_effects(unit, ctx)
        await self.engine.run(unit)

    def _record(self, rows: list[dict[str, Any]]) -> ExtraWrite:
        send_id = self.send_id

        async def write(session: AsyncSession) -> None:
            # A duplicate (send, contact) fails the whole chunk: its messages are not stored.
            await session.execute(insert(BulkRecipient), rows)
            await session.execute(
                update(BulkSend)
                .where(BulkSend.id == send_id)
                .values(queued=BulkSend.queued + len(rows))
            )

        return write
