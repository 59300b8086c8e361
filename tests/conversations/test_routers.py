"""Routers: like conversations, with two connectors and endpoints on each side."""

from __future__ import annotations

import pytest

from tests.support import service_factories as factories
from vumigo.conversations.routers import (
    archive_router,
    create_router,
    find_router,
    get_router,
    inbound_connector,
    list_routers,
    outbound_connector,
    start_router,
    stop_router,
    update_router,
)
from vumigo.db.engine import Database
from vumigo.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from vumigo.routing.table import add_entry, load_table


async def test_create_and_connectors(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        router = await create_router(
            session, acct.key, "keyword", "kw", config={"keyword_endpoint_mapping": {"a": "x"}},
            extra_inbound_endpoints=["in2"], extra_outbound_endpoints=["x", "y"],
        )  # fmt: skip
    async with db.transaction() as session:
        got = await get_router(session, acct.key, router.key)
        assert (got.router_type, got.status, got.extra_outbound_endpoints) == (
            "keyword", "stopped", ["x", "y"]
        )  # fmt: skip
        assert str(inbound_connector(got)) == f"ROUTER:keyword:{router.key}:INBOUND"
        assert str(outbound_connector(got)) == f"ROUTER:keyword:{router.key}:OUTBOUND"
        assert (await find_router(session, router.key)).key == router.key
        assert [r.key for r in await list_routers(session, acct.key)] == [router.key]
        assert await list_routers(session, acct.key, router_type="group") == []


async def test_create_refusals(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        acct = await factories.account(session, apps=False)
        with pytest.raises(PermissionDenied, match="may not create routers of type keyword"):
            await create_router(session, acct.key, "keyword", "kw")
        with pytest.raises(InvalidInput, match="unknown router type 'jsbox'"):
            await create_router(session, acct.key, "jsbox", "kw")
        with pytest.raises(NotFound, match="unknown router 'nope'"):
            await find_router(session, "nope")
        other = await factories.account(session, "other")
        theirs = await factories.router(session, other.key)
        with pytest.raises(NotFound, match=f"account {acct.key} has no router"):
            await get_router(session, acct.key, theirs.key)


async def test_lifecycle_and_archive_clears_both_sides(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        await factories.channel(session, acct.key)
        router = await factories.router(session, acct.key, extra_outbound_endpoints=["help"])
        conv = await factories.conversation(session, acct.key)
        tag, conv_conn = "TRANSPORT_TAG:longcode:t1", f"CONVERSATION:bulk_message:{conv.key}"
        inbound, outbound = str(inbound_connector(router)), str(outbound_connector(router))
        await add_entry(session, acct.key, tag, "default", inbound, "default")
        await add_entry(session, acct.key, outbound, "help", conv_conn, "default")
        await add_entry(session, acct.key, conv_conn, "default", outbound, "help")
        await start_router(session, acct.key, router.key)
        with pytest.raises(Conflict, match="Router already running"):
            await start_router(session, acct.key, router.key)
        with pytest.raises(Conflict, match="Only stopped routers can be archived"):
            await archive_router(session, acct.key, router.key)
        await stop_router(session, acct.key, router.key)
        with pytest.raises(Conflict, match="Router already stopped"):
            await stop_router(session, acct.key, router.key)
        assert await archive_router(session, acct.key, router.key) == 3
        assert await load_table(session, acct.key) == {}
        assert await list_routers(session, acct.key) == []
        assert len(await list_routers(session, acct.key, archived=None)) == 1


async def test_update_detaches_dropped_endpoints_per_side(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        await factories.channel(session, acct.key)
        router = await factories.router(
            session, acct.key, extra_inbound_endpoints=["in2"], extra_outbound_endpoints=["x"]
        )
        conv = await factories.conversation(session, acct.key)
        tag, conv_conn = "TRANSPORT_TAG:longcode:t1", f"CONVERSATION:bulk_message:{conv.key}"
        inbound, outbound = str(inbound_connector(router)), str(outbound_connector(router))
        await add_entry(session, acct.key, inbound, "in2", tag, "default")
        await add_entry(session, acct.key, outbound, "x", conv_conn, "default")
        await add_entry(session, acct.key, outbound, "default", conv_conn, "default")
        await update_router(session, acct.key, router.key, extra_inbound_endpoints=[])
        assert inbound not in await load_table(session, acct.key)
        updated = await update_router(
            session, acct.key, router.key, name="r2", description="d", config={"k": 1},
            extra_outbound_endpoints=["z"],
        )  # fmt: skip
        assert (updated.name, updated.config, updated.extra_outbound_endpoints) == (
            "r2", {"k": 1}, ["z"]
        )  # fmt: skip
        assert await load_table(session, acct.key) == {
            outbound: {"default": [conv_conn, "default"]}
        }
        await archive_router(session, acct.key, router.key)
        with pytest.raises(Conflict, match="is archived"):
            await update_router(session, acct.key, router.key, name="x")
