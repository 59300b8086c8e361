"""People who sign in: creating a user (with its own account, or in an existing one), passwords,
sign-in, and the operator's switches (administrator, enabled).

Logins are e-mail addresses compared in lower case, as the original's ``GoUser`` did. Passwords
are kept only as argon2id hashes; a hash made with weaker parameters than today's is upgraded
the next time its owner signs in.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import Account, User
from vumigo.errors import Conflict, InvalidInput, NotFound

# Module-level so tests can swap in cheaper parameters; argon2-cffi's defaults follow RFC 9106.
hasher = PasswordHasher()

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_PASSWORD = 1024  # argon2 takes any length; a cap stops a megabyte "password" costing CPU


def normalise_email(email: str) -> str:
    """The login form of an address: trimmed and lower-cased; InvalidInput if it is not one."""
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidInput(f"invalid e-mail address {email!r}")
    return value


def _check_password(password: str) -> None:
    if not password:
        raise InvalidInput("the password must not be empty")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password must be at most {MAX_PASSWORD} characters")


def hash_password(password: str) -> str:
    _check_password(password)
    return hasher.hash(password)


async def get_user(session: AsyncSession, email: str) -> User:
    """The user with this login (any case); NotFound otherwise."""
    login = normalise_email(email)
    user = (await session.execute(select(User).where(User.email == login))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user with e-mail {login}")
    return user


async def _insert_user(
    session: AsyncSession,
    account_key: str,
    login: str,
    password_hash: str,
    *,
    name: str,
    surname: str,
    is_admin: bool,
) -> User:
    user = User(
        account_key=account_key,
        email=login,
        password_hash=password_hash,
        name=name,
        surname=surname,
        is_admin=is_admin,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another transaction took the address between our check and our insert.
        raise Conflict(f"a user with e-mail {login} already exists") from exc
    return user


async def _check_free(session: AsyncSession, login: str) -> None:
    taken = await session.execute(select(func.count()).where(User.email == login))
    if taken.scalar_one():
        raise Conflict(f"a user with e-mail {login} already exists")


async def create_user(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    name: str = "",
    surname: str = "",
    is_admin: bool = False,
) -> Account:
    """Creates a user and its own new account, and returns the account.

    Raises Conflict when the e-mail address is taken, InvalidInput for a bad address or password.
    """
    login = normalise_email(email)
    password_hash = hash_password(password)
    await _check_free(session, login)
    account = Account(name=" ".join(part for part in (name, surname) if part) or login)
    session.add(account)
    await session.flush()
    await _insert_user(
        session, account.key, login, password_hash, name=name, surname=surname, is_admin=is_admin
    )
    return account


async def add_user(
    session: AsyncSession,
    account_key: str,
    email: str,
    password: str,
    *,
    name: str = "",
    surname: str = "",
    is_admin: bool = False,
) -> User:
    """Adds a user to an existing account. NotFound for an unknown account; otherwise as
    ``create_user``."""
    login = normalise_email(email)
    password_hash = hash_password(password)
    if await session.get(Account, account_key) is None:
        raise NotFound(f"unknown account {account_key!r}")
    await _check_free(session, login)
    return await _insert_user(
        session, account_key, login, password_hash, name=name, surname=surname, is_admin=is_admin
    )


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The active user these credentials belong to, or None. Never says which part was wrong."""
    try:
        login = normalise_email(email)
    except InvalidInput:
        return None
    user = (await session.execute(select(User).where(User.email == login))).scalar_one_or_none()
    if user is None or not user.is_active or not password or len(password) > MAX_PASSWORD:
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        await session.flush()
    return user


async def set_password(session: AsyncSession, email: str, password: str) -> None:
    user = await get_user(session, email)
    user.password_hash = hash_password(password)
    await session.flush()


async def get_user_by_id(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id) if 0 < user_id < 2**62 else None
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


async def set_admin(session: AsyncSession, user_id: int, on: bool) -> User:
    """Makes the user an operator (or no longer one)."""
    user = await get_user_by_id(session, user_id)
    user.is_admin = on
    await session.flush()
    return user


async def set_active(session: AsyncSession, user_id: int, on: bool) -> User:
    """Lets the user sign in again, or stops them. Their sessions are the web layer's to end."""
    user = await get_user_by_id(session, user_id)
    user.is_active = on
    await session.flush()
    return user


async def set_account_active(session: AsyncSession, account_key: str, on: bool) -> list[int]:
    """Enables or disables every user of the account; returns the ids of those changed.

    This is what disabling an account means here: nobody can sign in to it. Its API tokens,
    conversations and channels are left as they are (revoke or stop those separately).
    """
    if await session.get(Account, account_key) is None:
        raise NotFound(f"unknown account {account_key!r}")
    changed = await session.execute(
        update(User)
        .where(User.account_key == account_key, User.is_active != on)
        .values(is_active=on)
        .returning(User.id)
    )
    return sorted(int(user_id) for user_id in changed.scalars())
