"""Accounts (the tenants), their users, API tokens and application permissions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, new_key, utcnow


class Account(Base):
    __tablename__ = "accounts"

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_key)
    name: Mapped[str] = mapped_column(String(255), default="")
    disable_optouts: Mapped[bool] = mapped_column(Boolean, default=False)
    can_manage_optouts: Mapped[bool] = mapped_column(Boolean, default=False)
    is_developer: Mapped[bool] = mapped_column(Boolean, default=False)
    msisdn: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirm_start_conversation: Mapped[bool] = mapped_column(Boolean, default=False)
    email_summary: Mapped[str] = mapped_column(String(16), default="never")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def flags(self) -> list[str]:
        names = ("disable_optouts", "can_manage_optouts", "is_developer")
        return [name for name in names if getattr(self, name)]


class User(Base):
    """A person who signs in; many users may share one account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    surname: Mapped[str] = mapped_column(String(255), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountToken(Base):
    """A bearer token for the account APIs. Only its SHA-256 is kept; the token is shown once."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_key: Mapped[str] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class AppPermission(Base):
    """A conversation or router type the account may create."""

    __tablename__ = "app_permissions"
    __table_args__ = (UniqueConstraint("account_key", "app_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    app_type: Mapped[str] = mapped_column(String(64))
