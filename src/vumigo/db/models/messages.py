"""The message store: batches, every message and event, and the batches' running counters.

A message row holds the full Vumi JSON (``payload``) plus the columns that lists, searches and
recovery need. ``state`` is the message's progress through the platform, which is what makes
the in-process bus safe: recovery re-queues whatever is stored but not finished.

- inbound: ``accepted`` (stored by its transport) → ``processed`` (handled, or dropped on purpose)
- outbound: ``queued`` (stored by its sender) → ``sent`` (handed to its transport) or ``failed``
- events: ``new`` (stored by the transport) → ``dispatched`` (attached and delivered)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, new_key, utcnow


class Batch(Base):
    """A group of messages: one per conversation or router, and one per acquired tag."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("owner_kind", "owner_ref", "account_key"),)

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_key)
    account_key: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), nullable=True, index=True
    )
    owner_kind: Mapped[str] = mapped_column(String(16))  # conversation | router | tag
    owner_ref: Mapped[str] = mapped_column(String(255))  # the key, or "pool:tag"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredMessage(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_direction_state", "direction", "state"),)

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))  # inbound | outbound
    state: Mapped[str] = mapped_column(String(16))
    account_key: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payload: Mapped[str] = mapped_column(Text)
    from_addr: Mapped[str] = mapped_column(String(255), default="")
    to_addr: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[str | None] = mapped_column(Text, nullable=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    session_event: Mapped[str | None] = mapped_column(String(16), nullable=True)
    transport_name: Mapped[str] = mapped_column(String(128), default="")
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)
    timestamp: Mapped[datetime] = mapped_column()


class MessageBatch(Base):
    """A message's membership of a batch. ``seq`` orders a batch's messages and pages them."""

    __tablename__ = "message_batches"
    __table_args__ = (
        UniqueConstraint("batch_key", "message_id"),
        Index("ix_message_batches_listing", "batch_key", "direction", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    batch_key: Mapped[str] = mapped_column(ForeignKey("batches.key", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))
    timestamp: Mapped[datetime] = mapped_column()


class StoredEvent(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_state", "state"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_message_id: Mapped[str] = mapped_column(String(64), index=True)
    event_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(48))
    state: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column()


class BatchCounter(Base):
    """A running count per batch (inbound, outbound, ack, delivery_report_delivered, ...)."""

    __tablename__ = "batch_counters"

    batch_key: Mapped[str] = mapped_column(
        ForeignKey("batches.key", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(48), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class BatchAddress(Base):
    """An address seen in a batch, per direction; its first sighting bumps the uniques count."""

    __tablename__ = "batch_addresses"

    batch_key: Mapped[str] = mapped_column(
        ForeignKey("batches.key", ondelete="CASCADE"), primary_key=True
    )
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)
    address: Mapped[str] = mapped_column(String(255), primary_key=True)
