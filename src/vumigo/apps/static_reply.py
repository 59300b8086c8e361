"""``static_reply``: answers every message with ``reply_text`` and closes the session."""

from __future__ import annotations

from vumigo.apps.base import AppContext, ConversationApp
from vumigo.message import UserMessage


class StaticReplyApp(ConversationApp):
    conversation_type = "static_reply"
    display_name = "Static Reply"

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        if msg.session_event == "close":
            return  # nobody is listening any more
        text = ctx.config.get("reply_text")
        if text:
            ctx.reply_to(msg, str(text), continue_session=False)
