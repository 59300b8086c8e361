"""Billing end to end on a live platform: messages charged both ways, the cutoff holding a new
message and closing a session, and held messages going out after a top-up."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.billing.conftest import set_price
from tests.support.factories import hold_tag, make_conversation, route_both_ways
from tests.support.http_api import HttpApiSetup, http_api_setup, use_test_env
from tests.support.live import live_server
from vumigo.billing import credit, policy
from vumigo.billing.held import OUT_OF_CREDIT
from vumigo.billing.step import OUT_OF_CREDIT_REPLY
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import CreditTransaction, StoredMessage, Tag

D = Decimal


async def wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := await check()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return result


async def balance(db: Database, account: str) -> Decimal:
    async with db.sessions() as session:
        return (await credit.credit_state(session, account)).balance


async def state_of(db: Database, message_id: str) -> tuple[str, str | None] | None:
    async with db.sessions() as session:
        row = await session.get(StoredMessage, message_id, populate_existing=True)
        return None if row is None else (row.state, row.failure)


def send_via_api(s: HttpApiSetup, base: str, content: str) -> dict[str, Any]:
    response = httpx.put(
        s.api_url(base),
        auth=s.auth,
        content=json.dumps({"to_addr": "+27831112222", "content": content}),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def phone(s: HttpApiSetup, base: str, tag: str, content: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/api/v1/dev/dev/{tag}/messages",
        json={"from_addr": "+27820000001", "content": content, "wait": 5},
        headers={"Authorization": f"Bearer {s.account_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_billing_through_the_dispatcher(
    sqlite_db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite_db
    use_test_env(monkeypatch, VUMIGO_BILLING_SWEEP_SECONDS="0.2")
    s = await http_api_setup(db, "http_api_nostream")
    # A second tag of the developer phone, answered by a static reply (a session's last word).
    async with db.transaction() as session:
        session.add(Tag(pool="dev", tag="10002"))
    await hold_tag(db, s.account, "dev", "10002")
    reply_conv = await make_conversation(db, s.account, "static_reply", {"reply_text": "Thanks!"})
    await route_both_ways(db, s.account, "dev", "10002", f"CONVERSATION:static_reply:{reply_conv}")

    await set_price(db, "inbound", "1")  # 10 credits
    await set_price(db, "outbound", "2")  # 20 credits
    async with db.transaction() as session:
        await policy.save_policy(session, (10, 20, 50), cutoff=True)
        await credit.top_up(session, s.account, "100")

    with live_server(Settings(data_dir=tmp_path / "var", database_url=str(db.url))) as server:
        base = server.url
        # Charged on the way out, once.
        sent = send_via_api(s, base, "first")
        assert await wait_for(lambda: _is(db, sent["message_id"], "sent"))
        assert await wait_for(lambda: _balance_is(db, s.account, D(80)))
        # And on the way in, before any routing.
        phone(s, base, "10001", "hello")
        assert await wait_for(lambda: _balance_is(db, s.account, D(70)))

        async with db.transaction() as session:
            await credit.change_balance(session, s.account, D(-65))  # 5% of the top-up left
        await asyncio.sleep(1.2)  # the dispatcher's view of the balance is at most 1 s old

        # A session in progress is closed, saying why, and the close is not charged.
        inbound_reply = phone(s, base, "10002", "question")
        [closing] = inbound_reply["replies"]
        assert (closing["content"], closing["session_event"]) == (OUT_OF_CREDIT_REPLY, "close")
        assert await wait_for(lambda: _balance_is(db, s.account, D(-5)))  # inbound still billed

        # A new message is held, visibly, and not charged.
        held = send_via_api(s, base, "while out of credit")
        assert await wait_for(lambda: _is(db, held["message_id"], "held"))
        assert await state_of(db, held["message_id"]) == ("held", OUT_OF_CREDIT)
        assert await balance(db, s.account) == D(-5)

        # After a top-up (here, as `vumigo credit add` would) it goes out, and is charged.
        async with db.transaction() as session:
            await credit.top_up(session, s.account, "1000")
        assert await wait_for(lambda: _is(db, held["message_id"], "sent"))
        assert await wait_for(lambda: _balance_is(db, s.account, D(975)))

    async with db.sessions() as session:
        rows = (await session.execute(select(CreditTransaction))).scalars().all()
    charged = sorted((r.direction, r.credit_amount) for r in rows if r.kind == "message")
    assert charged == [
        ("inbound", D(-10)),
        ("inbound", D(-10)),
        ("outbound", D(-20)),
        ("outbound", D(-20)),
    ]


async def _is(db: Database, message_id: str, state: str) -> bool:
    found = await state_of(db, message_id)
    return found is not None and found[0] == state


async def _balance_is(db: Database, account: str, want: Decimal) -> bool:
    return await balance(db, account) == want
