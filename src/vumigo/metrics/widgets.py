"""The data each widget of a report shows, computed for one conversation at one moment.

- LValue: the latest value, the value ``time_range`` earlier, and the change between them
  (for a conversation's running totals: what happened in that time).
- Graph: one line per metric over ``time_range`` in ``bucket_size`` buckets.
- Histogram: one metric's buckets as bars.
- Pie: each metric's aggregate over the whole ``time_range``.

Times are epoch milliseconds (as the metrics API's ``x``) with UTC labels beside them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.engine import Database
from vumigo.metrics.aggregate import Marks, latest_time, read_marks, series_values, total
from vumigo.metrics.names import Series
from vumigo.metrics.reports import Report, Widget

DAY = 86400
# LValue shows the bucket of the latest data, and the bucket of the latest data a time range
# earlier; buckets of at least this size, about 1/300th of the range ("1d" → 5 minutes).
LVALUE_STEPS = (60, 300, 900, 3600, 86400)
LVALUE_BUCKETS = 300


def label(when: int, bucket: int, time_range: int) -> str:
    moment = datetime.fromtimestamp(when, UTC)
    if bucket >= DAY:
        return moment.strftime("%d %b")
    if time_range > DAY:
        return moment.strftime("%d %b %H:%M")
    return moment.strftime("%H:%M")


def lvalue_step(widget: Widget) -> int:
    for step in LVALUE_STEPS:
        if widget.time_range / step <= LVALUE_BUCKETS:
            return step
    return LVALUE_STEPS[-1]


async def value_at(
    session: AsyncSession, series: Series, until: float, step: int, marks: Marks, now: int
) -> tuple[int, float | None] | None:
    """The value of the ``step`` bucket holding the series' last data at or before ``until``
    (two indexed look-ups and one small range, however long the history)."""
    when = await latest_time(session, series, until)
    if when is None:
        return None
    start = int(when) - int(when) % step
    values = await series_values(session, series, start, start + step, step, marks, now=now)
    return start, values[0][1]


async def _lvalue(
    session: AsyncSession, widget: Widget, account: str, conv: str, marks: Marks, now: int
) -> dict[str, Any]:
    series = widget.metrics[0].target.series(account, conv)
    step = lvalue_step(widget)
    # ``now`` is whole seconds: what was fired during this second counts as now.
    current = await value_at(session, series, now + 0.999999, step, marks, now)
    previous = await value_at(session, series, now - widget.time_range, step, marks, now)
    latest = None if current is None else current[1]
    earlier = None if previous is None else previous[1]
    change = percent = None
    if latest is not None and earlier is not None:
        change = latest - earlier
        percent = None if earlier == 0 else 100.0 * change / abs(earlier)
    return {
        "current": latest,
        "current_at": None if current is None else current[0] * 1000,
        "previous": earlier,
        "change": change,
        "percent": percent,
    }


async def _buckets(
    session: AsyncSession, widget: Widget, account: str, conv: str, marks: Marks, now: int
) -> dict[str, Any]:
    start, end = now - widget.time_range, now + 1
    datasets = []
    starts: list[int] = []
    for metric in widget.metrics:
        series = metric.target.series(account, conv)
        points = await series_values(
            session, series, start, end, widget.bucket_size, marks, now=now
        )
        starts = [when for when, _ in points]
        values = [0.0 if v is None and widget.zeroize else v for _, v in points]
        datasets.append({"name": metric.name, "target": series.full_name, "values": values})
    return {
        "x": [when * 1000 for when in starts],
        "labels": [label(when, widget.bucket_size, widget.time_range) for when in starts],
        "datasets": datasets,
    }


async def _pie(
    session: AsyncSession, widget: Widget, account: str, conv: str, marks: Marks, now: int
) -> dict[str, Any]:
    slices = []
    for metric in widget.metrics:
        series = metric.target.series(account, conv)
        value = await total(session, series, now - widget.time_range, now + 1, marks)
        slices.append({"name": metric.name, "target": series.full_name, "value": value})
    return {"slices": slices}


async def widget_data(
    session: AsyncSession, widget: Widget, account: str, conv: str, marks: Marks, now: int
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": widget.kind,
        "name": widget.name,
        "width": widget.width,
        "time_range": widget.time_range,
        "bucket_size": widget.bucket_size,
    }
    if widget.kind == "lvalue":
        data.update(await _lvalue(session, widget, account, conv, marks, now))
    elif widget.kind == "pie":
        data.update(await _pie(session, widget, account, conv, marks, now))
    else:
        data.update(await _buckets(session, widget, account, conv, marks, now))
    return data


async def report_data(
    db: Database,
    report: Report,
    account_key: str,
    conversation_key: str,
    now: float | None = None,
) -> list[list[dict[str, Any]]]:
    """Every widget's data, row by row, as of ``now``."""
    moment = int(time.time() if now is None else now)
    async with db.sessions() as session:
        marks = await read_marks(session)
        return [
            [
                await widget_data(session, w, account_key, conversation_key, marks, moment)
                for w in row
            ]
            for row in report.rows
        ]
