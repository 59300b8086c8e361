"""RabbitMQ restarted (a server of this test's own) during a load of HTTP API sends over SMPP.

Publishes made while the broker is away wait for it, so sends are answered late rather than
refused; the consumers come back by themselves. Every send answered 200 is stored, sent and
acked once, and reached the SMSC (a few that the SMSC answered during the outage, twice).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, defaultdict

import httpx
import pytest

from tests.support.cluster import MakeCluster, stored_events, stored_messages
from tests.support.factories import hold_tag, make_account, make_pool, route_both_ways
from tests.support.http_api import HttpApiSetup, make_http_api_conversation
from tests.support.private_servers import PrivateRabbit
from tests.transports.smpp.smpp_harness import Simulator
from tests.transports.test_smpp_transport import smpp_meta
from vumigo.db.engine import Database
from vumigo.message import Event, from_json

CLIENTS = 4
WINDOW = 10  # the SMPP bind's default window of unanswered submits
TAG = "12345"
pytestmark = pytest.mark.slow


async def seed(db: Database, smsc_port: int) -> HttpApiSetup:
    """An http_api_nostream conversation routed both ways to an SMPP tag (no receipts)."""
    account, account_token = await make_account(db)
    await make_pool(db, "smpp", [TAG], smpp_meta(smsc_port, registered_delivery=0))
    await hold_tag(db, account, "smpp", TAG)
    kind = "http_api_nostream"
    conv, token = await make_http_api_conversation(db, account, kind)
    await route_both_ways(db, account, "smpp", TAG, f"CONVERSATION:{kind}:{conv}")
    return HttpApiSetup(account, account_token, conv, token, kind, pool="smpp", tag=TAG)


class Load:
    """Clients sending one PUT after another until stopped; every answer kept."""

    def __init__(self, base: str, s: HttpApiSetup) -> None:
        self.base, self.setup = base, s
        self.answers: list[tuple[int, dict[str, object] | str]] = []
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(CLIENTS)
        ]
        for thread in self.threads:
            thread.start()

    def _client(self, lane: int) -> None:
        with httpx.Client(timeout=120) as client:
            n = 0
            while not self.stopping.is_set():
                body = {"to_addr": f"2782{lane}{n:06d}", "content": f"load {lane}/{n}"}
                response = client.put(
                    self.setup.api_url(self.base), auth=self.setup.auth, json=body
                )
                try:
                    self.answers.append((response.status_code, response.json()))
                except ValueError:
                    self.answers.append((response.status_code, response.text))
                n += 1

    def ok(self) -> int:
        return sum(1 for status, _ in self.answers if status == 200)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(150)


async def test_broker_restart_loses_and_repeats_nothing(
    own_rabbit: PrivateRabbit, own_simulator: Simulator, make_cluster: MakeCluster
) -> None:
    # (In this order, so the cluster stops before its broker and its SMSC do.)
    rabbit = own_rabbit
    cluster = make_cluster(amqp_url=rabbit.url)
    db = Database(cluster.db_url)
    try:
        s = await seed(db, own_simulator.smpp_port)
        cluster.start_all()
        load = Load(cluster.url, s)
        await cluster.wait_for(lambda: _answered(load, 40), timeout=120)
        before = load.ok()
        rabbit.stop()
        await asyncio.sleep(1)
        rabbit.start()
        restarted = time.monotonic()
        target = load.ok() + 40
        await cluster.wait_for(lambda: _answered(load, target), timeout=180)
        load.stop()
        answered = time.monotonic() - restarted
        statuses = Counter(status for status, _ in load.answers)
        assert set(statuses) == {200}, (statuses, [a for a in load.answers if a[0] != 200][:3])
        sent = {str(body["message_id"]): str(body["content"]) for _, body in load.answers}  # type: ignore[index]
        assert len(sent) > before

        async def all_sent() -> bool:
            states = {m.message_id: m.state for m in await stored_messages(db, "outbound")}
            return all(states.get(i) == "sent" for i in sent)

        await cluster.wait_for(all_sent, timeout=120)
        acks = Counter(e.user_message_id for e in await stored_events(db, "ack"))
        assert {i: acks[i] for i in sent if acks[i] != 1} == {}
        await check_smsc(db, own_simulator, set(sent))
        print(f"\n{len(sent)} sends, {answered:.1f} s to 40 more after the restart")
    finally:
        await db.dispose()


async def check_smsc(db: Database, simulator: Simulator, sent: set[str]) -> None:
    """Every send reached the SMSC. A submit the SMSC answered while the broker was away, before
    its ack could be published and stored, may be made again when the transport resumes (at
    least once, never lost); which of the two acks is stored then depends on which was
    published first, so the order can't be checked here. Such repeats are few: at most the
    submits in flight when the broker went away (the bind's window)."""
    submits = httpx.get(simulator.control_url + "/submits", timeout=30).json()
    by_destination: defaultdict[str, list[str]] = defaultdict(list)
    for entry in submits:  # in the order the SMSC took them
        by_destination[entry["destination"]].append(entry["message_id"])
    to_addr = {m.message_id: m.to_addr for m in await stored_messages(db, "outbound")}
    assert [i for i in sent if not by_destination[to_addr[i]]] == []
    late = []
    for row in await stored_events(db, "ack"):
        ack = from_json(row.payload)
        assert isinstance(ack, Event)
        if ack.user_message_id in sent:
            smsc_ids = by_destination[to_addr[ack.user_message_id]]
            if smsc_ids[-1] != ack.sent_message_id:
                late.append((ack.user_message_id, smsc_ids, ack.sent_message_id))
    print(f"\n{len(late)} submit(s) made again after the SMSC had answered: {late}")
    assert len(late) <= WINDOW


async def _answered(load: Load, count: int) -> bool:
    return load.ok() >= count
