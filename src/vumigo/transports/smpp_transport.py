"""The SMPP transport (type ``smpp``): one SMPP bind (``SmppClient``) per tag pool.

A pool's ``smpp.*`` metadata is its bind's settings (every field of ``SmppConfig``, e.g.
``smpp.host``, ``smpp.window``, ``smpp.bind_mode``; see docs/transports.md) and its tags are the
numbers or short codes it sends from and receives on. Outbound messages go out from their
``from_addr`` (the tag, unless the sender chose one); an MO deliver_sm is received on the pool's
tag that equals its destination address.

The SMSC's answers become events: submit_sm_resp OK is an ack (``sent_message_id`` is the SMSC's
id), an error is a nack, a receipt is a delivery_report. Receipts name only the SMSC's id, so the
ids are kept in the database (``DbCorrelationStore``) and still match after a restart. Messages
the SMSC has not answered stay ``sending`` and are sent again after a restart (``Handoff``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from vumigo.message import Event, UserMessage
from vumigo.transports.addresses import find_tag
from vumigo.transports.base import Transport
from vumigo.transports.correlation import DbCorrelationStore
from vumigo.transports.handoff import Handoff, event_id_for
from vumigo.transports.options import OptionError, Options
from vumigo.transports.smpp import (
    EventHandler,
    InboundHandler,
    SessionEvent,
    SmppClient,
    SmppConfig,
)
from vumigo.transports.smpp import config as smpp_config

log = logging.getLogger(__name__)

PREFIX = "smpp"
PRUNE_INTERVAL = 3600.0
MAX_REMEMBERED_TAGS = 100_000
DEFAULT_INBOUND_CONCURRENCY = 8


@dataclass(frozen=True)
class LinkSettings:
    """Settings of the transport's handling of a bind, beside the bind's own."""

    # How long SMSC ids are kept for receipts to match (days).
    receipt_retention_days: float = 7.0
    # How long stopping waits for the SMSC to answer what is in flight (seconds).
    stop_timeout: float = 5.0


def smpp_config_from(meta: dict[str, Any]) -> tuple[SmppConfig, LinkSettings]:
    """A pool's bind settings and the transport's own; OptionError if one is bad."""
    options = Options(meta, PREFIX)
    kwargs: dict[str, Any] = {}
    own = LinkSettings(
        options.get_float("receipt_retention_days", LinkSettings.receipt_retention_days),
        options.get_float("stop_timeout", LinkSettings.stop_timeout),
    )
    known = {spec.name for spec in dataclasses.fields(LinkSettings)}
    for spec in dataclasses.fields(SmppConfig):
        known.add(spec.name)
        if spec.name not in options:
            continue
        kind = str(spec.type)
        default: Any = spec.default
        if kind == "int":
            kwargs[spec.name] = options.get_int(spec.name, int(default))
        elif kind == "float":
            kwargs[spec.name] = options.get_float(spec.name, float(default))
        elif kind == "bool":
            kwargs[spec.name] = options.get_bool(spec.name, bool(default))
        elif kind == "str":
            kwargs[spec.name] = options.get_str(spec.name, str(default))
        else:  # a Literal alias of the config module: one of its words
            choices = typing.get_args(getattr(smpp_config, kind))
            kwargs[spec.name] = options.get_choice(spec.name, str(default), choices)
    # Receipts and MO share commits when several are handled at once (see docs/transports.md).
    kwargs.setdefault("inbound_concurrency", DEFAULT_INBOUND_CONCURRENCY)
    unknown = sorted(set(options.values) - known)
    if unknown:
        raise OptionError("unknown settings: " + ", ".join(f"{PREFIX}.{k}" for k in unknown))
    try:
        return SmppConfig(**kwargs), own
    except ValueError as exc:
        raise OptionError(str(exc)) from None


def link_name(config: SmppConfig) -> str:
    return f"{config.system_id}@{config.host}:{config.port}"


@dataclass
class PoolLink:
    """One pool's bind."""

    pool: str
    config: SmppConfig
    settings: LinkSettings
    client: SmppClient
    store: DbCorrelationStore
    tags: dict[str, str] = field(default_factory=dict)  # destination address → tag
    unknown_destinations: int = 0


class SmppTransport(Transport):
    transport_type = "smpp"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.links: dict[str, PoolLink] = {}
        self.errors: dict[str, str] = {}  # pool → why it has no bind
        self.handoff = Handoff(self, before_write=self._flush_ids)
        # Taken off the queue, not yet answered by the SMSC: re-submitted if a bind is remade.
        self.unanswered: dict[str, UserMessage] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pruner: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        async with self._lock:
            for pool, meta in self.pools.items():
                await self._open(pool, meta)
        await self.handoff.requeue_unanswered()
        self._pruner = asyncio.create_task(self._prune_loop(), name=f"{self.name} pruner")

    async def stop(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
        async with self._lock:
            for pool in list(self.links):
                await self._close(pool)
        await self.handoff.close()

    def update_pools(self, pools: dict[str, dict[str, Any]]) -> None:
        super().update_pools(pools)
        task = asyncio.create_task(self._reconfigure(pools), name=f"{self.name} reconfigure")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reconfigure(self, pools: dict[str, dict[str, Any]]) -> None:
        async with self._lock:
            for pool in [p for p in (*self.links, *self.errors) if p not in pools]:
                for message_id in await self._close(pool):
                    self.unanswered.pop(message_id, None)
                    self.handoff.nack(message_id, f"pool {pool} no longer uses this transport")
            for pool, meta in pools.items():
                try:
                    config: tuple[SmppConfig, LinkSettings] | None = smpp_config_from(meta)
                except OptionError:
                    config = None
                link = self.links.get(pool)
                if link is not None and config == (link.config, link.settings):
                    continue
                if link is None and config is None and pool in self.errors:
                    continue  # still wrong, and already reported
                leftovers = await self._close(pool)
                await self._open(pool, meta)
                for message_id in leftovers:
                    msg = self.unanswered.get(message_id)
                    if msg is not None:
                        await self._submit(msg)

    async def _open(self, pool: str, meta: dict[str, Any]) -> None:
        try:
            config, own = smpp_config_from(meta)
        except OptionError as exc:
            self.errors[pool] = str(exc)
            log.error("%s: pool %s has bad SMPP settings: %s", self.name, pool, exc)
            return
        self.errors.pop(pool, None)
        store = DbCorrelationStore(self.engine.db, self.name, link_name(config))
        client = SmppClient(config, store, self._inbound_handler(pool), self._event_handler())
        self.links[pool] = PoolLink(pool, config, own, client, store)
        await client.start()
        log.info("%s: pool %s binding to %s", self.name, pool, link_name(config))

    async def _close(self, pool: str) -> list[str]:
        """Unbinds a pool; returns the ids of its messages the SMSC did not answer."""
        self.errors.pop(pool, None)
        link = self.links.get(pool)
        if link is None:
            return []
        # Still listed while it stops: what arrives meanwhile is handled as usual.
        leftovers = await link.client.stop(link.settings.stop_timeout)
        await link.store.close()
        del self.links[pool]
        return leftovers

    async def _prune_loop(self) -> None:
        while True:
            try:
                for link in list(self.links.values()):
                    await link.store.prune(timedelta(days=link.settings.receipt_retention_days))
            except Exception:
                log.exception("%s: housekeeping", self.name)
            await asyncio.sleep(PRUNE_INTERVAL)

    async def _flush_ids(self) -> None:
        for link in list(self.links.values()):
            await link.store.flush()

    # -- outbound --------------------------------------------------------------------

    async def send(self, msg: UserMessage) -> None:
        await self.send_many([msg])

    async def send_many(self, msgs: list[UserMessage]) -> None:
        for msg in await self.handoff.take(msgs):
            await self._submit(msg)

    async def _submit(self, msg: UserMessage) -> None:
        tag = msg.helper_metadata.get("tag", {}).get("tag") or ["", ""]
        pool = str(tag[0])
        link = self.links.get(pool)
        if link is None:
            why = self.errors.get(pool, "the pool has no SMPP settings")
            self.handoff.nack(msg.message_id, f"no SMPP bind for pool {pool}: {why}")
            return
        session_event: SessionEvent | None = None
        if link.config.ussd:
            session_event = "close" if msg.session_event == "close" else "resume"
        self.unanswered[msg.message_id] = msg
        try:
            await link.client.submit(
                msg.message_id,
                msg.from_addr or str(tag[1]),
                msg.to_addr or "",
                msg.content or "",
                session_event=session_event,
            )
        except (ValueError, RuntimeError) as exc:
            # Content the bind cannot carry (bad characters, too long), or a bind being closed.
            self.unanswered.pop(msg.message_id, None)
            self.handoff.nack(msg.message_id, str(exc) or exc.__class__.__name__)

    # -- the client's callbacks ------------------------------------------------------

    def _event_handler(self) -> EventHandler:
        async def on_event(kind: str, message_id: str, /, **details: Any) -> None:
            if kind == "ack":
                self.unanswered.pop(message_id, None)
                self.handoff.ack(message_id, str(details.get("smsc_id") or message_id))
            elif kind == "nack":
                self.unanswered.pop(message_id, None)
                self.handoff.nack(message_id, str(details.get("reason") or "rejected"))
            elif kind == "delivery_report":
                status = str(details.get("status") or "pending")
                # One report per message and status: each part of a long message has its own
                # receipt, and an SMSC may send a receipt again if our answer was lost.
                event = Event.delivery_report(
                    message_id,
                    delivery_status=status,
                    event_id=event_id_for(self.name, message_id, status),
                )
                await self.engine.accept_event(event)

        return on_event

    def _inbound_handler(self, pool: str) -> InboundHandler:
        async def on_inbound(
            source: str, destination: str, content: str, /, **details: Any
        ) -> None:
            link = self.links[pool]
            tag = await self._tag_for(link, destination)
            session_event = details.get("session_event")
            msg = self.inbound(
                pool,
                tag,
                source,
                content,
                transport_type="ussd" if session_event else "sms",
                session_event=session_event,
                transport_metadata={
                    "smpp": {
                        "data_coding": details.get("data_coding"),
                        "parts": details.get("parts"),
                    }
                },
            )
            await self.receive(msg)  # raising here makes the SMSC deliver it again

        return on_inbound

    async def _tag_for(self, link: PoolLink, destination: str) -> str:
        """The pool's tag an MO was sent to (with or without ``+``); looked up, then remembered."""
        tag = link.tags.get(destination)
        if tag is not None:
            return tag
        found = await find_tag(self.engine.db, link.pool, destination)
        if found is not None:
            if len(link.tags) < MAX_REMEMBERED_TAGS:
                link.tags[destination] = found
            return found
        # Kept, not dropped: the dispatcher finds no owner for it and treats it as unroutable.
        link.unknown_destinations += 1
        log.warning("%s: MO to %r, not a tag of pool %s", self.name, destination, link.pool)
        return destination

    # -- health ----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        pools: dict[str, Any] = {}
        for pool, link in self.links.items():
            state = dict(link.client.health())
            state["link"] = link_name(link.config)
            state["unknown_destinations"] = link.unknown_destinations
            pools[pool] = state
        for pool, why in self.errors.items():
            pools[pool] = {"connected": False, "error": why}
        return {
            **super().health(),
            "connected": bool(pools) and all(p.get("bound") for p in pools.values()),
            "throttled": any(p.get("throttled") for p in pools.values()),
            "queue_depth": sum(
                int(p.get("queued", 0)) + int(p.get("in_flight", 0)) for p in pools.values()
            ),
            "unanswered": len(self.unanswered),
            "pools": pools,
        }
