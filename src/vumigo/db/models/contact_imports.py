"""Contact imports started from the UI: the uploaded file, its column mapping, and progress.

The file is kept in the row (not on one machine's disk) from upload until the import ends, so
whichever web process serves the next step can read it; it is cleared when the import finishes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, JsonType, utcnow


class ContactImport(Base):
    """One upload and its import. ``status``: uploaded, running, done or failed."""

    __tablename__ = "contact_imports"
    __table_args__ = (Index("ix_contact_imports_account_created", "account_key", "created_at"),)

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    # Deferred: progress polls read this row often and never need the file.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    # The header, the first rows and the width, read at upload for the mapping step.
    preview: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the person chose: [{"field": ..., "normaliser": ...}, ...], one per column.
    columns: Mapped[list[dict[str, str]]] = mapped_column(JsonType, default=list)
    has_header: Mapped[bool | None] = mapped_column(nullable=True)
    rule: Mapped[str] = mapped_column(String(32), default="new")
    country: Mapped[str | None] = mapped_column(String(8), nullable=True)
    group_key: Mapped[str | None] = mapped_column(
        ForeignKey("contact_groups.key", ondelete="SET NULL"), nullable=True
    )
    rows_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    saved: Mapped[bool] = mapped_column(default=False)
    # The first row errors, as [[row number, reason], ...]; ``failed`` counts them all.
    errors: Mapped[list[list[Any]]] = mapped_column(JsonType, default=list)
    # Why the import as a whole stopped (a bad mapping found late, a restart), if it did.
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Written as the import goes (where the database allows it), so a stalled one can be told.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
