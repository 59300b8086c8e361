"""UI page times on a big account: 100,000 contacts and 1,000,000 messages.

Workload (fixed seed, so runs compare): one account with C contacts (default 100,000), 20
conversations, 3 routers, 2 channels routed both ways, and M messages (default 1,000,000, half
received and half sent, over 30 days, from 50,000 addresses). Nine tenths of the messages are in
one "big" conversation, the rest spread over the others. Rows go straight into the store's
tables in bulk (with counters set to match), which is what a long-lived account looks like.
Each contact has a name, surname, number and an ``extras-city`` (one of five); there is a static
group of a fifth of the contacts, one of 30, and three smart groups (``extras-city:CPT``, two
fields, and a suffix wildcard that matches almost nobody and so reads every contact).

Each page is fetched R times (default 7) by a signed-in client over ASGI in the same process,
so the figure is the server's time to build the page (no network); the table shows the median
and the slowest. The export line streams the big conversation's received messages as CSV.

Baseline, in the same run: the conversation's counts by ``COUNT(*)`` over its messages (what a
store without incremental counters would do), against the counters the pages read.

    .venv/bin/python bench/ui.py [--messages 1000000] [--contacts 100000] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select, update

from vumigo.accounts.apps import enable_apps
from vumigo.accounts.users import create_user
from vumigo.channels.acquisition import acquire_tag
from vumigo.channels.tagpools import assign_pool, create_pool
from vumigo.config import Settings
from vumigo.contacts.groups import create_group
from vumigo.conversations.routers import create_router
from vumigo.conversations.service import create_conversation, start_conversation
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade
from vumigo.db.models import (
    BatchCounter,
    Contact,
    ContactField,
    GroupMember,
    MessageBatch,
    StoredMessage,
    User,
)
from vumigo.routing.table import add_entry
from vumigo.runtime import Platform
from vumigo.store.batches import batch_key
from vumigo.store.counters import counters
from vumigo.web.app import create_app

EMAIL, PASSWORD = "bench@example.com", "bench password"
CHUNK = 20_000
ADDRESSES = 50_000
WORDS = ["hello", "yes", "no", "stop", "help", "menu", "balance", "info", "thanks", "quiz"]


async def seed_account(db: Database, conversations: int) -> tuple[str, list[str]]:
    async with db.transaction() as s:
        account = (await create_user(s, EMAIL, PASSWORD, name="Bench")).key
        # An operator too, so the operator pages are measured on this database.
        await s.execute(update(User).where(User.email == EMAIL).values(is_admin=True))
        await enable_apps(s, account)
        meta = {"transport_type": "dev", "transport_name": "dev", "display_name": "Dev"}
        await create_pool(s, "dev", [str(10000 + n) for n in range(10)], meta)
        await assign_pool(s, account, "dev", None)
        keys = []
        for n in range(conversations):
            conv = await create_conversation(s, account, "static_reply", f"Conversation {n:02d}")
            await start_conversation(s, account, conv.key)
            keys.append(conv.key)
        for n in range(3):
            await create_router(s, account, "keyword", f"Router {n}")
        for n in range(2):
            tag = await acquire_tag(s, account, "dev")
            channel, conn = f"TRANSPORT_TAG:dev:{tag.tag}", f"CONVERSATION:static_reply:{keys[n]}"
            await add_entry(s, account, channel, "default", conn, "default")
            await add_entry(s, account, conn, "default", channel, "default")
    return account, keys


CITIES = ["CPT", "JHB", "DBN", "PTA", "PE"]


async def seed_contacts(db: Database, account: str, count: int, rng: random.Random) -> list[str]:
    """Contacts with a name, surname, number and an ``extras-city``; returns their keys."""
    created = datetime.now(UTC)
    keys: list[str] = []
    for start in range(0, count, CHUNK):
        rows, side = [], []
        for n in range(start, min(count, start + CHUNK)):
            key = uuid.UUID(int=rng.getrandbits(128)).hex
            city = rng.choice(CITIES)
            rows.append(
                {
                    "key": key,
                    "account_key": account,
                    "name": rng.choice(["Thandi", "Sipho", "Anna", "Musa"]),
                    "surname": rng.choice(["Nkosi", "Smith", "Zulu"]),
                    "msisdn": f"+2782{n:07d}",
                    "extra": {"city": city},
                    "subscription": {},
                    "created_at": created,
                }
            )
            side.append(
                {
                    "contact_key": key,
                    "account_key": account,
                    "kind": "extras",
                    "name": "city",
                    "value": city,
                }
            )
            keys.append(key)
        async with db.transaction() as s:
            await s.execute(insert(Contact), rows)
            await s.execute(insert(ContactField), side)
    return keys


async def seed_groups(
    db: Database, account: str, contacts: list[str], rng: random.Random
) -> dict[str, str]:
    """A static group of a fifth of the contacts, a small one, and three smart groups."""
    async with db.transaction() as s:
        big = await create_group(s, account, "Big static group")
        small = await create_group(s, account, "Small static group")
        groups = {"big": big.key, "small": small.key}
        for name, query in (
            ("city", "extras-city:CPT"),
            ("name", "name:Thandi AND surname:Zulu"),
            ("rare", "msisdn:*99999"),
        ):
            groups[name] = (await create_group(s, account, f"Smart {name}", query)).key
    members = rng.sample(contacts, len(contacts) // 5)
    small_members = rng.sample(contacts, min(len(contacts), 30))
    rows = [{"group_key": big.key, "contact_key": key} for key in members]
    rows += [{"group_key": small.key, "contact_key": key} for key in small_members]
    for start in range(0, len(rows), CHUNK):
        async with db.transaction() as s:
            await s.execute(insert(GroupMember), rows[start : start + CHUNK])
    return groups


def contact_pages(contacts: list[str], groups: dict[str, str]) -> list[tuple[str, str]]:
    middle = sorted(contacts)[len(contacts) // 2] if contacts else ""
    person = contacts[len(contacts) // 3] if contacts else ""
    return [
        ("contacts list", "/contacts/"),
        ("contacts list, page in middle", f"/contacts/?after={middle}"),
        ("contacts list, page back", f"/contacts/?before={middle}"),
        ("contacts search, bare name", "/contacts/?q=Thandi"),
        ("contacts search, number", "/contacts/?q=%2B27820012345"),
        ("contacts search, extras", "/contacts/?q=extras-city%3ACPT"),
        ("contacts search, two fields", "/contacts/?q=name%3AAnna+AND+surname%3ASmith"),
        ("contacts search, suffix wildcard", "/contacts/?q=msisdn%3A*99999"),
        ("contacts search, no match", "/contacts/?q=name%3ANobody"),
        ("group list", "/contacts/groups/"),
        ("group count, smart extras", f"/contacts/groups/{groups['city']}/count"),
        ("group count, smart rare", f"/contacts/groups/{groups['rare']}/count"),
        ("group page, static 1/5", f"/contacts/groups/{groups['big']}/"),
        ("group page, static 30", f"/contacts/groups/{groups['small']}/"),
        ("group page, smart extras", f"/contacts/groups/{groups['city']}/"),
        ("group page, smart two fields", f"/contacts/groups/{groups['name']}/"),
        ("group page, smart rare", f"/contacts/groups/{groups['rare']}/"),
        ("person page", f"/contacts/people/{person}/"),
        ("person edit form", f"/contacts/people/{person}/edit"),
        ("import page", "/contacts/import/"),
    ]


def _payload(message_id: str, direction: str, addr: str, content: str, when: datetime) -> str:
    tag_side, phone_side = "10000", addr
    to_addr, from_addr = (
        (tag_side, phone_side) if direction == "inbound" else (phone_side, tag_side)
    )
    return json.dumps(
        {
            "message_version": "20110921",
            "message_type": "user_message",
            "timestamp": when.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "routing_metadata": {},
            "helper_metadata": {"tag": {"tag": ["dev", "10000"]}},
            "message_id": message_id,
            "to_addr": to_addr,
            "from_addr": from_addr,
            "transport_name": "dev",
            "transport_type": "sms",
            "in_reply_to": None,
            "session_event": None,
            "content": content,
            "group": None,
            "provider": None,
            "to_addr_type": None,
            "from_addr_type": None,
            "transport_metadata": {},
        },
        separators=(",", ":"),  # as the store writes it
    )


async def seed_messages(
    db: Database, account: str, keys: list[str], count: int, rng: random.Random
) -> dict[str, int]:
    """Bulk rows in messages and message_batches, oldest first; counters set to match."""
    async with db.transaction() as s:
        batches = {key: await batch_key(s, "conversation", key, account) for key in keys}
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / max(count, 1)
    tally: dict[tuple[str, str], int] = {}
    per_conv: dict[str, int] = {}
    for first in range(0, count, CHUNK):
        messages, members = [], []
        for n in range(first, min(count, first + CHUNK)):
            key = keys[0] if rng.random() < 0.9 else rng.choice(keys[1:])
            direction = "inbound" if n % 2 == 0 else "outbound"
            when = start + step * n
            addr = f"+2782{rng.randrange(ADDRESSES):07d}"
            content = f"{rng.choice(WORDS)} {n}"
            message_id = uuid.UUID(int=rng.getrandbits(128)).hex
            messages.append(
                {
                    "message_id": message_id,
                    "direction": direction,
                    "state": "processed" if direction == "inbound" else "sent",
                    "account_key": account,
                    "payload": _payload(message_id, direction, addr, content, when),
                    "from_addr": addr if direction == "inbound" else "10000",
                    "to_addr": "10000" if direction == "inbound" else addr,
                    "content": content,
                    "transport_name": "dev",
                    "timestamp": when,
                }
            )
            batch = batches[key]
            members.append(
                {
                    "batch_key": batch,
                    "message_id": message_id,
                    "direction": direction,
                    "timestamp": when,
                }
            )
            tally[(batch, direction)] = tally.get((batch, direction), 0) + 1
            per_conv[key] = per_conv.get(key, 0) + 1
        async with db.transaction() as s:
            await s.execute(insert(StoredMessage), messages)
            await s.execute(insert(MessageBatch), members)
    rows = []
    for (batch, direction), value in tally.items():
        rows.append({"batch_key": batch, "name": direction, "value": value})
        rows.append(
            {"batch_key": batch, "name": f"{direction}_uniques", "value": min(value, ADDRESSES)}
        )
        if direction == "outbound":
            rows += [
                {"batch_key": batch, "name": name, "value": value}
                for name in ("sent", "ack", "delivery_report", "delivery_report_delivered")
            ]
    async with db.transaction() as s:
        await s.execute(insert(BatchCounter), rows)
    return per_conv


async def timed(client: httpx.AsyncClient, url: str, runs: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        response = await client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        size = len(response.content)
    return times, size


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="vumigo-bench-ui-"))
    url = f"sqlite+aiosqlite:///{folder / 'vumigo.db'}"
    db = Database(url)
    await upgrade(db)
    rng = random.Random(20261128)
    began = time.perf_counter()
    account, keys = await seed_account(db, 20)
    contact_keys = await seed_contacts(db, account, args.contacts, rng)
    groups = await seed_groups(db, account, contact_keys, rng)
    per_conv = await seed_messages(db, account, keys, args.messages, rng)
    seeded = time.perf_counter() - began
    big = keys[0]
    async with db.sessions() as s:
        big_batch = await batch_key(s, "conversation", big, account)
        low, high = (
            await s.execute(
                select(func.min(MessageBatch.seq), func.max(MessageBatch.seq)).where(
                    MessageBatch.batch_key == big_batch
                )
            )
        ).one()
        middle = (low + high) // 2
    await db.dispose()
    print(
        f"seeded {args.contacts:,} contacts and {args.messages:,} messages "
        f"({per_conv[big]:,} in the big conversation) in {seeded:.0f} s"
    )

    platform = Platform(Settings(data_dir=folder, database_url=url, roles=[]))
    await platform.start()
    app = create_app(platform)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        page = await client.get("/signin")
        token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
        signed = await client.post(
            "/signin", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
        )
        assert signed.status_code == 303
        conv = f"/conversations/{big}"
        pages = [
            ("dashboard", "/"),
            ("conversation list", "/conversations/"),
            ("conversation list, filtered", "/conversations/?query=0&status=running"),
            ("conversation (900k msgs)", f"{conv}/"),
            ("messages, newest 20 in", f"{conv}/messages?direction=inbound"),
            ("messages, newest 20 out", f"{conv}/messages?direction=outbound"),
            ("messages, page at middle", f"{conv}/messages?direction=inbound&before={middle}"),
            ("messages, search address", f"{conv}/messages?direction=inbound&q=%2B27820012345"),
            ("messages, search common word", f"{conv}/messages?direction=inbound&q=hello"),
            ("messages, search rare text", f"{conv}/messages?direction=inbound&q=zzz"),
            ("export form", f"{conv}/export"),
            ("export CSV, last day", f"{conv}/export?format=csv&direction=inbound&date_preset=1d"),
            ("routers", "/routers/"),
            ("channels", "/channels/"),
            ("acquire channel form", "/channels/new"),
            ("routing", "/routing/"),
            ("phone", "/phone/"),
            ("account", "/account/"),
            *contact_pages(contact_keys, groups),
            ("billing", "/billing/"),
            ("operator: overview", "/admin/"),
            ("operator: accounts", "/admin/accounts/"),
            ("operator: the account", f"/admin/accounts/{account}/"),
            ("operator: users", "/admin/users/"),
            ("operator: tag pools", "/admin/pools/"),
            ("operator: billing", "/billing/admin/"),
        ]
        print(f"\n{'page':34} {'median ms':>10} {'max ms':>9} {'bytes':>9}")
        for name, path in pages:
            runs = 1 if "rare" in name else args.runs
            times, size = await timed(client, path, runs)
            print(f"{name:34} {statistics.median(times):10.1f} {max(times):9.1f} {size:9,}")
        began = time.perf_counter()
        full = await client.get(f"{conv}/export?format=csv&direction=inbound")
        seconds = time.perf_counter() - began
        lines = full.text.count("\n") - 1
        print(f"\nexport CSV, all received in the big conversation: {lines:,} rows in "
              f"{seconds:.1f} s ({lines / seconds:,.0f} rows/s)")  # fmt: skip

    async with platform.db.sessions() as s:
        began = time.perf_counter()
        for _ in range(args.runs):
            await counters(s, big_batch)
        fast = (time.perf_counter() - began) / args.runs * 1000
        began = time.perf_counter()
        for _ in range(args.runs):
            await s.execute(
                select(MessageBatch.direction, func.count())
                .where(MessageBatch.batch_key == big_batch)
                .group_by(MessageBatch.direction)
            )
        slow = (time.perf_counter() - began) / args.runs * 1000
    print(
        f"conversation counts: counters {fast:.2f} ms, COUNT(*) baseline {slow:.1f} ms "
        f"(ratio {slow / fast:,.0f}x)"
    )
    await platform.stop()
    if args.keep:
        print(f"database kept in {folder}")
    else:
        shutil.rmtree(folder)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    asyncio.run(main(parser.parse_args()))
