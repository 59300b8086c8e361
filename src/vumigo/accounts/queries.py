"""Reading accounts for operators: one account or NotFound, all of them with pools and tags,
and pages of accounts or users matching a search (what the operator pages list).

Also the account flags, the one account-level setting operators change from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import Account, AccountToken, Tag, TagPoolPermission, User
from vumigo.errors import InvalidInput, NotFound

FLAGS = ("disable_optouts", "can_manage_optouts", "is_developer")


@dataclass(slots=True)
class PoolGrant:
    pool: str
    max_keys: int | None  # None: unlimited
    held: int


@dataclass(slots=True)
class AccountSummary:
    key: str
    name: str
    created_at: datetime
    emails: list[str]
    flags: list[str]
    pools: list[PoolGrant] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # "pool:tag"


async def get_account(session: AsyncSession, account_key: str) -> Account:
    account = await session.get(Account, account_key)
    if account is None:
        raise NotFound(f"unknown account {account_key!r}")
    return account


async def list_accounts(session: AsyncSession) -> list[AccountSummary]:
    """Every account, oldest first, with its users, pool permissions and held tags.

    Four queries in all, whatever the number of accounts.
    """
    accounts = (await session.execute(select(Account).order_by(Account.created_at))).scalars()
    summaries = {
        a.key: AccountSummary(a.key, a.name, a.created_at, [], a.flags()) for a in accounts
    }
    users = await session.execute(select(User.account_key, User.email).order_by(User.email))
    for account_key, email in users:
        summaries[account_key].emails.append(email)
    held_rows = await session.execute(
        select(Tag.owner, Tag.pool, func.count())
        .where(Tag.owner.is_not(None))
        .group_by(Tag.owner, Tag.pool)
    )
    held = {(owner, pool): count for owner, pool, count in held_rows}
    grants = await session.execute(select(TagPoolPermission).order_by(TagPoolPermission.pool))
    for grant in grants.scalars():
        summaries[grant.account_key].pools.append(
            PoolGrant(
                grant.pool, grant.max_keys or None, held.get((grant.account_key, grant.pool), 0)
            )
        )
    tags = await session.execute(
        select(Tag.owner, Tag.pool, Tag.tag).where(Tag.owner.is_not(None)).order_by(Tag.id)
    )
    for owner, pool, tag in tags:
        summaries[str(owner)].tags.append(f"{pool}:{tag}")
    return list(summaries.values())


async def set_flag(session: AsyncSession, account_key: str, flag: str, on: bool = True) -> Account:
    """Sets or clears one of the account flags (see FLAGS)."""
    if flag not in FLAGS:
        raise InvalidInput(f"unknown account flag {flag!r}; known: {', '.join(FLAGS)}")
    account = await get_account(session, account_key)
    setattr(account, flag, on)
    await session.flush()
    return account


async def list_tokens(session: AsyncSession, account_key: str) -> list[AccountToken]:
    """The account's API tokens (live and revoked), oldest first. Only prefixes are kept."""
    await get_account(session, account_key)
    rows = await session.execute(
        select(AccountToken)
        .where(AccountToken.account_key == account_key)
        .order_by(AccountToken.id)
    )
    return list(rows.scalars())


def _contains(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(slots=True)
class AccountListing:
    """An account as the operator's list shows it."""

    key: str
    name: str
    created_at: datetime
    emails: list[str] = field(default_factory=list)
    users: int = 0
    active_users: int = 0

    @property
    def disabled(self) -> bool:
        """Nobody can sign in: it has users and every one of them is disabled."""
        return self.users > 0 and self.active_users == 0


async def search_accounts(
    session: AsyncSession, text: str = "", *, offset: int = 0, limit: int = 25
) -> tuple[list[AccountListing], int]:
    """One page of accounts, newest first, and how many match in all.

    ``text`` matches an account key exactly, or any part of an account's name or of one of
    its users' e-mail addresses (ignoring case). Users are read only for the page shown.
    """
    query = select(Account)
    if text:
        pattern = _contains(text)
        by_email = select(User.account_key).where(User.email.ilike(pattern, escape="\\"))
        query = query.where(
            or_(
                Account.key == text,
                Account.name.ilike(pattern, escape="\\"),
                Account.key.in_(by_email),
            )
        )
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    page = await session.execute(
        query.order_by(Account.created_at.desc(), Account.key).offset(offset).limit(limit)
    )
    listings = {a.key: AccountListing(a.key, a.name, a.created_at) for a in page.scalars()}
    if listings:
        people = await session.execute(
            select(User.account_key, User.email, User.is_active)
            .where(User.account_key.in_(list(listings)))
            .order_by(User.email)
        )
        for account_key, email, active in people:
            listing = listings[account_key]
            listing.emails.append(email)
            listing.users += 1
            listing.active_users += bool(active)
    return list(listings.values()), int(total)


@dataclass(slots=True)
class UserListing:
    id: int
    email: str
    name: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    account_key: str
    account_name: str


async def search_users(
    session: AsyncSession, text: str = "", *, offset: int = 0, limit: int = 25
) -> tuple[list[UserListing], int]:
    """One page of users by e-mail address (any part of it, ignoring case), and the count."""
    query = select(User, Account.name).join(Account, Account.key == User.account_key)
    counted = select(func.count()).select_from(User)
    if text:
        matches = User.email.ilike(_contains(text), escape="\\")
        query, counted = query.where(matches), counted.where(matches)
    total = (await session.execute(counted)).scalar_one()
    rows = await session.execute(query.order_by(User.email).offset(offset).limit(limit))
    listings = [
        UserListing(
            user.id,
            user.email,
            " ".join(part for part in (user.name, user.surname) if part),
            user.is_admin,
            user.is_active,
            user.created_at,
            user.account_key,
            account_name,
        )
        for user, account_name in rows
    ]
    return listings, int(total)


async def account_users(session: AsyncSession, account_key: str) -> list[User]:
    """The account's users by e-mail address; NotFound for an unknown account."""
    await get_account(session, account_key)
    rows = await session.execute(
        select(User).where(User.account_key == account_key).order_by(User.email)
    )
    return list(rows.scalars())
