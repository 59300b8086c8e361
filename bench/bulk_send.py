"""Group send: 100,000 contacts through the developer transport, windowed and exactly once.

Workload: one account, one dev tag, a running ``bulk_message`` conversation routed to it, and N
contacts (default 100,000) in one static group. The ``bulk_send`` action runs as it would in
production (a scheduled task picked up by the scheduler); it is done when every message has
been acked by the transport and the ack handled by the conversation. Reported: seconds to all
acked, messages per second, and the peak RSS of the process doing the send (each run is a
child process, so its peak is its own).

Baseline, in the same run: the naive sender. It loads every recipient into memory, then
stores and publishes all the messages at once (in chunks of 1,000, with no window and no
per-recipient bookkeeping, so no resume either), and waits for the same acks. The ratio
windowed/naive says what the window and exactly-once cost in time, and save in memory.

    .venv/bin/python bench/bulk_send.py [--contacts 100000] [--window 100 --window 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from vumigo.apps.actions import request_action
from vumigo.apps.base import AppContext
from vumigo.apps.scheduler import services_for
from vumigo.config import Settings
from vumigo.contacts import recipients
from vumigo.contacts.groups import create_group, set_conversation_groups
from vumigo.db.base import new_key, utcnow
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade
from vumigo.db.models import (
    Account,
    BulkRecipient,
    BulkSend,
    Contact,
    Conversation,
    GroupMember,
    RoutingEntry,
    StoredEvent,
    Tag,
    TagPool,
)
from vumigo.dispatcher.lookups import AppInfo
from vumigo.engine.core import Engine


async def seed(db: Database, contacts: int) -> dict[str, str]:
    async with db.transaction() as session:
        account = Account(name="bench")
        session.add(account)
        session.add(TagPool(name="dev", meta={"transport_type": "dev", "transport_name": "dev"}))
        await session.flush()
        session.add(Tag(pool="dev", tag="10001", owner=account.key, acquired_at=utcnow()))
        conv = Conversation(
            account_key=account.key,
            conversation_type="bulk_message",
            name="bench",
            config={},
            status="running",
        )
        session.add(conv)
        await session.flush()
        tag, conn = "TRANSPORT_TAG:dev:10001", f"CONVERSATION:bulk_message:{conv.key}"
        for source, target in ((tag, conn), (conn, tag)):
            session.add(
                RoutingEntry(
                    account_key=account.key,
                    source_connector=source,
                    source_endpoint="default",
                    target_connector=target,
                    target_endpoint="default",
                )
            )
        group = await create_group(session, account.key, "everyone")
        await session.flush()
        await set_conversation_groups(session, account.key, conv.key, [group.key])
        ids = {"account": account.key, "conversation": conv.key, "group": group.key}
    for start in range(0, contacts, 10_000):
        rows, members = [], []
        for n in range(start, min(contacts, start + 10_000)):
            key = new_key()
            rows.append(
                {
                    "key": key,
                    "account_key": ids["account"],
                    "msisdn": f"+2782{n:07d}",
                    "extra": {},
                    "subscription": {},
                    "created_at": utcnow(),
                }
            )
            members.append({"group_key": ids["group"], "contact_key": key})
        async with db.transaction() as session:
            await session.execute(insert(Contact), rows)
            await session.execute(insert(GroupMember), members)
    return ids


async def acks(db: Database) -> int:
    async with db.sessions() as session:
        stmt = select(func.count()).where(StoredEvent.event_type == "ack")
        return int((await session.execute(stmt)).scalar_one())


async def windowed(engine: Engine, ids: dict[str, str], contacts: int, window: int) -> None:
    db = engine.db
    async with db.transaction() as session:
        task = await request_action(
            session,
            ids["conversation"],
            "bulk_send",
            {"message": "Clinic open today", "window": window},
            confirmed=True,
        )
        task_id = task.id
    services_for(engine).scheduler.wake()
    while True:
        async with db.sessions() as session:
            send = await session.get(BulkSend, task_id)
            open_ = (
                await session.execute(
                    select(func.count()).where(
                        BulkRecipient.send_id == task_id, BulkRecipient.status == "queued"
                    )
                )
            ).scalar_one()
        if send is not None and send.queued >= contacts and open_ == 0:
            return
        await asyncio.sleep(0.2)


async def naive(engine: Engine, ids: dict[str, str], contacts: int) -> None:
    db = engine.db
    conversation = await engine.lookups.conversation(ids["conversation"])
    assert isinstance(conversation, AppInfo)
    async with db.sessions() as session:
        everyone = [
            pair
            async for pair in recipients(
                session, ids["account"], [ids["group"]], "sms", skip_opted_out=True
            )
        ]
    ctx = AppContext(engine, conversation)  # send_to fills in whose messages they are
    messages = [ctx.send_to(address, "Clinic open today") for _key, address in everyone]
    for start in range(0, len(messages), 1000):
        await engine.apps.send(conversation, messages[start : start + 1000])
    while await acks(db) < contacts:
        await asyncio.sleep(0.2)


async def child(url: str, ids: dict[str, str], contacts: int, mode: str, window: int) -> None:
    settings = Settings(data_dir=Path(url).parent, database_url=f"sqlite+aiosqlite:///{url}")
    db = Database(settings.resolved_database_url)
    engine = Engine(settings, db)
    await engine.start()
    started = time.perf_counter()
    if mode == "naive":
        await naive(engine, ids, contacts)
    else:
        await windowed(engine, ids, contacts, window)
    elapsed = time.perf_counter() - started
    await engine.stop()
    await db.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb}))


def run_child(path: Path, ids: dict[str, str], contacts: int, mode: str, window: int) -> Any:
    args = [sys.executable, __file__, "--child", str(path), json.dumps(ids), str(contacts)]
    out = subprocess.run([*args, mode, str(window)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"the {mode} run failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


async def fresh_copy(template: Path, target: Path) -> None:
    target.write_bytes(template.read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--window", type=int, action="append")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    windows = args.window or [100, 1000]
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"

        async def prepare() -> dict[str, str]:
            db = Database(f"sqlite+aiosqlite:///{template}")
            await upgrade(db)
            ids = await seed(db, args.contacts)
            await db.dispose()
            return ids

        ids = asyncio.run(prepare())
        results: list[tuple[str, dict[str, float]]] = []
        runs = [("naive", 0)] if not args.skip_naive else []
        runs += [("windowed", w) for w in windows]
        for mode, window in runs:
            path = Path(tmp) / f"{mode}-{window}.db"
            asyncio.run(fresh_copy(template, path))
            label = (
                "naive: all at once, no window (baseline)"
                if mode == "naive"
                else (f"windowed, exactly once, window {window}")
            )
            results.append((label, run_child(path, ids, args.contacts, mode, window)))
            path.unlink()
    print(f"group send to {args.contacts} contacts through the dev transport (SQLite)")
    print(f"{'sender':<44} {'s to all acked':>15} {'msg/s':>9} {'peak MB':>9}")
    for label, figures in results:
        rate = args.contacts / figures["seconds"]
        print(f"{label:<44} {figures['seconds']:>15.1f} {rate:>9.0f} {figures['peak_mb']:>9.0f}")
    if not args.skip_naive and len(results) > 1:
        base = results[0][1]
        for label, figures in results[1:]:
            print(
                f"ratio {label.split(',')[-1].strip()}/naive: time "
                f"{figures['seconds'] / base['seconds']:.2f}, "
                f"peak memory {figures['peak_mb'] / base['peak_mb']:.2f}"
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        path, ids, contacts, mode, window = sys.argv[2:7]
        asyncio.run(child(path, json.loads(ids), int(contacts), mode, int(window)))
    else:
        main()
