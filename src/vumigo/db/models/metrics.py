"""Metric points that accounts fire (HTTP API ``metrics.json``, the sandbox, the metrics API).

One row per value fired, as the original's one-shot account metrics
``go.campaigns.<account>.stores.<store>.<name>`` were. The aggregator (sum, avg, max, min,
last) says how dashboards combine the points of one time bucket. Rows are read as ranges of one
series, so the index leads with (account, store, name) and ends with the time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, utcnow

AGGREGATORS = ("sum", "avg", "max", "min", "last")


class MetricPoint(Base):
    __tablename__ = "metric_points"
    __table_args__ = (
        Index("ix_metric_points_series", "account_key", "store", "name", "timestamp"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    account_key: Mapped[str] = mapped_column(ForeignKey("accounts.key", ondelete="CASCADE"))
    store: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    aggregator: Mapped[str] = mapped_column(String(8))
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    value: Mapped[float] = mapped_column(Float(precision=53))
