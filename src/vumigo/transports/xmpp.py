"""XMPP (type ``xmpp``): each tag of the pool is a bot account (a bare JID) that chats.

Every tag logs in with its password (``xmpp.passwords.<jid>``, else ``xmpp.password``), shows
itself online and accepts subscription requests. A chat message to a bot is an inbound message
from the sender's bare JID; an outbound message leaves from the bot named by its ``from_addr``
(the tag). XMPP has no delivery receipts here: a message written to the bot's stream is acked.

Connections are encrypted with STARTTLS by default; ``xmpp.tls`` ``direct`` uses TLS from the
first byte, and ``none`` (for a server on the same machine) speaks plain text, which then also
needs ``xmpp.plain_auth_without_tls`` for password logins. A bot whose connection drops logs in
again with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import slixmpp
from sqlalchemy import select

from vumigo.db.models import Tag
from vumigo.message import Event, UserMessage
from vumigo.transports.base import Transport
from vumigo.transports.options import OptionError, Options

log = logging.getLogger(__name__)

PREFIX = "xmpp"
MAX_BACKOFF = 60.0


@dataclass(frozen=True)
class XmppSettings:
    host: str = ""  # empty: found from the JID's domain, as any XMPP client does
    port: int = 5222
    password: str = ""
    passwords: dict[str, str] = field(default_factory=dict)
    tls: str = "starttls"
    plain_auth_without_tls: bool = False
    resource: str = "vumigo"
    # How long an outbound message waits for its bot to be online before it is nacked.
    send_wait: float = 10.0

    @classmethod
    def of(cls, meta: dict[str, Any]) -> XmppSettings:
        o = Options(meta, PREFIX)
        d = cls()
        return cls(
            host=o.get_str("host"),
            port=o.get_int("port", d.port),
            password=o.get_str("password"),
            passwords=o.get_mapping("passwords"),
            tls=o.get_choice("tls", d.tls, ("starttls", "direct", "none")),
            plain_auth_without_tls=o.get_bool("plain_auth_without_tls", False),
            resource=o.get_str("resource", d.resource) or d.resource,
            send_wait=o.get_float("send_wait", d.send_wait),
        )

    def password_for(self, jid: str) -> str:
        return self.passwords.get(jid, self.password)


class Bot(slixmpp.ClientXMPP):
    """One tag's account: logs in, stays online, passes chat messages to the transport."""

    def __init__(self, transport: XmppTransport, pool: str, tag: str, settings: XmppSettings):
        super().__init__(f"{tag}/{settings.resource}", settings.password_for(tag))
        # (not "transport": slixmpp keeps its asyncio transport under that name)
        self.owner = transport
        self.pool = pool
        self.tag = tag
        self.settings = settings
        self.online = asyncio.Event()
        self.stopping = False
        self.last_error: str | None = None
        self.logins = 0
        self._backoff = 1.0
        self.enable_direct_tls = settings.tls == "direct"
        self.enable_starttls = settings.tls == "starttls"
        self.enable_plaintext = settings.tls == "none"
        if settings.plain_auth_without_tls:
            self.plugin["feature_mechanisms"].unencrypted_plain = True
        self.auto_authorize = True
        self.auto_subscribe = True
        self.add_event_handler("session_start", self._session_start)
        self.add_event_handler("disconnected", self._disconnected)
        self.add_event_handler("failed_auth", self._failed_auth)
        self.add_event_handler("message", self._message)

    def start(self) -> None:
        host = self.settings.host or None
        self.connect(host, self.settings.port if host else None)

    async def stop(self) -> None:
        self.stopping = True
        self.cancel_connection_attempt()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.disconnect(wait=1.0), 2.0)

    async def _session_start(self, _event: Any) -> None:
        self.send_presence()
        with contextlib.suppress(Exception):
            await self.get_roster(timeout=5)
        self.logins += 1
        self.last_error = None
        self._backoff = 1.0
        self.online.set()
        log.info("%s: %s online", self.owner.name, self.tag)

    async def _disconnected(self, reason: Any) -> None:
        self.online.clear()
        if self.stopping:
            return
        self.last_error = f"disconnected: {reason}"
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, MAX_BACKOFF)
        if not self.stopping:
            self.start()

    def _failed_auth(self, _event: Any) -> None:
        self.last_error = "login failed (wrong JID or password)"
        log.error("%s: %s could not log in", self.owner.name, self.tag)

    async def _message(self, stanza: Any) -> None:
        if stanza["type"] not in ("chat", "normal") or not stanza["body"]:
            return  # typing notifications, errors, group chat
        await self.owner.on_message(self, stanza)


class XmppTransport(Transport):
    transport_type = "xmpp"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bots: dict[str, Bot] = {}  # tag → its bot
        self.errors: dict[str, str] = {}  # pool → why it has no bots
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self._sync(self.pools)

    async def stop(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
        async with self._lock:
            await asyncio.gather(*(bot.stop() for bot in self.bots.values()))
            self.bots.clear()

    def update_pools(self, pools: dict[str, dict[str, Any]]) -> None:
        super().update_pools(pools)
        task = asyncio.create_task(self._sync(pools), name=f"{self.name} sync")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sync(self, pools: dict[str, dict[str, Any]]) -> None:
        """Starts a bot for every tag of the pools, restarting those whose settings changed."""
        async with self.engine.db.sessions() as session:
            rows = (
                await session.execute(select(Tag.pool, Tag.tag).where(Tag.pool.in_(pools)))
            ).all()
        wanted: dict[str, tuple[str, XmppSettings]] = {}
        for pool, meta in pools.items():
            try:
                settings = XmppSettings.of(meta)
            except OptionError as exc:
                self.errors[pool] = str(exc)
                continue
            self.errors.pop(pool, None)
            wanted.update({tag: (pool, settings) for p, tag in rows if p == pool})
        async with self._lock:
            for tag, bot in list(self.bots.items()):
                if wanted.get(tag) != (bot.pool, bot.settings):
                    await bot.stop()
                    del self.bots[tag]
            for tag, (pool, settings) in wanted.items():
                if tag not in self.bots:
                    bot = Bot(self, pool, tag, settings)
                    self.bots[tag] = bot
                    bot.start()

    async def on_message(self, bot: Bot, stanza: Any) -> None:
        sender = stanza["from"]
        msg = self.inbound(
            bot.pool,
            bot.tag,
            str(sender.bare),
            str(stanza["body"]),
            transport_type="xmpp",
            from_addr_type="jabber_id",
            to_addr_type="jabber_id",
            transport_metadata={"xmpp": {"id": stanza["id"], "resource": sender.resource}},
        )
        await self.receive(msg)

    async def send(self, msg: UserMessage) -> None:
        await self.send_many([msg])

    async def send_many(self, msgs: list[UserMessage]) -> None:
        bots = {msg.message_id: bot for msg in msgs if (bot := self._bot_for(msg)) is not None}
        # Each bot that is still logging in gets send_wait once, not once per message.
        await asyncio.gather(*(self._online(bot) for bot in set(bots.values())))
        events = []
        for msg in await self.claim_many(msgs):
            bot = bots.get(msg.message_id)
            if bot is None or not bot.online.is_set():
                events.append(Event.nack(msg.message_id, nack_reason=self._why_not(msg)))
                continue
            stanza = bot.make_message(mto=msg.to_addr or "", mbody=msg.content or "", mtype="chat")
            stanza["id"] = msg.message_id
            stanza.send()
            events.append(Event.ack(msg.message_id, msg.message_id))
        await self.engine.accept_events(events)

    @staticmethod
    async def _online(bot: Bot) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(bot.online.wait(), bot.settings.send_wait)

    def _bot_for(self, msg: UserMessage) -> Bot | None:
        tag = msg.helper_metadata.get("tag", {}).get("tag") or ["", ""]
        return self.bots.get(str(tag[1])) or self.bots.get(msg.from_addr or "")

    def _why_not(self, msg: UserMessage) -> str:
        bot = self._bot_for(msg)
        if bot is None:
            pool = (msg.helper_metadata.get("tag", {}).get("tag") or [""])[0]
            return f"no XMPP account for this tag ({self.errors.get(pool, 'unknown tag')})"
        return f"XMPP account {bot.tag} is offline ({bot.last_error or 'connecting'})"

    def health(self) -> dict[str, Any]:
        bots = {
            tag: {"online": bot.online.is_set(), "logins": bot.logins, "last_error": bot.last_error}
            for tag, bot in self.bots.items()
        }
        return {
            **super().health(),
            "connected": bool(bots) and all(b["online"] for b in bots.values()),
            "throttled": False,
            "queue_depth": 0,
            "bots": bots,
            "errors": dict(self.errors),
        }
