"""Reading accounts for operators: one account or NotFound, all of them with pools and tags.

Also the account flags, the one account-level setting operators change from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
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
