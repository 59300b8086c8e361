"""``jsbox`` ("Javascript App"): conversations whose behaviour is a JavaScript app written with
the vumigo_v02 toolkit (or any app speaking the Vumi sandbox protocol), run in the sandbox.

Each inbound message of a running conversation is run through the app (code in
``config.jsbox.javascript``, app config in ``config.jsbox_app_config``; see
:mod:`vumigo.apps.jsbox.config`). What the app sends is stored and published with the message's
own unit of work. The message reaches the app with ``helper_metadata.delivery_class`` set from
its transport type, as Vumi Go did.

Acks, nacks and delivery reports of the conversation's messages reach the app only when its
JSON config says ``"process_events": true``; otherwise they are only counted.

An app's own failures (an exception, a timeout, a crash) are the app's: they are written to
the conversation's log and the message counts as handled, so a broken app cannot make the bus
redeliver a message for ever. Whatever the app sent before failing is still sent.

Action ``send_jsbox`` ("Trigger push messages", see :mod:`vumigo.apps.jsbox.push`) runs the app
once for every opted-in contact of the conversation's groups.
"""

from __future__ import annotations

import logging
from typing import Any

from vumigo.apps.actions import Action, ActionApp, ActionRun, Param
from vumigo.apps.base import AppContext
from vumigo.apps.bulk_message.window import record_event
from vumigo.apps.jsbox import config as jsbox_config
from vumigo.apps.jsbox.config import JsBoxConfig
from vumigo.apps.jsbox.runtime import JsBoxRuntime
from vumigo.apps.jsbox.sinks import ContextOutbox
from vumigo.contacts.fields import DELIVERY_CLASSES, delivery_class_for_transport
from vumigo.message import Event, UserMessage
from vumigo.sandbox import RunResult

log = logging.getLogger(__name__)

NO_CODE = "This conversation has no JavaScript to run (config.jsbox.javascript is empty)."

SEND_JSBOX = Action(
    "send_jsbox",
    "Trigger push messages",
    needs_group=True,
    needs_running=True,
    params=(
        Param(
            "delivery_class",
            str,
            help="Which contact address to push to; default the app config's, else sms.",
        ),
    ),
)


def delivery_class_of(transport_type: str | None) -> str:
    """The delivery class an app sees for a transport type (unknown ones count as sms)."""
    found = delivery_class_for_transport(transport_type or "")
    return found if found in DELIVERY_CLASSES else "sms"


class JsBoxApp(ActionApp):
    conversation_type = "jsbox"
    display_name = "Javascript App"
    actions = (SEND_JSBOX,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runtime: JsBoxRuntime | None = None

    async def start(self) -> None:
        await super().start()
        self.runtime = JsBoxRuntime(self.engine)

    async def stop(self) -> None:
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            await runtime.close()
        await super().stop()

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return jsbox_config.validate(config)

    def sandbox(self) -> JsBoxRuntime:
        if self.runtime is None:
            raise RuntimeError("the jsbox app has not been started")
        return self.runtime

    async def run(
        self,
        ctx: AppContext,
        config: JsBoxConfig,
        message: dict[str, Any],
        outbox: ContextOutbox,
    ) -> RunResult | None:
        """Runs one message or event through the conversation's app (None if it has no code)."""
        runtime = self.sandbox()
        if config.javascript is None:
            await runtime.note(ctx.conversation, logging.WARNING, NO_CODE)
            return None
        result = await runtime.run(ctx.conversation, config, message, outbox)
        if not result.ok:
            log.info(
                "jsbox %s: run ended %s: %s", ctx.conversation.key, result.outcome, result.error
            )
        return result

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        config = JsBoxConfig.of(ctx.config)
        payload = msg.to_dict()
        payload["helper_metadata"]["delivery_class"] = delivery_class_of(msg.transport_type)
        await self.run(ctx, config, payload, ContextOutbox(ctx, msg))

    async def consume_event(self, ctx: AppContext, event: Event, message: UserMessage) -> None:
        # Pushes are sent by the windowed sender, which waits for acks to free its window.
        record_event(ctx, event)
        config = JsBoxConfig.of(ctx.config)
        if config.process_events and config.javascript is not None:
            await self.run(ctx, config, event.to_dict(), ContextOutbox(ctx))

    async def action_send_jsbox(self, run: ActionRun) -> dict[str, Any]:
        from vumigo.apps.jsbox.push import push_to_groups

        return await push_to_groups(self, run)
