"""Users: e-mail logins in lower case, argon2 hashes, one account per new user, sign-in."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from vumigo.accounts import users
from vumigo.accounts.users import (
    add_user,
    authenticate,
    create_user,
    get_user,
    set_account_active,
    set_active,
    set_admin,
    set_password,
)
from vumigo.db.engine import Database
from vumigo.db.models import Account, User
from vumigo.errors import Conflict, InvalidInput, NotFound

SECRET = "correct horse battery staple"


async def test_create_user_makes_its_account(db: Database) -> None:
    async with db.transaction() as session:
        account = await create_user(
            session, "  Ann@Example.ORG ", SECRET, name="Ann", surname="Lee", is_admin=True
        )
        user = await get_user(session, "ANN@example.org")
        assert isinstance(account, Account) and len(account.key) == 32
        assert account.name == "Ann Lee"
        assert (user.email, user.account_key, user.is_admin) == (
            "ann@example.org", account.key, True
        )  # fmt: skip
        assert user.password_hash.startswith("$argon2id$")
        # A password long enough that a random hash cannot contain it by chance.
        assert SECRET not in user.password_hash
        assert await authenticate(session, "ann@example.org", SECRET) is not None


async def test_account_name_falls_back_to_the_email(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        account = await create_user(session, "x@example.org", "pw")
        assert account.name == "x@example.org"


async def test_duplicate_email_in_any_case_is_a_conflict(db: Database) -> None:
    async with db.transaction() as session:
        await create_user(session, "dup@example.org", "pw")
    with pytest.raises(
        Conflict, match=re.escape("a user with e-mail dup@example.org already exists")
    ):
        async with db.transaction() as session:
            await create_user(session, "DUP@example.org", "other")
    async with db.transaction() as session:
        count = len((await session.execute(select(Account))).scalars().all())
        assert count == 1  # the refused user's account was not left behind


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-address", "pw", "invalid e-mail address"),
        ("a b@example.org", "pw", "invalid e-mail address"),
        ("", "pw", "invalid e-mail address"),
        ("ok@example.org", "", "the password must not be empty"),
        ("ok@example.org", "x" * 1025, "at most 1024 characters"),
    ],
)
async def test_bad_input(sqlite_db: Database, email: str, password: str, message: str) -> None:
    async with sqlite_db.transaction() as session:
        with pytest.raises(InvalidInput, match=message):
            await create_user(session, email, password)


async def test_authenticate(db: Database) -> None:
    async with db.transaction() as session:
        await create_user(session, "me@example.org", "right")
        assert (await authenticate(session, "ME@example.org", "right")) is not None
        assert await authenticate(session, "me@example.org", "wrong") is None
        assert await authenticate(session, "me@example.org", "") is None
        assert await authenticate(session, "nobody@example.org", "right") is None
        assert await authenticate(session, "garbage", "right") is None
        user = await get_user(session, "me@example.org")
        user.is_active = False
        assert await authenticate(session, "me@example.org", "right") is None


async def test_weak_hashes_are_upgraded_at_sign_in(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.transaction() as session:
        await create_user(session, "old@example.org", "pw")
        old_hash = (await get_user(session, "old@example.org")).password_hash
    monkeypatch.setattr(users, "hasher", PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    async with db.transaction() as session:
        assert await authenticate(session, "old@example.org", "pw") is not None
    async with db.transaction() as session:
        new_hash = (
            await session.execute(select(User.password_hash).where(User.email == "old@example.org"))
        ).scalar_one()
    assert new_hash != old_hash and "t=2" in new_hash


async def test_set_password(db: Database) -> None:
    async with db.transaction() as session:
        await create_user(session, "p@example.org", "one")
        await set_password(session, "P@example.org", "two")
        assert await authenticate(session, "p@example.org", "one") is None
        assert await authenticate(session, "p@example.org", "two") is not None
        with pytest.raises(NotFound, match=re.escape("no user with e-mail q@example.org")):
            await set_password(session, "q@example.org", "x")
        with pytest.raises(InvalidInput):
            await set_password(session, "p@example.org", "")


async def test_add_user_to_an_existing_account(db: Database) -> None:
    async with db.transaction() as session:
        account = await create_user(session, "first@example.org", SECRET)
        second = await add_user(session, account.key, " Second@Example.org", SECRET, name="Sec")
        assert (second.account_key, second.email, second.name) == (
            account.key, "second@example.org", "Sec"
        )  # fmt: skip
        with pytest.raises(Conflict, match="already exists"):
            await add_user(session, account.key, "FIRST@example.org", SECRET)
        with pytest.raises(NotFound, match="unknown account"):
            await add_user(session, "nope", "third@example.org", SECRET)
        with pytest.raises(InvalidInput):
            await add_user(session, account.key, "not an address", SECRET)
        assert await authenticate(session, "second@example.org", SECRET) is not None


async def test_admin_and_active_switches(db: Database) -> None:
    async with db.transaction() as session:
        account = await create_user(session, "a@example.org", SECRET)
        other = await create_user(session, "b@example.org", SECRET)
        second = await add_user(session, account.key, "c@example.org", SECRET)
        first = await get_user(session, "a@example.org")
        assert (await set_admin(session, first.id, True)).is_admin
        assert not (await set_admin(session, first.id, False)).is_admin
        await set_active(session, second.id, False)
        assert await authenticate(session, "c@example.org", SECRET) is None
        # Only the users that change are reported; another account's users are left alone.
        assert await set_account_active(session, account.key, False) == [first.id]
        assert await authenticate(session, "a@example.org", SECRET) is None
        assert await authenticate(session, "b@example.org", SECRET) is not None
        assert await set_account_active(session, account.key, True) == sorted([first.id, second.id])
        assert await authenticate(session, "c@example.org", SECRET) is not None
        assert other.key != account.key
        with pytest.raises(NotFound):
            await set_admin(session, 10**9, True)
        with pytest.raises(NotFound):
            await set_active(session, -1, True)
        with pytest.raises(NotFound):
            await set_account_active(session, "nope", True)
