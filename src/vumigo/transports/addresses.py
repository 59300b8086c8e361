"""Which of a pool's tags an inbound message was sent to.

Carriers write numbers their own way: the SMSC may put a ``+`` in front of a tag stored without
one, or leave it off. A tag is matched as written first, then with or without the ``+``.
"""

from __future__ import annotations

from sqlalchemy import select

from vumigo.db.engine import Database
from vumigo.db.models import Tag


async def find_tag(db: Database, pool: str, address: str) -> str | None:
    """The tag of ``pool`` that ``address`` names, or None if it names none."""
    address = address.strip()
    bare = address.lstrip("+")
    async with db.sessions() as session:
        found = await session.scalar(
            select(Tag.tag)
            .where(Tag.pool == pool, Tag.tag.in_((address, bare, f"+{bare}")))
            .order_by(Tag.tag != address)
            .limit(1)
        )
    return found
