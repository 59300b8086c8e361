"""Event dispatch: an event is counted on its message's batches and handed to the sender.

The event's message was stored when it was sent, with its conversation (``helper_metadata.go``)
and its tag, so the event goes back to the conversation that sent the message, whatever
routers it passed through; the routers' batches count it too. An event moves from ``new`` to
``counted`` here (so a redelivery never counts it twice) and to ``dispatched`` once the
conversation has handled it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.bus import queues as q
from vumigo.dispatcher import hops
from vumigo.dispatcher.inbound import message_tag
from vumigo.message import Event, UserMessage
from vumigo.routing import connectors
from vumigo.store import messages as store
from vumigo.store.batches import ensure_batch
from vumigo.store.unit import Unit, Write

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)


def _routers(msg: UserMessage) -> list[tuple[str, str]]:
    """(router type, key) of every router the message passed through."""
    found: list[tuple[str, str]] = []
    for hop in hops.hops(msg, hops.OUTBOUND_HOPS):
        for end in hop:
            conn = connectors.parse(end[0]) if end[0] else None
            if (
                conn is not None
                and conn.kind == "ROUTER"
                and (conn.app_type, conn.key) not in found
            ):
                found.append((conn.app_type, conn.key))
    return found


class EventDispatcher:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lookups = engine.lookups

    async def plan_all(self, unit: Unit, events: Sequence[Event]) -> None:
        async with self.engine.db.sessions() as session:
            records = await store.get_messages(session, [e.user_message_id for e in events])
            states = await store.event_states(session, [e.event_id for e in events])
        for event in events:
            state = states.get(event.event_id)
            if state not in ("new", "counted"):
                continue  # dispatched already, or never stored (not ours to handle)
            record = records.get(event.user_message_id)
            if record is None:
                log.warning(
                    "event %s for unknown message %s", event.event_id, event.user_message_id
                )
                unit.claim_event(event.event_id, state, "dispatched")
                continue
            await self._plan(unit, event, state, record.message, record.account_key)

    async def _plan(
        self, unit: Unit, event: Event, state: str, msg: UserMessage, account_key: str | None
    ) -> None:
        go = msg.helper_metadata.get("go", {})
        db = self.engine.db
        if state == "new":
            batches: list[str] = []
            if go.get("conversation_key"):
                batches.append(
                    await ensure_batch(db, "conversation", go["conversation_key"], account_key)
                )
            for _router_type, router_key in _routers(msg):
                batches.append(await ensure_batch(db, "router", router_key, account_key))
            tag = message_tag(msg)
            if tag is not None:
                batches.append(await ensure_batch(db, "tag", ":".join(tag), account_key))
            guard = unit.claim_event(event.event_id, "new", "counted")
            unit.count_event(event, batches, guard)
        else:
            guard = None
        conversation = (
            await self.lookups.conversation(go["conversation_key"])
            if go.get("conversation_key")
            else None
        )
        if conversation is not None and conversation.running:
            # Events carry the sender's metadata, so the app knows whose message it was.
            event.helper_metadata.setdefault("go", dict(go))
            unit.publish(q.app_event(conversation.app_type), event, guard)
        elif state == "new":
            unit.write(_mark_dispatched(event.event_id), guard)
        else:
            unit.claim_event(event.event_id, "counted", "dispatched")


def _mark_dispatched(event_id: str) -> Write:
    async def write(session: AsyncSession) -> None:
        await store.claim_events(session, [event_id], "counted", "dispatched")

    return write
