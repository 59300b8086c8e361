"""HTTP API sends: PUT messages.json end to end to the developer phone transport's ack.

Workload: for 1, 10 and 50 concurrent clients (keep-alive connections), N sends each
(default 1,000; a fifth of that for one client) of ``{"to_addr", "content"}`` through
``PUT /api/v1/go/http_api_nostream/<conv>/messages.json`` with Basic auth, against
``vumigo``'s web app served by uvicorn in a child process (embedded mode: SQLite, the
in-process bus; the per-account open-request limit lifted so that 50 clients fit). A send is
done when the dev transport's ack of it is stored.

Reported per level: sends/s (from the first PUT to the last ack), p50/p99 of the PUT's
response time (the message is stored before the 200) and of PUT-to-ack.

Baseline, in the same run: a naive endpoint in the same kind of child process (FastAPI +
uvicorn, the same Basic auth parsing and JSON in and out, no storage, no routing). The ratio
says what storing and sending a message costs over the bare HTTP round trip.

    .venv/bin/python bench/http_api.py [--n 1000] [--levels 1,10,50]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response
from sqlalchemy import select

from vumigo.apps.http_api.config import new_token
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade
from vumigo.db.models import Account, Conversation, RoutingEntry, StoredEvent, Tag, TagPool

CONV_TYPE = "http_api_nostream"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(db: Database) -> tuple[str, str, str]:
    token, digest = new_token()
    async with db.transaction() as session:
        account = Account(name="bench")
        session.add(account)
        session.add(TagPool(name="dev", meta={"transport_type": "dev", "transport_name": "dev"}))
        await session.flush()
        session.add(Tag(pool="dev", tag="10001", owner=account.key, acquired_at=utcnow()))
        conv = Conversation(
            account_key=account.key,
            conversation_type=CONV_TYPE,
            name="bench",
            config={CONV_TYPE: {"api_tokens": [digest]}},
            status="running",
        )
        session.add(conv)
        await session.flush()
        tag, conn = "TRANSPORT_TAG:dev:10001", f"CONVERSATION:{CONV_TYPE}:{conv.key}"
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


# -- the servers (child processes) ----------------------------------------------------------


def serve_platform(data_dir: str, port: int) -> None:
    import uvicorn

    from vumigo.config import Settings
    from vumigo.runtime import Platform
    from vumigo.web.app import create_app

    app = create_app(Platform(Settings(data_dir=Path(data_dir))))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_floor(port: int) -> None:
    """The naive endpoint: auth, parse, answer; nothing stored or sent."""
    import uuid

    import uvicorn

    app = FastAPI()

    @app.put("/api/v1/go/http_api_nostream/{conv}/messages.json")
    async def put(conv: str, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        user, _, password = base64.b64decode(header.partition(" ")[2]).decode().partition(":")
        if not (user and password):
            return Response(status_code=401)
        payload = json.loads(await request.body())
        payload["message_id"] = uuid.uuid4().hex
        return Response(json.dumps(payload), media_type="application/json; charset=utf-8")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_child(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VUMIGO_HTTP_API_CONCURRENCY_LIMIT": "-1", "VUMIGO_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, __file__, *args], env=env)


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


# -- the clients --------------------------------------------------------------------------


@dataclass
class Result:
    rate: float
    put_p50: float
    put_p99: float
    ack_p50: float | None = None
    ack_p99: float | None = None


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


async def drive(url: str, auth: tuple[str, str], clients: int, n: int) -> tuple[list, float]:
    """n PUTs over ``clients`` connections: (start wall time, PUT seconds, id) each."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    done: list[tuple[float, float, str]] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(auth=auth, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = {"to_addr": f"+2782{i:07d}", "content": f"bench {i}"}
                wall, start = time.time(), time.perf_counter()
                response = await client.put(url, json=body)
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    raise RuntimeError(f"PUT answered {response.status_code}: {response.text}")
                done.append((wall, elapsed, response.json()["message_id"]))

        first = time.time()
        await asyncio.gather(*(worker() for _ in range(clients)))
    return done, first


async def acks(db: Database, ids: list[str], timeout: float = 120) -> dict[str, float]:
    """Wall time of each send's ack, once all are stored."""
    deadline = time.monotonic() + timeout
    wanted = set(ids)
    found: dict[str, float] = {}
    while time.monotonic() < deadline:
        async with db.sessions() as session:
            rows = await session.execute(
                select(StoredEvent.user_message_id, StoredEvent.timestamp).where(
                    StoredEvent.event_type == "ack"
                )
            )
            for message_id, stamp in rows:
                if message_id in wanted:
                    found[message_id] = stamp.replace(tzinfo=UTC).timestamp()
        if len(found) == len(wanted):
            return found
        await asyncio.sleep(0.1)
    raise RuntimeError(f"only {len(found)} of {len(wanted)} acks arrived")


async def level(
    url: str, auth: tuple[str, str], clients: int, n: int, db: Database | None
) -> Result:
    done, first = await drive(url, auth, clients, n)
    puts = [elapsed for _, elapsed, _ in done]
    if db is None:
        last = max(wall + elapsed for wall, elapsed, _ in done)
        return Result(n / (last - first), pct(puts, 50), pct(puts, 99))
    acked = await acks(db, [message_id for _, _, message_id in done])
    to_ack = [acked[message_id] - wall for wall, _, message_id in done]
    return Result(
        n / (max(acked.values()) - first),
        pct(puts, 50),
        pct(puts, 99),
        pct(to_ack, 50),
        pct(to_ack, 99),
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--levels", default="1,10,50")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'vumigo.db'}")
        await upgrade(db)
        account, conv, token = await seed(db)
        port, floor_port = free_port(), free_port()
        children = [start_child("--serve", tmp, str(port)), start_child("--floor", str(floor_port))]
        try:
            wait_up(port)
            wait_up(floor_port)
            path = f"/api/v1/go/{CONV_TYPE}/{conv}/messages.json"
            auth = (account, token)
            rows = []
            for clients in levels:
                n = args.n if clients > 1 else max(1, args.n // 5)
                floor = await level(f"http://127.0.0.1:{floor_port}{path}", auth, clients, n, None)
                ours = await level(f"http://127.0.0.1:{port}{path}", auth, clients, n, db)
                rows.append((clients, n, ours, floor))
        finally:
            for child in children:
                child.terminate()
                child.wait(timeout=30)
            await db.dispose()
    print("HTTP API: PUT messages.json, end to end to the dev transport's ack (SQLite)")
    head = f"{'clients':>7} {'sends':>6} {'sends/s':>8} {'PUT p50':>8} {'PUT p99':>8}"
    print(f"{head} {'ack p50':>8} {'ack p99':>8} | {'naive/s':>8} {'p50':>6} {'ratio':>6}")
    for clients, n, ours, floor in rows:
        print(
            f"{clients:>7} {n:>6} {ours.rate:>8.0f} {ours.put_p50:>6.1f}ms {ours.put_p99:>6.1f}ms"
            f" {ours.ack_p50 or 0:>6.1f}ms {ours.ack_p99 or 0:>6.1f}ms |"
            f" {floor.rate:>8.0f} {floor.put_p50:>4.1f}ms {ours.rate / floor.rate:>6.2f}"
        )
    print("ratio = our sends/s ÷ the naive endpoint's (auth + JSON, nothing stored)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve_platform(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["--floor"]:
        serve_floor(int(sys.argv[2]))
    else:
        asyncio.run(main())
