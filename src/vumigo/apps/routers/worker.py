"""Router workers: consume each router type's two queues, a batch at a time.

Inbound (``router.<type>.inbound``): the dispatcher delivered a message to a router's channel
side. The router's choice goes back to ``dispatcher.inbound`` with the endpoint set, and the
dispatcher carries on from the router's conversation side (it reads the hops). A message the
router answers itself is marked processed, and its reply stored and sent, in one unit of work.

Outbound (``router.<type>.outbound``): a conversation behind the router sent a message; after
the router has seen it, it goes back to ``dispatcher.outbound`` unchanged, and the dispatcher
sends it on from the router's channel side. Events never come here: they go straight back to
the conversation that sent the message (see ``vumigo.dispatcher.events``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from vumigo.apps.routers import router_classes
from vumigo.apps.routers.base import RouterApp, RouterContext
from vumigo.bus import Delivery
from vumigo.bus import queues as q
from vumigo.dispatcher import hops
from vumigo.dispatcher.lookups import AppInfo
from vumigo.engine.decode import decode_all
from vumigo.message import UserMessage
from vumigo.routing import connectors
from vumigo.store import messages as store
from vumigo.store.batches import ensure_batch
from vumigo.store.unit import Unit

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)

MAX_BATCH = 100
Handler = Callable[[list[Delivery]], Awaitable[None]]


class RoutingFailed(Exception):
    """Some messages of a batch failed in their router; they will be redelivered."""


def outbound_router_key(msg: UserMessage) -> str | None:
    """The router whose conversation side an outbound message was routed to."""
    target = hops.last_target(msg, hops.OUTBOUND_HOPS)
    if target is None:
        return None
    side = connectors.parse(target[0])
    return side.key if side.kind == "ROUTER" else None


class RouterWorkers:
    def __init__(self, engine: Engine, concurrency: int = 4) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self.routers: dict[str, RouterApp] = {}

    async def start(self) -> None:
        bus = self.engine.bus
        for router_type, cls in router_classes().items():
            router = self.routers[router_type] = cls(self.engine)
            for queue, handler in (
                (q.router_inbound(router_type), self._handler(router, self.handle_inbound)),
                (q.router_outbound(router_type), self._handler(router, self.handle_outbound)),
            ):
                consumer = await bus.consume_batch(queue, handler, MAX_BATCH, self.concurrency)
                self.engine.consumers.append(consumer)

    async def stop(self) -> None:
        # The consumers are the engine's: it cancels them when it stops.
        self.routers.clear()

    def _handler(
        self,
        router: RouterApp,
        handle: Callable[[RouterApp, list[UserMessage]], Awaitable[None]],
    ) -> Handler:
        async def on_batch(deliveries: list[Delivery]) -> None:
            await handle(router, decode_all(deliveries, UserMessage))

        return on_batch

    async def _run(
        self,
        router: RouterApp,
        msgs: list[UserMessage],
        key_of: Callable[[UserMessage], str | None],
        inbound: bool,
    ) -> list[tuple[UserMessage, RouterContext | None, bool]]:
        async def one(msg: UserMessage) -> tuple[UserMessage, RouterContext | None, bool]:
            key = key_of(msg)
            info: AppInfo | None = await self.engine.lookups.router(key) if key else None
            if info is None or not info.running:
                return msg, None, True
            ctx = RouterContext(self.engine, info)
            try:
                if inbound:
                    await router.route_inbound(ctx, msg)
                else:
                    await router.route_outbound(ctx, msg)
            except Exception:
                log.exception("%s router failed on %s", router.router_type, msg.message_id)
                return msg, ctx, False
            return msg, ctx, True

        return list(await asyncio.gather(*(one(msg) for msg in msgs)))

    async def handle_inbound(self, router: RouterApp, msgs: list[UserMessage]) -> None:
        results = await self._run(
            router, msgs, lambda m: m.helper_metadata.get("go", {}).get("router_key"), True
        )
        unit = Unit()
        for msg, ctx, ok in results:
            if not ok:
                continue
            if ctx is None:
                # The router stopped or vanished since the dispatcher looked: nobody gets it.
                guard = unit.claim_message(msg.message_id, "accepted", "processed")
                unit.save_payload(msg, msg.helper_metadata.get("go", {}).get("user_account"))
                unit.fail(msg.message_id, "router not running", guard)
            elif ctx.endpoint is not None and not ctx.replies:
                for write in ctx.extra_writes:
                    unit.write(write)
                if ctx.save_forwarded:
                    unit.save_payload(msg, ctx.router.account_key)
                unit.publish(q.DISPATCHER_INBOUND, msg)
            else:
                await self._answered(unit, msg, ctx)
        await self.engine.run(unit)
        if not all(ok for _, _, ok in results):
            raise RoutingFailed(f"{router.router_type}: some messages will be retried")

    async def _answered(self, unit: Unit, msg: UserMessage, ctx: RouterContext) -> None:
        """The router answered the message itself: it ends here, and the replies go out."""
        account = ctx.router.account_key
        guard = unit.claim_message(msg.message_id, "accepted", "processed")
        unit.save_payload(msg, account, guard)
        if ctx.replies:
            batch = await ensure_batch(self.engine.db, "router", ctx.router.key, account)
            for reply in ctx.replies:
                unit.add_message(reply, store.OUTBOUND, "queued", account, guard)
                unit.attach(reply, store.OUTBOUND, [batch], guard)
                unit.publish(q.DISPATCHER_OUTBOUND, reply, guard)
        for write in ctx.extra_writes:
            unit.write(write, guard)

    async def handle_outbound(self, router: RouterApp, msgs: list[UserMessage]) -> None:
        results = await self._run(router, msgs, outbound_router_key, False)
        unit = Unit()
        for msg, ctx, ok in results:
            if not ok:
                continue
            for write in ctx.extra_writes if ctx is not None else ():
                unit.write(write)
            # On unchanged whatever the router thought: the dispatcher reads its hops.
            unit.publish(q.DISPATCHER_OUTBOUND, msg)
        await self.engine.run(unit)
        if not all(ok for _, _, ok in results):
            raise RoutingFailed(f"{router.router_type}: some messages will be retried")
