"""The web UI's own state: sign-in sessions and password reset tokens.

Both hold only a SHA-256 digest of the secret the browser or the e-mail carries, so a copy of the
database cannot be used to take over a session or reset a password.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, JsonType, utcnow


class WebSession(Base):
    """A signed-in browser. ``flashes`` holds messages shown once on the next page."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    flashes: Mapped[list[list[str]]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PasswordReset(Base):
    """A single-use, expiring password reset token (its digest) for one user."""

    __tablename__ = "password_resets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
