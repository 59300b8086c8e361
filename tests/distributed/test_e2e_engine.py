"""The engine's round trip in the distributed mode: every role in a process of its own.

A message from the developer phone goes web → dispatcher → app worker → dispatcher →
transports (dev) and back; the conversation's reply reaches the phone within the request, and
the transport's ack and delivery report are counted on the conversation's batch.
"""

from __future__ import annotations

from tests.apps.helpers import conversation, phone
from tests.support.cluster import Cluster, batch_counters, shared_dev_channel, stored_messages
from vumigo.db.engine import Database


async def test_round_trip_is_answered_acked_and_reported(
    cluster: Cluster, cluster_db: Database
) -> None:
    account, token, [tag] = await shared_dev_channel(cluster_db)
    conv = await conversation(cluster_db, account, "static_reply", {"reply_text": "got it"}, tag)

    [reply] = phone(cluster.url, token, tag, "+27820000001", "hello", wait=20)
    assert reply["content"] == "got it"
    assert reply["to_addr"] == "+27820000001"

    async def counted() -> dict[str, int]:
        counts = await batch_counters(cluster_db, "conversation", conv, account)
        return counts if counts.get("delivery_report_delivered") == 1 else {}

    counts = await cluster.wait_for(counted)
    assert {name: counts.get(name) for name in ("inbound", "outbound", "sent", "ack")} == {
        "inbound": 1,
        "outbound": 1,
        "sent": 1,
        "ack": 1,
    }
    mine = [m for m in await stored_messages(cluster_db) if m.account_key == account]
    states = sorted((m.direction, m.state) for m in mine)
    assert states == [("inbound", "processed"), ("outbound", "sent")]
    [inbound] = [m for m in mine if m.direction == "inbound"]
    assert reply["in_reply_to"] == inbound.message_id
