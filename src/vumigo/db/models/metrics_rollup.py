"""Rolled-up metric series: per-minute and per-hour statistics, and the rollup job's watermarks.

A rollup row keeps everything every aggregator needs (count, sum, min, max, last) for one bucket
of one series, so a dashboard can ask any of sum/avg/min/max/last of any bucket size made of
whole rows, and coarser rows are made exactly from finer ones. Buckets are epoch seconds:
integer arithmetic, and the same on SQLite and PostgreSQL.

A series is what Graphite called ``<name>.<agg>``: (account, store, name, aggregator). Store ""
holds names directly under ``go.campaigns.<account>.`` (the conversation metrics live there as
``conversations.<key>.<metric>``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vumigo.db.base import Base, utcnow
from vumigo.db.models.metrics import MetricPoint

MINUTE = 60
HOUR = 3600
RESOLUTIONS = (MINUTE, HOUR)


class MetricRollup(Base):
    __tablename__ = "metric_rollups"
    # The key leads with the series, so one series' range is one index scan; the time index
    # serves the rollup job, the exporter and retention, which walk all series by time.
    __table_args__ = (Index("ix_metric_rollups_time", "resolution", "bucket"),)

    account_key: Mapped[str] = mapped_column(
        ForeignKey("accounts.key", ondelete="CASCADE"), primary_key=True
    )
    store: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    aggregator: Mapped[str] = mapped_column(String(8), primary_key=True)
    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float(precision=53))
    minimum: Mapped[float] = mapped_column(Float(precision=53))
    maximum: Mapped[float] = mapped_column(Float(precision=53))
    last: Mapped[float] = mapped_column(Float(precision=53))


class MetricRollupState(Base):
    """How far each step of the rollup job has got (epoch seconds, exclusive)."""

    __tablename__ = "metric_rollup_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# The rollup job reads raw points by time across every series; without this index each run
# would scan the whole table. Declared here (it serves this module) and made by 0011.
POINTS_BY_TIME = Index("ix_metric_points_timestamp", MetricPoint.__table__.c.timestamp)
