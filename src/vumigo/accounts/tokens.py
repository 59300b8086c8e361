"""Account API (bearer) tokens: made at random, shown once, kept only as a SHA-256 digest.

A token carries 256 random bits, so a fast digest is enough to store it safely (a slow password
hash buys nothing against guessing and would cost every API request dearly).
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.base import utcnow
from vumigo.db.models import Account, AccountToken
from vumigo.errors import NotFound

TOKEN_BYTES = 32


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(
    session: AsyncSession, account_key: str, name: str = ""
) -> tuple[AccountToken, str]:
    """Makes a token for the account; returns the row and the plain token (its only showing)."""
    if await session.get(Account, account_key) is None:
        raise NotFound(f"unknown account {account_key!r}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = AccountToken(
        account_key=account_key, name=name, token_hash=digest(token), prefix=token[:8]
    )
    session.add(row)
    await session.flush()
    return row, token


async def account_for_token(session: AsyncSession, token: str) -> str | None:
    """The account key a live token belongs to, or None for an unknown or revoked token."""
    if not token or len(token) > 256:
        return None
    row = (
        await session.execute(
            select(AccountToken.account_key).where(
                AccountToken.token_hash == digest(token), AccountToken.revoked_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    return row


async def revoke_token(session: AsyncSession, account_key: str, token_id: int) -> None:
    result = await session.execute(
        update(AccountToken)
        .where(
            AccountToken.id == token_id,
            AccountToken.account_key == account_key,
            AccountToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"no live token {token_id} in account {account_key}")
