"""The conversation app plug-in interface and the context a handler works in.

A conversation type is a subclass of ``ConversationApp`` with a ``conversation_type`` name,
listed in ``vumigo.apps.registry``. Its handlers do not write to the database or the bus: they
ask the context to send, and the worker stores what they sent together with the fact that the
message was handled, in one transaction, then publishes. That is what makes a redelivered
message have its effects once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.dispatcher import hops
from vumigo.dispatcher.lookups import AppInfo
from vumigo.message import Event, UserMessage

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

#: A write a handler asks for, run in the transaction that marks its message handled.
ExtraWrite = Callable[[AsyncSession], Awaitable[None]]


class AppContext:
    """What one handler call may do: reply, send, and see its conversation."""

    def __init__(self, engine: Engine, conversation: AppInfo) -> None:
        self.engine = engine
        self.conversation = conversation
        self.outbound: list[UserMessage] = []
        # Stored with the message's "handled" mark, so a redelivery repeats none of them.
        self.extra_writes: list[ExtraWrite] = []
        # Run once those writes are committed (e.g. to wake a worker that reads them).
        self.after_commit: list[Callable[[], None]] = []

    async def run_extra_writes(self, session: AsyncSession) -> None:
        for write in self.extra_writes:
            await write(session)

    def committed(self) -> None:
        for callback in self.after_commit:
            callback()

    @property
    def config(self) -> dict[str, Any]:
        return self.conversation.config

    def go_metadata(self) -> dict[str, Any]:
        return {
            "user_account": self.conversation.account_key,
            "conversation_type": self.conversation.app_type,
            "conversation_key": self.conversation.key,
        }

    def reply_to(
        self, msg: UserMessage, content: str | None, continue_session: bool = True, **fields: Any
    ) -> UserMessage:
        reply = msg.reply(content, continue_session, **fields)
        reply.routing_metadata.pop(hops.INBOUND_HOPS, None)
        reply.helper_metadata["go"] = self.go_metadata()
        self.outbound.append(reply)
        return reply

    def send_to(
        self, to_addr: str, content: str | None, endpoint: str = "default", **fields: Any
    ) -> UserMessage:
        helper_metadata = fields.pop("helper_metadata", {})
        helper_metadata["go"] = self.go_metadata()
        msg = UserMessage.send(to_addr, content, helper_metadata=helper_metadata, **fields)
        msg.set_routing_endpoint(endpoint)
        self.outbound.append(msg)
        return msg


class ConversationApp:
    """Base of every conversation type. Subclasses override the handlers they need."""

    conversation_type: ClassVar[str] = ""
    display_name: ClassVar[str] = ""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def start(self) -> None:
        """Called once when the app workers start (e.g. to start schedulers)."""

    async def stop(self) -> None:
        """Called once when the app workers stop."""

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        """Handles an inbound message (including session new/close) of a running conversation."""

    async def consume_event(self, ctx: AppContext, event: Event, message: UserMessage) -> None:
        """Handles an ack, nack or delivery report of a message the conversation sent."""
