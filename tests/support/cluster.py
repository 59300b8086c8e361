"""The distributed mode as real processes: one ``vumigo worker --role ...`` per role, for tests.

A ``Cluster`` shares one PostgreSQL database and one RabbitMQ (under a queue prefix of its own)
between its processes, and runs the web role on a free loopback port. Tests kill and restart
single processes, wait for conditions, and read what the platform stored.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import insert, select

from tests.apps.helpers import wait_for
from tests.support.factories import DEV_POOL_META, hold_tag, make_account, route_both_ways
from tests.support.http_api import (
    TEST_ENV,
    HttpApiSetup,
    PushReceiver,
    make_http_api_conversation,
)
from tests.support.live import free_port
from vumigo.db.engine import Database
from vumigo.db.models import StoredEvent, StoredMessage, Tag, TagPool
from vumigo.db.upsert import insert_for
from vumigo.store.batches import find_batch
from vumigo.store.counters import counters

VUMIGO = str(Path(sys.executable).with_name("vumigo"))

#: web, the transports, and two copies of the dispatcher and of the app workers.
STANDARD: tuple[tuple[str, str], ...] = (
    ("web", "web"),
    ("transports", "transports"),
    ("dispatcher-1", "dispatcher"),
    ("dispatcher-2", "dispatcher"),
    ("apps-1", "apps"),
    ("apps-2", "apps"),
)

#: What an engine worker logs once its consumers are running.
READY_LINE = b"worker running roles"

#: Quick polls and short task leases, so work moves on soon after a process is killed.
CLUSTER_ENV = {
    **TEST_ENV,
    "VUMIGO_APPS_POLL_INTERVAL": "0.5",
    "VUMIGO_APPS_TASK_LEASE": "8",
}


class Cluster:
    """The platform's roles as separate processes sharing one database and one broker."""

    def __init__(
        self,
        db_url: str,
        amqp_url: str,
        workdir: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.db_url = db_url
        self.amqp_url = amqp_url
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.prefix = f"c{uuid.uuid4().hex[:8]}."
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VUMIGO_")}
        self.env.update(CLUSTER_ENV)
        self.env.update(
            VUMIGO_DATABASE_URL=db_url,
            VUMIGO_BROKER_URL=amqp_url,
            VUMIGO_BROKER_PREFIX=self.prefix,
            VUMIGO_DATA_DIR=str(workdir / "data"),
        )
        self.env.update(env or {})
        self.port = free_port()
        self.roles: dict[str, str] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self._starts: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- processes ----------------------------------------------------------------------

    def start(self, name: str, role: str) -> None:
        """Starts (or restarts) the process ``name`` running ``role``."""
        args = [VUMIGO, "worker", "--role", role]
        if role == "web":
            args += ["--port", str(self.port)]
        self.roles[name] = role
        self._starts[name] = self._starts.get(name, 0) + 1
        if name in self._logs:
            self._logs[name].close()
        log = self._logs[name] = open(self.log_path(name), "ab")  # noqa: SIM115 (closed in stop)
        log.write(f"=== start {self._starts[name]}\n".encode())
        log.flush()
        self.procs[name] = subprocess.Popen(args, env=self.env, stdout=log, stderr=log)

    def start_all(self, processes: Iterable[tuple[str, str]] | None = None) -> None:
        """Starts the standard set of processes (or those given) and waits until all run."""
        chosen = list(STANDARD if processes is None else processes)
        for name, role in chosen:
            self.start(name, role)
        for name, _ in chosen:
            self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 120.0) -> None:
        """Waits until ``name`` serves HTTP (web) or has logged that its workers run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.logs()}")
            if self.is_ready(name):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not come up in {timeout} s:\n{self.logs()}")

    def is_ready(self, name: str) -> bool:
        if self.roles[name] == "web":
            try:
                return httpx.get(self.url + "/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        # Only this start's part of the log counts.
        text = self.log_path(name).read_bytes()
        return READY_LINE in text.rpartition(f"=== start {self._starts[name]}\n".encode())[2]

    def kill(self, name: str) -> None:
        """SIGKILL: the process gets no chance to finish or hand anything back."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def restart(self, name: str, wait: bool = True) -> None:
        """Starts a killed or stopped process again, with the same role."""
        assert self.procs[name].poll() is not None, f"{name} is still running"
        self.start(name, self.roles[name])
        if wait:
            self.wait_ready(name)

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def stop(self) -> None:
        """Stops every process (SIGTERM, then SIGKILL for any that hang)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in self._logs.values():
            log.close()

    # -- looking on -----------------------------------------------------------------------

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"--- {path.stem}\n{path.read_text(errors='replace')[-tail:]}"
            for path in sorted(self.workdir.glob("*.log"))
        )

    async def wait_for(
        self, check: Callable[[], Awaitable[Any]], timeout: float = 30.0, every: float = 0.2
    ) -> Any:
        """Polls ``check`` until it returns something truthy; fails with the logs if not."""
        result = await wait_for(check, timeout, every)
        assert result, f"timed out waiting for {check.__qualname__}: {result!r}\n{self.logs()}"
        return result


#: The ``make_cluster`` fixture: ``make_cluster(db_url=None, amqp_url=None, env=None)``.
MakeCluster = Callable[..., Cluster]


async def stored_messages(db: Database, direction: str | None = None) -> list[StoredMessage]:
    """Every stored message (of one direction, if given)."""
    async with db.sessions() as session:
        query = select(StoredMessage)
        if direction is not None:
            query = query.where(StoredMessage.direction == direction)
        return list((await session.scalars(query)).all())


async def stored_events(db: Database, event_type: str | None = None) -> list[StoredEvent]:
    async with db.sessions() as session:
        query = select(StoredEvent)
        if event_type is not None:
            query = query.where(StoredEvent.event_type == event_type)
        return list((await session.scalars(query)).all())


async def batch_counters(db: Database, kind: str, key: str, account: str) -> dict[str, int]:
    """The stored counters of a conversation's, router's or tag's batch."""
    async with db.sessions() as session:
        batch = await find_batch(session, kind, key, account)
        return await counters(session, batch) if batch else {}


async def shared_dev_channel(db: Database, count: int = 1) -> tuple[str, str, list[str]]:
    """An account holding ``count`` new tags of the developer phone's pool ``dev``, which
    several tests may share on one database; returns (account key, bearer token, tags)."""
    account, token = await make_account(db)
    tags = [f"{next(_TAG_NUMBERS)}" for _ in range(count)]
    async with db.transaction() as session:
        pool = insert_for(session, TagPool).values(name="dev", meta=dict(DEV_POOL_META))
        await session.execute(pool.on_conflict_do_nothing())
        await session.execute(insert(Tag), [{"pool": "dev", "tag": tag} for tag in tags])
    for tag in tags:
        await hold_tag(db, account, "dev", tag)
    return account, token, tags


async def shared_api_channel(db: Database, **section: Any) -> HttpApiSetup:
    """An http_api_nostream conversation routed both ways to a new developer phone tag
    (``shared_dev_channel``); ``section``: its HTTP API settings (push URLs, ...)."""
    account, account_token, [tag] = await shared_dev_channel(db)
    kind = "http_api_nostream"
    conv, token = await make_http_api_conversation(db, account, kind, **section)
    await route_both_ways(db, account, "dev", tag, f"CONVERSATION:{kind}:{conv}")
    return HttpApiSetup(account, account_token, conv, token, kind, tag=tag)


def pushing_to(receiver: PushReceiver) -> dict[str, str]:
    """HTTP API settings that push messages and events to ``receiver``."""
    return {
        "push_message_url": receiver.url("/messages"),
        "push_event_url": receiver.url("/events"),
    }


# Tags unique within a test run (and unlikely to meet an earlier run's on a kept database).
_TAG_NUMBERS = itertools.count(int(time.time() * 1000) % 10**9 * 10)
