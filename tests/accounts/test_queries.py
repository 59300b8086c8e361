"""Reading accounts for operators, their flags and their tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import service_factories as factories
from vumigo.accounts.queries import (
    account_users,
    get_account,
    list_accounts,
    list_tokens,
    search_accounts,
    search_users,
    set_flag,
)
from vumigo.accounts.tokens import create_token, revoke_token
from vumigo.accounts.users import add_user, create_user, set_account_active
from vumigo.channels.acquisition import acquire_tag
from vumigo.db.engine import Database
from vumigo.db.models import Account
from vumigo.errors import InvalidInput, NotFound


async def test_get_account(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        acct = await factories.account(session)
        assert (await get_account(session, acct.key)).name == "acme"
        with pytest.raises(NotFound, match="unknown account 'nope'"):
            await get_account(session, "nope")


async def test_list_accounts_with_pools_and_tags(db: Database) -> None:
    async with db.transaction() as session:
        first = await create_user(session, "one@example.org", "pw")
        second = await factories.account(session, "second")
        await factories.pool(session, grant=[first.key], max_keys=2)
        await factories.pool(session, "other", ["o1"], grant=[first.key, second.key])
        await acquire_tag(session, first.key, "longcode")
        await acquire_tag(session, first.key, "other")
        await set_flag(session, second.key, "is_developer")
    async with db.transaction() as session:
        summaries = {s.key: s for s in await list_accounts(session)}
    one, two = summaries[first.key], summaries[second.key]
    assert (one.emails, one.flags, two.emails, two.flags) == (
        ["one@example.org"], [], [], ["is_developer"]
    )  # fmt: skip
    assert [(p.pool, p.max_keys, p.held) for p in one.pools] == [
        ("longcode", 2, 1),
        ("other", None, 1),
    ]
    assert [(p.pool, p.held) for p in two.pools] == [("other", 0)]
    assert one.tags == ["longcode:t1", "other:o1"] and two.tags == []


async def test_flags(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        acct = await factories.account(session)
        await set_flag(session, acct.key, "disable_optouts")
        await set_flag(session, acct.key, "can_manage_optouts")
        assert (await set_flag(session, acct.key, "disable_optouts", False)).flags() == [
            "can_manage_optouts"
        ]
        with pytest.raises(InvalidInput, match="unknown account flag 'admin'"):
            await set_flag(session, acct.key, "admin")
        with pytest.raises(NotFound):
            await set_flag(session, "nope", "is_developer")


async def test_list_tokens(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        first, _ = await create_token(session, acct.key, "a")
        await create_token(session, acct.key, "b")
        await revoke_token(session, acct.key, first.id)
        tokens = await list_tokens(session, acct.key)
        assert [(t.name, t.revoked_at is not None) for t in tokens] == [("a", True), ("b", False)]
        with pytest.raises(NotFound):
            await list_tokens(session, "nope")


async def test_search_accounts_pages_newest_first(db: Database) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    async with db.transaction() as session:
        for n in range(7):
            session.add(Account(key=f"{n:032d}", name=f"Org {n}", created_at=start + timedelta(n)))
        await session.flush()
        await add_user(session, f"{3:032d}", "Boss_3@Example.org", "pw")
        await add_user(session, f"{3:032d}", "clerk@example.org", "pw")
        await add_user(session, f"{5:032d}", "five@example.org", "pw")
        await set_account_active(session, f"{5:032d}", False)
    async with db.sessions() as session:
        first, total = await search_accounts(session, limit=3)
        second, _ = await search_accounts(session, offset=3, limit=3)
        by_email, email_total = await search_accounts(session, "BOSS_")
        by_name, _ = await search_accounts(session, "org 2")
        by_key, _ = await search_accounts(session, f"{6:032d}")
        literal, _ = await search_accounts(session, "%")
    assert total == 7 and [a.name for a in first] == ["Org 6", "Org 5", "Org 4"]
    assert [a.name for a in second] == ["Org 3", "Org 2", "Org 1"]
    assert email_total == 1 and by_email[0].emails == ["boss_3@example.org", "clerk@example.org"]
    assert (by_email[0].users, by_email[0].active_users, by_email[0].disabled) == (2, 2, False)
    assert first[1].disabled and not first[0].disabled  # no users is not "disabled"
    assert [a.name for a in by_name] == ["Org 2"] and [a.name for a in by_key] == ["Org 6"]
    assert literal == []  # % is a character to look for, not a wildcard


async def test_search_users_and_account_users(db: Database) -> None:
    async with db.transaction() as session:
        acct = await create_user(session, "zed@example.org", "pw", name="Zed")
        await add_user(session, acct.key, "amy@example.org", "pw", name="Amy", surname="Li")
        await create_user(session, "other@example.net", "pw")
    async with db.sessions() as session:
        everyone, total = await search_users(session, limit=2)
        found, found_total = await search_users(session, "EXAMPLE.ORG")
        mine = await account_users(session, acct.key)
        with pytest.raises(NotFound):
            await account_users(session, "nope")
    assert total == 3 and [u.email for u in everyone] == ["amy@example.org", "other@example.net"]
    assert everyone[0].name == "Amy Li" and everyone[0].account_name == "Zed"
    assert found_total == 2 and {u.account_key for u in found} == {acct.key}
    assert [u.email for u in mine] == ["amy@example.org", "zed@example.org"]
