"""Transports that must be single: each runs in one transports process at a time, the
processes share them out, and when a holder is killed (SIGKILL) another takes its binds over.

Two SMPP pools, each its own transport (its own bind to the SMSC simulator, npm ``smpp``), and
two transports processes, which run one each; after one is killed the other holds both and
sends what comes next. The messages come
from a dispatcher platform in the test's own process, over the cluster's RabbitMQ.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import database_url
from tests.distributed.conftest import MakeCluster
from tests.support.cluster import Cluster, stored_messages
from tests.support.factories import hold_tag, make_account, make_pool, route_both_ways
from tests.support.http_api import make_http_api_conversation
from tests.transports.smpp.smpp_harness import Smsc
from tests.transports.test_smpp_transport import smpp_meta
from vumigo.apps.scheduler import AppsSettings, Scheduler
from vumigo.bus.amqp import AmqpBus
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.engine.core import Engine
from vumigo.message import UserMessage
from vumigo.runtime import Platform

POOLS = {"smpp-a": ("smpp_a", "5550001"), "smpp-b": ("smpp_b", "5550002")}
PHONE = "27820000009"


def serving(cluster: Cluster, name: str) -> set[str]:
    """The transports ``name`` runs now, from its log (started minus handed over)."""
    held: set[str] = set()
    for line in cluster.log_path(name).read_text(errors="replace").splitlines():
        for transport, _ in POOLS.values():
            if f"transport {transport} (smpp) serving" in line:
                held.add(transport)
            elif f"transport {transport}: handing it over" in line:
                held.discard(transport)
    return held


async def seed(db: Database, smsc_port: int) -> dict[str, str]:
    """Each pool's tag routed to a conversation of its own; returns pool → conversation."""
    account, _ = await make_account(db)
    conversations = {}
    for pool, (transport, tag) in POOLS.items():
        meta = {**smpp_meta(smsc_port), "transport_name": transport}
        await make_pool(db, pool, [tag], meta)
        await hold_tag(db, account, pool, tag)
        kind = "http_api_nostream"
        conv, _ = await make_http_api_conversation(db, account, kind)
        await route_both_ways(db, account, pool, tag, f"CONVERSATION:{kind}:{conv}")
        conversations[pool] = conv
    return conversations


async def send(platform: Platform, conversation_key: str, content: str) -> None:
    """Sends as the HTTP API does: stored, then queued for the dispatcher."""
    conversation = await platform.engine.lookups.conversation(conversation_key)
    assert conversation is not None
    await platform.engine.apps.send(conversation, [UserMessage.send(PHONE, content)])


@pytest.fixture
def cluster(make_cluster: MakeCluster) -> Cluster:
    """Processes of this test's own, on a database of its own (made outside the event loop)."""
    return make_cluster()


async def test_a_killed_holders_binds_are_taken_over(cluster: Cluster, smsc: Smsc) -> None:
    settings = Settings(
        database_url=cluster.db_url,
        broker_url=cluster.amqp_url,
        broker_prefix=cluster.prefix,
        roles=["dispatcher"],
    )
    dispatcher = Platform(settings)
    try:
        conversations = await seed(dispatcher.db, smsc.port)
        await dispatcher.start()
        await run_takeover(cluster, smsc, dispatcher, conversations)
    finally:
        await dispatcher.stop()


async def run_takeover(
    cluster: Cluster, smsc: Smsc, dispatcher: Platform, conversations: dict[str, str]
) -> None:
    everything = {transport for transport, _ in POOLS.values()}
    # Two processes share the two transports out, one each (whichever took both at first
    # hands one over once it sees the other).
    cluster.start_all([("transports-1", "transports"), ("transports-2", "transports")])

    async def shared_out() -> bool:
        first, second = serving(cluster, "transports-1"), serving(cluster, "transports-2")
        binds: int = (await smsc.stats())["binds"]["transceiver"]
        shared = len(first) == len(second) == 1 and first | second == everything
        return shared and binds >= len(POOLS)

    await cluster.wait_for(shared_out, 30)
    for pool, conv in conversations.items():
        await send(dispatcher, conv, f"before {pool}")

    async def received(count: int) -> list[dict[str, Any]]:
        got = await smsc.received()
        return got if len(got) >= count else []

    await cluster.wait_for(lambda: received(2), 30)

    async def answered() -> bool:
        # The SMSC's acks stored: a holder killed before that would have them sent again.
        sent = await stored_messages(dispatcher.db, "outbound")
        return len(sent) == 2 and all(m.state == "sent" for m in sent)

    await cluster.wait_for(answered, 30)

    # SIGKILL: no unbind, no hand-over; PostgreSQL drops the dead process's leases.
    binds_before = (await smsc.stats())["binds"]["transceiver"]
    killed_at = time.monotonic()
    cluster.kill("transports-1")

    async def second_holds_both() -> bool:
        binds: int = (await smsc.stats())["binds"]["transceiver"]
        return serving(cluster, "transports-2") == everything and binds > binds_before

    await cluster.wait_for(second_holds_both, 20, every=0.1)
    took = time.monotonic() - killed_at
    assert took < 10, f"takeover took {took:.1f} s"

    for pool, conv in conversations.items():
        await send(dispatcher, conv, f"after {pool}")
    got = await cluster.wait_for(lambda: received(4), 30)
    assert sorted((r["source"], r["text"]) for r in got) == sorted(
        (tag, f"{when} {pool}") for pool, (_, tag) in POOLS.items() for when in ("before", "after")
    )


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url("postgres", request, tmp_path)


async def test_one_scheduler_at_a_time_does_the_housekeeping(pg_url: str) -> None:
    """The timers and sweeps of the scheduler: held by one process, taken over when it goes."""
    settings = Settings(database_url=pg_url, broker_url="amqp://127.0.0.1:9/")
    schedulers, databases = [], []
    for _ in range(2):
        db = Database(pg_url)
        databases.append(db)
        # A RabbitMQ bus (never started) is what makes an engine share its work.
        engine = Engine(settings, db, AmqpBus(settings.broker_url or ""))
        schedulers.append(Scheduler(engine, AppsSettings()))
    first, second = schedulers
    try:
        assert await first._housekeeper()
        assert not await second._housekeeper()
        assert await first._housekeeper()  # still held
        await first.stop()  # a process that stops (or dies) frees it
        assert await second._housekeeper()
        assert not await first._housekeeper()
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
        for db in databases:
            await db.dispose()
