"""Channels: the tags the account holds; acquiring one (country → pool → tag or automatic,
within the account's permissions) and releasing one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from vumigo.channels.acquisition import account_tags, acquire_tag, parse_channel, release_tag
from vumigo.channels.poolspec import meta_value
from vumigo.channels.tagpools import list_pools, pool_permissions
from vumigo.db.models import Tag
from vumigo.errors import VumigoError
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

MAX_TAG_CHOICES = 500


@dataclass(frozen=True, slots=True)
class Offer:
    """A pool the account may take a tag from now."""

    pool: str
    display_name: str
    country: str
    free: int
    held: int
    max_keys: int | None
    user_selects_tag: bool


async def offers(session: AsyncSession, account_key: str) -> list[Offer]:
    """Pools offered as the original did: permitted, below max_keys, and with free tags."""
    pools = {pool.name: pool for pool in await list_pools(session)}
    held = Counter(tag.pool for tag in await account_tags(session, account_key))
    found = []
    for grant in await pool_permissions(session, account_key):
        pool = pools.get(grant.pool)
        if pool is None or pool.free <= 0:
            continue
        max_keys = grant.max_keys or None
        if max_keys is not None and held[grant.pool] >= max_keys:
            continue
        found.append(
            Offer(
                pool=pool.name,
                display_name=str(pool.meta.get("display_name") or pool.name),
                country=str(meta_value(pool.meta, "country_name")),
                free=pool.free,
                held=held[grant.pool],
                max_keys=max_keys,
                user_selects_tag=bool(meta_value(pool.meta, "user_selects_tag")),
            )
        )
    return sorted(found, key=lambda offer: (offer.country, offer.display_name))


async def free_tags(session: AsyncSession, pool: str) -> list[str]:
    rows = await session.execute(
        select(Tag.tag)
        .where(Tag.pool == pool, Tag.owner.is_(None))
        .order_by(Tag.id)
        .limit(MAX_TAG_CHOICES)
    )
    return list(rows.scalars())


@router.get("/channels/")
async def channel_list(web: Page) -> Response:
    async with web.db.sessions() as session:
        tags = await account_tags(session, web.account_key)
        pools = {pool.name: pool.meta for pool in await list_pools(session)}
    rows = [
        {
            "pool": tag.pool,
            "tag": tag.tag,
            "channel": f"{tag.pool}:{tag.tag}",
            "name": pools.get(tag.pool, {}).get("display_name") or tag.pool,
            "country": meta_value(pools.get(tag.pool, {}), "country_name"),
            "transport": pools.get(tag.pool, {}).get("transport_type") or "",
            "acquired_at": tag.acquired_at,
        }
        for tag in tags
    ]
    return await web.page("channels/list.html", nav="channels", rows=rows)


async def _choices(web: Web, country: str, pool: str) -> dict[str, Any]:
    async with web.db.sessions() as session:
        available = await offers(session, web.account_key)
        countries = sorted({offer.country for offer in available})
        country = forms.choice(country, countries, countries[0] if countries else "")
        in_country = [offer for offer in available if offer.country == country]
        chosen = next((offer for offer in in_country if offer.pool == pool), None)
        chosen = chosen or (in_country[0] if in_country else None)
        tags = await free_tags(session, chosen.pool) if chosen and chosen.user_selects_tag else []
    return {
        "countries": countries,
        "country": country,
        "pools": in_country,
        "chosen": chosen,
        "tags": tags,
    }


@router.get("/channels/new")
async def new_form(web: Page, country: str = "", pool: str = "") -> Response:
    choices = await _choices(web, country, pool)
    if web.is_htmx and web.request.headers.get("hx-target") == "channel-choices":
        return web.fragment("channels/_choices.html", **choices)
    return await web.page("channels/new.html", nav="channels", **choices)


@router.post("/channels/new")
async def acquire(web: Page) -> Response:
    form = await forms.read_form(web.request)
    pool = forms.text(form, "pool", label="Pool", required=True, max_length=128)
    tag = forms.text(form, "tag", label="Tag", max_length=128)
    try:
        async with web.db.transaction() as session:
            held = await acquire_tag(session, web.account_key, pool, tag or None)
            channel = f"{held.pool}:{held.tag}"
    except VumigoError as exc:
        if exc.status_code == 404 and not str(exc).startswith("no tag"):
            raise
        choices = await _choices(web, forms.text(form, "country"), pool)
        return await web.page(
            "channels/new.html", status=exc.status_code, nav="channels", error=str(exc), **choices
        )
    web.changed()
    await web.flash("success", f"You now hold the channel {channel}. Route it to a conversation.")
    return web.redirect("/channels/")


@router.post("/channels/release")
async def release(web: Page) -> Response:
    form = await forms.read_form(web.request)
    channel = forms.text(form, "channel", label="Channel", required=True, max_length=300)
    pool, tag = parse_channel(channel)
    async with web.db.transaction() as session:
        removed = await release_tag(session, web.account_key, pool, tag)
    web.changed()
    note = f" and {removed} routing entr{'y' if removed == 1 else 'ies'} removed" if removed else ""
    await web.flash("success", f"Channel {channel} released{note}.")
    return web.redirect("/channels/")
