"""Inbound dispatch: tag → account, opt-out detection, routing table → conversation or router.

A message from a transport arrives stored (state ``accepted``) with ``helper_metadata.tag``
set. A message coming back from a router carries hops whose last target is that router's
INBOUND side; it continues from the router's OUTBOUND side on the endpoint the router chose.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from vumigo.bus import queues as q
from vumigo.dispatcher import hops
from vumigo.dispatcher.lookups import AccountInfo, AppInfo
from vumigo.dispatcher.optouts import DEFAULT_REPLY, matched_keyword, record_optout
from vumigo.message import UserMessage
from vumigo.routing import connectors
from vumigo.store import messages as store
from vumigo.store.batches import batch_key

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

    async def dispatch(self, msg: UserMessage) -> None:
        came_from = hops.last_target(msg, hops.INBOUND_HOPS)
        if came_from is not None:
            await self._from_router(msg, came_from)
            return
        tag = message_tag(msg)
        if tag is None:
            await self._finish(msg, None, [], "inbound message without a tag")
            return
        pool, tagname = tag
        meta = await self.lookups.pool_meta(pool) or {}
        owner = await self.lookups.tag_owner(pool, tagname)
        account = await self.lookups.account(owner) if owner else None
        if account is None:
            await self._unroutable(msg, None, tag, meta, "tag not owned by any account")
            return
        go = msg.helper_metadata.setdefault("go", {})
        go["user_account"] = account.key

        keyword = None
        if not account.disable_optouts and not meta.get("disable_global_opt_out"):
            keyword = matched_keyword(msg.content, self.keywords, self.case_sensitive)
        msg.helper_metadata["optout"] = (
            {"optout": True, "optout_keyword": keyword} if keyword else {"optout": False}
        )
        if keyword:
            await self._opt_out(msg, account, tag, meta)
            return
        source = (str(connectors.transport_tag(pool, tagname)), msg.routing_endpoint)
        target = await self.lookups.route(account.key, *source)
        if target is None:
            await self._unroutable(msg, account, tag, meta, "no route from the tag")
            return
        await self._deliver(msg, account, source, target, tag)

    async def _from_router(self, msg: UserMessage, came_from: tuple[str, str]) -> None:
        router_side = connectors.parse(came_from[0])
        account_key = msg.helper_metadata.get("go", {}).get("user_account")
        account = await self.lookups.account(account_key) if account_key else None
        if account is None or router_side.kind != "ROUTER":
            await self._finish(msg, None, [], "router output without an account")
            return
        conversation_side = connectors.router(router_side.app_type, router_side.key, "OUTBOUND")
        source = (str(conversation_side), msg.routing_endpoint)
        target = await self.lookups.route(account.key, *source)
        if target is None:
            await self._finish(msg, account.key, [], f"no route from {source[0]}:{source[1]}")
            return
        await self._deliver(msg, account, source, target, message_tag(msg))

    async def _opt_out(
        self, msg: UserMessage, account: AccountInfo, tag: tuple[str, str], meta: dict[str, Any]
    ) -> None:
        tag_batch: list[str] = []
        async with self.engine.db.transaction() as session:
            await record_optout(session, account.key, msg)
            tag_batch = [await batch_key(session, "tag", ":".join(tag), account.key)]
            await store.attach(session, msg, store.INBOUND, tag_batch)
        source = (str(connectors.OPT_OUT), "default")
        target = await self.lookups.route(account.key, *source)
        if target is None:
            await self._reply_and_finish(msg, account.key, DEFAULT_REPLY, tag_batch)
            return
        await self._deliver(msg, account, source, target, tag)

    async def _deliver(
        self,
        msg: UserMessage,
        account: AccountInfo,
        source: tuple[str, str],
        target: tuple[str, str],
        tag: tuple[str, str] | None,
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
            await self._finish(msg, account.key, [], f"cannot deliver inbound to {target[0]}")
            return
        if app is None or app.account_key != account.key:
            await self._finish(msg, account.key, [], f"{target[0]} does not exist")
            return
        async with self.engine.db.transaction() as session:
            batches = [await batch_key(session, app.kind, app.key, account.key)]
            if tag is not None and source[0].startswith("TRANSPORT_TAG"):
                batches.append(await batch_key(session, "tag", ":".join(tag), account.key))
            await store.attach(session, msg, store.INBOUND, batches)
            if not app.running:
                # Stored and visible, but a stopped conversation receives nothing.
                await store.save_payload(session, msg, account.key)
                await store.claim(session, msg.message_id, "accepted", "processed")
                return
        await self.engine.publish(queue, msg)

    async def _unroutable(
        self,
        msg: UserMessage,
        account: AccountInfo | None,
        tag: tuple[str, str],
        meta: dict[str, Any],
        why: str,
    ) -> None:
        account_key = account.key if account else None
        log.info("unroutable inbound %s on %s:%s: %s", msg.message_id, *tag, why)
        async with self.engine.db.transaction() as session:
            batches = [await batch_key(session, "tag", ":".join(tag), account_key)]
            await store.attach(session, msg, store.INBOUND, batches)
        if meta.get("reply_to_unroutable_inbound"):
            text = meta.get("unroutable_inbound_reply") or UNROUTABLE_REPLY
            await self._reply_and_finish(msg, account_key, str(text), batches, unroutable=True)
        else:
            await self._finish(msg, account_key, [], why)

    async def _reply_and_finish(
        self,
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
        async with self.engine.db.transaction() as session:
            if not await store.claim(session, msg.message_id, "accepted", "processed"):
                return
            await store.save_payload(session, msg, account_key)
            await store.add_message(session, reply, store.OUTBOUND, "queued", account_key)
            await store.attach(session, reply, store.OUTBOUND, batches)
        await self.engine.publish(q.DISPATCHER_OUTBOUND, reply)

    async def _finish(
        self, msg: UserMessage, account_key: str | None, batches: list[str], why: str
    ) -> None:
        log.info("inbound %s not delivered: %s", msg.message_id, why)
        async with self.engine.db.transaction() as session:
            await store.attach(session, msg, store.INBOUND, batches)
            await store.save_payload(session, msg, account_key)
            await store.set_state(session, msg.message_id, "processed", failure=why)
