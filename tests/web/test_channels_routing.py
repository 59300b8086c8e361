"""Channels (acquire within permissions, release) and the routing table page."""

from __future__ import annotations

from sqlalchemy import select

from tests.web.helpers import Browser
from vumigo.channels.tagpools import assign_pool, create_pool
from vumigo.conversations.routers import create_router
from vumigo.conversations.service import create_conversation
from vumigo.db.models import RoutingEntry, Tag
from vumigo.routing.table import load_table

DEV_META = {
    "transport_type": "dev",
    "transport_name": "dev",
    "display_name": "Developer phone",
    "country_name": "South Africa",
}
CODES_META = {
    "transport_type": "ussd",
    "transport_name": "ussd",
    "display_name": "USSD codes",
    "country_name": "Kenya",
    "user_selects_tag": True,
}


async def _pools(browser: Browser, max_keys: int | None = None) -> None:
    async with browser.db.transaction() as session:
        await create_pool(session, "dev", ["10001", "10002", "10003"], DEV_META)
        await create_pool(session, "codes", ["*120*1#", "*120*2#"], CODES_META)
        await create_pool(session, "secret", ["9"], {"transport_name": "x"})
        await assign_pool(session, browser.account, "dev", max_keys)
        await assign_pool(session, browser.account, "codes", None)


async def _held(browser: Browser) -> list[str]:
    async with browser.db.sessions() as session:
        rows = await session.execute(
            select(Tag.pool, Tag.tag).where(Tag.owner == browser.account).order_by(Tag.id)
        )
        return [f"{pool}:{tag}" for pool, tag in rows]


async def test_acquire_automatic_and_specific(browser: Browser) -> None:
    await _pools(browser, max_keys=2)
    form = await browser.get("/channels/new")
    assert form.status_code == 200
    assert "Kenya" in form.text and "South Africa" in form.text and "secret" not in form.text
    assert "USSD codes" in form.text and "*120*2#" in form.text  # Kenya first; user picks
    south_africa = await browser.get(
        "/channels/new?country=South+Africa",
        headers={"HX-Request": "true", "HX-Target": "channel-choices"},
    )
    assert "<html" not in south_africa.text and "Developer phone" in south_africa.text
    assert "10001" not in south_africa.text  # assigned automatically in this pool
    assert (await browser.post("/channels/new", {"pool": "dev", "tag": ""})).status_code == 303
    assert (
        await browser.post("/channels/new", {"pool": "codes", "tag": "*120*2#"})
    ).status_code == 303
    assert await _held(browser) == ["dev:10001", "codes:*120*2#"]
    listing = await browser.get("/channels/")
    assert "10001" in listing.text and "*120*2#" in listing.text and "now hold" in listing.text
    assert (await browser.post("/channels/new", {"pool": "dev"})).status_code == 303
    over = await browser.post("/channels/new", {"pool": "dev"})
    assert over.status_code == 403 and "2 of 2" in over.text
    denied = await browser.post("/channels/new", {"pool": "secret"})
    assert denied.status_code == 403
    taken = await browser.post("/channels/new", {"pool": "codes", "tag": "*120*2#"})
    assert taken.status_code == 409 and "already holds" in taken.text
    missing = await browser.post("/channels/new", {"pool": "codes", "tag": "*999#"})
    assert missing.status_code == 404 and "no tag" in missing.text


async def test_release_removes_routing(browser: Browser, other: Browser) -> None:
    await _pools(browser)
    await browser.post("/channels/new", {"pool": "dev"})
    async with browser.db.transaction() as session:
        conv = await create_conversation(session, browser.account, "static_reply", "Bot")
    added = await browser.post(
        "/routing/add",
        {
            "source": "TRANSPORT_TAG:dev:10001::default",
            "target": f"CONVERSATION:static_reply:{conv.key}::default",
            "both_ways": "on",
        },
    )
    assert added.status_code == 303
    stolen = await other.post("/channels/release", {"channel": "dev:10001"})
    assert stolen.status_code == 404
    released = await browser.post("/channels/release", {"channel": "dev:10001"})
    assert released.status_code == 303
    assert await _held(browser) == []
    page = await browser.get("/channels/")
    assert "2 routing entries removed" in page.text
    async with browser.db.sessions() as session:
        assert await load_table(session, browser.account) == {}
    bad = await browser.post("/channels/release", {"channel": "no-colon"})
    assert bad.status_code == 400


async def test_routing_page_links_both_ways_and_shows_errors(browser: Browser) -> None:
    await _pools(browser)
    await browser.post("/channels/new", {"pool": "dev"})
    await browser.post("/channels/new", {"pool": "dev"})
    async with browser.db.transaction() as session:
        conv = await create_conversation(session, browser.account, "static_reply", "Bot")
        rtr = await create_router(
            session, browser.account, "keyword", "Words", extra_outbound_endpoints=["kw1"]
        )
    page = await browser.get("/routing/")
    assert page.status_code == 200
    assert "Channel dev:10001" in page.text and "Conversation “Bot”" in page.text
    assert "Router “Words” (Keyword), app side" in page.text
    channel = "TRANSPORT_TAG:dev:10001::default"
    conv_ep = f"CONVERSATION:static_reply:{conv.key}::default"
    ok = await browser.post(
        "/routing/add", {"source": channel, "target": conv_ep, "both_ways": "on"}
    )
    assert ok.status_code == 303
    async with browser.db.sessions() as session:
        table = await load_table(session, browser.account)
    assert table == {
        "TRANSPORT_TAG:dev:10001": {
            "default": [f"CONVERSATION:static_reply:{conv.key}", "default"]
        },
        f"CONVERSATION:static_reply:{conv.key}": {
            "default": ["TRANSPORT_TAG:dev:10001", "default"]
        },
    }
    shown = await browser.get("/routing/")
    assert shown.text.count('action="/routing/remove"') == 2
    two_channels = await browser.post(
        "/routing/add", {"source": channel, "target": "TRANSPORT_TAG:dev:10002::default"}
    )
    assert two_channels.status_code == 400 and "opposite directions" in two_channels.text
    again = await browser.post(
        "/routing/add",
        {"source": channel, "target": f"ROUTER:keyword:{rtr.key}:INBOUND::default"},
    )
    assert again.status_code == 409 and "already routed" in again.text
    foreign = await browser.post(
        "/routing/add", {"source": "TRANSPORT_TAG:dev:10003::default", "target": conv_ep}
    )
    assert foreign.status_code == 400 and "does not hold" in foreign.text
    junk = await browser.post("/routing/add", {"source": "nonsense", "target": conv_ep})
    assert junk.status_code == 400
    removed = await browser.post("/routing/remove", {"source": channel, "target": conv_ep})
    assert removed.status_code == 303
    async with browser.db.sessions() as session:
        rows = (await session.execute(select(RoutingEntry))).scalars().all()
    assert [(r.source_connector, r.target_connector) for r in rows] == [
        (f"CONVERSATION:static_reply:{conv.key}", "TRANSPORT_TAG:dev:10001")
    ]
    gone = await browser.post("/routing/remove", {"source": channel, "target": conv_ep})
    assert gone.status_code == 404


async def test_other_accounts_cannot_route_my_things(browser: Browser, other: Browser) -> None:
    await _pools(browser)
    await browser.post("/channels/new", {"pool": "dev"})
    async with browser.db.transaction() as session:
        conv = await create_conversation(session, browser.account, "static_reply", "Bot")
    response = await other.post(
        "/routing/add",
        {
            "source": "TRANSPORT_TAG:dev:10001::default",
            "target": f"CONVERSATION:static_reply:{conv.key}::default",
        },
    )
    assert response.status_code == 400
    assert "Bot" not in (await other.get("/routing/")).text
