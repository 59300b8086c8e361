"""Where a JavaScript app's messages and metrics go in the engine.

The sandbox's ``outbound`` resource is shared by every run, but a message an app sends belongs
to the message being handled: it must be stored and published with that message's unit of
work, so a redelivered message repeats nothing. So each run carries its own
:class:`ContextOutbox` (an ``OutboundSink`` bound to the run's :class:`AppContext`) in
``RunContext.extras``, and :class:`RunOutboundResource` hands each message to the outbox of the
run that sent it.

Metric values go straight into ``metric_points``, one row per value fired, as the HTTP API's
metrics do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from vumigo.apps.base import AppContext
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models.metrics import MetricPoint
from vumigo.message import UserMessage
from vumigo.sandbox.resources import Reply, ResourceError
from vumigo.sandbox.resources.metrics import MetricEvent
from vumigo.sandbox.resources.outbound import OutboundMessage, OutboundResource
from vumigo.sandbox.run import Run

#: ``metric_points.store`` holds this much (the resource's name rule allows one more).
MAX_STORE_NAME = 100
#: The key of a run's :class:`ContextOutbox` in ``RunContext.extras``.
OUTBOX = "outbox"


class ContextOutbox:
    """An ``OutboundSink`` for one run: turns what the app sends into messages on the
    :class:`AppContext` of the message (or event) being handled.

    ``message`` is the inbound message the run answers (None for an event). When it is a
    ``send_jsbox`` push trigger, a reply to it becomes a new message to the same address with
    ``session_event: "new"``, as in Vumi Go.
    """

    def __init__(
        self, ctx: AppContext, message: UserMessage | None = None, *, push_trigger: bool = False
    ) -> None:
        self.ctx = ctx
        self.message = message
        self.push_trigger = push_trigger

    async def send(self, account_key: str, conversation_key: str, msg: OutboundMessage) -> None:
        extra_metadata = dict(msg.helper_metadata)
        if msg.kind == "send_to_endpoint":
            assert msg.to_addr is not None
            self.ctx.send_to(
                msg.to_addr,
                msg.content,
                msg.endpoint or "default",
                helper_metadata=extra_metadata,
            )
            return
        inbound = self.message
        if inbound is None:
            # The resource only lets a run reply to its own message, and events have none.
            raise ResourceError("This run has no message to reply to.")
        if self.push_trigger:
            if inbound.from_addr is None:
                raise ResourceError("The push trigger has no address to send to.")
            self.ctx.send_to(
                inbound.from_addr,
                msg.content,
                "default",
                helper_metadata=extra_metadata,
                session_event="new",
            )
            return
        fields: dict[str, Any] = {}
        if extra_metadata:
            # Vumi Go merged the app's metadata into the inbound message's.
            fields["helper_metadata"] = {**inbound.to_dict()["helper_metadata"], **extra_metadata}
        reply = self.ctx.reply_to(inbound, msg.content, msg.continue_session, **fields)
        if msg.kind == "reply_to_group" and inbound.group is not None:
            # A group reply addresses the group, not the one member who wrote.
            reply["to_addr"] = None
            reply["to_addr_type"] = None


class RunOutboundResource(OutboundResource):
    """The ``outbound`` resource with each message handed to its own run's outbox.

    Checks (fields, ``in_reply_to``, endpoints, helper metadata) are the shared resource's;
    only the last step, handing the message over, differs.
    """

    def __init__(self, allowed_helper_metadata: tuple[str, ...] = ()) -> None:
        super().__init__(_NoSink(), allowed_helper_metadata)

    async def _send(self, run: Run, msg: OutboundMessage) -> Reply:
        outbox = run.context.extras.get(OUTBOX)
        if not isinstance(outbox, ContextOutbox):
            raise ResourceError("Messages cannot be sent from this run.")
        await outbox.send(run.account_key, run.context.conversation_key, msg)
        return {}


class _NoSink:
    async def send(self, account_key: str, conversation_key: str, msg: OutboundMessage) -> None:
        raise ResourceError("Messages cannot be sent from this run.")


class DbMetricSink:
    """A ``MetricSink`` storing each fired value as a metric point of the account."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def fire(self, event: MetricEvent) -> None:
        if len(event.store) > MAX_STORE_NAME:
            raise ResourceError(f"Invalid store name: {event.store!r}.")
        async with self.db.transaction() as session:
            await session.execute(
                insert(MetricPoint).values(
                    account_key=event.account_key,
                    store=event.store,
                    name=event.metric,
                    aggregator=event.agg,
                    timestamp=utcnow(),
                    value=event.value,
                )
            )
