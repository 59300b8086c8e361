"""Conversation workers: consume each app type's queues and run its handlers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.base import AppContext, ConversationApp
from vumigo.apps.registry import app_classes
from vumigo.bus import Delivery, Handler
from vumigo.bus import queues as q
from vumigo.dispatcher.lookups import AppInfo
from vumigo.message import Event, MessageError, UserMessage, from_json
from vumigo.store import messages as store
from vumigo.store.batches import batch_key

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)


class AppWorkers:
    def __init__(self, engine: Engine, prefetch: int = 16) -> None:
        self.engine = engine
        self.prefetch = prefetch
        self.apps: dict[str, ConversationApp] = {}

    async def start(self) -> None:
        for app_type, cls in app_classes().items():
            app = cls(self.engine)
            self.apps[app_type] = app
            await app.start()
            await self.engine.consume(
                q.app_inbound(app_type), self._inbound_handler(app), self.prefetch
            )
            await self.engine.consume(
                q.app_event(app_type), self._event_handler(app), self.prefetch
            )

    async def stop(self) -> None:
        for app in self.apps.values():
            await app.stop()
        self.apps.clear()

    def _inbound_handler(self, app: ConversationApp) -> Handler:
        async def handle(delivery: Delivery) -> None:
            msg = _decode(delivery)
            if isinstance(msg, UserMessage):
                await self.handle_message(app, msg)

        return handle

    def _event_handler(self, app: ConversationApp) -> Handler:
        async def handle(delivery: Delivery) -> None:
            event = _decode(delivery)
            if isinstance(event, Event):
                await self.handle_event(app, event)

        return handle

    async def _conversation(self, key: str | None) -> AppInfo | None:
        return await self.engine.lookups.conversation(key) if key else None

    async def handle_message(self, app: ConversationApp, msg: UserMessage) -> None:
        go = msg.helper_metadata.get("go", {})
        conversation = await self._conversation(go.get("conversation_key"))
        ctx = AppContext(self.engine, conversation) if conversation else None
        if ctx is not None and conversation is not None and conversation.running:
            await app.consume_user_message(ctx, msg)
        outbound = ctx.outbound if ctx else []
        account_key = conversation.account_key if conversation else None
        async with self.engine.db.transaction() as session:
            if not await store.claim(session, msg.message_id, "accepted", "processed"):
                return  # handled before: a redelivery has no second effect
            await store.save_payload(session, msg, account_key)
            await self.store_outbound(session, conversation, outbound)
        await self.engine.publish_all(q.DISPATCHER_OUTBOUND, outbound)

    async def handle_event(self, app: ConversationApp, event: Event) -> None:
        async with self.engine.db.transaction() as session:
            record = await store.get_message(session, event.user_message_id)
        go = record.message.helper_metadata.get("go", {}) if record else {}
        conversation = await self._conversation(go.get("conversation_key"))
        ctx = AppContext(self.engine, conversation) if conversation else None
        if ctx is not None and record is not None and conversation is not None:
            await app.consume_event(ctx, event, record.message)
        outbound = ctx.outbound if ctx else []
        async with self.engine.db.transaction() as session:
            if not await store.claim_event(session, event.event_id, "counted", "dispatched"):
                return
            await self.store_outbound(session, conversation, outbound)
        await self.engine.publish_all(q.DISPATCHER_OUTBOUND, outbound)

    async def store_outbound(
        self, session: AsyncSession, conversation: AppInfo | None, outbound: list[UserMessage]
    ) -> None:
        """Stores messages a conversation sends (state ``queued``) in its batch."""
        if not outbound or conversation is None:
            return
        batch = await batch_key(session, "conversation", conversation.key, conversation.account_key)
        for out in outbound:
            await store.add_message(
                session, out, store.OUTBOUND, "queued", conversation.account_key
            )
            await store.attach(session, out, store.OUTBOUND, [batch])

    async def send(self, conversation: AppInfo, outbound: list[UserMessage]) -> None:
        """Stores and sends messages on behalf of a conversation (actions, pushes, APIs)."""
        async with self.engine.db.transaction() as session:
            await self.store_outbound(session, conversation, outbound)
        await self.engine.publish_all(q.DISPATCHER_OUTBOUND, outbound)


def _decode(delivery: Delivery) -> UserMessage | Event | None:
    try:
        return from_json(delivery.body)
    except MessageError as exc:
        log.error("dropping undecodable message on %s: %s", delivery.queue, exc)
        return None
