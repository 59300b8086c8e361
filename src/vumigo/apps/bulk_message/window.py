"""A group send's window and progress, read from ``bulk_recipients``.

Every message a group send stores has a recipient row whose ``status`` follows the message's
events: ``queued`` until the transport acks or nacks it, then ``acked`` or ``failed`` (a
failed delivery report fails an acked message too). The window is the send's ``queued`` rows:
a sender with a full window waits until acks and nacks free slots. A message whose events never
come stops counting after ``FLIGHT_LIFETIME`` seconds, so one lost ack cannot stall a send.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.base import AppContext
from vumigo.db.base import utcnow
from vumigo.db.models import BulkRecipient, BulkSend, ScheduledTask, StoredMessage
from vumigo.message import Event

FLIGHT_LIFETIME = 100.0

# event → (new status, the statuses it may replace)
_OPEN = ("queued",)
_SENT = ("queued", "acked")


def _transition(event: Event) -> tuple[str, tuple[str, ...]] | None:
    if event.event_type == "ack":
        return "acked", _OPEN
    if event.event_type == "nack":
        return "failed", _SENT
    if event.delivery_status == "failed":
        return "failed", _SENT
    # A delivered or pending report changes nothing the window needs (the ack freed the
    # slot), and skipping it halves the writes of a large send.
    return None


def record_event(ctx: AppContext, event: Event) -> None:
    """Moves the event's message along in its send (if a group send sent it), in the event's
    unit of work, and wakes this process's senders of the conversation once that commits."""
    change = _transition(event)
    if change is None:
        return
    status, replaces = change
    message_id = event.user_message_id

    async def write(session: AsyncSession) -> None:
        await session.execute(
            update(BulkRecipient)
            .where(BulkRecipient.message_id == message_id, BulkRecipient.status.in_(replaces))
            .values(status=status)
        )

    ctx.extra_writes.append(write)
    from vumigo.apps.scheduler import services_for

    services = services_for(ctx.engine)
    conversation_key = ctx.conversation.key
    ctx.after_commit.append(lambda: services.wake_senders(conversation_key))


async def in_flight(session: AsyncSession, send_id: str, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - timedelta(seconds=FLIGHT_LIFETIME)
    stmt = select(func.count()).where(
        BulkRecipient.send_id == send_id,
        BulkRecipient.status == "queued",
        BulkRecipient.queued_at > cutoff,
    )
    return int((await session.execute(stmt)).scalar_one())


async def progress(session: AsyncSession, send_id: str) -> dict[str, Any] | None:
    """Where a send is: how many were queued, handed to the channel, acked and failed."""
    send = await session.get(BulkSend, send_id)
    if send is None:
        return None
    by_status = dict(
        (
            await session.execute(
                select(BulkRecipient.status, func.count())
                .where(BulkRecipient.send_id == send_id)
                .group_by(BulkRecipient.status)
            )
        ).all()
    )
    sent = (
        await session.execute(
            select(func.count())
            .select_from(BulkRecipient)
            .join(StoredMessage, StoredMessage.message_id == BulkRecipient.message_id)
            .where(BulkRecipient.send_id == send_id, StoredMessage.state == "sent")
        )
    ).scalar_one()
    status = send.status
    if status == "sending":
        task = await session.get(ScheduledTask, send_id)
        if task is not None and task.status in ("cancelled", "failed"):
            status = task.status
    return {
        "send_id": send.id,
        "kind": send.kind,
        "status": status,
        "total": send.total,
        "queued": send.queued,
        "sent": int(sent),
        "acked": int(by_status.get("acked", 0)),
        "failed": int(by_status.get("failed", 0)),
        "in_flight": int(by_status.get("queued", 0)),
        "created_at": send.created_at,
        "finished_at": send.finished_at,
    }


async def sends_of(session: AsyncSession, conversation_key: str, limit: int = 20) -> list[str]:
    """The ids of a conversation's latest sends, newest first."""
    stmt = (
        select(BulkSend.id)
        .where(BulkSend.conversation_key == conversation_key)
        .order_by(BulkSend.created_at.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
