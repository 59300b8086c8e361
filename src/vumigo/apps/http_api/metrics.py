"""``PUT metrics.json``: ``[[name, value, aggregator], ...]`` stored as metric points.

Each point is one value of the account metric ``<store>.<name>`` (the conversation's
``metric_store``, default "default"), timed when it arrived, as the original's one-shot
account metrics were. Values go through ``float()`` as there, but must be finite: a NaN
could be stored but never drawn or summed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from vumigo.apps.http_api.errors import INVALID_MESSAGE, ApiError
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import MetricPoint
from vumigo.db.models.metrics import AGGREGATORS
from vumigo.text import storable

MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    value: float
    aggregator: str


def _value(raw: Any) -> float:
    if not isinstance(raw, int | float | str):  # float() of a list or dict is a TypeError
        raise ApiError(400, INVALID_MESSAGE)
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        raise ApiError(400, INVALID_MESSAGE) from None
    if not math.isfinite(value):
        raise ApiError(400, INVALID_MESSAGE)
    return value


def parse_metrics(data: Any) -> list[Point]:
    """The points of a request body; raises the original's 400s."""
    if not isinstance(data, list):
        raise ApiError(400, INVALID_MESSAGE)
    points: list[Point] = []
    for entry in data:
        if not isinstance(entry, list) or len(entry) != 3:
            raise ApiError(400, INVALID_MESSAGE)
        name, raw, aggregator = entry
        if not (isinstance(name, str) and 0 < len(name) <= MAX_NAME and storable(name)):
            raise ApiError(400, INVALID_MESSAGE)
        value = _value(raw)
        if not isinstance(aggregator, str):
            raise ApiError(400, INVALID_MESSAGE)
        if aggregator.lower() not in AGGREGATORS:
            shown = aggregator[:MAX_NAME] if storable(aggregator) else repr(aggregator[:MAX_NAME])
            raise ApiError(400, f"'{shown}' is not a valid aggregate.")
        points.append(Point(name, value, aggregator.lower()))
    return points


async def store_points(db: Database, account_key: str, store: str, points: list[Point]) -> None:
    if not points:
        return
    now = utcnow()
    async with db.transaction() as session:
        await session.execute(
            insert(MetricPoint),
            [
                {
                    "account_key": account_key,
                    "store": store,
                    "name": point.name,
                    "aggregator": point.aggregator,
                    "timestamp": now,
                    "value": point.value,
                }
                for point in points
            ],
        )
