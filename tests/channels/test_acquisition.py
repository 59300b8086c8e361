"""Acquiring and releasing tags: permission, max_keys, races for the last tag, cleanup."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from tests.support import service_factories as factories
from vumigo.channels.acquisition import (
    account_tags,
    acquire_tag,
    parse_channel,
    release_tag,
    tag_owner,
)
from vumigo.channels.tagpools import assign_pool
from vumigo.db.engine import Database
from vumigo.db.models import RoutingEntry, Tag
from vumigo.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from vumigo.routing.table import add_entry, load_table


async def test_acquires_first_free_then_a_specific_tag(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        await factories.pool(session, grant=[acct.key])
        first = await acquire_tag(session, acct.key, "longcode")
        chosen = await acquire_tag(session, acct.key, "longcode", "t3")
        assert (first.tag, first.owner, chosen.tag) == ("t1", acct.key, "t3")
        assert first.acquired_at is not None
        assert [t.tag for t in await account_tags(session, acct.key)] == ["t1", "t3"]
        assert await tag_owner(session, "longcode", "t3") == acct.key
        assert await tag_owner(session, "longcode", "t2") is None


@pytest.mark.parametrize(
    ("setup", "tag", "error", "message"),
    [
        ("no-grant", None, PermissionDenied, "account {acct} may not use pool longcode"),
        ("max-1", None, PermissionDenied, "already holds 1 of 1 tags allowed in pool longcode"),
        ("unlimited", "t9", NotFound, "no tag t9 in pool longcode"),
        ("unlimited", "t1", Conflict, "account {acct} already holds longcode:t1"),
        ("taken", "t2", Conflict, "tag longcode:t2 is held by another account"),
        ("taken", None, Conflict, "no free tags in pool longcode"),
    ],
)
async def test_refusals(
    sqlite_db: Database, setup: str, tag: str | None, error: type[Exception], message: str
) -> None:
    async with sqlite_db.transaction() as session:
        acct = await factories.account(session)
        other = await factories.account(session, "other")
        grant = [] if setup == "no-grant" else [acct.key, other.key]
        await factories.pool(session, grant=grant, max_keys=1 if setup == "max-1" else 0)
        if setup != "no-grant":
            await acquire_tag(session, acct.key, "longcode", "t1")
        if setup == "taken":
            await acquire_tag(session, other.key, "longcode", "t2")
            await acquire_tag(session, other.key, "longcode", "t3")
        with pytest.raises(error, match=message.format(acct=acct.key)):
            await acquire_tag(session, acct.key, "longcode", tag)


async def test_unknown_account_and_pool(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        with pytest.raises(NotFound, match="unknown account"):
            await acquire_tag(session, "nope", "longcode")
        with pytest.raises(NotFound, match="unknown tagpool 'longcode'"):
            await acquire_tag(session, acct.key, "longcode")


async def test_lowering_max_keys_blocks_further_acquisitions(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        await factories.pool(session, grant=[acct.key])
        await acquire_tag(session, acct.key, "longcode")
        await acquire_tag(session, acct.key, "longcode")
        await assign_pool(session, acct.key, "longcode", 1)
        with pytest.raises(PermissionDenied, match="holds 2 of 1"):
            await acquire_tag(session, acct.key, "longcode")


async def test_release_frees_the_tag_and_drops_its_routes(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        tag = await factories.channel(session, acct.key)
        conv = await factories.conversation(session, acct.key)
        channel, conversation = "TRANSPORT_TAG:longcode:t1", f"CONVERSATION:bulk_message:{conv.key}"
        await add_entry(session, acct.key, channel, "default", conversation, "default")
        await add_entry(session, acct.key, conversation, "default", channel, "default")
        assert tag.tag == "t1"
        assert await release_tag(session, acct.key, "longcode", "t1") == 2
        assert await load_table(session, acct.key) == {}
        assert await tag_owner(session, "longcode", "t1") is None
        again = await acquire_tag(session, acct.key, "longcode")
        assert again.tag == "t1" and again.owner == acct.key


async def test_release_refusals(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        other = await factories.account(session, "other")
        await factories.channel(session, other.key)
        with pytest.raises(NotFound, match=f"account {acct.key} does not hold longcode:t1"):
            await release_tag(session, acct.key, "longcode", "t1")
        with pytest.raises(NotFound, match="no tag zz in pool longcode"):
            await release_tag(session, acct.key, "longcode", "zz")
        assert await tag_owner(session, "longcode", "t1") == other.key


@pytest.mark.parametrize(
    ("text", "expected"),
    [("pool:tag", ("pool", "tag")), ("xmpp:me@host:5222", ("xmpp", "me@host:5222"))],
)
def test_parse_channel(text: str, expected: tuple[str, str]) -> None:
    assert parse_channel(text) == expected


@pytest.mark.parametrize("text", ["pool", ":tag", "pool:", ""])
def test_parse_channel_refuses(text: str) -> None:
    with pytest.raises(InvalidInput, match="expected POOL:TAG"):
        parse_channel(text)


async def _race(db_url: str, contenders: int, tag: str | None) -> list[BaseException | Tag]:
    """``contenders`` accounts, each on its own engine (own connection), acquire at once."""
    setup = Database(db_url)
    async with setup.transaction() as session:
        accounts = [await factories.account(session, f"a{i}", False) for i in range(contenders)]
        keys = [a.key for a in accounts]
        await factories.pool(session, tags=["only"], grant=keys)
    await setup.dispose()
    databases = [Database(db_url) for _ in keys]

    async def attempt(database: Database, account_key: str) -> Tag:
        async with database.transaction() as session:
            return await acquire_tag(session, account_key, "longcode", tag)

    try:
        return await asyncio.gather(
            *(attempt(d, k) for d, k in zip(databases, keys, strict=True)),
            return_exceptions=True,
        )
    finally:
        for database in databases:
            await database.dispose()


@pytest.mark.parametrize("tag", [None, "only"], ids=["first-free", "specific"])
async def test_race_for_the_last_tag_has_one_winner(db_url: str, tag: str | None) -> None:
    results = await _race(db_url, 6, tag)
    winners = [r for r in results if isinstance(r, Tag)]
    losers = [r for r in results if not isinstance(r, Tag)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict) for r in losers), losers
    check = Database(db_url)
    async with check.transaction() as session:
        held = await session.execute(select(func.count()).where(Tag.owner.is_not(None)))
        assert held.scalar_one() == 1
        owner = await tag_owner(session, "longcode", "only")
        assert owner == winners[0].owner
        assert (await session.execute(select(func.count(RoutingEntry.id)))).scalar_one() == 0
    await check.dispose()


async def test_one_account_racing_itself_respects_max_keys(db_url: str) -> None:
    setup = Database(db_url)
    async with setup.transaction() as session:
        acct = await factories.account(session, apps=False)
        tags = [f"t{i}" for i in range(10)]
        await factories.pool(session, tags=tags, grant=[acct.key], max_keys=2)
    await setup.dispose()
    databases = [Database(db_url) for _ in range(5)]

    async def attempt(database: Database) -> Tag:
        async with database.transaction() as session:
            return await acquire_tag(session, acct.key, "longcode")

    results = await asyncio.gather(*(attempt(d) for d in databases), return_exceptions=True)
    for database in databases:
        await database.dispose()
    assert sum(isinstance(r, Tag) for r in results) == 2, results
    assert all(isinstance(r, PermissionDenied | Tag) for r in results), results
