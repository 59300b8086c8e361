"""A 10,000-message group send over SMPP while a dispatcher, the app worker running the send and
the transports process are each killed (SIGKILL) and restarted.

At the end every recipient has one stored, sent message; the SMSC was given every one of them,
and none again once its ack was stored (a message the SMSC accepted but whose ack died with the
transports process may go twice: the SMSC's later id is the one its ack carries); every message
has one ack and the batches' counters agree.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.apps.helpers import ask, give_groups, make_contacts, make_group, task_of
from tests.support.cluster import (
    Cluster,
    MakeCluster,
    batch_counters,
    stored_events,
    stored_messages,
)
from tests.support.factories import hold_tag, link, make_account, make_conversation, make_pool
from tests.transports.smpp.smpp_harness import Simulator
from tests.transports.test_smpp_transport import smpp_meta
from vumigo.apps.bulk_message.window import progress
from vumigo.db.engine import Database
from vumigo.db.models import BulkRecipient, ScheduledTask
from vumigo.message import Event, from_json

TOTAL = 10_000
TAG = "12345"
CONVERSATION_TYPE = "bulk_message"

pytestmark = pytest.mark.slow


def submitted(simulator: Simulator) -> int:
    stats = httpx.get(simulator.control_url + "/stats", timeout=10).json()
    return int(stats["submit_sm"])


async def seed(db: Database, smsc_port: int) -> tuple[str, str]:
    """An account whose group message goes to TOTAL contacts over an SMPP tag."""
    account, _ = await make_account(db)
    # No receipts: the ack is what this test follows, and receipts would double the traffic.
    await make_pool(db, "smpp", [TAG], smpp_meta(smsc_port, window=20, registered_delivery=0))
    await hold_tag(db, account, "smpp", TAG)
    conv = await make_conversation(db, account, CONVERSATION_TYPE)
    connector = f"CONVERSATION:{CONVERSATION_TYPE}:{conv}"
    await link(db, account, connector, f"TRANSPORT_TAG:smpp:{TAG}")
    await link(db, account, f"TRANSPORT_TAG:smpp:{TAG}", connector)
    group = await make_group(db, account, "everyone")
    numbers = [f"2783{n:07d}" for n in range(TOTAL)]
    await make_contacts(db, account, [{"msisdn": number} for number in numbers], group)
    await give_groups(db, account, conv, [group])
    return account, conv


async def task_holder(cluster: Cluster, db: Database, task_id: str) -> str:
    """The name of the process running the task (its lease names the process id)."""
    task = await task_of(db, task_id)
    assert task is not None and task.locked_by, task
    pid = int(task.locked_by.split(":")[-2])  # host:pid:nonce
    [name] = [name for name, proc in cluster.procs.items() if proc.pid == pid]
    return name


async def test_bulk_send_survives_killed_workers(
    own_simulator: Simulator, make_cluster: MakeCluster
) -> None:
    simulator = own_simulator
    cluster = make_cluster()
    db = Database(cluster.db_url)
    try:
        account, conv = await seed(db, simulator.smpp_port)
        cluster.start_all()
        started = time.monotonic()
        task = await ask(db, conv, "bulk_send", {"message": "Water off on Friday", "window": 400})

        async def reached(count: int) -> int:
            return await cluster.wait_for(lambda: _at_least(simulator, count), timeout=120)

        await reached(1500)
        cluster.kill("dispatcher-1")
        cluster.restart("dispatcher-1", wait=False)

        await reached(4000)
        holder = await task_holder(cluster, db, task)
        cluster.kill(holder)
        cluster.restart(holder, wait=False)

        await reached(6500)
        cluster.kill("transports")
        cluster.restart("transports", wait=False)

        async def finished() -> bool:
            found = await task_of(db, task)
            return found is not None and found.status == "done"

        await cluster.wait_for(finished, timeout=240)

        async def all_acked() -> dict[str, Any] | None:
            async with db.sessions() as session:
                summary = await progress(session, task)
            return summary if summary and summary["acked"] == TOTAL else None

        summary = await cluster.wait_for(all_acked, timeout=120)
        elapsed = time.monotonic() - started
        await check_store(db, account, conv, task, summary)
        await check_smsc(db, simulator)
        print(f"\n{TOTAL} messages through 3 kills in {elapsed:.1f} s")
    finally:
        await db.dispose()


async def _at_least(simulator: Simulator, count: int) -> int:
    done = submitted(simulator)
    return done if done >= count else 0


async def check_store(
    db: Database, account: str, conv: str, task: str, summary: dict[str, Any]
) -> None:
    assert (summary["total"], summary["queued"], summary["sent"]) == (TOTAL, TOTAL, TOTAL)
    outbound = await stored_messages(db, "outbound")
    assert len(outbound) == TOTAL
    assert Counter(m.state for m in outbound) == {"sent": TOTAL}
    assert len({m.to_addr for m in outbound}) == TOTAL
    async with db.sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    select(BulkRecipient.status, func.count())
                    .where(BulkRecipient.send_id == task)
                    .group_by(BulkRecipient.status)
                )
            ).all()
        )
        task_row = await session.get(ScheduledTask, task)
    assert statuses == {"acked": TOTAL}
    assert task_row is not None and task_row.result is not None
    assert task_row.result["queued"] == TOTAL
    acks = await stored_events(db, "ack")
    assert len(acks) == TOTAL
    assert len({a.user_message_id for a in acks}) == TOTAL
    assert {a.state for a in acks} == {"dispatched"}
    for kind, key in (("conversation", conv), ("tag", f"smpp:{TAG}")):
        counts = await batch_counters(db, kind, key, account)
        wanted = {"outbound": TOTAL, "sent": TOTAL, "ack": TOTAL, "outbound_uniques": TOTAL}
        assert {name: counts.get(name) for name in wanted} == wanted, (kind, counts)


async def check_smsc(db: Database, simulator: Simulator) -> None:
    """Every message reached the SMSC; none was submitted again after the submit whose ack
    was stored (that one is the last submit of its message)."""
    submits = httpx.get(simulator.control_url + "/submits", timeout=60).json()
    by_destination: defaultdict[str, list[str]] = defaultdict(list)
    for entry in submits:  # in the order the SMSC took them
        by_destination[entry["destination"]].append(entry["message_id"])
    outbound = {m.message_id: m.to_addr for m in await stored_messages(db, "outbound")}
    assert set(by_destination) == set(outbound.values())
    late = []
    for row in await stored_events(db, "ack"):
        ack = from_json(row.payload)
        assert isinstance(ack, Event)
        smsc_ids = by_destination[outbound[ack.user_message_id]]
        if smsc_ids[-1] != ack.sent_message_id:
            late.append((ack.user_message_id, smsc_ids, ack.sent_message_id))
    assert late == []
    again = sum(1 for ids in by_destination.values() if len(ids) > 1)
    print(f"\n{again} message(s) submitted twice (answered by the SMSC, ack not yet stored)")
