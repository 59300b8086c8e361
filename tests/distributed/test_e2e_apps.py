"""The ready-made apps in the distributed mode, two copies of the app workers sharing the work.

Opting out by texting STOP, then a group message that skips the opted-out contact and reaches
everyone else once; a keyword router choosing between two static_reply conversations, with the
acks counted back along its hops.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from tests.apps.helpers import (
    ask,
    behind_router,
    conversation,
    everything_sent_on,
    give_groups,
    make_contacts,
    make_group,
    make_router,
    phone,
    router_on_tag,
    task_of,
)
from tests.support.cluster import Cluster, batch_counters, shared_dev_channel
from vumigo.apps.bulk_message.window import progress
from vumigo.db.engine import Database
from vumigo.db.models import OptOut

GROUP_SIZE = 20


async def test_stop_then_group_message_skips_the_opted_out(
    cluster: Cluster, cluster_db: Database
) -> None:
    account, token, [tag] = await shared_dev_channel(cluster_db)
    conv = await conversation(cluster_db, account, "bulk_message", {}, tag)
    numbers = [f"+2782555{n:04d}" for n in range(GROUP_SIZE)]
    group = await make_group(cluster_db, account, "everyone")
    await make_contacts(cluster_db, account, [{"msisdn": n} for n in numbers], group)
    await give_groups(cluster_db, account, conv, [group])

    stop = phone(cluster.url, token, tag, numbers[0], "STOP", wait=20)
    assert [r["content"] for r in stop] == ["You have opted out"]
    async with cluster_db.sessions() as session:
        optouts = (await session.scalars(select(OptOut).where(OptOut.account_key == account))).all()
    assert [(o.address_type, o.address) for o in optouts] == [("msisdn", numbers[0])]

    task = await ask(cluster_db, conv, "bulk_send", {"message": "Water off on Friday"})

    async def acked() -> dict[str, object] | None:
        async with cluster_db.sessions() as session:
            summary = await progress(session, task)
        return summary if summary is not None and summary["acked"] == GROUP_SIZE - 1 else None

    summary = await cluster.wait_for(acked)
    assert (summary["total"], summary["queued"], summary["failed"]) == (GROUP_SIZE - 1,) * 2 + (0,)
    done = await task_of(cluster_db, task)
    assert done is not None and done.status == "done"

    sent = everything_sent_on(cluster.url, token, tag)
    group_messages = Counter(m["to_addr"] for m in sent if m["content"] == "Water off on Friday")
    assert group_messages == Counter(numbers[1:])
    counts = await batch_counters(cluster_db, "conversation", conv, account)
    assert (counts["outbound"], counts["ack"]) == (GROUP_SIZE - 1, GROUP_SIZE - 1)


async def test_keyword_router_picks_the_conversation(
    cluster: Cluster, cluster_db: Database
) -> None:
    account, token, [tag] = await shared_dev_channel(cluster_db)
    router = await make_router(
        cluster_db, account, "keyword", {"keyword_endpoint_mapping": {"red": "red"}}
    )
    await router_on_tag(cluster_db, account, router, "keyword", tag)
    convs = {}
    for endpoint, text in (("red", "Roses"), ("default", "Anything?")):
        conv = await conversation(cluster_db, account, "static_reply", {"reply_text": text})
        connector = f"CONVERSATION:static_reply:{conv}"
        await behind_router(cluster_db, account, router, "keyword", endpoint, connector)
        convs[endpoint] = conv

    def ask_phone(text: str) -> list[str]:
        return [r["content"] for r in phone(cluster.url, token, tag, "+27820000002", text, wait=20)]

    assert ask_phone("RED please") == ["Roses"]
    assert ask_phone("green") == ["Anything?"]

    async def acked_back() -> bool:
        red = await batch_counters(cluster_db, "conversation", convs["red"], account)
        via = await batch_counters(cluster_db, "router", router, account)
        return red.get("ack") == 1 and via.get("ack") == 2

    await cluster.wait_for(acked_back)
    via = await batch_counters(cluster_db, "router", router, account)
    assert via["inbound"] == 2
