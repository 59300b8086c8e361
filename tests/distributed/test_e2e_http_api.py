"""The HTTP API in the distributed mode: the web process takes the request, other processes
route, send and push.

A send by PUT, an inbound message pushed to the account's receiver, a reply by PUT that reaches
the phone, and the events of both sends pushed back; go-http's sender against the same API.
"""

from __future__ import annotations

import httpx
from go_http.send import HttpApiSender

from tests.apps.helpers import everything_sent_on
from tests.support.cluster import Cluster, pushing_to, shared_api_channel, stored_messages
from tests.support.http_api import push_receiver
from vumigo.db.engine import Database

PHONE = "+27820001000"


async def test_send_receive_reply_and_events_by_push(
    cluster: Cluster, cluster_db: Database
) -> None:
    with push_receiver() as receiver:
        s = await shared_api_channel(cluster_db, **pushing_to(receiver))
        sent = httpx.put(
            s.api_url(cluster.url), auth=s.auth, json={"to_addr": PHONE, "content": "news"}
        )
        assert sent.status_code == 200, sent.text
        assert sent.headers["content-type"] == "application/json; charset=utf-8"
        sent_id = sent.json()["message_id"]

        inbound = httpx.post(
            s.phone_url(cluster.url),
            json={"from_addr": PHONE, "content": "tell me more", "wait": 0},
            headers={"Authorization": f"Bearer {s.account_token}"},
        )
        assert inbound.status_code == 200, inbound.text
        inbound_id = inbound.json()["message_id"]
        assert receiver.wait_for(1, "/messages", timeout=30), cluster.logs()
        [pushed] = receiver.bodies("/messages")
        assert (pushed["message_id"], pushed["content"]) == (inbound_id, "tell me more")

        reply = httpx.put(
            s.api_url(cluster.url),
            auth=s.auth,
            json={"in_reply_to": inbound_id, "content": "here it is"},
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["to_addr"] == PHONE
        reply_id = reply.json()["message_id"]

        # An ack and a delivery report for each of the two sends.
        assert receiver.wait_for(4, "/events", timeout=30), receiver.bodies("/events")
        events = receiver.bodies("/events")

    assert sorted((e["user_message_id"], e["event_type"]) for e in events) == sorted(
        [(i, t) for i in (sent_id, reply_id) for t in ("ack", "delivery_report")]
    )
    on_phone = everything_sent_on(cluster.url, s.account_token, s.tag)
    assert [(m["message_id"], m["content"]) for m in on_phone] == [
        (sent_id, "news"),
        (reply_id, "here it is"),
    ]
    stored = {m.message_id: m for m in await stored_messages(cluster_db)}
    assert stored[inbound_id].state == "processed"
    assert stored[reply_id].in_reply_to == inbound_id
    assert {stored[i].state for i in (sent_id, reply_id)} == {"sent"}


async def test_go_http_sender(cluster: Cluster, cluster_db: Database) -> None:
    with push_receiver() as receiver:
        s = await shared_api_channel(cluster_db, **pushing_to(receiver))
        client = HttpApiSender(
            s.account, s.conv, s.token, api_url=f"{cluster.url}/api/v1/go/{s.conversation_type}"
        )
        msg = client.send_text(PHONE, "from go-http")
        assert (msg["to_addr"], msg["content"]) == (PHONE, "from go-http")
        assert receiver.wait_for(2, "/events", timeout=30), cluster.logs()
        events = receiver.bodies("/events")
    assert {(e["user_message_id"], e["event_type"]) for e in events} == {
        (msg["message_id"], "ack"),
        (msg["message_id"], "delivery_report"),
    }
