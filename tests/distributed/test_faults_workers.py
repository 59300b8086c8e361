"""One copy of the dispatcher and one of the app workers killed (SIGKILL) during inbound traffic.

The other copies take over what the dead ones held (RabbitMQ hands their unacknowledged
deliveries back), so every message is handled once and answered once, and the answer is sent.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.apps.helpers import conversation
from tests.support.cluster import Cluster, shared_dev_channel, stored_messages
from vumigo.db.engine import Database

MESSAGES = 80


def post(url: str, token: str, tag: str, sender: str) -> str:
    response = httpx.post(
        f"{url}/api/v1/dev/dev/{tag}/messages",
        json={"from_addr": sender, "content": "hello", "wait": 0},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["message_id"])


async def test_killed_dispatcher_and_app_worker_lose_and_repeat_nothing(
    cluster: Cluster, cluster_db: Database
) -> None:
    account, token, [tag] = await shared_dev_channel(cluster_db)
    await conversation(cluster_db, account, "static_reply", {"reply_text": "got it"}, tag)

    async def handled() -> int:
        mine = [m for m in await stored_messages(cluster_db) if m.account_key == account]
        return sum(1 for m in mine if m.direction == "inbound" and m.state == "processed")

    with ThreadPoolExecutor(8) as pool:
        pending = [
            pool.submit(post, cluster.url, token, tag, f"+2784{n:07d}") for n in range(MESSAGES)
        ]
        # Mid-traffic: some messages handled, the rest on their way.
        await cluster.wait_for(handled, timeout=60, every=0.05)
        cluster.kill("dispatcher-1")
        cluster.kill("apps-1")
        at_kill = await handled()
        ids = [future.result() for future in pending]
    assert at_kill < MESSAGES  # the kills did land mid-traffic

    async def answered() -> bool:
        mine = [m for m in await stored_messages(cluster_db) if m.account_key == account]
        inbound = {m.message_id: m.state for m in mine if m.direction == "inbound"}
        replies = Counter(m.in_reply_to for m in mine if m.direction == "outbound")
        sent = {m.in_reply_to for m in mine if m.direction == "outbound" and m.state == "sent"}
        return all(inbound.get(i) == "processed" and replies[i] >= 1 and i in sent for i in ids)

    try:
        await cluster.wait_for(answered, timeout=90)
        mine = [m for m in await stored_messages(cluster_db) if m.account_key == account]
        replies = Counter(m.in_reply_to for m in mine if m.direction == "outbound")
        assert {i: replies[i] for i in ids if replies[i] != 1} == {}
        assert len(mine) == 2 * MESSAGES
    finally:
        cluster.restart("dispatcher-1", wait=False)
        cluster.restart("apps-1", wait=False)
