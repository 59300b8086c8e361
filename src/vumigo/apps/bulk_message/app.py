"""``bulk_message`` ("Group Message"): sends one text to every contact of the conversation's
groups, now or at a scheduled time, through the windowed sender.

Action ``bulk_send``: ``message`` (the text), ``delivery_class`` (default sms: which address of
each contact to use), ``dedupe`` (one message per address), and ``window`` (messages in flight
at once, default 100 as the original). It needs a group, a running conversation and
confirmation. Replies to a group message reach the conversation and are stored; nothing answers
them, as in the original.
"""

from __future__ import annotations

from typing import Any

from vumigo.apps.actions import Action, ActionApp, ActionRun, Param
from vumigo.apps.base import AppContext
from vumigo.apps.bulk_message.sender import DEFAULT_WINDOW, GroupSend, same_text
from vumigo.apps.bulk_message.window import record_event
from vumigo.message import Event, UserMessage

BULK_SEND = Action(
    "bulk_send",
    "Send Bulk Message",
    needs_group=True,
    needs_running=True,
    needs_confirmation=True,
    params=(
        Param("message", str, required=True, help="The text to send."),
        Param("delivery_class", str, default="sms", help="sms, ussd, gtalk, twitter, ..."),
        Param("dedupe", bool, default=False, help="Send once per address."),
        Param("window", int, default=DEFAULT_WINDOW, help="Messages in flight at once."),
    ),
)


class BulkMessageApp(ActionApp):
    conversation_type = "bulk_message"
    display_name = "Group Message"
    actions = (BULK_SEND,)

    async def action_bulk_send(self, run: ActionRun) -> dict[str, Any]:
        params = run.params
        send = GroupSend(
            run,
            "bulk_send",
            same_text(str(params["message"])),
            delivery_class=str(params.get("delivery_class", "sms")),
            dedupe=bool(params.get("dedupe", False)),
            window=int(params.get("window", DEFAULT_WINDOW)),
        )
        return await send.run()

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        """Replies are stored with the conversation's messages; nothing answers them."""

    async def consume_event(self, ctx: AppContext, event: Event, message: UserMessage) -> None:
        record_event(ctx, event)
