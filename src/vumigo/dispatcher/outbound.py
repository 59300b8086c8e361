"""Outbound dispatch: from a conversation (or router) through the routing table to a channel.

The sender stored the message (state ``queued``) before publishing it. Here it is routed: to a
router's OUTBOUND side (the router picks up from there), or to a tag, where ``helper_metadata.tag``
and the transport fields are filled in from the pool before it goes to the pool's transport.
A reply with no outbound route goes back through the tag of the message it answers, which is
how opt-out replies and replies to unroutable messages leave.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from vumigo.billing import Action
from vumigo.billing.held import HELD
from vumigo.bus import queues as q
from vumigo.dispatcher import hops
from vumigo.dispatcher.inbound import message_tag
from vumigo.message import Event, UserMessage
from vumigo.routing import connectors
from vumigo.store import messages as store
from vumigo.store.batches import ensure_batch
from vumigo.store.unit import Unit

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)


def source_of(msg: UserMessage) -> tuple[str, str] | None:
    """The connector and endpoint an outbound message leaves from."""
    came_from = hops.last_target(msg, hops.OUTBOUND_HOPS)
    if came_from is not None:
        side = connectors.parse(came_from[0])
        if side.kind == "ROUTER":
            # Outbound messages always leave a router on its default endpoint.
            channel_side = connectors.router(side.app_type, side.key, "INBOUND")
            return (str(channel_side), connectors.DEFAULT_ENDPOINT)
        return None
    go = msg.helper_metadata.get("go", {})
    if go.get("conversation_key") and go.get("conversation_type"):
        conn = connectors.conversation(go["conversation_type"], go["conversation_key"])
        return (str(conn), msg.routing_endpoint)
    if go.get("router_key") and go.get("router_type"):
        conn = connectors.router(go["router_type"], go["router_key"], "INBOUND")
        return (str(conn), connectors.DEFAULT_ENDPOINT)
    return None


class OutboundDispatcher:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lookups = engine.lookups

    async def plan(self, unit: Unit, msg: UserMessage) -> None:
        account_key = msg.helper_metadata.get("go", {}).get("user_account")
        source = source_of(msg)
        target: tuple[str, str] | None = None
        if account_key and source is not None:
            target = await self.lookups.route(account_key, *source)
        if target is None:
            tag = message_tag(msg)
            answers = msg.in_reply_to or msg.routing_metadata.get("is_reply_to_unroutable")
            if tag is not None and answers:
                target = (str(connectors.transport_tag(*tag)), connectors.DEFAULT_ENDPOINT)
                source = source or ("", "")
        if target is None:
            where = f"{source[0]}:{source[1]}" if source else "an unknown sender"
            self._fail(unit, msg, f"no route from {where}")
            return
        conn = connectors.parse(target[0])
        if conn.kind == "ROUTER" and target[0].endswith(":OUTBOUND"):
            hops.add_hop(msg, hops.OUTBOUND_HOPS, source or ("", ""), target)
            msg.set_routing_endpoint(target[1])
            unit.publish(q.router_outbound(conn.app_type), msg)
            return
        if conn.kind != "TRANSPORT_TAG":
            self._fail(unit, msg, f"cannot send outbound to {target[0]}")
            return
        await self._to_tag(unit, msg, account_key, source or ("", ""), target, conn)

    async def _to_tag(
        self,
        unit: Unit,
        msg: UserMessage,
        account_key: str | None,
        source: tuple[str, str],
        target: tuple[str, str],
        conn: connectors.Connector,
    ) -> None:
        owner = await self.lookups.tag_owner(conn.pool, conn.tag)
        unroutable_reply = bool(msg.routing_metadata.get("is_reply_to_unroutable"))
        if owner != account_key and not (unroutable_reply and owner is None):
            self._fail(unit, msg, f"tag {conn.pool}:{conn.tag} is not held by the account")
            return
        meta = await self.lookups.pool_meta(conn.pool) or {}
        transport_name = meta.get("transport_name")
        if not transport_name:
            self._fail(unit, msg, f"pool {conn.pool} has no transport_name")
            return
        if account_key:
            # Before routing changes the message: a held one is re-planned from its stored
            # form when it is released.
            decision = await self.engine.billing.plan_outbound(
                unit, msg, account_key, conn.pool, conn.tag
            )
            if decision.action is Action.HOLD:
                log.info("outbound %s held: %s", msg.message_id, decision.reason)
                guard = unit.claim_message(msg.message_id, "queued", HELD)
                unit.fail(msg.message_id, decision.reason, guard)
                return
        hops.add_hop(msg, hops.OUTBOUND_HOPS, source, target)
        msg.set_routing_endpoint(target[1])
        msg.helper_metadata["tag"] = {"tag": [conn.pool, conn.tag]}
        msg.payload["transport_name"] = transport_name
        msg.payload["transport_type"] = meta.get("transport_type") or msg.transport_type
        if not msg.from_addr:
            # A new message leaves from the tag itself: the tag is the number or short code.
            msg.payload["from_addr"] = conn.tag
        batch = await ensure_batch(self.engine.db, "tag", f"{conn.pool}:{conn.tag}", account_key)
        unit.attach(msg, store.OUTBOUND, [batch])
        unit.publish(q.transport_outbound(transport_name), msg)

    def _fail(self, unit: Unit, msg: UserMessage, why: str) -> None:
        """An unsendable message is marked failed and its sender gets a nack saying why."""
        log.warning("outbound %s failed: %s", msg.message_id, why)
        guard = unit.claim_message(msg.message_id, "queued", "failed")
        unit.fail(msg.message_id, why, guard)
        nack = Event.nack(msg.message_id, nack_reason=why)
        unit.add_event(nack, guard)
        unit.publish(q.DISPATCHER_EVENT, nack, guard)
