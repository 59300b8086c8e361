"""Pools: creating, adding tags, listing counts, purging, and permissions with max_keys."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support import service_factories as factories
from vumigo.channels.acquisition import acquire_tag, release_tag
from vumigo.channels.tagpools import (
    add_tags,
    assign_pool,
    create_pool,
    get_pool,
    list_pools,
    pool_grantees,
    pool_permissions,
    pool_summary,
    pool_tags,
    purge_pool,
    remove_pool_permission,
    update_meta,
)
from vumigo.db.engine import Database
from vumigo.db.models import Tag, TagPoolPermission
from vumigo.errors import Conflict, InvalidInput, NotFound


async def test_create_and_list(db: Database) -> None:
    async with db.transaction() as session:
        pool = await create_pool(
            session, "sms", ["a", "b", "a", "c"], {"supports": {"replies": True}}
        )
        assert pool.meta == {"supports.replies": True}
        await create_pool(session, "empty", [])
        acct = await factories.account(session)
        await assign_pool(session, acct.key, "sms", None)
        await acquire_tag(session, acct.key, "sms")
    async with db.transaction() as session:
        pools = await list_pools(session)
    assert [(p.name, p.total, p.free, p.in_use) for p in pools] == [
        ("empty", 0, 0, 0),
        ("sms", 3, 2, 1),
    ]


async def test_create_refusals(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        await create_pool(session, "sms", ["a"])
        with pytest.raises(Conflict, match="tagpool sms already exists"):
            await create_pool(session, "sms", ["b"])
        with pytest.raises(InvalidInput, match="invalid pool name"):
            await create_pool(session, "bad pool", ["b"])
        with pytest.raises(InvalidInput, match="invalid tag"):
            await create_pool(session, "other", ["two words"])
        with pytest.raises(InvalidInput, match="must be true or false"):
            await create_pool(session, "other", ["x"], {"user_selects_tag": "no"})


async def test_add_tags_skips_existing(db: Database) -> None:
    async with db.transaction() as session:
        await create_pool(session, "sms", ["a", "b"])
        assert await add_tags(session, "sms", ["b", "c", "d", "c"]) == ["c", "d"]
        assert await add_tags(session, "sms", ["a"]) == []
        count = await session.execute(select(func.count()).where(Tag.pool == "sms"))
        assert count.scalar_one() == 4
        with pytest.raises(NotFound, match="unknown tagpool 'nope'"):
            await add_tags(session, "nope", ["x"])


async def test_update_meta(db: Database) -> None:
    async with db.transaction() as session:
        await create_pool(session, "sms", [], {"display_name": "SMS", "smpp.host": "a"})
        merged = await update_meta(session, "sms", {"smpp": {"host": "b", "port": 1}})
        assert merged.meta == {"display_name": "SMS", "smpp.host": "b", "smpp.port": 1}
        replaced = await update_meta(session, "sms", {"display_name": "X"}, replace=True)
        assert replaced.meta == {"display_name": "X"}
    async with db.transaction() as session:
        assert (await get_pool(session, "sms")).meta == {"display_name": "X"}


async def test_purge(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        await factories.pool(session, grant=[acct.key])
        await acquire_tag(session, acct.key, "longcode")
        with pytest.raises(Conflict, match="has 1 tag\\(s\\) in use"):
            await purge_pool(session, "longcode")
        await release_tag(session, acct.key, "longcode", "t1")
        assert await purge_pool(session, "longcode") == 3
        assert await list_pools(session) == []
        assert await pool_permissions(session, acct.key) == []
        with pytest.raises(NotFound, match="unknown tagpool 'longcode'"):
            await purge_pool(session, "longcode")


async def test_permissions(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        await factories.pool(session)
        await factories.pool(session, "other", ["o"])
        grant = await assign_pool(session, acct.key, "longcode", 0)
        assert grant.max_keys is None  # 0 means unlimited, as the original's command
        await assign_pool(session, acct.key, "longcode", 3)
        await assign_pool(session, acct.key, "other", None)
        grants = await pool_permissions(session, acct.key)
        assert [(g.pool, g.max_keys) for g in grants] == [("longcode", 3), ("other", None)]
        rows = await session.execute(select(func.count(TagPoolPermission.id)))
        assert rows.scalar_one() == 2  # updated in place, not duplicated
        await remove_pool_permission(session, acct.key, "other")
        assert [g.pool for g in await pool_permissions(session, acct.key)] == ["longcode"]


async def test_permission_refusals(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        acct = await factories.account(session)
        await factories.pool(session)
        with pytest.raises(InvalidInput, match="max_keys must be 0 \\(unlimited\\) or more"):
            await assign_pool(session, acct.key, "longcode", -1)
        with pytest.raises(NotFound, match="unknown account 'nope'"):
            await assign_pool(session, "nope", "longcode", 1)
        with pytest.raises(NotFound, match="unknown tagpool 'nope'"):
            await assign_pool(session, acct.key, "nope", 1)
        with pytest.raises(NotFound, match="has no permission for tagpool longcode"):
            await remove_pool_permission(session, acct.key, "longcode")
        with pytest.raises(NotFound, match="unknown account"):
            await remove_pool_permission(session, "nope", "longcode")


async def test_removing_a_permission_keeps_held_tags(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        await factories.pool(session, grant=[acct.key])
        await acquire_tag(session, acct.key, "longcode")
        await remove_pool_permission(session, acct.key, "longcode")
        owner = await session.execute(select(Tag.owner).where(Tag.tag == "t1"))
        assert owner.scalar_one() == acct.key


async def test_one_pool_its_tags_and_grantees(db: Database) -> None:
    async with db.transaction() as session:
        first = await factories.account(session, "Beta")
        second = await factories.account(session, "Alpha")
        await factories.pool(session, "sms", [f"t{n}" for n in range(5)])
        await factories.pool(session, "other", ["x"], grant=[first.key])
        await assign_pool(session, first.key, "sms", 3)
        await assign_pool(session, second.key, "sms", None)
        await acquire_tag(session, first.key, "sms", "t3")
        await acquire_tag(session, first.key, "sms", "t1")
        await acquire_tag(session, first.key, "other", "x")
    async with db.sessions() as session:
        summary = await pool_summary(session, "sms")
        page, total = await pool_tags(session, "sms", limit=2)
        rest, _ = await pool_tags(session, "sms", offset=2, limit=10)
        held, held_total = await pool_tags(session, "sms", held=True)
        free, free_total = await pool_tags(session, "sms", held=False)
        grantees = await pool_grantees(session, "sms")
        with pytest.raises(NotFound):
            await pool_summary(session, "nope")
        with pytest.raises(NotFound):
            await pool_tags(session, "nope")
        with pytest.raises(NotFound):
            await pool_grantees(session, "nope")
    assert (summary.total, summary.in_use, summary.free) == (5, 2, 3)
    assert total == 5 and [h.tag for h in page] == ["t0", "t1"]
    assert page[1].owner == first.key and page[1].owner_name == "Beta" and page[1].acquired_at
    assert page[0].owner is None and page[0].owner_name is None
    assert [h.tag for h in rest] == ["t2", "t3", "t4"]
    assert held_total == 2 and [h.tag for h in held] == ["t1", "t3"]
    assert free_total == 3 and [h.tag for h in free] == ["t0", "t2", "t4"]
    assert [(g.account_name, g.max_keys, g.held) for g in grantees] == [
        ("Alpha", None, 0),
        ("Beta", 3, 2),
    ]
