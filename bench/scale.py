"""Scaling out: HTTP API PUT → SMPP submit_sm with 1, 2 and 4 worker processes per role.

Workload: N messages (default 2,000) sent by 50 concurrent keep-alive clients through
``PUT /api/v1/go/http_api_nostream/<conv>/messages.json`` (Basic auth), spread over four
conversations of one account, each routed to a tag of its own SMPP pool; each pool is its own
transport with one transceiver bind (window 50) to the SMSC simulator (tools/smsc/simulator.js,
npm ``smpp``), which acks every submit_sm at once. The per-account open-request limit is set to
1,000, so it is counted (in the database, in the distributed mode) but never refuses.

Shapes, in one run, each on a fresh database:

- ``embedded``: one ``vumigo serve`` process (SQLite, the in-process bus).
- ``distributed xK``: K processes of each role on the message's path (``web``, ``dispatcher``,
  ``apps``, ``transports``) over a PostgreSQL and a RabbitMQ started privately with
  scripts/services.sh; the clients spread over the K web processes (as a reverse proxy would),
  and the four transports share out over the K transports processes.

Reported per shape: PUT/s (first PUT until the last was answered), submit/s (first PUT until
the simulator had every submit_sm), acked/s (until every ack was stored), and each rate over
the embedded one. Every process of every shape shares this machine's cores (and PostgreSQL's
and RabbitMQ's), so the figures say what adding processes buys on one machine, not on many.

    .venv/bin/python bench/scale.py [--messages 2000] [--concurrency 50] [--scales 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from vumigo.apps.http_api.config import new_token
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import Account, Conversation, RoutingEntry, StoredEvent, Tag, TagPool

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = ROOT / "tools" / "smsc" / "simulator.js"
SERVICES = ROOT / "scripts" / "services.sh"
VUMIGO = str(Path(sys.executable).with_name("vumigo"))
TEXT = "benchmark message 01"  # 20 GSM characters
POOLS = 4
WINDOW = 50
ROLES = ("dispatcher", "apps", "transports")  # beside web, on the message's path
STALL_SECONDS = 60
READY_LINE = b"worker running roles"


@dataclass
class Result:
    shape: str
    processes: int
    messages: int
    put_seconds: float
    submit_seconds: float
    acked_seconds: float

    @property
    def put_rate(self) -> float:
        return self.messages / self.put_seconds

    @property
    def submit_rate(self) -> float:
        return self.messages / self.submit_seconds

    @property
    def acked_rate(self) -> float:
        return self.messages / self.acked_seconds


class Simulator:
    """The SMSC simulator in a child process, with its control API."""

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
        # Receipts are not part of this measurement: they only add load.
        self.call("POST", "/mode", {"dlr": False})

    def bound(self) -> set[str]:
        sessions = self.call("GET", "/stats")["sessions"]
        return {s["system_id"] for s in sessions if s["bind_type"] == "transceiver"}

    def submits(self) -> int:
        return int(self.call("GET", "/stats")["submit_sm"])

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(5)


@contextmanager
def private_services(base: Path) -> Iterator[tuple[str, str]]:
    """PostgreSQL and RabbitMQ on free loopback ports; yields their URLs."""
    out = subprocess.run(
        ["bash", str(SERVICES), "start", str(base)], capture_output=True, text=True, check=True
    ).stdout
    urls = dict(
        line.removeprefix("export ").split("=", 1)
        for line in out.splitlines()
        if line.startswith("export ")
    )
    try:
        yield urls["VUMIGO_TEST_POSTGRES_URL"], urls["VUMIGO_TEST_AMQP_URL"]
    finally:
        subprocess.run(["bash", str(SERVICES), "stop", str(base)], capture_output=True)


async def create_database(admin_url: str, name: str) -> str:
    import asyncpg  # type: ignore[import-untyped]

    url = make_url(admin_url)
    conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(False)


async def seed(db: Database, smsc_port: int) -> tuple[str, list[tuple[str, str]]]:
    """One account; POOLS SMPP pools (one transport and bind each), each with a tag routed
    both ways to an HTTP API conversation of its own. Returns the account and, per
    conversation, its key and API token."""
    conversations = []
    async with db.transaction() as session:
        account = Account(name="bench")
        session.add(account)
        await session.flush()
        for n in range(POOLS):
            pool, tag = f"smpp{n}", f"1230{n}"
            meta = {
                "transport_type": "smpp",
                "transport_name": f"smpp_bench{n}",
                "smpp.port": smsc_port,
                "smpp.system_id": f"bench{n}",
                "smpp.window": WINDOW,
                "smpp.max_queue": 100_000,
            }
            session.add(TagPool(name=pool, meta=meta))
            await session.flush()
            session.add(Tag(pool=pool, tag=tag, owner=account.key, acquired_at=utcnow()))
            token, digest = new_token()
            conv = Conversation(
                account_key=account.key,
                conversation_type="http_api_nostream",
                name=f"bench {n}",
                config={"http_api_nostream": {"api_tokens": [digest]}},
                status="running",
            )
            session.add(conv)
            await session.flush()
            ends = (f"TRANSPORT_TAG:{pool}:{tag}", f"CONVERSATION:http_api_nostream:{conv.key}")
            for source, target in (ends, ends[::-1]):
                session.add(
                    RoutingEntry(
                        account_key=account.key,
                        source_connector=source,
                        source_endpoint="default",
                        target_connector=target,
                        target_endpoint="default",
                    )
                )
            conversations.append((conv.key, token))
        return account.key, conversations


class Processes:
    """The platform's processes of one shape, their logs in ``workdir``."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.web: dict[str, str] = {}  # name → URL

    @property
    def web_urls(self) -> list[str]:
        return list(self.web.values())

    def start(self, name: str, args: list[str], log_level: str = "WARNING") -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 (the process keeps it)
        env = {**self.env, "VUMIGO_LOG_LEVEL": log_level}
        self.procs[name] = subprocess.Popen(
            [VUMIGO, *args], env=env, stdout=log, stderr=log, cwd=self.workdir
        )

    def start_web(self, name: str, args: list[str]) -> None:
        port = free_port()
        self.start(name, [*args, "--port", str(port)])
        self.web[name] = f"http://127.0.0.1:{port}"

    def start_engine(self, name: str, role: str) -> None:
        # INFO for the line that says the workers run; engine roles log little else at INFO.
        self.start(name, ["worker", "--role", role], log_level="INFO")

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for name, proc in self.procs.items():
            log = self.workdir / f"{name}.log"
            while not self._ready(name):
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not come up:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)

    def _ready(self, name: str) -> bool:
        url = self.web.get(name)
        if url is None:
            return READY_LINE in (self.workdir / f"{name}.log").read_bytes()
        try:
            return httpx.get(url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_bound(simulator: Simulator, settle: float = 3.0, timeout: float = 120) -> None:
    """Until every pool is bound, and has stayed so for ``settle`` s (the transports may be
    being shared out among the processes)."""
    wanted = {f"bench{n}" for n in range(POOLS)}
    deadline = time.monotonic() + timeout
    steady_since: float | None = None
    while time.monotonic() < deadline:
        if simulator.bound() == wanted:
            steady_since = steady_since or time.monotonic()
            if time.monotonic() - steady_since >= settle:
                return
        else:
            steady_since = None
        time.sleep(0.2)
    raise RuntimeError(f"binds: {simulator.bound()}")


async def acks_stored(db: Database) -> int:
    async with db.sessions() as session:
        count = await session.execute(
            select(func.count()).select_from(StoredEvent).where(StoredEvent.event_type == "ack")
        )
        return int(count.scalar_one())


async def load(
    simulator: Simulator,
    db: Database,
    web_urls: list[str],
    account: str,
    conversations: list[tuple[str, str]],
    messages: int,
    concurrency: int,
) -> tuple[float, float, float]:
    """Sends ``messages`` PUTs; returns seconds until the last PUT's answer, the last
    submit_sm and the last stored ack."""
    todo = iter(range(messages))
    clients = [
        httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), timeout=120)
        for _ in web_urls
    ]
    targets = itertools.cycle(range(len(web_urls)))

    async def client(web: int) -> None:
        http, base = clients[web], web_urls[web]
        for n in todo:
            conv, token = conversations[n % len(conversations)]
            url = f"{base}/api/v1/go/http_api_nostream/{conv}/messages.json"
            body = {"to_addr": f"2782{n:07d}", "content": TEXT}
            response = await http.put(url, json=body, auth=(account, token))
            response.raise_for_status()

    started = time.perf_counter()
    sending = asyncio.gather(*(client(next(targets)) for _ in range(concurrency)))
    put_done: list[float] = []
    sending.add_done_callback(lambda _: put_done.append(time.perf_counter()))
    submitted_at: float | None = None
    last, last_change = (-1, -1), time.perf_counter()
    try:
        while True:
            now = time.perf_counter()
            submits = await asyncio.to_thread(simulator.submits)
            acks = await acks_stored(db)
            if (submits, acks) != last:
                last, last_change = (submits, acks), now
            elif now - last_change > STALL_SECONDS:
                raise RuntimeError(f"no progress for {STALL_SECONDS} s: {submits=} {acks=}")
            if submitted_at is None and submits >= messages:
                submitted_at = now
            if acks >= messages:
                break
            await asyncio.sleep(0.05)
        await sending
    finally:
        for http in clients:
            await http.aclose()
    assert submitted_at is not None
    return put_done[0] - started, submitted_at - started, time.perf_counter() - started


def base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VUMIGO_")}
    env.update(
        VUMIGO_DATA_DIR=str(data_dir),
        VUMIGO_HTTP_API_CONCURRENCY_LIMIT=os.environ.get("SCALE_LIMIT", "1000"),
    )
    return env


async def run_shape(
    simulator: Simulator,
    db_url: str,
    env: dict[str, str],
    workdir: Path,
    processes: int,
    messages: int,
    concurrency: int,
) -> Result:
    """``processes`` 0: the embedded shape."""
    simulator.reset()
    env = {**env, "VUMIGO_DATABASE_URL": db_url}
    subprocess.run([VUMIGO, "migrate"], env=env, check=True, capture_output=True)
    db = Database(db_url)
    account, conversations = await seed(db, simulator.port)
    running = Processes(env, workdir)
    try:
        if processes == 0:
            running.start_web("serve", ["serve"])
        else:
            for n in range(processes):
                running.start_web(f"web-{n}", ["worker", "--role", "web"])
                for role in ROLES:
                    running.start_engine(f"{role}-{n}", role)
        await asyncio.to_thread(running.wait_ready)
        await asyncio.to_thread(wait_bound, simulator)
        put, submitted, acked = await load(
            simulator, db, running.web_urls, account, conversations, messages, concurrency
        )
    finally:
        running.stop()
        await db.dispose()
    shape = "embedded" if processes == 0 else f"distributed x{processes}"
    return Result(shape, max(processes, 1), messages, put, submitted, acked)


async def run_all(args: argparse.Namespace, simulator: Simulator, tmp: Path) -> list[Result]:
    results = []
    sqlite = tmp / "embedded"
    sqlite.mkdir()
    embedded_url = f"sqlite+aiosqlite:///{sqlite}/vumigo.db"
    warm = tmp / "warm"
    warm.mkdir()
    # A short warm-up, so the first measured shape does not pay for cold caches.
    await run_shape(simulator, f"sqlite+aiosqlite:///{warm}/v.db", base_env(warm), warm, 0, 200, 10)
    results.append(
        await run_shape(
            simulator,
            embedded_url,
            base_env(sqlite),
            sqlite,
            0,
            args.messages,
            args.concurrency,
        )
    )
    print(f"  {results[-1].shape}: {results[-1].acked_rate:.0f} msg/s", flush=True)
    with private_services(tmp / "services") as (postgres_url, amqp_url):
        for scale in args.scales:
            workdir = tmp / f"x{scale}"
            workdir.mkdir()
            db_url = await create_database(postgres_url, f"scale_{scale}_{uuid.uuid4().hex[:6]}")
            env = base_env(workdir)
            env.update(VUMIGO_BROKER_URL=amqp_url, VUMIGO_BROKER_PREFIX=f"scale{scale}.")
            results.append(
                await run_shape(
                    simulator, db_url, env, workdir, scale, args.messages, args.concurrency
                )
            )
            print(f"  {results[-1].shape}: {results[-1].acked_rate:.0f} msg/s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--scales", default="1,2,4", help="processes per role, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    args.scales = [int(part) for part in args.scales.split(",") if part.strip()]
    simulator = Simulator()
    tmp = Path(tempfile.mkdtemp(prefix="vumigo-scale-"))
    tmp.chmod(0o755)  # PostgreSQL's server runs as its own user and must reach its folder
    try:
        results = asyncio.run(run_all(args, simulator, tmp))
    finally:
        simulator.close()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
        else:
            print(f"work folder: {tmp}")
    base = results[0]
    header = (
        f"{'shape':<16}{'processes':>10}{'messages':>9}{'PUT/s':>8}{'submit/s':>10}"
        f"{'acked/s':>9}{'x embedded':>12}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        count = 1 if result.shape == "embedded" else result.processes * (1 + len(ROLES))
        print(
            f"{result.shape:<16}{count:>10}{result.messages:>9}{result.put_rate:>8.0f}"
            f"{result.submit_rate:>10.0f}{result.acked_rate:>9.0f}"
            f"{result.acked_rate / base.acked_rate:>12.2f}"
        )
    print("Rates from the first PUT: PUT/s until the last PUT was answered, submit/s until the")
    print("simulator had every submit_sm, acked/s until every ack was stored. processes: all")
    print(f"of the shape's platform processes; the machine has {os.cpu_count()} CPUs.")


if __name__ == "__main__":
    main()
