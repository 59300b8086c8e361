"""Opt-outs: addresses an account must not send new messages to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, utcnow


class OptOut(Base):
    """One opted-out address of an account, keyed as the original: (address_type, address)."""

    __tablename__ = "optouts"
    __table_args__ = (UniqueConstraint("account_key", "address_type", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    address_type: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(255))
    # The message that triggered it (None when set through the API or the UI).
    message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
