"""State that transports keep between requests and across restarts.

- ``SmscCorrelation``: the id a carrier (an SMSC, an HTTP aggregator) gave one of our messages,
  so its delivery receipts, which quote only that id, can name our message. Rows are written
  when the carrier accepts the message and pruned after a retention period; ``link`` tells apart
  carriers of one transport whose id ranges may overlap (two SMSCs both counting from 1).
- ``UssdSession``: one USSD dialogue over HTTP, keyed by the aggregator's session id. ``text``
  keeps the last input as the aggregator sent it, for aggregators that send the whole
  dialogue's input joined with ``*`` rather than the latest answer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, utcnow


class SmscCorrelation(Base):
    __tablename__ = "transport_correlations"
    __table_args__ = (Index("ix_transport_correlations_created", "created_at"),)

    transport: Mapped[str] = mapped_column(String(128), primary_key=True)
    link: Mapped[str] = mapped_column(String(255), primary_key=True)
    smsc_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UssdSession(Base):
    __tablename__ = "ussd_sessions"
    __table_args__ = (
        Index("ix_ussd_sessions_open", "state", "updated_at"),
        Index("ix_ussd_sessions_waiting", "transport", "waiting_for"),
    )

    transport: Mapped[str] = mapped_column(String(128), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    pool: Mapped[str] = mapped_column(String(128))
    tag: Mapped[str] = mapped_column(String(128))
    msisdn: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    text: Mapped[str] = mapped_column(Text, default="")
    turns: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The distributed mode's hand-over of a reply from the transports process to the web
    # process holding the request: the inbound message id a request waits on, and the reply.
    waiting_for: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reply_for: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    reply_close: Mapped[bool] = mapped_column(Boolean, default=False)
