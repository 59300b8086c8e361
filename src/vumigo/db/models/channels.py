"""Tag pools (channels' number ranges), their tags and which accounts may hold how many."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, utcnow


class TagPool(Base):
    __tablename__ = "tagpools"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Flat dotted keys as the pool YAML gives them (e.g. "supports.generic_sends", "smpp.host").
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tag(Base):
    """One number or short code of a pool; ``owner`` is the account holding it, if any."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("pool", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pool: Mapped[str] = mapped_column(ForeignKey("tagpools.name", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(128))
    owner: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.key", ondelete="SET NULL"), nullable=True, index=True
    )
    acquired_at: Mapped[datetime | None] = mapped_column(nullable=True)


class TagPoolPermission(Base):
    """An account may hold up to ``max_keys`` tags of a pool; None or 0 mean unlimited."""

    __tablename__ = "tagpool_permissions"
    __table_args__ = (UniqueConstraint("account_key", "pool"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    pool: Mapped[str] = mapped_column(ForeignKey("tagpools.name", ondelete="CASCADE"))
    max_keys: Mapped[int | None] = mapped_column(Integer, nullable=True)
