"""People who sign in: creating a user (and the account it belongs to), passwords, sign-in.

Logins are e-mail addresses compared in lower case, as the original's ``GoUser`` did. Passwords
are kept only as argon2id hashes; a hash made with weaker parameters than today's is upgraded
the next time its owner signs in.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
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
    taken = await session.execute(select(func.count()).where(User.email == login))
    if taken.scalar_one():
        raise Conflict(f"a user with e-mail {login} already exists")
    account = Account(name=" ".join(part for part in (name, surname) if part) or login)
    session.add(account)
    await session.flush()
    session.add(
        User(
            account_key=account.key,
            email=login,
            password_hash=password_hash,
            name=name,
            surname=surname,
            is_admin=is_admin,
        )
    )
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another transaction took the address between our check and our insert.
        raise Conflict(f"a user with e-mail {login} already exists") from exc
    return account


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
