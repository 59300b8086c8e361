"""The XMPP transport through the platform, against a Prosody server started by the tests.

A person (a slixmpp client logged in as alice) chats with the bot account that is the pool's
tag; the bot's conversation (static_reply) answers, and the conversation can also write first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import slixmpp

from tests.transports.platform_support import RunningPlatform, make_channel, wait_for
from tests.transports.prosody import Prosody, start_prosody, stop_prosody
from vumigo.config import Settings
from vumigo.db.engine import Database

BOT = "bot@localhost"
ALICE = "alice@localhost"
ACCOUNTS = {"bot": "botpw", "alice": "alicepw"}


@pytest.fixture(scope="module")
def prosody() -> Iterator[Prosody]:
    server = start_prosody(ACCOUNTS)
    yield server
    stop_prosody(server)


class Person(slixmpp.ClientXMPP):
    """Someone chatting with the bot from an ordinary client."""

    def __init__(self, jid: str, password: str) -> None:
        super().__init__(jid, password)
        self.enable_starttls = False
        self.enable_direct_tls = False
        self.enable_plaintext = True
        self.plugin["feature_mechanisms"].unencrypted_plain = True
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.ready = asyncio.Event()
        self.add_event_handler("session_start", self._start)
        self.add_event_handler("message", self._message)

    def _start(self, _event: Any) -> None:
        self.send_presence()
        self.ready.set()

    def _message(self, stanza: Any) -> None:
        if stanza["type"] in ("chat", "normal") and stanza["body"]:
            self.inbox.put_nowait(stanza)

    async def next_message(self, timeout: float = 10) -> Any:
        return await asyncio.wait_for(self.inbox.get(), timeout)


def xmpp_meta(prosody: Prosody, **settings: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "transport_type": "xmpp",
        "transport_name": "xmpp_test",
        "delivery_class": "xmpp",
        "xmpp.host": "127.0.0.1",
        "xmpp.port": prosody.port,
        "xmpp.passwords": {BOT: "botpw"},
        "xmpp.tls": "none",  # a server on this machine: no certificate to check
        "xmpp.plain_auth_without_tls": True,
    }
    meta.update({f"xmpp.{key}": value for key, value in settings.items()})
    return meta


Start = Callable[..., Any]


@pytest.fixture
async def start(sqlite_db: Database, settings: Settings, prosody: Prosody) -> AsyncIterator[Start]:
    cleanup: list[Any] = []

    async def run(online: bool = True, **pool_settings: Any) -> tuple[RunningPlatform, Person]:
        meta = xmpp_meta(prosody, **pool_settings)
        channel = await make_channel(
            sqlite_db, "xmpp", [BOT], meta, config={"reply_text": "Hello from the bot"}
        )
        platform = RunningPlatform(settings, channel)
        await platform.start()
        cleanup.append(platform.stop)
        transport = platform.transport("xmpp_test")
        if online:
            await wait_for(lambda: _true(transport.health()["connected"]), 10)
        alice = Person(ALICE, "alicepw")
        alice.connect("127.0.0.1", prosody.port)
        cleanup.append(lambda: alice.disconnect(wait=0.5))
        await asyncio.wait_for(alice.ready.wait(), 10)
        return platform, alice

    yield run
    for stop in reversed(cleanup):
        await stop()


async def _true(value: Any) -> bool:
    return bool(value)


async def test_chat_round_trip(start: Start) -> None:
    platform, alice = await start()
    alice.send_message(mto=BOT, mbody="hi bot", mtype="chat")
    reply = await alice.next_message()
    assert (str(reply["from"].bare), str(reply["body"])) == (BOT, "Hello from the bot")

    [(inbound, state)] = await platform.messages("inbound")
    assert (inbound.from_addr, inbound.to_addr, inbound.content) == (ALICE, BOT, "hi bot")
    assert (inbound.transport_type, inbound.from_addr_type) == ("xmpp", "jabber_id")
    assert state == "processed"
    [(outbound, state)] = await platform.messages("outbound")
    assert (outbound.to_addr, outbound.in_reply_to, state) == (ALICE, inbound.message_id, "sent")
    assert reply["id"] == outbound.message_id
    await platform.wait_events(outbound.message_id, "ack")


async def test_conversation_writes_first(start: Start) -> None:
    platform, alice = await start()
    message_id = await platform.send(ALICE, "news for you")
    stanza = await alice.next_message()
    assert (str(stanza["from"].bare), str(stanza["body"])) == (BOT, "news for you")
    await platform.wait_events(message_id, "ack")


async def test_bot_logs_in_again_after_losing_its_connection(start: Start) -> None:
    platform, alice = await start()
    bot = platform.transport("xmpp_test").bots[BOT]
    bot.abort()

    async def back() -> bool:
        return bot.logins == 2 and bot.online.is_set()

    await wait_for(back, 10)
    alice.send_message(mto=BOT, mbody="still there?", mtype="chat")
    reply = await alice.next_message()
    assert str(reply["body"]) == "Hello from the bot"


async def test_wrong_password_is_reported_and_messages_nacked(start: Start) -> None:
    platform, _ = await start(online=False, passwords={BOT: "wrong"}, send_wait=0.3)
    transport = platform.transport("xmpp_test")

    async def failed() -> bool:
        return transport.health()["bots"][BOT]["last_error"] is not None

    await wait_for(failed, 10)
    assert transport.health()["connected"] is False
    message_id = await platform.send(ALICE, "can't go")
    await platform.wait_events(message_id, "nack")
    [nack] = await platform.events(message_id)
    assert "offline" in str(nack.nack_reason)
