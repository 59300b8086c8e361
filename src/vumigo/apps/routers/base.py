"""The router plug-in interface and the context a router's handler works in.

A router sits between channels and conversations. For each inbound message it either hands
the message on through one of its conversation-side endpoints (``forward``) or answers it
itself (``reply_to``, as a USSD menu does); outbound messages from the conversations behind it
pass back to the dispatcher unchanged, after the router has seen them. Like conversation
handlers, router handlers do not write: they ask for writes, which the worker commits together
with the message's fate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from vumigo.apps.base import ExtraWrite
from vumigo.dispatcher import hops
from vumigo.dispatcher.lookups import AppInfo
from vumigo.message import UserMessage
from vumigo.routing.connectors import DEFAULT_ENDPOINT

if TYPE_CHECKING:
    from vumigo.engine.core import Engine


class RouterContext:
    def __init__(self, engine: Engine, router: AppInfo) -> None:
        self.engine = engine
        self.router = router
        self.endpoint: str | None = None  # set by ``forward``
        self.replies: list[UserMessage] = []
        self.extra_writes: list[ExtraWrite] = []
        # Store the forwarded message as changed here, so a replay after a crash goes the same
        # way (a menu rewrites the message it hands on).
        self.save_forwarded = False

    @property
    def config(self) -> dict[str, Any]:
        return self.router.config

    def forward(self, msg: UserMessage, endpoint: str = DEFAULT_ENDPOINT) -> None:
        msg.set_routing_endpoint(endpoint)
        self.endpoint = endpoint

    def go_metadata(self) -> dict[str, Any]:
        return {
            "user_account": self.router.account_key,
            "router_type": self.router.app_type,
            "router_key": self.router.key,
        }

    def reply_to(
        self, msg: UserMessage, content: str | None, continue_session: bool = True
    ) -> UserMessage:
        """A reply from the router itself; it leaves through the router's channel side."""
        reply = msg.reply(content, continue_session)
        reply.routing_metadata.pop(hops.INBOUND_HOPS, None)
        reply.set_routing_endpoint(DEFAULT_ENDPOINT)
        reply.helper_metadata["go"] = self.go_metadata()
        self.replies.append(reply)
        return reply


class RouterApp:
    """Base of every router type. ``route_inbound`` must forward or reply."""

    router_type: ClassVar[str] = ""
    display_name: ClassVar[str] = ""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The config as it should be stored; raises InvalidInput naming what is wrong."""
        return config

    async def route_inbound(self, ctx: RouterContext, msg: UserMessage) -> None:
        ctx.forward(msg)

    async def route_outbound(self, ctx: RouterContext, msg: UserMessage) -> None:
        """Sees a conversation's outbound message before it goes on (unchanged)."""
