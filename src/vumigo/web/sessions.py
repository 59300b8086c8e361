"""Server-side sign-in sessions: a random token in an HttpOnly cookie, its digest in the database.

Keeping sessions in the database (rather than in a signed cookie) means signing out, changing a
password or resetting it really ends a session everywhere, at the cost of one indexed read per
page. Sessions last ``LIFETIME`` from sign-in; expired rows are swept at each new sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select, update

from vumigo.config import Settings
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import Account, User
from vumigo.db.models.web import WebSession

COOKIE = "vumigo_session"
LIFETIME = timedelta(days=14)
TOKEN_BYTES = 32
MAX_FLASHES = 10  # a runaway loop of redirects should not grow a row without bound


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class SignedIn:
    """Who is signed in on this request, and into which account."""

    id_hash: str
    user_id: int
    email: str
    name: str
    is_admin: bool
    account_key: str
    account_name: str
    csrf_token: str
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.name or self.email


def cookie_options(settings: Settings) -> dict[str, object]:
    """HttpOnly and SameSite=Lax always; Secure whenever the platform is reached over https."""
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": settings.public_url.lower().startswith("https://"),
        "path": "/",
    }


async def start(db: Database, user: User) -> str:
    """Opens a session for ``user`` and returns the token for its cookie."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    async with db.transaction() as session:
        await session.execute(delete(WebSession).where(WebSession.expires_at < now))
        session.add(
            WebSession(
                id_hash=digest(token),
                user_id=user.id,
                account_key=user.account_key,
                csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
                flashes=[],
                created_at=now,
                expires_at=now + LIFETIME,
            )
        )
    return token


async def load(db: Database, token: str | None) -> SignedIn | None:
    """The live session a cookie names, or None (unknown, expired, or its user deactivated)."""
    if not token or len(token) > 128:
        return None
    query = (
        select(WebSession, User, Account.name)
        .join(User, User.id == WebSession.user_id)
        .join(Account, Account.key == WebSession.account_key)
        .where(WebSession.id_hash == digest(token))
    )
    async with db.sessions() as session:
        row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    web, user, account_name = row
    if web.expires_at <= utcnow() or not user.is_active:
        return None
    return SignedIn(
        id_hash=web.id_hash,
        user_id=user.id,
        email=user.email,
        name=" ".join(part for part in (user.name, user.surname) if part),
        is_admin=user.is_admin,
        account_key=web.account_key,
        account_name=account_name,
        csrf_token=web.csrf_token,
        flashes=[(str(level), str(text)) for level, text in web.flashes or []],
    )


async def end(db: Database, id_hash: str) -> None:
    async with db.transaction() as session:
        await session.execute(delete(WebSession).where(WebSession.id_hash == id_hash))


async def end_others(db: Database, user_id: int, keep: str | None = None) -> None:
    """Ends every session of the user (but ``keep``): after a password change or reset."""
    condition = WebSession.user_id == user_id
    if keep is not None:
        condition = condition & (WebSession.id_hash != keep)
    async with db.transaction() as session:
        await session.execute(delete(WebSession).where(condition))


async def add_flash(db: Database, signed_in: SignedIn, level: str, text: str) -> None:
    """Queues a message for the next full page this session sees."""
    signed_in.flashes.append((level, text))
    flashes = [list(item) for item in signed_in.flashes[-MAX_FLASHES:]]
    async with db.transaction() as session:
        await session.execute(
            update(WebSession)
            .where(WebSession.id_hash == signed_in.id_hash)
            .values(flashes=flashes)
        )


async def take_flashes(db: Database, signed_in: SignedIn) -> list[tuple[str, str]]:
    """The queued messages, cleared so they show once."""
    taken, signed_in.flashes = signed_in.flashes, []
    if taken:
        async with db.transaction() as session:
            await session.execute(
                update(WebSession).where(WebSession.id_hash == signed_in.id_hash).values(flashes=[])
            )
    return taken
