"""The developer phone page: a handset in the browser on one of the account's dev-pool tags.

The page's script talks to the two JSON endpoints below with the UI session (and its CSRF
header), so no API token is needed in the browser. They go through the same engine entry
point as the developer phone API (``engine.accept_inbound``) and read replies the same way: what
the platform sent on the tag, from the tag's batch, waking on the engine's sent-notifier.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from vumigo.channels.acquisition import account_tags
from vumigo.channels.tagpools import list_pools
from vumigo.message import UserMessage
from vumigo.transports.dev_outbox import Sent, latest_seq, sent_after, wait_for_sent
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

MAX_WAIT = 25.0
SETTLE = 0.05  # after a first reply, a moment for the rest of a burst to land


class Handset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_addr: str = Field(min_length=1, max_length=64)
    content: str | None = Field(default=None, max_length=1600)
    session_event: Literal["new", "resume", "close"] | None = None
    transport_type: Literal["sms", "ussd"] = "sms"
    wait: float = Field(default=3.0, ge=0, le=MAX_WAIT)


async def dev_channels(web: Web) -> list[str]:
    """The account's tags in pools of the developer phone transport, as ``pool:tag``."""
    async with web.db.sessions() as session:
        dev_pools = {
            pool.name
            for pool in await list_pools(session)
            if pool.meta.get("transport_type") == "dev"
        }
        tags = await account_tags(session, web.account_key)
    return [f"{tag.pool}:{tag.tag}" for tag in tags if tag.pool in dev_pools]


async def _require_dev_tag(web: Web, pool: str, tag: str) -> None:
    """404 unless the signed-in account holds this tag of a developer phone pool."""
    lookups = web.platform.engine.lookups
    owner = await lookups.tag_owner(pool, tag)
    meta = await lookups.pool_meta(pool) or {}
    if owner != web.account_key or meta.get("transport_type") != "dev":
        raise HTTPException(404, f"You have no developer phone channel {pool}:{tag}")


async def _poll(
    web: Web, pool: str, tag: str, after: int, to_addr: str | None, wait: float
) -> Sent:
    return await wait_for_sent(
        web.platform, web.account_key, pool, tag, after, to_addr, wait, web.request.is_disconnected
    )


@router.get("/phone/")
async def phone(web: Page, channel: str = "") -> Response:
    channels = await dev_channels(web)
    chosen = channel if channel in channels else (channels[0] if channels else "")
    pool, _, tag = chosen.partition(":")
    return await web.page(
        "phone/phone.html",
        nav="phone",
        channels=channels,
        chosen=chosen,
        pool=pool,
        tag=tag,
        cursor=await latest_seq(web.db),
    )


@router.post("/phone/{pool}/{tag}/send")
async def send(web: Page, pool: str, tag: str, body: Handset) -> Response:
    await _require_dev_tag(web, pool, tag)
    if "\x00" in body.from_addr + (body.content or ""):
        raise HTTPException(400, "The message must not contain NUL characters")
    meta = await web.platform.engine.lookups.pool_meta(pool) or {}
    start = await latest_seq(web.db)
    msg = UserMessage(
        to_addr=tag,
        from_addr=body.from_addr,
        content=body.content,
        session_event=body.session_event,
        transport_name=str(meta.get("transport_name") or "dev"),
        transport_type=body.transport_type,
        helper_metadata={"tag": {"tag": [pool, tag]}},
    )
    await web.platform.engine.accept_inbound(msg)
    replies = await _poll(web, pool, tag, start, body.from_addr, body.wait)
    if replies:
        await asyncio.sleep(SETTLE)
        replies = await sent_after(web.db, web.account_key, pool, tag, start, body.from_addr)
    cursor = replies[-1][0] if replies else start
    return JSONResponse(
        {
            "message_id": msg.message_id,
            "replies": [payload for _, payload in replies],
            "cursor": str(cursor),
        }
    )


@router.get("/phone/{pool}/{tag}/outbound")
async def outbound(
    web: Page, pool: str, tag: str, to_addr: str = "", after: str = "0", wait: float = 0.0
) -> Response:
    await _require_dev_tag(web, pool, tag)
    start = forms.cursor(after) if after != "0" else 0
    if start is None:
        raise HTTPException(400, "after must be a cursor this endpoint returned")
    address = forms.query_text(to_addr, 64) or None
    found = await _poll(web, pool, tag, start, address, max(0.0, min(wait, MAX_WAIT)))
    cursor = found[-1][0] if found else start
    return JSONResponse({"messages": [p for _, p in found], "cursor": str(cursor)})
