"""Opt-out keywords: a message whose whole trimmed content is a keyword opts its sender out."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import OptOut
from vumigo.db.upsert import insert_for
from vumigo.message import UserMessage

DEFAULT_REPLY = "You have opted out"


def matched_keyword(content: str | None, keywords: list[str], case_sensitive: bool) -> str | None:
    """The keyword the content is, or None. Only the whole message counts, as in the original."""
    if not content:
        return None
    text = content.strip()
    if not case_sensitive:
        text = text.lower()
        return next((kw for kw in keywords if kw.lower() == text), None)
    return next((kw for kw in keywords if kw == text), None)


def address_type(msg: UserMessage) -> str:
    return msg.from_addr_type or "msisdn"


async def record_optout(session: AsyncSession, account_key: str, msg: UserMessage) -> None:
    """Stores the sender's opt-out; a repeat opt-out keeps the first record."""
    stmt = insert_for(session, OptOut).values(
        account_key=account_key,
        address_type=address_type(msg),
        address=msg.from_addr or "",
        message_id=msg.message_id,
    )
    await session.execute(stmt.on_conflict_do_nothing())
