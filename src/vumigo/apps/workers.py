"""Conversation workers: consume each app type's queues and run its handlers, a batch at a time.

Handlers of a batch run concurrently; then one unit of work marks every message handled and
stores what the handlers sent (and any extra writes they asked for), and only then is anything
published. A message whose handler failed is not marked, so the bus delivers it again.

A message delivered again after it was marked handled is how a worker that died between its
commit and its publish shows (in the distributed mode; the embedded mode's start-up recovery
covers it there): its replies still ``queued`` are published again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from vumigo.apps.base import AppContext, ConversationApp
from vumigo.apps.registry import app_classes
from vumigo.bus import Delivery
from vumigo.bus import queues as q
from vumigo.db.models import StoredMessage
from vumigo.dispatcher.lookups import AppInfo
from vumigo.engine.decode import decode_all
from vumigo.message import Event, UserMessage
from vumigo.store import messages as store
from vumigo.store.batches import ensure_batch
from vumigo.store.unit import Guard, Unit

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)

MAX_BATCH = 100


class HandlerFailed(Exception):
    """Some handlers of a batch failed; the rest were committed, those will be redelivered."""


class AppWorkers:
    def __init__(self, engine: Engine, concurrency: int = 4) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self.apps: dict[str, ConversationApp] = {}

    async def start(self) -> None:
        """Starts every app (each starts only the services its engine's parts run: the
        scheduler runs actions of any type), and consumes the queues of the types this
        engine's parts handle (``vumigo.roles``)."""
        bus = self.engine.bus
        parts = self.engine.parts
        for app_type, cls in app_classes().items():
            app = cls(self.engine)
            self.apps[app_type] = app
            await app.start()
            if not parts.consumes(app_type):
                continue
            for queue, handler in (
                (q.app_inbound(app_type), self._inbound_handler(app)),
                (q.app_event(app_type), self._event_handler(app)),
            ):
                consumer = await bus.consume_batch(queue, handler, MAX_BATCH, self.concurrency)
                self.engine.consumers.append(consumer)

    async def stop(self) -> None:
        for app in self.apps.values():
            await app.stop()
        self.apps.clear()

    def _inbound_handler(self, app: ConversationApp) -> Callable[[list[Delivery]], Awaitable[None]]:
        async def handle(deliveries: list[Delivery]) -> None:
            await self.handle_messages(app, decode_all(deliveries, UserMessage))

        return handle

    def _event_handler(self, app: ConversationApp) -> Callable[[list[Delivery]], Awaitable[None]]:
        async def handle(deliveries: list[Delivery]) -> None:
            await self.handle_events(app, decode_all(deliveries, Event))

        return handle

    async def _conversation(self, key: str | None) -> AppInfo | None:
        return await self.engine.lookups.conversation(key) if key else None

    async def handle_messages(self, app: ConversationApp, msgs: list[UserMessage]) -> None:
        async def run(msg: UserMessage) -> tuple[AppContext | None, bool]:
            conversation = await self._conversation(
                msg.helper_metadata.get("go", {}).get("conversation_key")
            )
            ctx = AppContext(self.engine, conversation) if conversation else None
            if ctx is None or conversation is None or not conversation.running:
                return ctx, True
            try:
                await app.consume_user_message(ctx, msg)
            except Exception:
                log.exception("%s failed on message %s", app.conversation_type, msg.message_id)
                return ctx, False
            return ctx, True

        results = await asyncio.gather(*(run(msg) for msg in msgs))
        unit = Unit()
        contexts: list[tuple[Guard, AppContext]] = []
        claims: list[tuple[str, Guard]] = []
        for msg, (ctx, ok) in zip(msgs, results, strict=True):
            if not ok:
                continue
            guard = unit.claim_message(msg.message_id, "accepted", "processed")
            claims.append((msg.message_id, guard))
            account = ctx.conversation.account_key if ctx else None
            unit.save_payload(msg, account, guard)
            if ctx is not None:
                await self.plan_effects(unit, ctx, guard)
                contexts.append((guard, ctx))
        await self._commit(unit, contexts)
        repeats = [message_id for message_id, guard in claims if not unit.ok(guard)]
        if repeats and self.engine.distributed:
            await self._republish_replies(repeats)
        if not all(ok for _, ok in results):
            raise HandlerFailed(f"{app.conversation_type}: some messages will be retried")

    async def _republish_replies(self, message_ids: list[str]) -> None:
        """Publishes again the stored replies to these messages that no transport has taken
        yet. A reply that was published after all still goes out once: the transport claims
        a message before it sends it."""
        async with self.engine.db.sessions() as session:
            payloads = (
                await session.scalars(
                    select(StoredMessage.payload).where(
                        StoredMessage.in_reply_to.in_(message_ids),
                        StoredMessage.direction == store.OUTBOUND,
                        StoredMessage.state == "queued",
                    )
                )
            ).all()
        await self.engine.bus.publish_many([(q.DISPATCHER_OUTBOUND, p.encode()) for p in payloads])

    async def handle_message(self, app: ConversationApp, msg: UserMessage) -> None:
        await self.handle_messages(app, [msg])

    async def handle_events(self, app: ConversationApp, events: list[Event]) -> None:
        async with self.engine.db.sessions() as session:
            records = await store.get_messages(session, [e.user_message_id for e in events])

        async def run(event: Event) -> tuple[AppContext | None, bool]:
            record = records.get(event.user_message_id)
            go = record.message.helper_metadata.get("go", {}) if record else {}
            conversation = await self._conversation(go.get("conversation_key"))
            ctx = AppContext(self.engine, conversation) if conversation else None
            if ctx is None or record is None:
                return ctx, True
            try:
                await app.consume_event(ctx, event, record.message)
            except Exception:
                log.exception("%s failed on event %s", app.conversation_type, event.event_id)
                return ctx, False
            return ctx, True

        results = await asyncio.gather(*(run(event) for event in events))
        unit = Unit()
        contexts: list[tuple[Guard, AppContext]] = []
        for event, (ctx, ok) in zip(events, results, strict=True):
            if not ok:
                continue
            guard = unit.claim_event(event.event_id, "counted", "dispatched")
            if ctx is not None:
                await self.plan_effects(unit, ctx, guard)
                contexts.append((guard, ctx))
        await self._commit(unit, contexts)
        if not all(ok for _, ok in results):
            raise HandlerFailed(f"{app.conversation_type}: some events will be retried")

    async def handle_event(self, app: ConversationApp, event: Event) -> None:
        await self.handle_events(app, [event])

    async def plan_effects(self, unit: Unit, ctx: AppContext, guard: Guard = None) -> None:
        """Plans what a handler asked for: its messages stored (``queued``) in the
        conversation's batch and sent, and its extra writes."""
        conversation = ctx.conversation
        if ctx.outbound:
            batch = await ensure_batch(
                self.engine.db, "conversation", conversation.key, conversation.account_key
            )
            for out in ctx.outbound:
                unit.add_message(out, store.OUTBOUND, "queued", conversation.account_key, guard)
                unit.attach(out, store.OUTBOUND, [batch], guard)
                unit.publish(q.DISPATCHER_OUTBOUND, out, guard)
        for write in ctx.extra_writes:
            unit.write(write, guard)

    async def _commit(self, unit: Unit, contexts: list[tuple[Guard, AppContext]]) -> None:
        await self.engine.run(unit)
        for guard, ctx in contexts:
            if unit.ok(guard):
                ctx.committed()

    async def send(self, conversation: AppInfo, outbound: list[UserMessage]) -> None:
        """Stores and sends messages on behalf of a conversation (actions, pushes, APIs).

        Messages made without the conversation's metadata (``UserMessage.send``) get it here,
        so the dispatcher can route them from the conversation.
        """
        ctx = AppContext(self.engine, conversation)
        for msg in outbound:
            msg.helper_metadata.setdefault("go", ctx.go_metadata())
        ctx.outbound.extend(outbound)
        unit = Unit()
        await self.plan_effects(unit, ctx)
        await self._commit(unit, [(None, ctx)])
