"""The transport plug-in interface: turn a channel's protocol into Vumi messages and back.

A transport class has a ``transport_type`` (the pool metadata's ``transport_type``) and is listed
in ``vumigo.transports.registry``. One instance runs per ``transport_name`` and serves every pool
whose metadata names it. Inbound messages and events go in through ``receive`` and the event
helpers, which store them before queueing them; outbound messages arrive in ``send``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from vumigo.message import Event, UserMessage
from vumigo.store import messages as store
from vumigo.store.unit import Unit

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)


class Transport:
    transport_type: ClassVar[str] = ""

    def __init__(self, engine: Engine, name: str, pools: dict[str, dict[str, Any]]) -> None:
        self.engine = engine
        self.name = name
        self.pools = pools
        self.sent = 0
        self.received = 0

    async def start(self) -> None:
        """Connects to the channel (binds, logs in); called once before any ``send``."""

    async def stop(self) -> None:
        """Disconnects cleanly."""

    def update_pools(self, pools: dict[str, dict[str, Any]]) -> None:
        """Pool metadata changed or pools were added; transports may reconfigure."""
        self.pools = pools

    async def send(self, msg: UserMessage) -> None:
        """Delivers an outbound message to the channel. Raising means: try again later."""
        raise NotImplementedError

    async def send_many(self, msgs: list[UserMessage]) -> None:
        """Delivers a batch; transports that can do better than one at a time override it."""
        for msg in msgs:
            await self.send(msg)

    def health(self) -> dict[str, Any]:
        return {
            "transport": self.name,
            "type": self.transport_type,
            "sent": self.sent,
            "received": self.received,
            "connected": True,
        }

    # -- helpers for subclasses --------------------------------------------------------

    def inbound(
        self,
        pool: str,
        tag: str,
        from_addr: str,
        content: str | None,
        transport_type: str = "sms",
        **fields: Any,
    ) -> UserMessage:
        """A new inbound message on ``pool:tag`` from ``from_addr``, tagged for routing."""
        helper_metadata = fields.pop("helper_metadata", {})
        helper_metadata["tag"] = {"tag": [pool, tag]}
        return UserMessage(
            to_addr=tag,
            from_addr=from_addr,
            content=content,
            transport_name=self.name,
            transport_type=transport_type,
            helper_metadata=helper_metadata,
            **fields,
        )

    async def receive(self, msg: UserMessage) -> bool:
        """Stores and queues an inbound message; when this returns it is safe to acknowledge."""
        fresh = await self.engine.accept_inbound(msg)
        self.received += fresh
        return fresh

    async def claim(self, msg: UserMessage) -> bool:
        """Marks a queued outbound message as sent, storing its routed form; False if it was
        sent before (a redelivery), in which case it must not go out again."""
        async with self.engine.db.transaction() as session:
            if not await store.claim(session, msg.message_id, "queued", "sent"):
                return False
            await store.save_payload(
                session, msg, msg.helper_metadata.get("go", {}).get("user_account")
            )
        self.sent += 1
        return True

    async def claim_many(self, msgs: list[UserMessage]) -> list[UserMessage]:
        """``claim`` for a batch: returns the messages that were not sent before."""
        unit = Unit()
        guards = []
        for msg in msgs:
            guard = unit.claim_message(msg.message_id, "queued", "sent")
            unit.save_payload(msg, msg.helper_metadata.get("go", {}).get("user_account"), guard)
            guards.append(guard)
        await self.engine.run(unit)
        claimed = [msg for msg, guard in zip(msgs, guards, strict=True) if unit.ok(guard)]
        self.sent += len(claimed)
        return claimed

    async def ack(self, msg: UserMessage, sent_message_id: str) -> None:
        await self.engine.accept_event(Event.ack(msg.message_id, sent_message_id))

    async def nack(self, message_id: str, reason: str) -> None:
        await self.engine.accept_event(Event.nack(message_id, nack_reason=reason))

    async def delivery_report(self, message_id: str, status: str) -> None:
        await self.engine.accept_event(Event.delivery_report(message_id, delivery_status=status))
