"""Durable state of the ready-made apps: scheduled tasks, group sends, and sessions.

- ``scheduled_tasks``: conversation actions to run now or later (a group send, a sequential
  send's run). A worker claims a task by moving its lease ahead (``locked_until``), so a task
  whose worker died comes due again by itself, and a restart resumes what was running.
- ``bulk_sends`` and ``bulk_recipients``: one row per send and one per contact it reached. A
  recipient row is written in the transaction that stores the contact's message, and its key is
  (send, contact), so a resumed send can never give anyone a second copy. Its ``status`` follows
  the message's events, which is how the send's window of in-flight messages is counted.
- ``app_sessions``: per-address state of a conversation or router (a dialogue's current
  question, a USSD menu's choice), with an optional expiry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, new_key, utcnow

TASK_STATUSES = ("pending", "running", "done", "failed", "cancelled")
SEND_STATUSES = ("sending", "finished", "failed", "cancelled")
RECIPIENT_STATUSES = ("queued", "acked", "failed")


class ScheduledTask(Base):
    __tablename__ = "scheduled_tasks"
    __table_args__ = (
        Index("ix_scheduled_tasks_due", "status", "due_at"),
        Index("ix_scheduled_tasks_owner", "conversation_key", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_key)
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    conversation_key: Mapped[str] = mapped_column(
        ForeignKey("conversations.key", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Makes scheduling idempotent where it must be (one run per sequential-send occurrence).
    unique_key: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class BulkSend(Base):
    __tablename__ = "bulk_sends"
    __table_args__ = (Index("ix_bulk_sends_conversation", "conversation_key", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the task's id
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    conversation_key: Mapped[str] = mapped_column(
        ForeignKey("conversations.key", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))  # bulk_send | sequential_run | send_dialogue
    delivery_class: Mapped[str] = mapped_column(String(32))
    dedupe: Mapped[bool] = mapped_column(default=False)
    window: Mapped[int] = mapped_column(Integer, default=100)
    status: Mapped[str] = mapped_column(String(16), default="sending")
    # Recipients expected when the send began (for a percentage; the walk itself decides).
    total: Mapped[int] = mapped_column(Integer, default=0)
    # Messages stored for sending; bumped in the transaction that stores them.
    queued: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class BulkRecipient(Base):
    __tablename__ = "bulk_recipients"
    __table_args__ = (
        # The window: a send's messages not yet acked or nacked.
        Index("ix_bulk_recipients_status", "send_id", "status"),
        # De-duplication on resume: addresses this send has reached.
        Index("ix_bulk_recipients_address", "send_id", "address"),
    )

    send_id: Mapped[str] = mapped_column(
        ForeignKey("bulk_sends.id", ondelete="CASCADE"), primary_key=True
    )
    contact_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppSession(Base):
    __tablename__ = "app_sessions"
    __table_args__ = (Index("ix_app_sessions_expiry", "expires_at"),)

    # A conversation's or a router's key: sessions belong to whichever keeps them.
    owner_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
