"""``send_jsbox``: push messages from a JavaScript app to every contact of its groups.

As in Vumi Go, the app is run once per opted-in contact of the conversation's groups with a
made-up inbound message: ``from_addr`` the contact's address for the delivery class, no content,
no session event, and ``inbound_push_trigger: true``. The app's reply to it is sent as a new
message to that address with ``session_event: "new"``; it may also send to endpoints.

The contacts come through the windowed group sender (:mod:`vumigo.apps.bulk_message.sender`),
so a large push keeps only a window of messages in flight, and a push resumed after a crash
skips every contact whose reply was already stored. A contact's reply is that record; other
messages of the run (more than one message, sends to endpoints, replies carrying helper
metadata) are sent on their own just before, and an app that sends nothing to a contact leaves
no record, so a resumed push runs the app for that contact again.

Other code asks for a push with :func:`send_jsbox` (or the action framework: action
``send_jsbox`` of the conversation); the running platform's scheduler carries it out.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from vumigo.apps.actions import ActionError, ActionRun, request_action
from vumigo.apps.base import AppContext
from vumigo.apps.bulk_message.sender import GroupSend, Outgoing, Planner, Recipient
from vumigo.apps.jsbox.config import JsBoxConfig
from vumigo.apps.jsbox.sinks import ContextOutbox
from vumigo.message import UserMessage

if TYPE_CHECKING:
    from vumigo.apps.jsbox.app import JsBoxApp
    from vumigo.engine.core import Engine

DEFAULT_DELIVERY_CLASS = "sms"


def push_trigger(run: ActionRun, address: str, delivery_class: str) -> UserMessage:
    conversation = run.conversation
    trigger = UserMessage(
        to_addr=None,
        from_addr=address,
        transport_name=None,
        transport_type=delivery_class,
        content=None,
        helper_metadata={
            "go": {
                "user_account": conversation.account_key,
                "conversation_type": conversation.app_type,
                "conversation_key": conversation.key,
            },
            "delivery_class": delivery_class,
        },
    )
    trigger["inbound_push_trigger"] = True
    return trigger


def _is_plain_reply(msg: UserMessage, recipient: Recipient) -> bool:
    """Whether the sender can send ``msg`` as the recipient's record: to them, on the default
    endpoint, with no metadata the sender would drop."""
    return (
        msg.to_addr == recipient.address
        and msg.routing_endpoint == "default"
        and set(msg.helper_metadata) <= {"go"}
    )


def push_planner(
    app: JsBoxApp, run: ActionRun, config: JsBoxConfig, delivery_class: str
) -> Planner:
    engine = run.engine

    async def one(recipient: Recipient) -> tuple[Outgoing | None, list[UserMessage]]:
        ctx = AppContext(engine, run.conversation)
        trigger = push_trigger(run, recipient.address, delivery_class)
        outbox = ContextOutbox(ctx, trigger, push_trigger=True)
        await app.run(ctx, config, trigger.to_dict(), outbox)
        sent = list(ctx.outbound)
        first = next((m for m in sent if _is_plain_reply(m, recipient)), None)
        if first is None:
            return None, sent
        sent.remove(first)
        outgoing = Outgoing(recipient, first.content, session_event=first.session_event)
        return outgoing, sent

    async def plan(chunk: list[Recipient]) -> list[Outgoing]:
        # Runs queue in the account's sandbox pool, so starting them together costs nothing.
        results = await asyncio.gather(*(one(recipient) for recipient in chunk))
        others = [msg for _, rest in results for msg in rest]
        if others:
            await engine.apps.send(run.conversation, others)
        return [outgoing for outgoing, _ in results if outgoing is not None]

    return plan


async def push_to_groups(app: JsBoxApp, run: ActionRun) -> dict[str, Any]:
    """The ``send_jsbox`` action: runs the push and returns the send's progress."""
    config = JsBoxConfig.of(run.conversation.config)
    if config.javascript is None:
        raise ActionError("The conversation has no JavaScript to run.")
    delivery_class = str(
        run.params.get("delivery_class") or config.delivery_class or DEFAULT_DELIVERY_CLASS
    )
    plan = push_planner(app, run, config, delivery_class)
    send = GroupSend(run, "send_jsbox", plan, delivery_class=delivery_class)
    return await send.run()


async def send_jsbox(
    engine: Engine, conversation_key: str, delivery_class: str | None = None
) -> str:
    """Asks for a push to the conversation's groups now; returns the scheduled task's id.

    Checks the action's rules first (a running conversation with a group), raising
    :class:`~vumigo.apps.actions.ActionError` when they are not met.
    """
    from vumigo.apps.scheduler import services_for

    params = {"delivery_class": delivery_class} if delivery_class else {}
    async with engine.db.transaction() as session:
        task = await request_action(session, conversation_key, "send_jsbox", params)
        task_id = task.id
    services_for(engine).scheduler.wake()
    return task_id
