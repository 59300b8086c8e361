"""Aggregation per bucket, rollups with watermarks, retention and conversation samples, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from tests.metrics.helpers import T0, put_points, values
from tests.support.factories import make_account, make_conversation
from vumigo.db.engine import Database
from vumigo.db.models import MetricPoint, MetricRollup
from vumigo.metrics.config import MetricsSettings
from vumigo.metrics.names import Series, conversation_series
from vumigo.metrics.rollup import Rollup
from vumigo.store.batches import batch_key
from vumigo.store.counters import bump

# Two minutes of points, then one in the next hour.
MINUTE0 = [(T0 + 1, 1.0), (T0 + 10, 5.0), (T0 + 20, 3.0), (T0 + 59.5, 2.0)]
MINUTE1 = [(T0 + 60, 10.0), (T0 + 61, 20.0)]
LATER = [(T0 + 3600 + 5, 7.0)]
EXPECTED = {
    # aggregator: (minute 0, minute 1)
    "sum": (11.0, 30.0),
    "avg": (2.75, 15.0),
    "min": (1.0, 10.0),
    "max": (5.0, 20.0),
    "last": (2.0, 20.0),
}
HOURLY = {"sum": 41.0, "avg": 41.0 / 6, "min": 1.0, "max": 20.0, "last": 20.0}


async def seed(db: Database) -> tuple[str, dict[str, Series]]:
    account, _ = await make_account(db)
    series = {agg: Series(account, "default", "pings", agg) for agg in EXPECTED}
    for one in series.values():
        await put_points(db, one, MINUTE0 + MINUTE1 + LATER)
    return account, series


@pytest.mark.parametrize("rolled", [False, True], ids=["raw", "rolled"])
async def test_each_aggregator_per_bucket(db: Database, rolled: bool) -> None:
    _, series = await seed(db)
    if rolled:
        report = await Rollup(db).run_once(now=T0 + 3 * 3600)
        assert report.minute_rows == 3 * 5 and report.hour_rows == 2 * 5
    for agg, (first, second) in EXPECTED.items():
        per_minute = await values(db, series[agg], T0, T0 + 180, 60)
        assert per_minute == [(T0, first), (T0 + 60, second), (T0 + 120, None)]
        per_hour = await values(db, series[agg], T0, T0 + 7200, 3600)
        assert per_hour == [(T0, pytest.approx(HOURLY[agg])), (T0 + 3600, 7.0)]
        # 30 s buckets can only come from raw points, which are still there.
        halves = await values(db, series[agg], T0, T0 + 60, 30)
        assert [v is not None for _, v in halves] == [True, True]


async def test_rollup_leaves_the_grace_period_to_raw_points(db: Database) -> None:
    account, _ = await make_account(db)
    pings = Series(account, "default", "pings", "sum")
    await put_points(db, pings, [(T0 + 5, 1.0), (T0 + 65, 2.0), (T0 + 100, 4.0)])
    rollup = Rollup(db, MetricsSettings(grace_seconds=15))
    await rollup.run_once(now=T0 + 80)  # minute 1 is within the grace: not rolled
    async with db.sessions() as session:
        rows = (await session.execute(select(MetricRollup.bucket))).scalars().all()
    assert rows == [T0]
    assert await values(db, pings, T0, T0 + 120, 60) == [(T0, 1.0), (T0 + 60, 6.0)]
    await rollup.run_once(now=T0 + 200)
    assert await values(db, pings, T0, T0 + 120, 60) == [(T0, 1.0), (T0 + 60, 6.0)]


async def test_runs_are_idempotent_even_side_by_side(db: Database) -> None:
    _, series = await seed(db)
    now = T0 + 3 * 3600
    await asyncio.gather(Rollup(db).run_once(now=now), Rollup(db).run_once(now=now))
    again = await Rollup(db).run_once(now=now)
    assert (again.minute_rows, again.hour_rows) == (0, 0)
    async with db.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(MetricRollup))).scalar()
    assert count == 5 * (3 + 2)
    assert await values(db, series["sum"], T0, T0 + 7200, 3600) == [(T0, 41.0), (T0 + 3600, 7.0)]


async def test_retention_keeps_what_is_not_rolled_up(db: Database) -> None:
    _, series = await seed(db)
    settings = MetricsSettings(raw_retention_days=1, minute_retention_days=2)
    now = T0 + 3 * 86400
    # No rollup yet: retention must not touch raw points the minute rows do not hold.
    rollup = Rollup(db, settings)
    assert (await rollup.apply_retention(now))["raw"] == 0
    await rollup.run_once(now=now, retention=True)
    async with db.sessions() as session:
        raw = (await session.execute(select(func.count()).select_from(MetricPoint))).scalar()
        minutes = (
            await session.execute(select(func.count()).where(MetricRollup.resolution == 60))
        ).scalar()
    assert (raw, minutes) == (0, 0)
    # Hour rows answer for the past.
    assert await values(db, series["max"], T0, T0 + 86400, 86400) == [(T0, 20.0)]


async def test_conversation_metrics_are_sampled_and_carried(db: Database) -> None:
    account, _ = await make_account(db)
    conv = await make_conversation(db, account, "jsbox")
    async with db.transaction() as session:
        batch = await batch_key(session, "conversation", conv, account)
        await bump(session, batch, ["outbound"], 3)
        await bump(session, batch, ["inbound", "inbound_uniques"], 1)
    rollup = Rollup(db, MetricsSettings(conversation_seconds=60))
    assert (await rollup.run_once(now=T0 + 30)).samples == 4
    assert (await rollup.run_once(now=T0 + 95)).samples == 0  # nothing changed
    async with db.transaction() as session:
        await bump(session, batch, ["outbound"], 2)
    assert (await rollup.run_once(now=T0 + 3 * 60 + 10)).samples == 1
    sent = conversation_series(account, conv, "messages_sent")
    # The total is carried across minutes with no sample, up to "now" and not beyond.
    found = await values(db, sent, T0, T0 + 300, 60, now=T0 + 250)
    assert found == [(T0, 3.0), (T0 + 60, 3.0), (T0 + 120, 3.0), (T0 + 180, 5.0), (T0 + 240, 5.0)]
    # Any aggregator reads the one sample series.
    last = conversation_series(account, conv, "messages_sent", "last")
    assert await values(db, last, T0 + 3600, T0 + 7200, 3600, now=T0 + 7200) == [(T0 + 3600, 5.0)]
    received = conversation_series(account, conv, "inbound_unique_addresses")
    assert await values(db, received, T0, T0 + 60, 60, now=T0 + 60) == [(T0, 1.0)]


async def test_one_bucket_from_hours_minutes_and_raw_points(db: Database) -> None:
    account, _ = await make_account(db)
    points = [(T0 + 10, 4.0), (T0 + 3600 + 30, 1.0), (T0 + 3600 + 100, 7.0)]
    series = {agg: Series(account, "default", "mixed", agg) for agg in EXPECTED}
    for one in series.values():
        await put_points(db, one, points)
    # Hour 0 rolled into an hour row, minute 60 into a minute row, the last point still raw.
    await Rollup(db, MetricsSettings(grace_seconds=15)).run_once(now=T0 + 3600 + 75)
    day = {"sum": 12.0, "avg": 4.0, "min": 1.0, "max": 7.0, "last": 7.0}
    second_hour = {"sum": 8.0, "avg": 4.0, "min": 1.0, "max": 7.0, "last": 7.0}
    for agg in EXPECTED:
        assert await values(db, series[agg], T0, T0 + 86400, 86400) == [(T0, day[agg])]
        hours = await values(db, series[agg], T0, T0 + 7200, 3600)
        assert hours == [(T0, 4.0), (T0 + 3600, second_hour[agg])]
