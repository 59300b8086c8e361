"""Contacts at scale: a 100,000-row CSV import, then smart-group queries over those contacts.

Workload (fixed seed, so runs compare):
* a CSV of N rows (default 100,000): MSISDN in three national/international spellings, name,
  surname, and three extra columns (city of 5, age 18-80, tier of 3), imported with the ``new``
  rule and country ZA. Reported: rows/s and peak RSS of the importing process (each import runs
  in a child process so its peak is its own), against a baseline of the naive path: one
  ``create_contact`` per row (measured on a tenth of the rows).
* five representative smart-group queries over the imported contacts: p50 of a count of all
  members and of the first page of 100, against the naive baseline of evaluating the query in
  Python over every contact loaded from the database. Also: streaming every recipient of one
  group, as the bulk sender does.

SQLite always; PostgreSQL when VUMIGO_TEST_POSTGRES_URL points at a server (as
scripts/test.sh sets it); otherwise that half is skipped with a message.

Usage: .venv/bin/python bench/contacts.py [rows]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from vumigo.contacts import service
from vumigo.contacts.audience import recipients
from vumigo.contacts.groups import create_group
from vumigo.contacts.importer import import_contacts
from vumigo.contacts.query import contact_matches
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade
from vumigo.db.models.accounts import Account

QUERIES = [
    "extras-city:CPT",
    "msisdn:\\+2782*",
    "name:Thandi",
    "extras-city:CPT AND NOT extras-tier:gold",
    "extras-age:[30 TO 39] OR surname:Nkosi",
]
NAMES = ["Thandi", "Sipho", "Lerato", "Bongani", "Ayanda", "Zanele", "Pieter", "Anna", "Musa"]
SURNAMES = ["Nkosi", "Dlamini", "Mokoena", "van Wyk", "Naidoo", "Smith", "Botha", "Zulu"]
CITIES = ["CPT", "JHB", "DBN", "PTA", "PE"]
TIERS = ["gold", "silver", "bronze"]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    with path.open("w", encoding="utf-8") as out:
        out.write("msisdn,name,surname,city,age,tier\n")
        for n in range(rows):
            national = f"8{rng.choice('234')}{n:07d}"
            spelling = (f"0{national}", f"27{national}", f"+27 {national[:2]} {national[2:]}")
            out.write(
                f"{spelling[n % 3]},{rng.choice(NAMES)},{rng.choice(SURNAMES)},"
                f"{rng.choice(CITIES)},{rng.randint(18, 80)},{rng.choice(TIERS)}\n"
            )


async def new_account(db: Database) -> str:
    async with db.transaction() as session:
        account = Account(name="bench")
        session.add(account)
        await session.flush()
        return account.key


def _status_mb(field: str) -> float:
    """VmRSS / VmHWM of this process in MB. (ru_maxrss would include the parent's peak: Linux
    carries it across fork and exec.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


async def child_import(url: str, csv_path: str, naive_rows: int) -> dict[str, Any]:
    """Runs in a child process: one import (or the naive baseline); reports time and memory."""
    db = Database(url)
    try:
        account = await new_account(db)
        before = rss_mb()
        start = time.perf_counter()
        if naive_rows:
            async with db.transaction() as session:
                with open(csv_path, encoding="utf-8") as handle:
                    next(handle)
                    for _, line in zip(range(naive_rows), handle, strict=False):
                        msisdn, name, surname, city, age, tier = line.rstrip("\n").split(",")
                        await service.create_contact(
                            session,
                            account,
                            msisdn="+27" + msisdn[-9:],
                            name=name,
                            surname=surname,
                            extra={"city": city, "age": age, "tier": tier},
                        )
            rows = naive_rows
        else:
            result = await import_contacts(db, account, Path(csv_path), country="ZA")
            assert result.error_count == 0, result.errors[:3]
            rows = result.created
        seconds = time.perf_counter() - start
        return {
            "account": account,
            "rows": rows,
            "seconds": seconds,
            "rss_before": before,
            "rss_peak": peak_rss_mb(),
        }
    finally:
        await db.dispose()


def run_child(url: str, csv_path: Path, naive_rows: int = 0) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(csv_path), str(naive_rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


async def timed(work: Callable[[], Awaitable[object]], repeat: int) -> float:
    """p50 in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def query_bench(url: str, account: str) -> list[tuple[str, int, float, float, float]]:
    db = Database(url)
    rows = []
    try:
        async with db.sessions() as session:
            for query in QUERIES:
                count = await service.count_contacts(session, account, query=query)

                async def count_all(q: str = query) -> object:
                    return await service.count_contacts(session, account, query=q)

                async def first_page(q: str = query) -> object:
                    return await service.list_contacts(session, account, query=q, limit=100)

                async def naive(q: str = query) -> object:
                    found = await service.list_contacts(session, account, limit=10_000_000)
                    return sum(1 for c in found if contact_matches(q, c))

                rows.append(
                    (
                        query,
                        count,
                        await timed(count_all, 7),
                        await timed(first_page, 7),
                        await timed(naive, 1),
                    )
                )
    finally:
        await db.dispose()
    return rows


async def stream_bench(url: str, account: str) -> tuple[int, float]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            group = await create_group(session, account, "Cape Town", "extras-city:CPT")
        async with db.sessions() as session:
            start = time.perf_counter()
            sent = 0
            async for _pair in recipients(session, account, [group.key], "sms"):
                sent += 1
            return sent, time.perf_counter() - start
    finally:
        await db.dispose()


async def prepare(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


def postgres_database() -> tuple[str, Callable[[], None]] | None:
    base = os.environ.get("VUMIGO_TEST_POSTGRES_URL")
    if not base:
        return None
    import asyncpg

    parsed = make_url(base)
    name = f"vumigo_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, database=parsed.database
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    return parsed.set(database=name).render_as_string(False), lambda: asyncio.run(
        admin(f'DROP DATABASE "{name}"')
    )


def bench_database(label: str, url: str, csv_path: Path, rows: int) -> None:
    asyncio.run(prepare(url))
    fast = run_child(url, csv_path)
    naive_rows = max(1, rows // 10)
    naive = run_child(url, csv_path, naive_rows)
    fast_rate = fast["rows"] / fast["seconds"]
    naive_rate = naive["rows"] / naive["seconds"]
    print(f"\n{label}: import of {rows:,} CSV rows (rule new, country ZA)")
    print(f"  {'':28}{'rows/s':>10}{'seconds':>10}{'RSS before':>12}{'RSS peak':>10}")
    for name, r, rate in (
        ("importer", fast, fast_rate),
        ("naive create_contact/row", naive, naive_rate),
    ):
        print(
            f"  {name:28}{rate:10,.0f}{r['seconds']:10.1f}"
            f"{r['rss_before']:10.0f}MB{r['rss_peak']:8.0f}MB"
        )
    print(f"  importer / naive: {fast_rate / naive_rate:.1f}x (naive on {naive_rows:,} rows)")

    results = asyncio.run(query_bench(url, fast["account"]))
    print(f"\n{label}: smart-group queries over {rows:,} contacts (p50 of 7, ms)")
    print(f"  {'query':44}{'members':>8}{'count':>8}{'page':>8}{'naive':>9}{'ratio':>7}")
    for query, count, count_ms, page_ms, naive_ms in results:
        print(
            f"  {query:44}{count:8,}{count_ms:8.1f}{page_ms:8.1f}{naive_ms:9.0f}"
            f"{naive_ms / count_ms:6.0f}x"
        )
    sent, seconds = asyncio.run(stream_bench(url, fast["account"]))
    print(f"  recipients() of 'extras-city:CPT': {sent:,} pairs in {seconds:.2f}s")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, csv_path, naive_rows = sys.argv[2], sys.argv[3], int(sys.argv[4])
        print(json.dumps(asyncio.run(child_import(url, csv_path, naive_rows))))
        return
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        write_csv(csv_path, rows)
        bench_database("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", csv_path, rows)
        pg = postgres_database()
        if pg is None:
            print("\nPostgreSQL: skipped (set VUMIGO_TEST_POSTGRES_URL, e.g. via scripts/test.sh)")
            return
        url, drop = pg
        try:
            bench_database("PostgreSQL", url, csv_path, rows)
        finally:
            drop()


if __name__ == "__main__":
    main()
