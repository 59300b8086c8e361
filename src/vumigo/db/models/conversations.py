"""Conversations (running apps), routers and the routing table that joins them to channels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, JsonType, new_key, utcnow

STATUSES = ("stopped", "starting", "running", "stopping")


class Conversation(Base):
    __tablename__ = "conversations"

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_key)
    account_key: Mapped[str] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), index=True
    )
    conversation_type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra_endpoints: Mapped[list[str]] = mapped_column(JsonType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="stopped")
    archived: Mapped[bool] = mapped_column(default=False)
    archived_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Router(Base):
    __tablename__ = "routers"

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_key)
    account_key: Mapped[str] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), index=True
    )
    router_type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra_inbound_endpoints: Mapped[list[str]] = mapped_column(JsonType, default=list)
    extra_outbound_endpoints: Mapped[list[str]] = mapped_column(JsonType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="stopped")
    archived: Mapped[bool] = mapped_column(default=False)
    archived_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoutingEntry(Base):
    """One link of an account's routing table: (source, endpoint) → (target, endpoint)."""

    __tablename__ = "routing_entries"
    __table_args__ = (UniqueConstraint("account_key", "source_connector", "source_endpoint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_key: Mapped[str] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), index=True
    )
    source_connector: Mapped[str] = mapped_column(String(255))
    source_endpoint: Mapped[str] = mapped_column(String(128))
    target_connector: Mapped[str] = mapped_column(String(255))
    target_endpoint: Mapped[str] = mapped_column(String(128))
