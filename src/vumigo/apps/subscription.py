"""``subscription`` ("Subscription Manager"): keywords that subscribe or unsubscribe the sender.

Config ``handlers`` [{keyword, operation: subscribe|unsubscribe, campaign_name, reply_copy}].
The first word of a message is compared with each handler's keyword, case-insensitively; the
first match sets ``contact.subscription[campaign_name]`` to ``subscribed`` or ``unsubscribed``
(making the contact if the sender has none) and replies ``reply_copy``. No match replies
"Unrecognised keyword." Smart groups such as ``subscription-<campaign>:subscribed`` then pick
the subscribers up for group sends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.actions import ActionApp
from vumigo.apps.base import AppContext
from vumigo.apps.contact_updates import change_contact, contact_for, with_values
from vumigo.apps.routers.keyword import first_word
from vumigo.errors import InvalidInput
from vumigo.message import UserMessage

UNRECOGNISED = "Unrecognised keyword."
OPERATIONS = {"subscribe": "subscribed", "unsubscribe": "unsubscribed"}


def matching_handler(config: dict[str, Any], content: str | None) -> dict[str, Any] | None:
    word = first_word(content)
    if not word:
        return None
    for handler in config.get("handlers") or []:
        if isinstance(handler, dict) and str(handler.get("keyword", "")).lower() == word:
            return handler
    return None


class SubscriptionApp(ActionApp):
    conversation_type = "subscription"
    display_name = "Subscription Manager"

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        handlers = config.get("handlers", [])
        if not isinstance(handlers, list):
            raise InvalidInput("handlers must be a list")
        for handler in handlers:
            if not isinstance(handler, dict):
                raise InvalidInput("each handler must be an object")
            keyword = handler.get("keyword")
            if not isinstance(keyword, str) or len(keyword.split()) != 1:
                raise InvalidInput("each handler needs a one-word keyword")
            if handler.get("operation") not in OPERATIONS:
                raise InvalidInput("operation must be subscribe or unsubscribe")
            if not isinstance(handler.get("campaign_name"), str) or not handler["campaign_name"]:
                raise InvalidInput("each handler needs a campaign_name")
            if not isinstance(handler.get("reply_copy", ""), str):
                raise InvalidInput("reply_copy must be text")
        return config

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        if msg.session_event == "close" or not msg.from_addr:
            return
        handler = matching_handler(ctx.config, msg.content)
        if handler is None:
            ctx.reply_to(msg, UNRECOGNISED, continue_session=False)
            return
        campaign = str(handler["campaign_name"])
        value = OPERATIONS.get(str(handler.get("operation")))
        if value is not None:
            account, address = ctx.conversation.account_key, msg.from_addr
            transport = msg.transport_type

            async def subscribe(session: AsyncSession) -> None:
                contact = await contact_for(session, account, address, transport)
                await change_contact(
                    session, account, contact, subscription=with_values({campaign: value})
                )

            ctx.extra_writes.append(subscribe)
        ctx.reply_to(msg, str(handler.get("reply_copy") or ""), continue_session=False)
