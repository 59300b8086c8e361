"""The SMPP transport in the distributed mode, against the SMSC simulator (npm ``smpp``).

The transports process binds to the simulator; the account's system sends through the HTTP API
(web process), the simulator acks and sends a delivery receipt, and its MO reaches the
conversation and is pushed to the account's receiver; a reply goes out over the same bind.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.cluster import Cluster, stored_messages
from tests.support.factories import hold_tag, make_account, make_pool, route_both_ways
from tests.support.http_api import HttpApiSetup, make_http_api_conversation, push_receiver
from tests.transports.smpp.smpp_harness import Smsc
from tests.transports.test_smpp_transport import smpp_meta
from vumigo.db.engine import Database

TAG = "12345"
PHONE = "27820000001"


async def test_submit_receipt_mo_and_reply(
    cluster: Cluster, cluster_db: Database, smsc: Smsc
) -> None:
    with push_receiver() as receiver:
        account, account_token = await make_account(cluster_db)
        await make_pool(cluster_db, "smpp", [TAG], smpp_meta(smsc.port))
        await hold_tag(cluster_db, account, "smpp", TAG)
        kind = "http_api_nostream"
        conv, token = await make_http_api_conversation(
            cluster_db,
            account,
            kind,
            push_message_url=receiver.url("/messages"),
            push_event_url=receiver.url("/events"),
        )
        await route_both_ways(cluster_db, account, "smpp", TAG, f"CONVERSATION:{kind}:{conv}")
        s = HttpApiSetup(account, account_token, conv, token, kind, pool="smpp", tag=TAG)

        sent = httpx.put(
            s.api_url(cluster.url), auth=s.auth, json={"to_addr": PHONE, "content": "hello"}
        )
        assert sent.status_code == 200, sent.text
        sent_id = sent.json()["message_id"]
        # The transports process picks the new pool up within its refresh interval.
        assert receiver.wait_for(2, "/events", timeout=30), cluster.logs()

        assert await smsc.mo(source=PHONE, destination=TAG, text="hi", timeout_ms=20000) == [0]
        assert receiver.wait_for(1, "/messages", timeout=30), cluster.logs()
        [mo] = receiver.bodies("/messages")
        assert (mo["from_addr"], mo["to_addr"], mo["content"]) == (PHONE, TAG, "hi")

        reply = httpx.put(
            s.api_url(cluster.url),
            auth=s.auth,
            json={"in_reply_to": mo["message_id"], "content": "yo"},
        )
        assert reply.status_code == 200, reply.text
        reply_id = reply.json()["message_id"]
        assert receiver.wait_for(4, "/events", timeout=30), receiver.bodies("/events")
        events = receiver.bodies("/events")

    received = await smsc.received()
    assert [(r["source"], r["destination"], r["text"]) for r in received] == [
        (TAG, PHONE, "hello"),
        (TAG, PHONE, "yo"),
    ]
    by_message: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_message.setdefault(event["user_message_id"], []).append(event)
    for message_id, smsc_ids in (
        (sent_id, received[0]["message_ids"]),
        (reply_id, received[1]["message_ids"]),
    ):
        kinds = sorted((e["event_type"], e.get("delivery_status")) for e in by_message[message_id])
        assert kinds == [("ack", None), ("delivery_report", "delivered")]
        [ack] = [e for e in by_message[message_id] if e["event_type"] == "ack"]
        assert [ack["sent_message_id"]] == smsc_ids
    stored = {m.message_id: m for m in await stored_messages(cluster_db)}
    assert (stored[sent_id].state, stored[reply_id].state) == ("sent", "sent")
    assert stored[mo["message_id"]].state == "processed"
