"""Streaming a batch's messages or events out as CSV or JSON lines.

Rows are read in chunks by the batch's ``seq`` (keyset paging, each chunk in its own short read)
and written as they come, so an export of millions of messages holds neither a long transaction
nor the whole file in memory. Columns follow the original's exporter.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from vumigo.db.engine import Database
from vumigo.db.models import MessageBatch, StoredEvent, StoredMessage
from vumigo.errors import InvalidInput
from vumigo.text import spreadsheet_safe

CHUNK = 1000
PRESETS: dict[str, int | None] = {"all": None, "1d": 1, "7d": 7, "30d": 30}
FORMATS = ("csv", "json")
DIRECTIONS = ("inbound", "outbound", "events")
MESSAGE_COLUMNS = (
    "timestamp",
    "message_id",
    "to_addr",
    "from_addr",
    "in_reply_to",
    "session_event",
    "content",
    "group",
)
EVENT_COLUMNS = ("timestamp", "event_id", "status", "user_message_id", "nack_reason")
VUMI_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _day(value: str, label: str) -> datetime:
    try:
        return datetime.strptime(value.strip(), "%d/%m/%Y").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput(f"{label} must be a date like 31/12/2026") from exc


def time_range(
    preset: str, date_from: str = "", date_to: str = "", now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """(start, end) of an export: explicit dd/mm/yyyy dates win over a preset."""
    if date_from or date_to:
        start = _day(date_from, "The start date") if date_from else None
        end = _day(date_to, "The end date") + timedelta(days=1) if date_to else None
        if start and end and end <= start:
            raise InvalidInput("The end date is before the start date")
        return start, end
    if preset not in PRESETS:
        raise InvalidInput(f"Unknown date range {preset!r}; use one of {', '.join(PRESETS)}")
    days = PRESETS[preset]
    return ((now or datetime.now(UTC)) - timedelta(days=days) if days else None), None


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime(VUMI_TIME)


async def _message_chunks(
    db: Database, batch: str, direction: str, start: datetime | None, end: datetime | None
) -> AsyncIterator[list[tuple[Any, ...]]]:
    after = 0
    while True:
        query = (
            select(
                MessageBatch.seq,
                StoredMessage.payload,
                StoredMessage.timestamp,
                StoredMessage.message_id,
                StoredMessage.to_addr,
                StoredMessage.from_addr,
                StoredMessage.in_reply_to,
                StoredMessage.session_event,
                StoredMessage.content,
            )
            .join(StoredMessage, StoredMessage.message_id == MessageBatch.message_id)
            .where(
                MessageBatch.batch_key == batch,
                MessageBatch.direction == direction,
                MessageBatch.seq > after,
            )
            .order_by(MessageBatch.seq)
            .limit(CHUNK)
        )
        if start is not None:
            query = query.where(MessageBatch.timestamp >= start)
        if end is not None:
            query = query.where(MessageBatch.timestamp < end)
        async with db.sessions() as session:
            rows = (await session.execute(query)).all()
        if not rows:
            return
        after = rows[-1][0]
        yield [tuple(row) for row in rows]


async def _event_chunks(
    db: Database, batch: str, start: datetime | None, end: datetime | None
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Events of the batch's outbound messages, a chunk of messages at a time."""
    after = 0
    while True:
        async with db.sessions() as session:
            ids = (
                await session.execute(
                    select(MessageBatch.seq, MessageBatch.message_id)
                    .where(
                        MessageBatch.batch_key == batch,
                        MessageBatch.direction == "outbound",
                        MessageBatch.seq > after,
                    )
                    .order_by(MessageBatch.seq)
                    .limit(CHUNK)
                )
            ).all()
            if not ids:
                return
            after = ids[-1][0]
            query = (
                select(StoredEvent.payload, StoredEvent.timestamp, StoredEvent.status)
                .where(StoredEvent.user_message_id.in_([mid for _, mid in ids]))
                .order_by(StoredEvent.timestamp, StoredEvent.event_id)
            )
            if start is not None:
                query = query.where(StoredEvent.timestamp >= start)
            if end is not None:
                query = query.where(StoredEvent.timestamp < end)
            rows = (await session.execute(query)).all()
        if rows:
            yield [tuple(row) for row in rows]


def _message_record(row: tuple[Any, ...]) -> list[Any]:
    _seq, payload, timestamp, *columns = row
    # Only ``group`` lives in the JSON alone; reading the JSON costs more than the rest of the
    # row, and the group is nearly always null, so it is parsed only when it is not.
    unset = '"group":null' in payload or '"group": null' in payload
    group = None if unset else json.loads(payload).get("group")
    return [_when(timestamp), *columns, group]


def _event_record(payload: str, timestamp: datetime, status: str) -> list[Any]:
    event = json.loads(payload)
    return [
        _when(timestamp),
        event.get("event_id"),
        status,
        event.get("user_message_id"),
        event.get("nack_reason"),
    ]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return spreadsheet_safe(value) if isinstance(value, str) else value


def _csv_text(rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([[_cell(cell) for cell in row] for row in rows])
    return out.getvalue()


async def stream(
    db: Database,
    batch: str | None,
    direction: str,
    fmt: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> AsyncIterator[str]:
    """The export's text, a chunk at a time (a CSV header first even when there is no row)."""
    columns = EVENT_COLUMNS if direction == "events" else MESSAGE_COLUMNS
    if fmt == "csv":
        yield _csv_text([columns])
    if batch is None:
        return
    if direction == "events":
        async for chunk in _event_chunks(db, batch, start, end):
            if fmt == "csv":
                yield _csv_text([_event_record(p, t, s) for p, t, s in chunk])
            else:
                yield "".join(payload + "\n" for payload, _, _ in chunk)
        return
    async for chunk in _message_chunks(db, batch, direction, start, end):
        if fmt == "csv":
            yield _csv_text([_message_record(row) for row in chunk])
        else:
            yield "".join(row[1] + "\n" for row in chunk)
