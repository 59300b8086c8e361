"""Reading and saving a dialogue's poll as JSON: what the CLI, the UI's editor and the JSON-RPC
``conversation.dialogue.get_poll`` / ``save_poll`` methods share.

A poll is checked before it is saved (``parse_poll``), so a broken survey is refused where it is
edited instead of failing people half way through it. Saving keeps the rest of the config.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.dialogue.poll import parse_poll
from vumigo.conversations import service as csvc
from vumigo.db.models import Conversation
from vumigo.errors import InvalidInput


def _dialogue(conv: Conversation) -> Conversation:
    if conv.conversation_type != "dialogue":
        raise InvalidInput(f"conversation {conv.key} is a {conv.conversation_type}, not a dialogue")
    return conv


async def get_poll(session: AsyncSession, account_key: str, key: str) -> dict[str, Any]:
    conv = _dialogue(await csvc.get_conversation(session, account_key, key))
    return dict(conv.config.get("poll") or {})


async def save_poll(session: AsyncSession, account_key: str, key: str, poll: Any) -> dict[str, Any]:
    """Checks and stores the poll; returns it. InvalidInput (PollError) says what is wrong."""
    conv = _dialogue(await csvc.get_conversation(session, account_key, key))
    parse_poll(poll)
    config = {**conv.config, "poll": poll}
    await csvc.update_conversation(session, account_key, conv.key, config=config)
    return dict(poll)
