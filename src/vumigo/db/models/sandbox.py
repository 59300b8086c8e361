"""What the JavaScript sandbox keeps for apps: their key-value store and their logs.

``sandbox_kv`` is the ``kv`` resource's store, one namespace per account (Vumi Go's sandbox id
was the account key, so an account's conversations share keys). Values are kept as the JSON
text the app's value encodes to; a key with ``expires_at`` in the past is gone, whether or not
it has been purged yet. The (account, expires_at) index serves both the purge of expired keys
and the live-key count of the quota.

``sandbox_logs`` holds each conversation's newest log lines (the log store prunes the rest), as
Vumi Go showed them on the conversation's log page. Rows are read newest first by id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, utcnow

#: Longest key an app may use. Keys are part of the primary key, and a PostgreSQL b-tree entry
#: must stay under ~2.7 kB: 500 characters of UTF-8 is at most 2000 bytes.
MAX_KV_KEY_LENGTH = 500


class SandboxKeyValue(Base):
    __tablename__ = "sandbox_kv"
    __table_args__ = (Index("ix_sandbox_kv_expiry", "account_key", "expires_at"),)

    account_key: Mapped[str] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(MAX_KV_KEY_LENGTH), primary_key=True)
    # JSON text, as the app's value encodes (kept as text: incr reads it back as a number).
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SandboxLogLine(Base):
    __tablename__ = "sandbox_logs"
    __table_args__ = (
        Index("ix_sandbox_logs_conversation", "account_key", "conversation_key", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    # No foreign key: a run's lines must be kept even when the conversation is being removed.
    conversation_key: Mapped[str] = mapped_column(String(32))
    logged_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "[<ISO time>, <LEVEL>] <message>", as the original stored and showed it.
    line: Mapped[str] = mapped_column(Text)
