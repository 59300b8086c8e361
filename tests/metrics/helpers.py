"""Helpers for the metrics tests: points written at chosen times, and series read back."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert

from vumigo.db.engine import Database
from vumigo.db.models import MetricPoint
from vumigo.metrics.aggregate import Marks, at, read_marks, series_values
from vumigo.metrics.names import Series

# A UTC midnight, so hour and day buckets line up with the test's arithmetic.
T0 = 1_700_006_400


async def put_points(db: Database, series: Series, points: Iterable[tuple[float, float]]) -> None:
    """Writes (epoch seconds, value) points of one series."""
    rows = [
        {
            "account_key": series.account_key,
            "store": series.store,
            "name": series.name,
            "aggregator": series.aggregator,
            "timestamp": at(when),
            "value": value,
        }
        for when, value in points
    ]
    async with db.transaction() as session:
        await session.execute(insert(MetricPoint), rows)


async def values(
    db: Database,
    series: Series,
    start: int,
    end: int,
    interval: int,
    *,
    marks: Marks | None = None,
    now: float | None = None,
) -> list[tuple[int, float | None]]:
    async with db.sessions() as session:
        found = marks if marks is not None else await read_marks(session)
        return await series_values(session, series, start, end, interval, found, now=now)


def _ping_target(aggregator: str = "max") -> dict[str, str]:
    return {
        "metric_type": "account",
        "store": "default",
        "name": "total_pings",
        "aggregator": aggregator,
    }


# The docs' example reports.json (go-events-firing-via-http: an LValue and a Graph), with the
# docs' Histogram and Pie examples in a second row, so one report has all four widget types.
SEED_REPORT: dict[str, object] = {
    "layout": [
        {
            "type": "diamondash.widgets.lvalue.LValueWidget",
            "time_range": "1d",
            "name": "Last Ping Count",
            "target": _ping_target(),
        },
        "new_row",
        {
            "type": "diamondash.widgets.graph.GraphWidget",
            "name": "Ping Counts",
            "width": 6,
            "time_range": "1d",
            "bucket_size": "1h",
            "metrics": [{"name": "Pings", "target": _ping_target()}],
        },
        "new_row",
        {
            "type": "diamondash.widgets.histogram.HistogramWidget",
            "name": "Total Pings (Histogram)",
            "target": _ping_target(),
            "time_range": "1h",
            "bucket_size": "5m",
            "width": 6,
        },
        {
            "type": "diamondash.widgets.pie.PieWidget",
            "name": "Total Pings (Pie)",
            "time_range": "1d",
            "width": 6,
            "metrics": [{"name": "Total Pings", "target": _ping_target()}],
        },
    ]
}
