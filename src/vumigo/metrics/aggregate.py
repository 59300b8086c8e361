"""Series values per time bucket, from the cheapest rows that cover each part of the range.

A request for ``[start, end)`` in buckets of ``interval`` seconds is answered from three
sources, oldest part first: hour rollups (when bucket edges fall on hours), minute rollups
(on minutes), and raw points for whatever the rollup job has not reached yet. The database
sums rollup rows per requested bucket; what comes back is merged as ``Stats`` and the series'
aggregator turns a bucket's stats into its value. So 30 days in daily buckets is one query
over ~720 hour rows returning 31, not 2.6 million points, and the newest seconds still count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models.metrics import MetricPoint
from vumigo.db.models.metrics_rollup import HOUR, MINUTE, MetricRollup, MetricRollupState
from vumigo.metrics.names import Series

MINUTES_STATE = "minutes"  # raw points before this are in minute rows
HOURS_STATE = "hours"  # minute rows before this are in hour rows


@dataclass(slots=True)
class Stats:
    count: int
    total: float
    minimum: float
    maximum: float
    last: float

    @classmethod
    def of(cls, value: float) -> Stats:
        return cls(1, value, value, value, value)

    def merge(self, later: Stats) -> None:
        """Folds in the stats of a later stretch of time."""
        self.count += later.count
        self.total += later.total
        self.minimum = min(self.minimum, later.minimum)
        self.maximum = max(self.maximum, later.maximum)
        self.last = later.last

    def value(self, aggregator: str) -> float:
        if aggregator == "sum":
            return self.total
        if aggregator == "avg":
            return self.total / self.count
        if aggregator == "min":
            return self.minimum
        if aggregator == "max":
            return self.maximum
        return self.last


@dataclass(frozen=True, slots=True)
class Marks:
    """The rollup job's progress: rollup rows are complete before these (epoch seconds)."""

    minutes: int = 0
    hours: int = 0


async def read_marks(session: AsyncSession) -> Marks:
    query = select(MetricRollupState.name, MetricRollupState.watermark)
    rows = {name: watermark for name, watermark in await session.execute(query)}
    return Marks(minutes=int(rows.get(MINUTES_STATE, 0)), hours=int(rows.get(HOURS_STATE, 0)))


def epoch(when: datetime) -> float:
    return when.timestamp()


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def whole_seconds(session: AsyncSession, column: Any) -> ColumnElement[int]:
    """A timestamp column as whole epoch seconds, computed by the database: parsing millions
    of datetimes in Python is most of the cost of reading raw points."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), Integer)  # SQLite keeps UTC text


def stored_as(series: Series) -> Series:
    """The series whose rows hold ``series``' data. A gauge is sampled once, under the
    original's AVG, and its stats answer every aggregator."""
    return replace(series, aggregator="avg") if series.is_gauge else series


def _series_filter(
    table: type[MetricRollup] | type[MetricPoint], series: Series
) -> ColumnElement[bool]:
    series = stored_as(series)
    return and_(
        table.account_key == series.account_key,
        table.store == series.store,
        table.name == series.name,
        table.aggregator == series.aggregator,
    )


async def _rollup_rows(
    session: AsyncSession,
    series: Series,
    resolution: int,
    start: int,
    end: int,
    grid: tuple[int, int] | None = None,
) -> list[tuple[int, Stats]]:
    """Rollup rows of ``series`` in ``[start, end)``; with ``grid`` (first bucket, interval),
    already summed per bucket by the database, unless "last" is wanted (SQL has no portable
    "value of the latest row in the group"), so a month of minutes is 30 rows, not 43,200."""
    if end <= start:
        return []
    r = MetricRollup
    where = (
        _series_filter(r, series),
        r.resolution == resolution,
        r.bucket >= start,
        r.bucket < end,
    )
    if grid is not None and series.aggregator != "last" and not series.is_gauge:
        first, interval = grid
        # Literal integers, so the GROUP BY repeats the SELECT's expression exactly.
        index = (r.bucket - literal_column(str(int(first)))) // literal_column(str(int(interval)))
        grouped = select(
            index,
            func.sum(r.count),
            func.sum(r.total),
            func.min(r.minimum),
            func.max(r.maximum),
        ).where(*where)
        sums = (await session.execute(grouped.group_by(index))).all()
        return [
            (first + int(i) * interval, Stats(int(n), t, lo, hi, math.nan))
            for i, n, t, lo, hi in sums
        ]
    query = (
        select(r.bucket, r.count, r.total, r.minimum, r.maximum, r.last)
        .where(*where)
        .order_by(r.bucket)
    )
    rows = (await session.execute(query)).all()
    return [(int(b), Stats(int(n), t, lo, hi, last)) for b, n, t, lo, hi, last in rows]


async def _raw_points(
    session: AsyncSession, series: Series, start: float, end: float
) -> list[tuple[float, float]]:
    if end <= start:
        return []
    p = MetricPoint
    query = (
        select(whole_seconds(session, p.timestamp), p.value)
        .where(_series_filter(p, series))
        .where(p.timestamp >= at(start), p.timestamp < at(end))
        .order_by(p.timestamp, p.id)
    )
    return [(float(when), value) for when, value in (await session.execute(query))]


async def latest_time(session: AsyncSession, series: Series, until: float) -> float | None:
    """When the series last had data at or before ``until``: one indexed look per source,
    finest first (a rollup row never holds data newer than the raw points still kept)."""
    p, r = MetricPoint, MetricRollup
    if not series.is_gauge:
        query = (
            select(p.timestamp)
            .where(_series_filter(p, series), p.timestamp <= at(until))
            .order_by(p.timestamp.desc())
            .limit(1)
        )
        found = (await session.execute(query)).scalar_one_or_none()
        if found is not None:
            return epoch(found)
    for resolution in (MINUTE, HOUR):
        rows = (
            select(r.bucket)
            .where(_series_filter(r, series), r.resolution == resolution, r.bucket <= until)
            .order_by(r.bucket.desc())
            .limit(1)
        )
        bucket = (await session.execute(rows)).scalar_one_or_none()
        if bucket is not None:
            return float(bucket)
    return None


async def last_before(session: AsyncSession, series: Series, when: int) -> float | None:
    """The series' last value before ``when``: where a gauge stood when a range begins."""
    r = MetricRollup
    for resolution in (MINUTE, HOUR):
        query = (
            select(r.last)
            .where(_series_filter(r, series), r.resolution == resolution, r.bucket < when)
            .order_by(r.bucket.desc())
            .limit(1)
        )
        found = (await session.execute(query)).scalar_one_or_none()
        if found is not None:
            return float(found)
    return None


def bucket_starts(start: int, end: int, interval: int, align_to_from: bool = False) -> list[int]:
    """Bucket starts covering ``[start, end)``: aligned to multiples of the interval as
    Graphite's summarize did, or (``align_to_from``) to ``start`` rounded down to the minute."""
    first = start - start % MINUTE if align_to_from else start - start % interval
    count = max(0, math.ceil((end - first) / interval))
    return [first + i * interval for i in range(count)]


async def series_stats(
    session: AsyncSession,
    series: Series,
    start: int,
    end: int,
    interval: int,
    marks: Marks,
    align_to_from: bool = False,
) -> tuple[list[int], list[Stats | None]]:
    """Stats per bucket of ``series`` over ``[start, end)``."""
    starts = bucket_starts(start, end, interval, align_to_from)
    buckets: list[Stats | None] = [None] * len(starts)
    if not starts:
        return starts, buckets
    first = starts[0]

    def put(when: float, stats: Stats) -> None:
        index = int((when - first) // interval)
        if 0 <= index < len(buckets):
            held = buckets[index]
            if held is None:
                buckets[index] = stats  # each source makes fresh Stats: ours to merge into
            else:
                held.merge(stats)

    pos, grid = first, (first, interval)
    # A rollup row can be used wherever it lies inside one bucket: always, for a single
    # bucket that starts on a minute; else where bucket edges fall on the row's edges.
    single = len(starts) == 1 and first % MINUTE == 0
    if single or (interval % HOUR == 0 and first % HOUR == 0):
        # Hour rows wherever each lies inside one bucket and before ``end``; the minutes
        # before the first whole hour come from minute rows.
        lead_end = first + (-first) % HOUR
        hour_end = min(end - end % HOUR, marks.hours)
        if lead_end < hour_end:
            for bucket, stats in await _rollup_rows(session, series, MINUTE, pos, lead_end, grid):
                put(bucket, stats)
            for bucket, stats in await _rollup_rows(
                session, series, HOUR, lead_end, hour_end, grid
            ):
                put(bucket, stats)
            pos = hour_end
    if single or (interval % MINUTE == 0 and first % MINUTE == 0):
        # A gauge's samples are written straight into minute rows (it has no raw points),
        # each stamped with the minute it was taken in, so any row before ``end`` counts.
        minute_end = end if series.is_gauge else min(end - end % MINUTE, marks.minutes)
        for bucket, stats in await _rollup_rows(session, series, MINUTE, pos, minute_end, grid):
            put(bucket, stats)
        pos = max(pos, minute_end)
    if not series.is_gauge:
        for when, value in await _raw_points(session, series, pos, end):
            put(when, Stats.of(value))
    return starts, buckets


async def series_values(
    session: AsyncSession,
    series: Series,
    start: int,
    end: int,
    interval: int,
    marks: Marks,
    align_to_from: bool = False,
    now: float | None = None,
) -> list[tuple[int, float | None]]:
    """The series' value per bucket (None where it has no data)."""
    starts, buckets = await series_stats(
        session, series, start, end, interval, marks, align_to_from
    )
    values = [None if s is None else s.value(series.aggregator) for s in buckets]
    if series.is_gauge and starts:
        # Carry the running total across buckets with no sample, up to the present.
        limit = end if now is None else min(end, now)
        carried = await last_before(session, series, starts[0])
        for i, (when, stats) in enumerate(zip(starts, buckets, strict=True)):
            if stats is not None:
                carried = stats.last
            elif carried is not None and when <= limit:
                values[i] = carried
    return list(zip(starts, values, strict=True))


async def total(
    session: AsyncSession, series: Series, start: int, end: int, marks: Marks
) -> float | None:
    """One value for the whole of ``[start, end)`` (start rounded down to the minute)."""
    span = max(MINUTE, end - (start - start % MINUTE))
    values = await series_values(session, series, start, end, span, marks, align_to_from=True)
    return values[0][1] if values else None


async def has_data(session: AsyncSession, series: Series) -> bool:
    for table in (MetricRollup, MetricPoint):
        query = select(table.account_key).where(_series_filter(table, series)).limit(1)
        if (await session.execute(query)).first() is not None:
            return True
    return False


async def pick(session: AsyncSession, options: list[Series]) -> Series:
    """Of the series a dotted path can mean, the first that has data (else the first)."""
    if len(options) > 1:
        for series in options:
            if await has_data(session, series):
                return series
    return options[0]
