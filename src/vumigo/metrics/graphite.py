"""The optional Graphite exporter: finished minute buckets sent to carbon's plaintext port.

Each minute row becomes one line ``<name>.<agg> <value> <minute>``, the name as the original
published it (``go.campaigns.<account>.stores.<store>.<name>``), so existing Graphite
dashboards keep working. The exporter has its own watermark: if carbon is down the rows wait
(up to the minute retention) and are sent when it is back, and a restart sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select

from vumigo.db.engine import Database
from vumigo.db.models.metrics_rollup import MINUTE, MetricRollup
from vumigo.metrics.aggregate import Marks, Stats
from vumigo.metrics.config import MetricsSettings
from vumigo.metrics.names import Series
from vumigo.metrics.rollup import Exporter, read_state, write_state

log = logging.getLogger(__name__)

STATE = "graphite"
CHUNK = 3600  # seconds of minute rows per send
TIMEOUT = 10.0


def line(series: Series, value: float, when: int, prefix: str = "") -> str:
    name = f"{prefix}.{series.full_name}" if prefix else series.full_name
    # Carbon splits a line on whitespace; a name with spaces would be misread.
    name = "_".join(name.split())
    return f"{name} {value!r} {when}\n"


class GraphiteExporter(Exporter):
    def __init__(self, host: str, port: int = 2003, prefix: str = "") -> None:
        self.host = host
        self.port = port
        self.prefix = prefix.strip(".")

    @classmethod
    def from_settings(cls, settings: MetricsSettings) -> GraphiteExporter | None:
        if not settings.graphite_enabled:
            return None
        return cls(settings.graphite_host, settings.graphite_port, settings.graphite_prefix)

    async def send(self, lines: list[str]) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), TIMEOUT
        )
        try:
            writer.write("".join(lines).encode("utf-8"))
            await asyncio.wait_for(writer.drain(), TIMEOUT)
        finally:
            writer.close()
            await writer.wait_closed()
        del reader

    async def export(self, db: Database, marks: Marks) -> int:
        """Sends the minute rows between the exporter's watermark and the rollup's."""
        r = MetricRollup
        async with db.sessions() as session:
            mark = await read_state(session, STATE)
            if mark is None:
                oldest = await session.scalar(
                    select(func.min(r.bucket)).where(r.resolution == MINUTE)
                )
                mark = marks.minutes if oldest is None else min(int(oldest), marks.minutes)
        sent = 0
        while mark < marks.minutes:
            end = min(marks.minutes, mark + CHUNK)
            query = (
                select(r.account_key, r.store, r.name, r.aggregator, r.bucket)
                .add_columns(r.count, r.total, r.minimum, r.maximum, r.last)
                .where(r.resolution == MINUTE, r.bucket >= mark, r.bucket < end)
                .order_by(r.bucket)
            )
            async with db.sessions() as session:
                rows = (await session.execute(query)).all()
            lines = []
            for account, store, name, agg, bucket, n, t, lo, hi, last in rows:
                series = Series(account, store, name, agg)
                value = Stats(int(n), t, lo, hi, last).value(agg)
                lines.append(line(series, value, int(bucket), self.prefix))
            if lines:
                try:
                    await self.send(lines)
                except (OSError, TimeoutError) as exc:
                    log.warning("graphite at %s:%s unreachable: %s", self.host, self.port, exc)
                    break
            async with db.transaction() as session:
                await write_state(session, STATE, end)
            sent += len(lines)
            mark = end
        return sent
