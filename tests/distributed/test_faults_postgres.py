"""PostgreSQL stopped for 10 seconds during inbound traffic (a server of this test's own).

While it is down the web process answers 503 with a JSON reason, never 500, and the workers
keep their deliveries rather than dead-lettering them; once it is back, every message that was
answered 200 (before, during or after) is stored, handled (pushed to the account's receiver)
and, for sends, delivered.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.cluster import (
    MakeCluster,
    pushing_to,
    shared_api_channel,
    stored_events,
    stored_messages,
)
from tests.support.http_api import HttpApiSetup, push_receiver
from tests.support.private_servers import PrivatePostgres
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade

OUTAGE = 10.0
pytestmark = pytest.mark.slow


@dataclass
class Traffic:
    """Requests made in a loop on threads of their own, with every answer kept."""

    answers: list[tuple[str, float, int, Any]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def run(self, kind: str, request: Callable[[httpx.Client, int], httpx.Response]) -> None:
        def loop() -> None:
            with httpx.Client(timeout=60) as client:
                for n in itertools.count():
                    if self.stopping.is_set():
                        return
                    try:
                        response = request(client, n)
                    except httpx.HTTPError as exc:
                        self.answers.append((kind, time.monotonic(), 0, repr(exc)))
                        continue
                    self.answers.append(
                        (kind, time.monotonic(), response.status_code, _body(response))
                    )
                    time.sleep(0.05)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(90)

    def of(self, kind: str, status: int | None = None) -> list[Any]:
        return [body for k, _, code, body in self.answers if k == kind and status in (None, code)]


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


async def test_database_outage_answers_503_and_loses_nothing(
    own_postgres: PrivatePostgres, make_cluster: MakeCluster
) -> None:
    # (In this order, so the cluster stops before its database does.)
    postgres = own_postgres
    db = Database(postgres.url)
    try:
        await upgrade(db)
        with push_receiver() as receiver:
            s = await shared_api_channel(db, **pushing_to(receiver))
            cluster = make_cluster(db_url=postgres.url)
            cluster.start_all()
            traffic = Traffic()
            for lane in range(2):
                traffic.run("inbound", phone_sender(cluster.url, s, lane))
            traffic.run("send", api_sender(cluster.url, s))
            await asyncio.sleep(3)
            postgres.stop()
            down = time.monotonic()
            await asyncio.sleep(OUTAGE)
            postgres.start()
            up = time.monotonic()
            await asyncio.sleep(5)
            traffic.stop()
            await check_answers(traffic, down, up)
            await check_handled(cluster, db, traffic, receiver)
    finally:
        await db.dispose()


def phone_sender(base: str, s: HttpApiSetup, lane: int) -> Callable[[httpx.Client, int], Any]:
    def send(client: httpx.Client, n: int) -> httpx.Response:
        return client.post(
            s.phone_url(base),
            json={"from_addr": f"+2782{lane}{n:06d}", "content": f"in {lane}/{n}", "wait": 0},
            headers={"Authorization": f"Bearer {s.account_token}"},
        )

    return send


def api_sender(base: str, s: HttpApiSetup) -> Callable[[httpx.Client, int], Any]:
    def send(client: httpx.Client, n: int) -> httpx.Response:
        content = {"to_addr": f"+2783{n:07d}", "content": f"out {n}"}
        return client.put(s.api_url(base), auth=s.auth, json=content)

    return send


async def check_answers(traffic: Traffic, down: float, up: float) -> None:
    statuses = Counter((kind, code) for kind, _, code, _ in traffic.answers)
    assert {code for _, code in statuses} <= {200, 503}, statuses
    for kind in ("inbound", "send"):
        assert statuses[(kind, 503)] > 0, statuses  # the outage was seen
        assert all(
            isinstance(body, dict) and body.get("success") is False and body.get("reason")
            for body in traffic.of(kind, 503)
        ), traffic.of(kind, 503)[:3]
        # Served before the outage, and again once the database was back.
        times = [at for k, at, code, _ in traffic.answers if k == kind and code == 200]
        assert any(at < down for at in times), statuses
        assert any(at > up for at in times), statuses


async def check_handled(cluster: Any, db: Database, traffic: Traffic, receiver: Any) -> None:
    inbound = {body["message_id"] for body in traffic.of("inbound", 200)}
    sent = {body["message_id"] for body in traffic.of("send", 200)}

    async def all_handled() -> bool:
        stored = {m.message_id: m.state for m in await stored_messages(db)}
        pushed = {body["message_id"] for body in receiver.bodies("/messages")}
        return (
            all(stored.get(i) == "processed" for i in inbound)
            and inbound <= pushed
            and all(stored.get(i) == "sent" for i in sent)
        )

    await cluster.wait_for(all_handled, timeout=90)
    acks = Counter(e.user_message_id for e in await stored_events(db, "ack"))
    assert all(acks[i] == 1 for i in sent)
