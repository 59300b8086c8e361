"""A platform running in the test's own event loop, with a channel routed to a conversation.

Used by the transport tests that go through the whole platform: a message sent by the
conversation leaves through the transport under test, and what the peer sends comes back in
through it to the conversation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tests.support.factories import (
    hold_tag,
    make_account,
    make_conversation,
    make_pool,
    route_both_ways,
)
from vumigo.apps.base import AppContext
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import StoredEvent, StoredMessage
from vumigo.message import Event, UserMessage, from_json
from vumigo.runtime import Platform


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.02
) -> Any:
    """Polls ``check`` until it returns something truthy; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check.__qualname__} (last: {result!r})")
        await asyncio.sleep(interval)


@dataclass
class Channel:
    """An account holding one tag of a pool, routed both ways to a conversation."""

    db: Database
    account: str
    pool: str
    tag: str
    conv: str
    conversation_type: str


async def make_channel(
    db: Database,
    pool: str,
    tags: list[str],
    meta: dict[str, Any],
    conversation_type: str = "static_reply",
    config: dict[str, Any] | None = None,
) -> Channel:
    account, _ = await make_account(db)
    await make_pool(db, pool, tags, meta)
    await hold_tag(db, account, pool, tags[0])
    conv = await make_conversation(db, account, conversation_type, config or {})
    await route_both_ways(db, account, pool, tags[0], f"CONVERSATION:{conversation_type}:{conv}")
    return Channel(db, account, pool, tags[0], conv, conversation_type)


class RunningPlatform:
    def __init__(self, settings: Settings, channel: Channel) -> None:
        self.settings = settings
        self.channel = channel
        self.platform = Platform(settings)

    @property
    def engine(self) -> Any:
        return self.platform.engine

    async def start(self) -> None:
        await self.platform.start()

    async def stop(self) -> None:
        await self.platform.stop()

    def transport(self, name: str) -> Any:
        return self.engine.transports.transports[name]

    async def send(self, to_addr: str, content: str | None, **fields: Any) -> str:
        """Sends a message as the conversation would (the engine's outbound entry point)."""
        info = await self.engine.lookups.conversation(self.channel.conv)
        ctx = AppContext(self.engine, info)
        msg = ctx.send_to(to_addr, content, **fields)
        await self.engine.apps.send(info, [msg])
        return msg.message_id

    async def events(self, message_id: str | None = None) -> list[Event]:
        async with self.channel.db.sessions() as session:
            query = select(StoredEvent.payload).order_by(StoredEvent.timestamp)
            if message_id is not None:
                query = query.where(StoredEvent.user_message_id == message_id)
            rows = (await session.execute(query)).scalars().all()
        return [e for e in map(from_json, rows) if isinstance(e, Event)]

    async def event_types(self, message_id: str) -> list[str]:
        return [e.status for e in await self.events(message_id)]

    async def messages(self, direction: str) -> list[tuple[UserMessage, str]]:
        async with self.channel.db.sessions() as session:
            rows = (
                await session.execute(
                    select(StoredMessage.payload, StoredMessage.state)
                    .where(StoredMessage.direction == direction)
                    .order_by(StoredMessage.timestamp)
                )
            ).all()
        found = []
        for payload, state in rows:
            msg = from_json(payload)
            assert isinstance(msg, UserMessage)
            found.append((msg, state))
        return found

    async def wait_events(self, message_id: str, *statuses: str, timeout: float = 10.0) -> None:
        async def arrived() -> bool:
            have = await self.event_types(message_id)
            return all(status in have for status in statuses)

        await wait_for(arrived, timeout)
