"""Dashboard data for 30 days of one metric fired once a second: 2,592,000 points.

Workload: one account with a jsbox conversation whose reports.json shows the metric five ways
(an LValue over 1 day, graphs over 30 days in daily buckets and 24 hours in 15 minute buckets,
a histogram of the last hour in 5 minute buckets, a pie over 30 days). The points are written
straight into ``metric_points`` (seeding is not what is measured), one a second up to now.

Reported, each as the median / 95th percentile / max of ``--runs`` runs:

- the whole dashboard's data (``widgets.report_data``, what the reports page computes);
- the metrics API's ``GET /api/v1/go/metrics/?m=...&from=-30d&interval=1d`` in-process;
- once, the rollup job catching up on all of it (minute and hour rows, retention);
- baseline: the same dashboard data before any rollup, from raw points alone.

    .venv/bin/python bench/metrics.py [--days 30] [--runs 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from vumigo.accounts.tokens import create_token
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade
from vumigo.db.models import Account, Conversation, MetricPoint
from vumigo.metrics.reports import parse_report
from vumigo.metrics.rollup import Rollup
from vumigo.metrics.widgets import report_data
from vumigo.runtime import Platform
from vumigo.web.app import create_app

TARGET = {"metric_type": "account", "store": "default", "name": "pings", "aggregator": "avg"}
REPORT = [
    {"type": "LValueWidget", "name": "Now", "time_range": "1d", "target": TARGET},
    "new_row",
    {
        "type": "GraphWidget",
        "name": "30 days",
        "time_range": "30d",
        "bucket_size": "1d",
        "metrics": [{"name": "pings", "target": TARGET}],
    },
    {
        "type": "GraphWidget",
        "name": "24 hours",
        "time_range": "1d",
        "bucket_size": "15m",
        "metrics": [{"name": "pings", "target": TARGET}],
    },
    "new_row",
    {
        "type": "HistogramWidget",
        "name": "Last hour",
        "time_range": "1h",
        "bucket_size": "5m",
        "target": TARGET,
    },
    {
        "type": "PieWidget",
        "name": "30 days",
        "time_range": "30d",
        "metrics": [{"name": "pings", "target": TARGET}],
    },
]


async def seed_account(db: Database) -> tuple[str, str, str]:
    async with db.transaction() as session:
        account = Account(name="bench")
        session.add(account)
        await session.flush()
        _, token = await create_token(session, account.key)
        conv = Conversation(
            account_key=account.key,
            conversation_type="jsbox",
            name="bench",
            config={"jsbox_app_config": {"reports": {"value": json.dumps(REPORT)}}},
            status="running",
        )
        session.add(conv)
        await session.flush()
        return account.key, conv.key, token


def rows(account: str, start: int, end: int) -> Any:
    for second in range(start, end):
        yield (account, "default", "pings", "avg", second, float(second % 1000))


def seed_sqlite(path: Path, account: str, start: int, end: int) -> None:
    # SQLAlchemy stores SQLite datetimes as naive UTC text in this shape.
    fmt = "%Y-%m-%d %H:%M:%S.000000"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executemany(
        "INSERT INTO metric_points (account_key, store, name, aggregator, timestamp, value) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            (a, s, n, g, datetime.fromtimestamp(t, UTC).strftime(fmt), v)
            for a, s, n, g, t, v in rows(account, start, end)
        ),
    )
    conn.commit()
    conn.close()


async def seed_any(db: Database, account: str, start: int, end: int) -> None:
    chunk = 20_000
    for lo in range(start, end, chunk):
        batch = [
            {
                "account_key": a,
                "store": s,
                "name": n,
                "aggregator": g,
                "timestamp": datetime.fromtimestamp(t, UTC),
                "value": v,
            }
            for a, s, n, g, t, v in rows(account, lo, min(end, lo + chunk))
        ]
        async with db.transaction() as session:
            await session.execute(insert(MetricPoint), batch)


async def timed(runs: int, work: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """Wall-clock milliseconds per run, and CPU milliseconds of this process (its threads
    included: aiosqlite's too), which other load on the machine does not inflate."""
    took, cpu = [], []
    for _ in range(runs):
        started, used = time.perf_counter(), time.process_time()
        await work()
        took.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    took.sort()
    return {
        "median_ms": round(statistics.median(took), 1),
        "p95_ms": round(took[min(len(took) - 1, int(len(took) * 0.95))], 1),
        "max_ms": round(took[-1], 1),
        "cpu_median_ms": round(statistics.median(cpu), 1),
    }


async def main(days: int, runs: int, url: str | None, baseline: bool) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="vumigo-bench-metrics-"))
    url = url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    db = Database(url)
    await upgrade(db)
    account, conv, token = await seed_account(db)
    now = int(time.time())
    start = now - days * 86400
    began = time.perf_counter()
    if db.dialect == "sqlite":
        await db.dispose()
        seed_sqlite(folder / "bench.db", account, start, now)
    else:
        await seed_any(db, account, start, now)
    out: dict[str, Any] = {
        "database": db.dialect,
        "points": now - start,
        "seed_seconds": round(time.perf_counter() - began, 1),
    }
    report = parse_report(REPORT)

    async def dashboard() -> Any:
        return await report_data(db, report, account, conv)

    if baseline:
        out["dashboard_raw_only"] = await timed(1, dashboard)
    began = time.perf_counter()
    done = await Rollup(db).run_once(retention=True)
    out["rollup_catch_up"] = {
        "seconds": round(time.perf_counter() - began, 1),
        "minute_rows": done.minute_rows,
        "hour_rows": done.hour_rows,
        "deleted": done.deleted,
    }
    await dashboard()  # warm the connection pool and statement caches
    out["dashboard"] = await timed(runs, dashboard)
    data = await dashboard()
    out["check"] = {
        "graph_30d_buckets": len(data[1][0]["x"]),
        "graph_24h_buckets": len(data[1][1]["x"]),
        "lvalue_current": data[0][0]["current"],
    }
    platform = Platform(Settings(data_dir=folder / "var", database_url=url))
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        params = {"m": "stores.default.pings.avg", "from": "-30d", "interval": "1d"}
        headers = {"Authorization": f"Bearer {token}"}

        async def api() -> Any:
            answer = await http.get("/api/v1/go/metrics/", params=params, headers=headers)
            answer.raise_for_status()
            return answer

        await api()
        out["api_get_30d_1d"] = await timed(runs, api)
    await platform.db.dispose()
    await db.dispose()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw-only run")
    args = parser.parse_args()
    result = asyncio.run(main(args.days, args.runs, args.database_url, not args.no_baseline))
    print(json.dumps(result, indent=2))
