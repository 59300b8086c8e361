"""Event dispatch: an event is counted on its message's batches and handed to the sender.

The event's message was stored when it was sent, with its conversation (``helper_metadata.go``)
and its tag, so the event goes back to the conversation that sent the message, whatever
routers it passed through; the routers' batches count it too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from vumigo.bus import queues as q
from vumigo.dispatcher import hops
from vumigo.dispatcher.inbound import message_tag
from vumigo.message import Event, UserMessage
from vumigo.routing import connectors
from vumigo.store import messages as store
from vumigo.store.batches import batch_key

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

    async def dispatch(self, event: Event) -> None:
        async with self.engine.db.transaction() as session:
            record = await store.get_message(session, event.user_message_id)
            if record is None:
                log.warning(
                    "event %s for unknown message %s", event.event_id, event.user_message_id
                )
                await store.claim_event(session, event.event_id, "new", "dispatched")
                return
            msg, account_key = record.message, record.account_key
            go = msg.helper_metadata.get("go", {})
            if await store.claim_event(session, event.event_id, "new", "counted"):
                batches: list[str] = []
                if go.get("conversation_key"):
                    batches.append(
                        await batch_key(
                            session, "conversation", go["conversation_key"], account_key
                        )
                    )
                for _router_type, router_key in _routers(msg):
                    batches.append(await batch_key(session, "router", router_key, account_key))
                tag = message_tag(msg)
                if tag is not None:
                    batches.append(await batch_key(session, "tag", ":".join(tag), account_key))
                await store.count_event(session, event, batches)
            elif await store.event_state(session, event.event_id) != "counted":
                return  # dispatched already
        conversation = (
            await self.lookups.conversation(go["conversation_key"])
            if go.get("conversation_key")
            else None
        )
        if conversation is not None and conversation.running:
            # Events carry the sender's metadata, so the app knows whose message it was.
            event.helper_metadata.setdefault("go", dict(go))
            await self.engine.publish(q.app_event(conversation.app_type), event)
            return
        async with self.engine.db.transaction() as session:
            await store.claim_event(session, event.event_id, "counted", "dispatched")
