"""Benchmark: SMS through the whole platform over one SMPP bind, from the HTTP API to receipts.

Workload: N messages (default 2,000) of 20 GSM characters to an ``http_api_nostream``
conversation whose tag is on an SMPP pool with one transceiver bind to the SMSC simulator
(tools/smsc/simulator.js under node). The simulator answers each submit_sm at once and sends its
receipt straight after (registered_delivery=1). The platform runs embedded (SQLite file,
in-process bus). A run is timed from the first message in until every message's
delivery_report (delivered) is stored. Windows 1, 10 and 50. Three ways in, same run, same
simulator, same window:

- via HTTP API: PUT to the conversation's ``messages.json`` by C concurrent HTTP clients
  (default 50) over 127.0.0.1, the platform served by uvicorn in a thread of this process.
  "HTTP PUT/s" is how fast the PUTs were answered: the HTTP API's intake.
- via engine: the messages enter at the engine's outbound entry point (what the HTTP API calls
  once it has parsed a PUT), 50 at a time: the platform minus HTTP.
- baseline, bare client: vumigo's SmppClient alone (ids correlated in memory, nothing stored).
  engine/bare says what storage, routing and events cost on top of the bind.

    .venv/bin/python bench/smpp.py [--messages 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select

from vumigo.apps.base import AppContext
from vumigo.apps.http_api.config import new_token
from vumigo.config import Settings
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade
from vumigo.db.models import Account, Conversation, RoutingEntry, StoredEvent, Tag, TagPool
from vumigo.runtime import Platform
from vumigo.transports.smpp import MemoryCorrelationStore, SmppClient, SmppConfig
from vumigo.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = ROOT / "tools" / "smsc" / "simulator.js"
TEXT = "benchmark message 01"  # 20 GSM characters
TAG = "12345"
STALL_SECONDS = 30


@dataclass
class Result:
    window: int
    messages: int
    acked_seconds: float
    done_seconds: float
    put_seconds: float = 0.0

    @property
    def put_rate(self) -> float:
        return self.messages / self.put_seconds if self.put_seconds else 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.done_seconds

    @property
    def acked_rate(self) -> float:
        return self.messages / self.acked_seconds


class Simulator:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(SIMULATOR), "--port=0", "--control-port=0", "--dlr-delay-ms=0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        ports = dict(item.split("=") for item in self.process.stdout.readline().split()[2:])
        self.port = int(ports["smpp"])
        self.control = f"http://127.0.0.1:{ports['control']}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(self.control + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self.call("POST", "/reset")
        self.call("POST", "/mode", {"dlr_delay_ms": 0})

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(5)


async def seed(db: Database, smsc_port: int, window: int) -> tuple[str, str, str]:
    """An account whose SMPP tag is routed both ways to an HTTP API conversation."""
    token, digest = new_token()
    meta = {
        "transport_type": "smpp",
        "transport_name": "smpp_bench",
        "smpp.port": smsc_port,
        "smpp.system_id": "bench",
        "smpp.window": window,
        "smpp.max_queue": 100_000,
    }
    async with db.transaction() as session:
        account = Account(name="bench")
        session.add(account)
        session.add(TagPool(name="smpp", meta=meta))
        await session.flush()
        session.add(Tag(pool="smpp", tag=TAG, owner=account.key, acquired_at=utcnow()))
        conv = Conversation(
            account_key=account.key,
            conversation_type="http_api_nostream",
            name="bench",
            config={"http_api_nostream": {"api_tokens": [digest]}},
            status="running",
        )
        session.add(conv)
        await session.flush()
        tag, conn = f"TRANSPORT_TAG:smpp:{TAG}", f"CONVERSATION:http_api_nostream:{conv.key}"
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
        return account.key, conv.key, token


class Server:
    """The platform and its web app on a free port, in a thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.platform = Platform(settings)
        config = uvicorn.Config(
            create_app(self.platform),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            timeout_keep_alive=60,  # the load's connections stay open between requests
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


async def event_counts(db: Database) -> dict[str, int]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(StoredEvent.status, func.count()).group_by(StoredEvent.status)
        )
        return {status: count for status, count in rows.all()}


async def run_platform(simulator: Simulator, window: int, messages: int, workers: int) -> Result:
    simulator.reset()
    with tempfile.TemporaryDirectory(prefix="vumigo-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite+aiosqlite:///{tmp}/v.db")
        db = Database(settings.resolved_database_url)
        await upgrade(db)
        account, conv, token = await seed(db, simulator.port, window)
        server = Server(settings)
        base = server.start()
        try:
            while not simulator.call("GET", "/stats")["binds"]["transceiver"]:
                await asyncio.sleep(0.02)
            url = f"{base}/api/v1/go/http_api_nostream/{conv}/messages.json"
            todo = iter(range(messages))
            limits = httpx.Limits(max_connections=workers)
            async with httpx.AsyncClient(auth=(account, token), limits=limits) as http:

                async def client() -> None:
                    for n in todo:
                        body = {"to_addr": f"2782{n:07d}", "content": TEXT}
                        response = await http.put(url, json=body, timeout=60)
                        response.raise_for_status()

                started = time.perf_counter()
                sending = asyncio.gather(*(client() for _ in range(workers)))
                put_at: list[float] = []
                sending.add_done_callback(lambda _: put_at.append(time.perf_counter()))
                acked_at, _ = await wait_for_events(db, messages)
                await sending
            done_at = time.perf_counter()
        finally:
            server.stop()
            await db.dispose()
    assert acked_at is not None
    return Result(window, messages, acked_at - started, done_at - started, put_at[0] - started)


async def run_engine(simulator: Simulator, window: int, messages: int) -> Result:
    """The same, minus HTTP: the conversation's messages enter at the engine's outbound entry
    point (what the HTTP API calls once it has parsed a PUT), 50 at a time."""
    simulator.reset()
    with tempfile.TemporaryDirectory(prefix="vumigo-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite+aiosqlite:///{tmp}/v.db")
        db = Database(settings.resolved_database_url)
        await upgrade(db)
        _, conv, _ = await seed(db, simulator.port, window)
        platform = Platform(settings)
        await platform.start()
        try:
            while not simulator.call("GET", "/stats")["binds"]["transceiver"]:
                await asyncio.sleep(0.02)
            info = await platform.engine.lookups.conversation(conv)
            assert info is not None
            started = time.perf_counter()
            for first in range(0, messages, 50):
                ctx = AppContext(platform.engine, info)
                for n in range(first, min(first + 50, messages)):
                    ctx.send_to(f"2782{n:07d}", TEXT)
                await platform.engine.apps.send(info, ctx.outbound)
            acked_at, done_at = await wait_for_events(db, messages)
        finally:
            await platform.stop()
            await db.dispose()
    return Result(window, messages, acked_at - started, done_at - started)


async def wait_for_events(db: Database, messages: int) -> tuple[float, float]:
    """When every message had its ack stored, and when its delivery report."""
    acked_at = None
    last: dict[str, int] = {}
    last_change = time.perf_counter()
    while True:
        counts = await event_counts(db)
        now = time.perf_counter()
        if counts != last:
            last, last_change = counts, now
        elif now - last_change > STALL_SECONDS:
            raise RuntimeError(f"no progress for {STALL_SECONDS}s: {counts}")
        if acked_at is None and counts.get("ack", 0) >= messages:
            acked_at = now
        if counts.get("delivery_report.delivered", 0) >= messages:
            return acked_at or now, now
        await asyncio.sleep(0.02)


async def run_bare(simulator: Simulator, window: int, messages: int) -> Result:
    simulator.reset()
    acks = reports = 0
    all_acked, all_done = asyncio.Event(), asyncio.Event()

    async def on_event(kind: str, message_id: str, /, **details: Any) -> None:
        nonlocal acks, reports
        if kind == "ack":
            acks += 1
            if acks == messages:
                all_acked.set()
        elif kind == "delivery_report":
            reports += 1
            if reports == messages:
                all_done.set()

    async def on_inbound(source: str, destination: str, content: str, /, **details: Any) -> None:
        pass

    config = SmppConfig(
        port=simulator.port, system_id="bench", window=window, max_queue=messages + 1
    )
    client = SmppClient(config, MemoryCorrelationStore(), on_inbound, on_event)
    await client.start()
    await client.wait_bound(10)
    started = time.perf_counter()
    for n in range(messages):
        await client.submit(f"bench-{n}", TAG, f"2782{n:07d}", TEXT)
    await all_acked.wait()
    acked_at = time.perf_counter()
    await all_done.wait()
    done_at = time.perf_counter()
    await client.stop()
    return Result(window, messages, acked_at - started, done_at - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("VUMIGO_HTTP_API_CONCURRENCY_LIMIT", "-1")  # no per-account cap
    simulator = Simulator()
    rows: list[tuple[Result, Result, Result]] = []
    try:
        asyncio.run(run_platform(simulator, 10, 200, args.concurrency))  # warm up
        for window in (1, 10, 50):
            via_http = asyncio.run(run_platform(simulator, window, args.messages, args.concurrency))
            via_engine = asyncio.run(run_engine(simulator, window, args.messages))
            bare = asyncio.run(run_bare(simulator, window, args.messages))
            rows.append((via_http, via_engine, bare))
    finally:
        simulator.close()
    header = (
        f"{'window':>6}{'messages':>9}{'HTTP PUT/s':>12}{'via HTTP API':>14}"
        f"{'via engine':>12}{'bare client':>13}{'engine/bare':>13}"
    )
    print(header)
    print("-" * len(header))
    for via_http, via_engine, bare in rows:
        print(
            f"{bare.window:>6}{bare.messages:>9}{via_http.put_rate:>12.0f}{via_http.rate:>14.0f}"
            f"{via_engine.rate:>12.0f}{bare.rate:>13.0f}{via_engine.rate / bare.rate:>13.2f}"
        )
    print("msg/s from the first PUT (or submit) until every receipt is stored. HTTP PUT/s: until")
    print("the last PUT was answered, i.e. the HTTP API's intake, which paces the 'via HTTP' runs.")


if __name__ == "__main__":
    main()
