"""Password reset tokens: random, e-mailed as a link, stored as a digest, single-use, expiring.

Asking for a reset never says whether the address has an account. Using a token sets the new
password, marks the token (and any other open ones of that user) used, and ends the user's
sessions, so a reset also locks out whoever knew the old password.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update

from vumigo.accounts.users import hash_password, normalise_email
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import User
from vumigo.db.models.web import PasswordReset
from vumigo.errors import InvalidInput
from vumigo.web.sessions import digest

LIFETIME = timedelta(hours=2)
MIN_PASSWORD = 8


def check_new_password(password: str, confirm: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"The new password must have at least {MIN_PASSWORD} characters.")
    if password != confirm:
        raise InvalidInput("The two new passwords do not match.")


async def create_reset(db: Database, email: str) -> tuple[str, User] | None:
    """A new token for the active user with this address, or None (no such user)."""
    try:
        login = normalise_email(email)
    except InvalidInput:
        return None
    async with db.transaction() as session:
        user = (await session.execute(select(User).where(User.email == login))).scalar_one_or_none()
        if user is None or not user.is_active:
            return None
        token = secrets.token_urlsafe(32)
        now = utcnow()
        session.add(
            PasswordReset(
                token_hash=digest(token), user_id=user.id, created_at=now, expires_at=now + LIFETIME
            )
        )
    return token, user


async def _live(db: Database, token: str) -> PasswordReset | None:
    if not token or len(token) > 128:
        return None
    async with db.sessions() as session:
        reset = await session.get(PasswordReset, digest(token))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    return reset


async def token_is_live(db: Database, token: str) -> bool:
    return await _live(db, token) is not None


async def use_reset(db: Database, token: str, password: str) -> int:
    """Sets the password the token allows and spends the token; returns the user's id.

    InvalidInput if the token is unknown, used or expired. Spending is a conditional UPDATE, so
    two uses of one link at the same moment cannot both succeed.
    """
    new_hash = hash_password(password)
    async with db.transaction() as session:
        now = utcnow()
        spent = await session.execute(
            update(PasswordReset)
            .where(
                PasswordReset.token_hash == digest(token),
                PasswordReset.used_at.is_(None),
                PasswordReset.expires_at > now,
            )
            .values(used_at=now)
            .returning(PasswordReset.user_id)
        )
        user_id = spent.scalar_one_or_none()
        if user_id is None:
            raise InvalidInput("This reset link is not valid any more. Ask for a new one.")
        await session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        await session.execute(update(User).where(User.id == user_id).values(password_hash=new_hash))
    return int(user_id)
