"""The rollup job: conversation samples, minute and hour rollups, retention, export.

Each run, in order:

1. samples the conversation metrics from the batch counters, writing a minute row for each
   metric that changed (and one a day for those that did not, so a total is never lost to
   retention);
2. rolls raw points into minute rows, a whole minute at a time, up to ``now - grace``;
3. rolls minute rows into hour rows, a whole hour at a time, up to the minute watermark;
4. hands the new minute rows to the Graphite exporter, if there is one;
5. every few minutes, deletes what is past its retention (never what is not rolled up yet).

Every step keeps a watermark in ``metric_rollup_state`` and writes its rows and its new
watermark in one transaction, inserting with ON CONFLICT DO NOTHING: a run that died halfway,
or two processes running at once, can repeat work but never count a point twice. One process
normally does it all, under the ``metrics-rollup`` lease (see ``runner``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.engine import Database
from vumigo.db.models import Batch, BatchCounter
from vumigo.db.models.metrics import MetricPoint
from vumigo.db.models.metrics_rollup import HOUR, MINUTE, MetricRollup, MetricRollupState
from vumigo.db.upsert import insert_for
from vumigo.metrics.aggregate import (
    HOURS_STATE,
    MINUTES_STATE,
    Marks,
    Stats,
    at,
    epoch,
    whole_seconds,
)
from vumigo.metrics.config import DAY, MetricsSettings
from vumigo.metrics.names import CONVERSATION_METRICS, conversation_series

log = logging.getLogger(__name__)

RAW_CHUNK = 6 * HOUR  # time rolled per transaction: bounded memory and lock time
MINUTE_CHUNK = 2 * 86400
HEARTBEAT = DAY  # an unchanged conversation metric is sampled again after this long
RETENTION_EVERY = 600.0
INSERT_BATCH = 2000
_KEY_COLUMNS = ("account_key", "store", "name", "aggregator", "resolution", "bucket")

SeriesBucket = tuple[str, str, str, str, int]  # account, store, name, aggregator, bucket


@dataclass
class RunReport:
    samples: int = 0
    minute_rows: int = 0
    hour_rows: int = 0
    exported: int = 0
    deleted: dict[str, int] = field(default_factory=dict)


class Exporter:
    """What the job hands new minute rows to (``graphite.GraphiteExporter``)."""

    async def export(self, db: Database, marks: Marks) -> int:
        raise NotImplementedError


async def read_state(session: AsyncSession, name: str) -> int | None:
    found = await session.get(MetricRollupState, name)
    return None if found is None else int(found.watermark)


async def write_state(session: AsyncSession, name: str, watermark: int) -> None:
    stmt = insert_for(session, MetricRollupState).values(name=name, watermark=watermark)
    stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"watermark": watermark})
    await session.execute(stmt)


async def insert_rows(
    session: AsyncSession, rows: list[dict[str, Any]], *, replace: bool = False
) -> None:
    """Inserts rollup rows; existing keys are kept (or, with ``replace``, overwritten)."""
    for i in range(0, len(rows), INSERT_BATCH):
        stmt = insert_for(session, MetricRollup)
        if replace:
            fields = ("count", "total", "minimum", "maximum", "last")
            stmt = stmt.on_conflict_do_update(
                index_elements=list(_KEY_COLUMNS),
                set_={name: getattr(stmt.excluded, name) for name in fields},
            )
        else:
            stmt = stmt.on_conflict_do_nothing()
        await session.execute(stmt, rows[i : i + INSERT_BATCH])


def row(key: SeriesBucket, resolution: int, stats: Stats) -> dict[str, Any]:
    account, store, name, aggregator, bucket = key
    return {
        "account_key": account,
        "store": store,
        "name": name,
        "aggregator": aggregator,
        "resolution": resolution,
        "bucket": bucket,
        "count": stats.count,
        "total": stats.total,
        "minimum": stats.minimum,
        "maximum": stats.maximum,
        "last": stats.last,
    }


def fold(items: Iterable[tuple[SeriesBucket, Stats]]) -> dict[SeriesBucket, Stats]:
    """Merges stats per key; items must come oldest first (``last`` is the latest's)."""
    out: dict[SeriesBucket, Stats] = {}
    for key, stats in items:
        held = out.get(key)
        if held is None:
            out[key] = Stats(stats.count, stats.total, stats.minimum, stats.maximum, stats.last)
        else:
            held.merge(stats)
    return out


class Rollup:
    def __init__(
        self,
        db: Database,
        settings: MetricsSettings | None = None,
        exporter: Exporter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.settings = settings or MetricsSettings()
        self.exporter = exporter
        self.clock = clock
        self._sampled: dict[tuple[str, str, str], tuple[int, float]] = {}
        self._last_sample = float("-inf")
        self._last_retention = float("-inf")

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("metrics rollup run failed; trying again next time")
            await asyncio.sleep(self.settings.rollup_seconds)

    async def run_once(
        self, now: float | None = None, *, retention: bool | None = None
    ) -> RunReport:
        now = self.clock() if now is None else now
        report = RunReport()
        if now - self._last_sample >= self.settings.conversation_seconds:
            report.samples = await self.sample_conversations(now)
            self._last_sample = now
        report.minute_rows = await self.roll_minutes(now)
        report.hour_rows = await self.roll_hours()
        if self.exporter is not None:
            async with self.db.sessions() as session:
                marks = Marks(
                    minutes=await read_state(session, MINUTES_STATE) or 0,
                    hours=await read_state(session, HOURS_STATE) or 0,
                )
            report.exported = await self.exporter.export(self.db, marks)
        due = now - self._last_retention >= RETENTION_EVERY
        if retention or (retention is None and due):
            report.deleted = await self.apply_retention(now)
            self._last_retention = now
        return report

    # -- 1. conversation metrics ------------------------------------------------------------

    async def sample_conversations(self, now: float) -> int:
        counters = list(set(CONVERSATION_METRICS.values()))
        query = (
            select(Batch.account_key, Batch.owner_ref, BatchCounter.name, BatchCounter.value)
            .outerjoin(
                BatchCounter,
                and_(BatchCounter.batch_key == Batch.key, BatchCounter.name.in_(counters)),
            )
            .where(Batch.owner_kind == "conversation", Batch.account_key.is_not(None))
        )
        counts: dict[tuple[str, str], dict[str, int]] = {}
        async with self.db.sessions() as session:
            for account, conv, name, value in await session.execute(query):
                seen = counts.setdefault((str(account), conv), {})
                if name is not None:
                    seen[name] = int(value)
        bucket = int(now) - int(now) % MINUTE
        rows: list[dict[str, Any]] = []
        sampled: list[tuple[tuple[str, str, str], int]] = []
        for (account, conv), seen in counts.items():
            for metric, counter in CONVERSATION_METRICS.items():
                value = seen.get(counter, 0)
                before = self._sampled.get((account, conv, metric))
                if before is not None and before[0] == value and now - before[1] < HEARTBEAT:
                    continue
                series = conversation_series(account, conv, metric)
                where = (account, series.store, series.name, series.aggregator, bucket)
                rows.append(row(where, MINUTE, Stats.of(float(value))))
                sampled.append(((account, conv, metric), value))
        if rows:
            async with self.db.transaction() as session:
                await insert_rows(session, rows, replace=True)
        for metric_key, value in sampled:
            self._sampled[metric_key] = (value, now)
        return len(rows)

    # -- 2. raw points → minutes --------------------------------------------------------------

    async def roll_minutes(self, now: float) -> int:
        cutoff = int(now - self.settings.grace_seconds)
        cutoff -= cutoff % MINUTE
        written = 0
        async with self.db.sessions() as session:
            mark = await read_state(session, MINUTES_STATE)
        while mark is None or mark < cutoff:
            # Jump over stretches with no points (a new install, a quiet night).
            query = select(func.min(MetricPoint.timestamp))
            if mark is not None:
                query = query.where(MetricPoint.timestamp >= at(mark))
            async with self.db.sessions() as session:
                oldest = (await session.execute(query)).scalar_one_or_none()
            if oldest is None or epoch(oldest) >= cutoff:
                async with self.db.transaction() as session:
                    await write_state(session, MINUTES_STATE, cutoff)
                break
            start = int(epoch(oldest)) - int(epoch(oldest)) % MINUTE
            start = start if mark is None else max(mark, start)
            end = min(cutoff, start + RAW_CHUNK)
            written += await self._roll_raw(start, end)
            mark = end
        return written

    async def _roll_raw(self, start: int, end: int) -> int:
        p = MetricPoint
        async with self.db.sessions() as session:
            query = (
                select(p.account_key, p.store, p.name, p.aggregator)
                .add_columns(whole_seconds(session, p.timestamp), p.value)
                .where(p.timestamp >= at(start), p.timestamp < at(end))
                .order_by(p.timestamp, p.id)
            )
            points = (await session.execute(query)).all()
        minutes = fold(
            ((account, store, name, agg, int(when) - int(when) % MINUTE), Stats.of(value))
            for account, store, name, agg, when, value in points
        )
        rows = [row(key, MINUTE, stats) for key, stats in minutes.items()]
        async with self.db.transaction() as session:
            await insert_rows(session, rows)
            await write_state(session, MINUTES_STATE, end)
        return len(rows)

    # -- 3. minutes → hours -------------------------------------------------------------------

    async def roll_hours(self) -> int:
        r = MetricRollup
        async with self.db.sessions() as session:
            minutes_mark = await read_state(session, MINUTES_STATE) or 0
            mark = await read_state(session, HOURS_STATE)
        cutoff = minutes_mark - minutes_mark % HOUR
        written = 0
        while mark is None or mark < cutoff:
            async with self.db.sessions() as session:
                query = select(func.min(r.bucket)).where(r.resolution == MINUTE)
                if mark is not None:
                    query = query.where(r.bucket >= mark)
                oldest = (await session.execute(query)).scalar_one_or_none()
            if oldest is None or oldest >= cutoff:
                async with self.db.transaction() as session:
                    await write_state(session, HOURS_STATE, cutoff)
                break
            start = int(oldest) - int(oldest) % HOUR
            start = start if mark is None else max(mark, start)
            end = min(cutoff, start + MINUTE_CHUNK)
            written += await self._roll_minute_rows(start, end)
            mark = end
        return written

    async def _roll_minute_rows(self, start: int, end: int) -> int:
        r = MetricRollup
        query = (
            select(r.account_key, r.store, r.name, r.aggregator, r.bucket)
            .add_columns(r.count, r.total, r.minimum, r.maximum, r.last)
            .where(r.resolution == MINUTE, r.bucket >= start, r.bucket < end)
            .order_by(r.bucket)
        )
        async with self.db.sessions() as session:
            minutes = (await session.execute(query)).all()
        hours = fold(
            (
                (account, store, name, agg, int(bucket) - int(bucket) % HOUR),
                Stats(int(n), t, lo, hi, last),
            )
            for account, store, name, agg, bucket, n, t, lo, hi, last in minutes
        )
        rows = [row(key, HOUR, stats) for key, stats in hours.items()]
        async with self.db.transaction() as session:
            await insert_rows(session, rows)
            await write_state(session, HOURS_STATE, end)
        return len(rows)

    # -- 5. retention -------------------------------------------------------------------------

    async def apply_retention(self, now: float) -> dict[str, int]:
        s = self.settings
        async with self.db.sessions() as session:
            minutes_mark = await read_state(session, MINUTES_STATE) or 0
            hours_mark = await read_state(session, HOURS_STATE) or 0
        raw_cut = min(now - s.raw_retention_days * DAY, minutes_mark)
        minute_cut = int(min(now - s.minute_retention_days * DAY, hours_mark))
        hour_cut = int(now - s.hour_retention_days * DAY)
        r = MetricRollup
        deleted: dict[str, int] = {}
        async with self.db.transaction() as session:
            result: Any = await session.execute(
                delete(MetricPoint).where(MetricPoint.timestamp < at(raw_cut))
            )
            deleted["raw"] = int(result.rowcount or 0)
            result = await session.execute(
                delete(r).where(r.resolution == MINUTE, r.bucket < minute_cut)
            )
            deleted["minute"] = int(result.rowcount or 0)
            result = await session.execute(
                delete(r).where(r.resolution == HOUR, r.bucket < hour_cut)
            )
            deleted["hour"] = int(result.rowcount or 0)
        return deleted
