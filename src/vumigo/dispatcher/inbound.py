"""Inbound dispatch: tag → account, opt-out detection, routing table → conversation or router.

A message from a transport arrives stored (state ``accepted``) with ``helper_metadata.tag``
set. A message coming back from a router carries hops whose last target is that router's
INBOUND side; it continues from the router's OUTBOUND side on the endpoint the router chose.
Each message's fate is planned into a unit of work; the worker commits a batch's unit at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from vumigo.bus import queues as q
from vumigo.dispatcher import hops
from vumigo.dispatcher.lookups import AccountInfo, AppInfo
from vumigo.dispatcher.optouts import DEFAULT_REPLY, address_type, matched_keyword
from vumigo.message import UserMessage
from vumigo.routing import connectors
from vumigo.store import messages as store
from vumigo.store.batches import ensure_batch
from vumigo.store.unit import Unit

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)

UNROUTABLE_REPLY = "Vumi Go could not route your message. Please try again soon."


def message_tag(msg: UserMessage) -> tuple[str, str] | None:
    tag = msg.helper_metadata.get("tag", {}).get("tag")
    if isinstance(tag, list | tuple) and len(tag) == 2:
        return (str(tag[0]), str(tag[1]))
    return None


class InboundDispatcher:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lookups = engine.lookups
        settings = engine.settings
        self.keywords = list(settings.optout_keywords)
        self.case_sensitive = settings.optout_case_sensitive

    async def tag_batch(self, tag: tuple[str, str], account_key: str | None) -> str:
        return await ensure_batch(self.engine.db, "tag", ":".join(tag), account_key)

    async def plan(self, unit: Unit, msg: UserMessage) -> None:
        came_from = hops.last_target(msg, hops.INBOUND_HOPS)
        if came_from is not None:
            await self._from_router(unit, msg, came_from)
            return
        tag = message_tag(msg)
        if tag is None:
            self._finish(unit, msg, None, [], "inbound message without a tag")
            return
        pool, tagname = tag
        meta = await self.lookups.pool_meta(pool) or {}
        owner = await self.lookups.tag_owner(pool, tagname)
        account = await self.lookups.account(owner) if owner else None
        if account is None:
            await self._unroutable(unit, msg, None, tag, meta, "tag not owned by any account")
            return
        go = msg.helper_metadata.setdefault("go", {})
        go["user_account"] = account.key
        # Every message a transport brings in for an account is billed, whatever its fate.
        await self.engine.billing.plan_inbound(unit, msg, account.key, pool, tagname)

        keyword = None
        if not account.disable_optouts and not meta.get("disable_global_opt_out"):
            keyword = matched_keyword(msg.content, self.keywords, self.case_sensitive)
        msg.helper_metadata["optout"] = (
            {"optout": True, "optout_keyword": keyword} if keyword else {"optout": False}
        )
        if keyword:
            await self._opt_out(unit, msg, account, tag)
            return
        source = (str(connectors.transport_tag(pool, tagname)), msg.routing_endpoint)
        target = await self.lookups.route(account.key, *source)
        if target is None:
            await self._unroutable(unit, msg, account, tag, meta, "no route from the tag")
            return
        await self._deliver(unit, msg, account, source, target, tag)

    async def _from_router(self, unit: Unit, msg: UserMessage, came_from: tuple[str, str]) -> None:
        router_side = connectors.parse(came_from[0])
        account_key = msg.helper_metadata.get("go", {}).get("user_account")
        account = await self.lookups.account(account_key) if account_key else None
        if account is None or router_side.kind != "ROUTER":
            self._finish(unit, msg, None, [], "router output without an account")
            return
        conversation_side = connectors.router(router_side.app_type, router_side.key, "OUTBOUND")
        source = (str(conversation_side), msg.routing_endpoint)
        target = await self.lookups.route(account.key, *source)
        if target is None:
            self._finish(unit, msg, account.key, [], f"no route from {source[0]}:{source[1]}")
            return
        await self._deliver(unit, msg, account, source, target, message_tag(msg))

    async def _opt_out(
        self, unit: Unit, msg: UserMessage, account: AccountInfo, tag: tuple[str, str]
    ) -> None:
        unit.record_optout(account.key, msg, address_type(msg))
        source = (str(connectors.OPT_OUT), "default")
        target = await self.lookups.route(account.key, *source)
        if target is None:
            batches = [await self.tag_batch(tag, account.key)]
            self._reply_and_finish(unit, msg, account.key, DEFAULT_REPLY, batches)
            return
        await self._deliver(unit, msg, account, source, target, tag, tag_batch_too=True)

    async def _deliver(
        self,
        unit: Unit,
        msg: UserMessage,
        account: AccountInfo,
        source: tuple[str, str],
        target: tuple[str, str],
        tag: tuple[str, str] | None,
        tag_batch_too: bool = False,
    ) -> None:
        hops.add_hop(msg, hops.INBOUND_HOPS, source, target)
        msg.set_routing_endpoint(target[1])
        conn = connectors.parse(target[0])
        go = msg.helper_metadata.setdefault("go", {})
        app: AppInfo | None
        if conn.kind == "CONVERSATION":
            app = await self.lookups.conversation(conn.key)
            go.update(conversation_type=conn.app_type, conversation_key=conn.key)
            queue = q.app_inbound(conn.app_type)
        elif conn.kind == "ROUTER":
            app = await self.lookups.router(conn.key)
            go.update(router_type=conn.app_type, router_key=conn.key)
            queue = q.router_inbound(conn.app_type)
        else:
            self._finish(unit, msg, account.key, [], f"cannot deliver inbound to {target[0]}")
            return
        if app is None or app.account_key != account.key:
            self._finish(unit, msg, account.key, [], f"{target[0]} does not exist")
            return
        batches = [await ensure_batch(self.engine.db, app.kind, app.key, account.key)]
        if tag is not None and (tag_batch_too or source[0].startswith("TRANSPORT_TAG")):
            batches.append(await self.tag_batch(tag, account.key))
        if not app.running:
            # Stored and visible, but a stopped conversation receives nothing.
            guard = unit.claim_message(msg.message_id, "accepted", "processed")
            unit.attach(msg, store.INBOUND, batches)
            unit.save_payload(msg, account.key, guard)
            return
        unit.attach(msg, store.INBOUND, batches)
        unit.publish(queue, msg)

    async def _unroutable(
        self,
        unit: Unit,
        msg: UserMessage,
        account: AccountInfo | None,
        tag: tuple[str, str],
        meta: dict[str, Any],
        why: str,
    ) -> None:
        account_key = account.key if account else None
        log.info("unroutable inbound %s on %s:%s: %s", msg.message_id, *tag, why)
        batches = [await self.tag_batch(tag, account_key)]
        if meta.get("reply_to_unroutable_inbound"):
            text = meta.get("unroutable_inbound_reply") or UNROUTABLE_REPLY
            self._reply_and_finish(unit, msg, account_key, str(text), batches, unroutable=True)
        else:
            self._finish(unit, msg, account_key, batches, why)

    def _reply_and_finish(
        self,
        unit: Unit,
        msg: UserMessage,
        account_key: str | None,
        content: str,
        batches: list[str],
        unroutable: bool = False,
    ) -> None:
        """Answers the message straight back through its tag and marks it processed."""
        reply = msg.reply(content, continue_session=False)
        if unroutable:
            reply.routing_metadata["is_reply_to_unroutable"] = True
        reply.routing_metadata.pop(hops.INBOUND_HOPS, None)
        guard = unit.claim_message(msg.message_id, "accepted", "processed")
        unit.attach(msg, store.INBOUND, batches)
        unit.save_payload(msg, account_key, guard)
        unit.add_message(reply, store.OUTBOUND, "queued", account_key, guard)
        unit.attach(reply, store.OUTBOUND, batches, guard)
        unit.publish(q.DISPATCHER_OUTBOUND, reply, guard)

    def _finish(
        self,
        unit: Unit,
        msg: UserMessage,
        account_key: str | None,
        batches: list[str],
        why: str,
    ) -> None:
        log.info("inbound %s not delivered: %s", msg.message_id, why)
        guard = unit.claim_message(msg.message_id, "accepted", "processed")
        unit.attach(msg, store.INBOUND, batches)
        unit.save_payload(msg, account_key, guard)
        unit.fail(msg.message_id, why, guard)
