"""Writing metric points for the metrics API's POST.

They end as ``MetricPoint`` rows stamped now, as the HTTP API's ``metrics.json`` and the
sandbox's ``metrics.fire`` write them; the rollup job and the queries treat every point alike
whoever fired it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert

from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models.metrics import MetricPoint
from vumigo.metrics.names import Series


async def record(db: Database, points: Sequence[tuple[Series, float]]) -> None:
    """Stores one value for each series, all stamped with the same moment."""
    if not points:
        return
    now = utcnow()
    rows = [
        {
            "account_key": series.account_key,
            "store": series.store,
            "name": series.name,
            "aggregator": series.aggregator,
            "timestamp": now,
            "value": value,
        }
        for series, value in points
    ]
    async with db.transaction() as session:
        await session.execute(insert(MetricPoint), rows)
