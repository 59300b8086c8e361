"""HTTP face of the developer phone: send as a handset, read what the platform sent back.

- ``POST /api/v1/dev/<pool>/<tag>/messages``: a message from ``from_addr`` to the tag; answers
  with the message id and the replies to ``from_addr`` produced within ``wait`` seconds.
- ``GET /api/v1/dev/<pool>/<tag>/outbound?to_addr=&after=&wait=``: long-poll for everything
  sent on the tag after the cursor (bulk sends, pushes), optionally to one address.

Authenticated with a bearer token of the account that holds the tag; anything else is a 404
so that tags of other accounts cannot be discovered.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vumigo.accounts.tokens import account_for_token
from vumigo.message import UserMessage
from vumigo.runtime import Platform
from vumigo.text import storable
from vumigo.transports.dev_outbox import latest_seq, sent_after, wait_for_sent

MAX_WAIT = 30.0
SETTLE = 0.05  # after the first reply, how long to wait for more


class PhoneMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_addr: str = Field(min_length=1, max_length=255)
    content: str | None = Field(default=None, max_length=10_000)
    session_event: Literal["new", "resume", "close"] | None = None
    transport_type: Literal["sms", "ussd"] = "sms"
    wait: float = Field(default=2.0, ge=0, le=MAX_WAIT)

    @field_validator("from_addr", "content")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        if value is not None and not storable(value):
            raise ValueError("contains a NUL character or invalid Unicode")
        return value


class PhoneReply(BaseModel):
    message_id: str
    replies: list[dict[str, Any]]


class OutboundPage(BaseModel):
    messages: list[dict[str, Any]]
    cursor: str


def install(app: FastAPI, platform: Platform) -> None:
    router = APIRouter(prefix="/api/v1/dev", tags=["developer phone"])
    db = platform.db

    async def account_tag(pool: str, tag: str, authorization: str | None) -> str:
        token = ""
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        async with db.sessions() as session:
            account = await account_for_token(session, token)
        if account is None:
            raise HTTPException(401, "Authentication required: Authorization: Bearer <token>")
        owner = await platform.engine.lookups.tag_owner(pool, tag)
        meta = await platform.engine.lookups.pool_meta(pool) or {}
        if owner != account or meta.get("transport_type") != "dev":
            raise HTTPException(404, f"No developer phone channel {pool}:{tag}")
        return account

    @router.post("/{pool}/{tag}/messages", response_model=PhoneReply)
    async def send(
        pool: str, tag: str, body: PhoneMessage, authorization: str | None = Header(None)
    ) -> PhoneReply:
        account = await account_tag(pool, tag, authorization)
        meta = await platform.engine.lookups.pool_meta(pool) or {}
        transport = str(meta.get("transport_name") or "dev")
        start = await latest_seq(db)
        msg = UserMessage(
            to_addr=tag,
            from_addr=body.from_addr,
            content=body.content,
            session_event=body.session_event,
            transport_name=transport,
            transport_type=body.transport_type,
            helper_metadata={"tag": {"tag": [pool, tag]}},
        )
        await platform.engine.accept_inbound(msg)
        replies = await wait_for_sent(
            platform, account, pool, tag, start, body.from_addr, body.wait
        )
        if replies:
            await asyncio.sleep(SETTLE)
            replies = await sent_after(db, account, pool, tag, start, body.from_addr)
        return PhoneReply(message_id=msg.message_id, replies=[payload for _, payload in replies])

    @router.get("/{pool}/{tag}/outbound", response_model=OutboundPage)
    async def outbound(
        pool: str,
        tag: str,
        to_addr: str | None = Query(None, max_length=255),
        after: str = Query("0", max_length=20),
        wait: float = Query(0.0, ge=0, le=MAX_WAIT),
        authorization: str | None = Header(None),
    ) -> OutboundPage:
        account = await account_tag(pool, tag, authorization)
        if not after.isdigit():
            raise HTTPException(400, "after must be a cursor returned by this endpoint")
        cursor = int(after)
        found = await wait_for_sent(platform, account, pool, tag, cursor, to_addr, wait)
        if found:
            cursor = found[-1][0]
        return OutboundPage(messages=[payload for _, payload in found], cursor=str(cursor))

    app.include_router(router)
