"""What the UI and the CLI show of a conversation's push deliveries, and the retry button.

URLs are shown without their ``user:password@`` part: the password is the account's secret
for its receiver, and a delivery list is something people share in screenshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.base import utcnow
from vumigo.db.models import PushDelivery
from vumigo.db.models.http_api import DELIVERY_STATUSES


def redact(url: str) -> str:
    """The URL without credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    kind: str
    item_id: str
    url: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


async def list_deliveries(
    session: AsyncSession, conversation_key: str, status: str | None = None, limit: int = 50
) -> list[DeliveryView]:
    """The newest deliveries first."""
    query = (
        select(PushDelivery)
        .where(PushDelivery.conversation_key == conversation_key)
        .order_by(PushDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(PushDelivery.status == status)
    rows = (await session.execute(query)).scalars()
    return [
        DeliveryView(
            row.id,
            row.kind,
            row.item_id,
            redact(row.url),
            row.status,
            row.attempts,
            row.next_attempt_at,
            row.last_status_code,
            row.last_error,
            row.created_at,
            row.updated_at,
        )
        for row in rows
    ]


async def status_counts(session: AsyncSession, conversation_key: str) -> dict[str, int]:
    rows = await session.execute(
        select(PushDelivery.status, func.count())
        .where(PushDelivery.conversation_key == conversation_key)
        .group_by(PushDelivery.status)
    )
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    counts.update({status: int(count) for status, count in rows})
    return counts


async def retry(
    session: AsyncSession, conversation_key: str, delivery_id: int | None = None
) -> int:
    """Makes failed and given-up deliveries pending again, due now; returns how many."""
    query = update(PushDelivery).where(
        PushDelivery.conversation_key == conversation_key,
        PushDelivery.status.in_(("failed", "given_up")),
    )
    if delivery_id is not None:
        query = query.where(PushDelivery.id == delivery_id)
    result = await session.execute(
        query.values(status="pending", attempts=0, next_attempt_at=utcnow(), claimed_by=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
