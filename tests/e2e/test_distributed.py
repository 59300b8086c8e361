"""The distributed mode: each role in its own process over RabbitMQ and PostgreSQL.

Two copies of the dispatcher and of the app workers share the work; killing one copy of each
in the middle of traffic loses nothing and handles nothing twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import database_url
from tests.support.factories import (
    hold_tag,
    make_account,
    make_conversation,
    make_pool,
    route_both_ways,
)
from tests.support.live import free_port
from vumigo.db.engine import Database
from vumigo.db.models import StoredMessage

AMQP_URL = os.environ.get("VUMIGO_TEST_AMQP_URL")
POSTGRES_URL = os.environ.get("VUMIGO_TEST_POSTGRES_URL")
VUMIGO = str(Path(sys.executable).with_name("vumigo"))

pytestmark = pytest.mark.skipif(
    not (AMQP_URL and POSTGRES_URL),
    reason="the distributed mode needs the RabbitMQ and PostgreSQL that `make test` starts",
)


class Cluster:
    """The platform as separate worker processes sharing one database and one broker."""

    def __init__(self, db_url: str, workdir: Path) -> None:
        assert AMQP_URL is not None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VUMIGO_")}
        self.env.update(
            VUMIGO_DATABASE_URL=db_url,
            VUMIGO_BROKER_URL=AMQP_URL,
            VUMIGO_BROKER_PREFIX=f"d{uuid.uuid4().hex[:8]}.",
            VUMIGO_DATA_DIR=str(workdir),
        )
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, name: str, role: str) -> None:
        args = [VUMIGO, "worker", "--role", role]
        if role == "web":
            args += ["--port", str(self.port)]
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        self.procs[name] = subprocess.Popen(args, env=self.env, stdout=log, stderr=log)

    def wait_for_web(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the web worker did not come up:\n" + self.logs())

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )


@pytest.fixture
def cluster_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url("postgres", request, tmp_path)


@pytest.fixture
def cluster(cluster_db: str, tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(cluster_db, tmp_path)
    yield running
    running.stop()


async def seed(db_url: str) -> str:
    db = Database(db_url)
    try:
        account, token = await make_account(db)
        await make_pool(db, "dev", ["10001"])
        await hold_tag(db, account, "dev", "10001")
        conv = await make_conversation(db, account, "static_reply", {"reply_text": "got it"})
        await route_both_ways(db, account, "dev", "10001", f"CONVERSATION:static_reply:{conv}")
        return token
    finally:
        await db.dispose()


def post(url: str, token: str, sender: str, wait: float) -> dict[str, object]:
    response = httpx.post(
        f"{url}/api/v1/dev/dev/10001/messages",
        json={"from_addr": sender, "content": "hello", "wait": wait},
        headers={"Authorization": f"Bearer {token}"},
        timeout=wait + 30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def stored(db_url: str) -> tuple[dict[str, str], Counter[str]]:
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            rows = (await session.execute(select(StoredMessage))).scalars().all()
    finally:
        await db.dispose()
    inbound = {r.message_id: r.state for r in rows if r.direction == "inbound"}
    replies = Counter(r.in_reply_to for r in rows if r.direction == "outbound" and r.in_reply_to)
    return inbound, replies


@pytest.mark.slow
async def test_roles_in_separate_processes_answer_every_message_once(
    cluster: Cluster, cluster_db: str
) -> None:
    token = await seed(cluster_db)
    cluster.start("web", "web")
    for name, role in (
        ("dispatcher-1", "dispatcher"),
        ("dispatcher-2", "dispatcher"),
        ("apps-1", "apps"),
        ("apps-2", "apps"),
        ("transports-1", "transports"),
    ):
        cluster.start(name, role)
    cluster.wait_for_web()

    # A round trip through every role, answered within the request.
    first = post(cluster.url, token, "+27820000000", wait=20)
    assert [r["content"] for r in first["replies"]] == ["got it"], cluster.logs()  # type: ignore[attr-defined, index]

    # Traffic, then one copy of the dispatcher and of the app workers dies mid-way.
    with ThreadPoolExecutor(8) as pool:
        pending = [pool.submit(post, cluster.url, token, f"+2782{n:07d}", 0) for n in range(80)]
        time.sleep(0.5)
        cluster.kill("dispatcher-1")
        cluster.kill("apps-1")
        ids = [str(f.result()["message_id"]) for f in pending]
    ids.append(str(first["message_id"]))

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        inbound, replies = await stored(cluster_db)
        if all(inbound.get(i) == "processed" and replies[i] >= 1 for i in ids):
            break
        await asyncio.sleep(0.5)
    inbound, replies = await stored(cluster_db)
    assert [i for i in ids if inbound.get(i) != "processed"] == [], cluster.logs()
    assert [i for i in ids if replies[i] != 1] == [], cluster.logs()
