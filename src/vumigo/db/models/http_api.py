"""The HTTP API's durable queues: push deliveries (an outbox) and the streaming backlog.

A push delivery is one POST of a message or event to an account's push URL. It is written in
the transaction that marks the message handled, so a message that was handled has its delivery
stored, and the push worker works through the table: ``pending`` → ``delivered`` (2xx),
``given_up`` (a 4xx or a URL that can never work) or ``failed`` (every retry used).
``next_attempt_at`` is when a pending delivery is due; a worker that claims one moves it a
lease ahead, so a crashed worker's claims come due again by themselves.

An API slot row counts one web process's open requests of an account (the distributed mode's
concurrency limit): the account's open requests are the sum over processes seen lately.

A stream item waits for a streaming client of its conversation (``http_api`` without a push
URL). The client that takes it deletes it, which is what gives each item to one client only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY.
_SERIAL = BigInteger().with_variant(Integer(), "sqlite")

DELIVERY_STATUSES = ("pending", "delivered", "failed", "given_up")
KINDS = ("message", "event")


class PushDelivery(Base):
    __tablename__ = "http_api_push_deliveries"
    __table_args__ = (
        # One delivery per message or event and conversation: a repeated write is a no-op.
        UniqueConstraint("conversation_key", "kind", "item_id"),
        Index("ix_http_api_push_deliveries_due", "status", "next_attempt_at"),
        Index("ix_http_api_push_deliveries_account", "account_key", "status"),
        Index("ix_http_api_push_deliveries_listing", "conversation_key", "id"),
    )

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    conversation_key: Mapped[str] = mapped_column(
        ForeignKey("conversations.key", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(8))  # message | event
    item_id: Mapped[str] = mapped_column(String(64))  # the message_id or event_id pushed
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StreamItem(Base):
    __tablename__ = "http_api_stream_items"
    __table_args__ = (Index("ix_http_api_stream_items_queue", "conversation_key", "kind", "id"),)

    id: Mapped[int] = mapped_column(_SERIAL, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(
        ForeignKey("conversations.key", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(8))  # message | event
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiSlot(Base):
    __tablename__ = "http_api_slots"

    account_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:random
    count: Mapped[int] = mapped_column(Integer, default=0)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
