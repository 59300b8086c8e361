"""Searching a batch's messages a window at a time, so one search never reads the whole batch.

Matching is ``store.queries.list_messages``'s: the address exactly, or a substring of the
content. A substring can't use an index, so over a large batch a search for something rare
would read every message (about 10 s at 450,000 on SQLite). Instead each page of results looks
at most ``WINDOW`` messages, newest first from its cursor; if it has found fewer than a page by
then, it says how far back it looked and offers to go on from there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import MessageBatch, StoredMessage

# 10,000 rows keep a page near 150 ms on SQLite in a 1,000,000-message account (bench/ui.py).
WINDOW = 10_000


@dataclass(frozen=True, slots=True)
class Found:
    messages: list[dict[str, Any]]
    next_before: int | None  # the cursor for the next (older) page; None at the batch's start
    searched_to: int | None  # set when the window ran out before a page was filled


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search_messages(
    session: AsyncSession,
    batch_key: str,
    direction: str,
    search: str,
    before: int | None = None,
    limit: int = 20,
    window: int = WINDOW,
) -> Found:
    mine = (MessageBatch.batch_key == batch_key) & (MessageBatch.direction == direction)
    if before is not None:
        mine = mine & (MessageBatch.seq < before)
    # The oldest seq this page may look at: ``window`` rows back, along the listing index.
    floor = (
        await session.execute(
            select(MessageBatch.seq)
            .where(mine)
            .order_by(MessageBatch.seq.desc())
            .offset(window)
            .limit(1)
        )
    ).scalar_one_or_none()
    address = StoredMessage.from_addr if direction == "inbound" else StoredMessage.to_addr
    query = (
        select(MessageBatch.seq, StoredMessage.payload)
        .join(StoredMessage, StoredMessage.message_id == MessageBatch.message_id)
        .where(mine, (address == search) | StoredMessage.content.like(_like(search), escape="\\"))
        .order_by(MessageBatch.seq.desc())
        .limit(limit + 1)
    )
    if floor is not None:
        query = query.where(MessageBatch.seq > floor)
    rows = (await session.execute(query)).all()
    messages = [json.loads(payload) for _, payload in rows[:limit]]
    if len(rows) > limit:
        return Found(messages, rows[limit - 1][0], None)
    # The window is spent: go on from its far end, if the batch goes back further.
    return Found(messages, floor + 1 if floor is not None else None, floor)
