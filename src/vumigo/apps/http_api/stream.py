"""Streaming: a conversation's messages and events as endless newline-delimited JSON.

What a streaming conversation (``http_api`` without a push URL) receives is written to the
stream table in the handler's transaction, and the table is trimmed to the newest
``stream_backlog`` items per stream, which is the backlog a client gets first when none was
connected. A connected client takes items by deleting them: of several clients of one
conversation, whichever deletes an item is the only one to send it, so the clients share the
load, in this process or in any other.

The hub wakes one waiting client of this process, chosen at random, when an item is written
here; clients also look every ``poll_interval`` for items written by other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import StreamItem
from vumigo.db.upsert import insert_for

TAKE = 10  # items a client takes at once: small, so that clients share a backlog
Item = tuple[int, str]  # (id, JSON)
StreamKey = tuple[str, str]  # (conversation key, kind)


async def enqueue(
    session: AsyncSession, conversation_key: str, kind: str, body: str, backlog: int
) -> None:
    """Adds an item to a stream and drops what falls out of the backlog."""
    await session.execute(
        insert(StreamItem).values(
            conversation_key=conversation_key, kind=kind, body=body, created_at=utcnow()
        )
    )
    mine = (StreamItem.conversation_key == conversation_key, StreamItem.kind == kind)
    oldest_kept = (
        select(StreamItem.id)
        .where(*mine)
        .order_by(StreamItem.id.desc())
        .offset(backlog - 1)
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(delete(StreamItem).where(*mine, StreamItem.id < oldest_kept))


async def take(db: Database, conversation_key: str, kind: str, limit: int = TAKE) -> list[Item]:
    """Removes and returns the oldest items of a stream; each item is returned to one caller."""
    async with db.sessions() as session:  # a read first keeps idle clients off the write lock
        ids = list(
            (
                await session.execute(
                    select(StreamItem.id)
                    .where(StreamItem.conversation_key == conversation_key, StreamItem.kind == kind)
                    .order_by(StreamItem.id)
                    .limit(limit)
                )
            ).scalars()
        )
    if not ids:
        return []
    async with db.transaction() as session:
        rows = await session.execute(
            delete(StreamItem)
            .where(StreamItem.id.in_(ids))
            .returning(StreamItem.id, StreamItem.body)
        )
        return sorted((row[0], row[1]) for row in rows)


async def restore(db: Database, conversation_key: str, kind: str, items: list[Item]) -> None:
    """Puts back items a client took but could not send, in their old places."""
    if not items:
        return
    async with db.transaction() as session:
        for item_id, body in items:
            stmt = insert_for(session, StreamItem).values(
                id=item_id,
                conversation_key=conversation_key,
                kind=kind,
                body=body,
                created_at=utcnow(),
            )
            await session.execute(stmt.on_conflict_do_nothing())


class Subscription:
    """One connected client's place at its stream."""

    def __init__(self, hub: StreamHub, key: StreamKey) -> None:
        self.hub = hub
        self.key = key
        self.event = asyncio.Event()
        self.waiting = False

    async def next_batch(self) -> list[Item]:
        """The next items for this client, waiting as long as it takes."""
        while True:
            self.event.clear()
            items = await take(self.hub.db, *self.key)
            if items:
                return items
            self.waiting = True
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.hub.poll_interval):
                        await self.event.wait()
            finally:
                self.waiting = False


class StreamHub:
    def __init__(self, db: Database, poll_interval: float) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self.subscriptions: defaultdict[StreamKey, set[Subscription]] = defaultdict(set)

    def notify(self, conversation_key: str, kind: str) -> None:
        subs = self.subscriptions.get((conversation_key, kind))
        if not subs:
            return  # the item waits in the backlog
        idle = [sub for sub in subs if sub.waiting]
        random.choice(idle or list(subs)).event.set()

    def clients(self, conversation_key: str | None = None) -> int:
        return sum(
            len(subs)
            for (conv, _kind), subs in self.subscriptions.items()
            if conversation_key is None or conv == conversation_key
        )

    @contextlib.asynccontextmanager
    async def subscribe(self, conversation_key: str, kind: str) -> AsyncIterator[Subscription]:
        key = (conversation_key, kind)
        sub = Subscription(self, key)
        self.subscriptions[key].add(sub)
        try:
            yield sub
        finally:
            self.subscriptions[key].discard(sub)
            if not self.subscriptions[key]:
                del self.subscriptions[key]


class StreamResponse(Response):
    """An endless chunked response, one JSON item per line, until the client goes away.

    Starlette's StreamingResponse only notices a departed client when a write fails, and an
    idle stream never writes; this response listens for the disconnect, so a client that
    leaves frees its slot (and stops taking items) at once.
    """

    media_type = "application/json; charset=utf-8"

    def __init__(
        self,
        hub: StreamHub,
        conversation_key: str,
        kind: str,
        on_close: Callable[[], Awaitable[None]],
    ) -> None:
        # Not Response.__init__: that would add "Content-Length: 0" to an endless body.
        self.status_code = 200
        self.background = None
        self.init_headers({"X-Accel-Buffering": "no", "Cache-Control": "no-cache"})
        self.hub = hub
        self.conversation_key = conversation_key
        self.kind = kind
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            # An empty chunk puts the headers on the wire now, as the original did.
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch)
                await self._pump(send)
        except OSError:
            pass  # the client went away mid-write
        finally:
            with anyio.CancelScope(shield=True):
                await self.on_close()

    async def _pump(self, send: Send) -> None:
        async with self.hub.subscribe(self.conversation_key, self.kind) as sub:
            while True:
                pending = await sub.next_batch()
                try:
                    while pending:
                        line = pending[0][1].encode("utf-8") + b"\n"
                        await send({"type": "http.response.body", "body": line, "more_body": True})
                        pending.pop(0)
                finally:
                    if pending:  # taken but not sent: back for the next client
                        with anyio.CancelScope(shield=True):
                            await restore(self.hub.db, self.conversation_key, self.kind, pending)
