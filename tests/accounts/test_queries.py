"""Reading accounts for operators, their flags and their tokens."""

from __future__ import annotations

import pytest

from tests.support import service_factories as factories
from vumigo.accounts.queries import get_account, list_accounts, list_tokens, set_flag
from vumigo.accounts.tokens import create_token, revoke_token
from vumigo.accounts.users import create_user
from vumigo.channels.acquisition import acquire_tag
from vumigo.db.engine import Database
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
