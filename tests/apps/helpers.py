"""Shared set-up for the ready-made apps' tests: contacts in bulk, groups, an engine, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from tests.support.factories import hold_tag, link, make_account, make_conversation, make_pool
from vumigo.apps.actions import request_action
from vumigo.config import Settings
from vumigo.contacts.groups import create_group, set_conversation_groups
from vumigo.contacts.service import side_field_rows
from vumigo.db.base import new_key, utcnow
from vumigo.db.engine import Database
from vumigo.db.models import (
    BulkRecipient,
    Contact,
    ContactField,
    GroupMember,
    OptOut,
    Router,
    ScheduledTask,
    StoredMessage,
)
from vumigo.engine.core import Engine


async def wait_for(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, every: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(every)


async def make_contacts(
    db: Database,
    account: str,
    rows: Sequence[dict[str, Any]],
    group: str | None = None,
    chunk: int = 5000,
) -> list[str]:
    """Contacts straight into the tables (with the indexed extras), optionally in a group."""
    keys: list[str] = []
    base = utcnow()
    for start in range(0, len(rows), chunk):
        contacts, fields, members = [], [], []
        for n, row in enumerate(rows[start : start + chunk], start):
            key = new_key()
            keys.append(key)
            extra = dict(row.get("extra") or {})
            contacts.append(
                {
                    "key": key,
                    "account_key": account,
                    "msisdn": row.get("msisdn"),
                    "name": row.get("name"),
                    "extra": extra,
                    "subscription": {},
                    "created_at": base + timedelta(microseconds=n),
                }
            )
            fields.extend(side_field_rows(account, key, extra, {}))
            if group is not None:
                members.append({"group_key": group, "contact_key": key})
        async with db.transaction() as session:
            await session.execute(insert(Contact), contacts)
            if fields:
                await session.execute(insert(ContactField), fields)
            if members:
                await session.execute(insert(GroupMember), members)
    return keys


async def make_group(db: Database, account: str, name: str, query: str | None = None) -> str:
    async with db.transaction() as session:
        return (await create_group(session, account, name, query)).key


async def give_groups(db: Database, account: str, conv: str, groups: list[str]) -> None:
    async with db.transaction() as session:
        await set_conversation_groups(session, account, conv, groups)


async def opt_out(db: Database, account: str, msisdn: str) -> None:
    async with db.transaction() as session:
        session.add(OptOut(account_key=account, address_type="msisdn", address=msisdn))


async def ask(
    db: Database, conv: str, action: str, params: dict[str, Any] | None = None, **kwargs: Any
) -> str:
    async with db.transaction() as session:
        task = await request_action(session, conv, action, params, confirmed=True, **kwargs)
        return task.id


async def task_of(db: Database, task_id: str) -> ScheduledTask | None:
    async with db.sessions() as session:
        return await session.get(ScheduledTask, task_id)


async def outbound_to(db: Database, account: str | None = None) -> list[StoredMessage]:
    async with db.sessions() as session:
        query = select(StoredMessage).where(StoredMessage.direction == "outbound")
        if account is not None:
            query = query.where(StoredMessage.account_key == account)
        return list((await session.scalars(query.order_by(StoredMessage.timestamp))).all())


async def recipient_count(db: Database, send_id: str, status: str | None = None) -> int:
    async with db.sessions() as session:
        query = select(func.count()).where(BulkRecipient.send_id == send_id)
        if status is not None:
            query = query.where(BulkRecipient.status == status)
        return int((await session.execute(query)).scalar_one())


async def channel(db: Database, tags: list[str]) -> tuple[str, str]:
    """An account holding dev tags; returns (account key, bearer token)."""
    account, token = await make_account(db)
    await make_pool(db, "dev", tags)
    for tag in tags:
        await hold_tag(db, account, "dev", tag)
    return account, token


async def conversation(
    db: Database, account: str, kind: str, config: dict[str, Any], tag: str | None = None
) -> str:
    """A running conversation, routed both ways to a dev tag when one is given."""
    conv = await make_conversation(db, account, kind, config)
    if tag is not None:
        connector = f"CONVERSATION:{kind}:{conv}"
        await link(db, account, f"TRANSPORT_TAG:dev:{tag}", connector)
        await link(db, account, connector, f"TRANSPORT_TAG:dev:{tag}")
    return conv


async def make_router(
    db: Database, account: str, router_type: str, config: dict[str, Any], status: str = "running"
) -> str:
    async with db.transaction() as session:
        router = Router(
            account_key=account,
            router_type=router_type,
            name=f"{router_type} test",
            config=config,
            status=status,
        )
        session.add(router)
        await session.flush()
        return router.key


async def behind_router(
    db: Database, account: str, router: str, router_type: str, endpoint: str, conv_connector: str
) -> None:
    """Links a router's conversation-side endpoint and a conversation, both ways."""
    side = f"ROUTER:{router_type}:{router}:OUTBOUND"
    await link(db, account, side, conv_connector, source_ep=endpoint)
    await link(db, account, conv_connector, side, target_ep=endpoint)


async def router_on_tag(
    db: Database, account: str, router: str, router_type: str, tag: str
) -> None:
    side = f"ROUTER:{router_type}:{router}:INBOUND"
    await link(db, account, f"TRANSPORT_TAG:dev:{tag}", side)
    await link(db, account, side, f"TRANSPORT_TAG:dev:{tag}")


@asynccontextmanager
async def running_engine(settings: Settings) -> AsyncIterator[Engine]:
    """The whole engine in this event loop (no web server): quicker than a live platform."""
    db = Database(settings.resolved_database_url)
    engine = Engine(settings, db)
    await engine.start(settings.roles)
    try:
        yield engine
    finally:
        await engine.stop()
        await db.dispose()


def phone(
    url: str,
    token: str,
    tag: str,
    from_addr: str,
    content: str | None = None,
    *,
    session_event: str | None = None,
    transport_type: str = "sms",
    wait: float = 5.0,
) -> list[dict[str, Any]]:
    """Sends from the developer phone; returns the replies to ``from_addr``."""
    response = httpx.post(
        f"{url}/api/v1/dev/dev/{tag}/messages",
        json={
            "from_addr": from_addr,
            "content": content,
            "session_event": session_event,
            "transport_type": transport_type,
            "wait": wait,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=wait + 10,
    )
    assert response.status_code == 200, response.text
    replies: list[dict[str, Any]] = response.json()["replies"]
    return replies


def sent_on(
    url: str, token: str, tag: str, *, after: str = "0", wait: float = 0.0
) -> tuple[list[dict[str, Any]], str]:
    """What the platform sent on a dev tag after the cursor (a page of up to 100)."""
    response = httpx.get(
        f"{url}/api/v1/dev/dev/{tag}/outbound",
        params={"after": after, "wait": wait},
        headers={"Authorization": f"Bearer {token}"},
        timeout=wait + 10,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return list(body["messages"]), str(body["cursor"])


def everything_sent_on(url: str, token: str, tag: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = "0"
    while True:
        page, cursor = sent_on(url, token, tag, after=cursor)
        if not page:
            return found
        found.extend(page)
