"""``opt_out``: confirms an opt-out to the sender.

The dispatcher has already recorded the opt-out when the keyword arrived; this conversation is
what the account routes the ``OPT_OUT`` connector to, and it only replies. Messages from the HTTP
API transport get the original's JSON confirmation instead of the text.
"""

from __future__ import annotations

import json

from vumigo.apps.base import AppContext, ConversationApp
from vumigo.dispatcher.optouts import DEFAULT_REPLY
from vumigo.message import UserMessage


class OptOutApp(ConversationApp):
    conversation_type = "opt_out"
    display_name = "Opt Out Handler"

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        if msg.session_event == "close":
            return
        if msg.transport_type == "http_api":
            content = json.dumps({"msisdn": msg.from_addr, "opted_in": False})
        else:
            content = str(ctx.config.get("reply_text") or DEFAULT_REPLY)
        ctx.reply_to(msg, content, continue_session=False)
