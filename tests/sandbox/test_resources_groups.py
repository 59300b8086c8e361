"""Protocol conformance of the ``groups`` resource: every command and error path, on SQLite and
PostgreSQL, through the real dispatch."""

from __future__ import annotations

import pytest

from tests.apps.jsbox.resource_helpers import dispatcher, fails, ok, run_for, two_accounts
from vumigo.contacts.groups import add_to_group, create_group
from vumigo.contacts.service import create_contact
from vumigo.db.engine import Database
from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources.groups import GROUP_NOT_FOUND, MULTIPLE_GROUPS, GroupsResource
from vumigo.sandbox.run import Run


@pytest.fixture
def groups(db: Database) -> ProtocolHandler:
    return dispatcher(GroupsResource(db))


@pytest.fixture
async def accounts(db: Database) -> tuple[Run, Run]:
    mine, other = await two_accounts(db)
    return run_for(mine), run_for(other)


async def group(db: Database, account: str, name: str, query: str | None = None) -> str:
    async with db.transaction() as session:
        return (await create_group(session, account, name, query)).key


async def test_get(db: Database, groups: ProtocolHandler, accounts: tuple[Run, Run]) -> None:
    run, other = accounts
    key = await group(db, run.account_key, "Subscribers")
    found = (await ok(groups, "groups.get", run, key=key))["group"]
    assert found["key"] == key and found["name"] == "Subscribers"
    assert found["user_account"] == run.account_key and found["query"] is None
    assert len(found["created_at"]) == 26
    assert await fails(groups, "groups.get", other, key=key) == GROUP_NOT_FOUND
    assert await fails(groups, "groups.get", run, key="nope") == GROUP_NOT_FOUND
    assert "'key'" in await fails(groups, "groups.get", run)


async def test_get_by_name(
    db: Database, groups: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, other = accounts
    key = await group(db, run.account_key, "Subscribers")
    assert (await ok(groups, "groups.get_by_name", run, name="Subscribers"))["group"]["key"] == key
    assert await fails(groups, "groups.get_by_name", other, name="Subscribers") == GROUP_NOT_FOUND
    await group(db, run.account_key, "Subscribers")
    assert await fails(groups, "groups.get_by_name", run, name="Subscribers") == MULTIPLE_GROUPS
    assert "'name'" in await fails(groups, "groups.get_by_name", run, name=None)


async def test_get_or_create_by_name(
    db: Database, groups: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, other = accounts
    made = await ok(groups, "groups.get_or_create_by_name", run, name="VIP")
    assert made["created"] is True and made["group"]["name"] == "VIP"
    again = await ok(groups, "groups.get_or_create_by_name", run, name="VIP")
    assert again == {"created": False, "group": made["group"]}
    theirs = await ok(groups, "groups.get_or_create_by_name", other, name="VIP")
    assert theirs["created"] is True
    await group(db, run.account_key, "VIP")
    assert await fails(groups, "groups.get_or_create_by_name", run, name="VIP") == MULTIPLE_GROUPS
    assert await fails(groups, "groups.get_or_create_by_name", run, name=" ") == (
        "Group name is required."
    )
    assert "'name'" in await fails(groups, "groups.get_or_create_by_name", run)


async def test_update(db: Database, groups: ProtocolHandler, accounts: tuple[Run, Run]) -> None:
    run, other = accounts
    key = await group(db, run.account_key, "Old")
    smart = await ok(
        groups, "groups.update", run, key=key, name="Cape Town", query="extras-city:CPT"
    )
    assert smart["group"]["name"] == "Cape Town" and smart["group"]["query"] == "extras-city:CPT"
    # As the toolkit saves a static group: no query field, which makes it static.
    static = await ok(groups, "groups.update", run, key=key, name="Cape Town")
    assert static["group"]["query"] is None
    assert await fails(groups, "groups.update", other, key=key, name="x") == GROUP_NOT_FOUND
    assert "'name'" in await fails(groups, "groups.update", run, key=key)
    assert "'query'" in await fails(groups, "groups.update", run, key=key, name="x", query=5)
    assert "'key'" in await fails(groups, "groups.update", run, name="x")
    assert "Invalid query" in await fails(
        groups, "groups.update", run, key=key, name="x", query="("
    )
    unchanged = (await ok(groups, "groups.get", run, key=key))["group"]
    assert unchanged["name"] == "Cape Town"


async def test_search(db: Database, groups: ProtocolHandler, accounts: tuple[Run, Run]) -> None:
    run, other = accounts
    subs = await group(db, run.account_key, "Subscribers")
    sub2 = await group(db, run.account_key, "Subway riders")
    await group(db, run.account_key, "Staff")
    await group(db, other.account_key, "Subscribers")
    exact = await ok(groups, "groups.search", run, query='name:"Subscribers"')
    assert [g["key"] for g in exact["groups"]] == [subs]
    prefix = await ok(groups, "groups.search", run, query="name:Sub*")
    assert sorted(g["key"] for g in prefix["groups"]) == sorted([subs, sub2])
    bare = await ok(groups, "groups.search", run, query="Staff")
    assert [g["name"] for g in bare["groups"]] == ["Staff"]
    by_key = await ok(groups, "groups.search", run, query=f"key:{subs}")
    assert [g["key"] for g in by_key["groups"]] == [subs]
    assert (await ok(groups, "groups.search", run, query="name:nothing"))["groups"] == []
    assert "Invalid query" in await fails(groups, "groups.search", run, query="name:(")
    assert "'query'" in await fails(groups, "groups.search", run)


async def test_list(db: Database, groups: ProtocolHandler, accounts: tuple[Run, Run]) -> None:
    run, other = accounts
    assert (await ok(groups, "groups.list", run))["groups"] == []
    keys = sorted([await group(db, run.account_key, "A"), await group(db, run.account_key, "B")])
    await group(db, other.account_key, "C")
    assert [g["key"] for g in (await ok(groups, "groups.list", run))["groups"]] == keys


async def test_count_members_counts_static_and_smart_members(
    db: Database, groups: ProtocolHandler, accounts: tuple[Run, Run]
) -> None:
    run, other = accounts
    static = await group(db, run.account_key, "Static")
    smart = await group(db, run.account_key, "Smart", "extras-city:CPT")
    async with db.transaction() as session:
        people = [
            (await create_contact(session, run.account_key, {"extra": {"city": city}})).key
            for city in ("CPT", "CPT", "JHB")
        ]
        await add_to_group(session, run.account_key, static, people[1:])
        await create_contact(session, other.account_key, {"extra": {"city": "CPT"}})
    reply = await ok(groups, "groups.count_members", run, key=static)
    assert reply["count"] == 2 and reply["group"]["key"] == static
    assert (await ok(groups, "groups.count_members", run, key=smart))["count"] == 2
    assert await fails(groups, "groups.count_members", other, key=static) == GROUP_NOT_FOUND
    assert "'key'" in await fails(groups, "groups.count_members", run)


def test_every_command_is_documented() -> None:
    doc = GroupsResource.describe()
    assert doc.summary and {c.name for c in doc.commands} == {
        "get",
        "get_by_name",
        "get_or_create_by_name",
        "update",
        "search",
        "list",
        "count_members",
    }
    assert all(c.summary and c.reply for c in doc.commands)
