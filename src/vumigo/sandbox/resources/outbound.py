"""The ``outbound`` resource: replies and new messages from the app.

- ``reply_to`` (and ``reply_to_group``) may only answer the message of the current run:
  ``in_reply_to`` must be its ``message_id``. When that message is a push trigger
  (``inbound_push_trigger: true``, sent by ``vumigo jsbox send``), the reply goes out as a new
  message with ``session_event: "new"``, as in Vumi Go.
- ``send_to_endpoint`` sends through ``default`` or one of the conversation's extra endpoints
  (they are routed like any other endpoint in the account's routing table); ``send_to_tag``
  sends from a ``pool:tag`` the account holds.
- ``helper_metadata`` keys must be among those the operator allows
  (``VUMIGO_JSBOX_ALLOWED_HELPER_METADATA``); by default none are.

The resource checks what the app asked for (with the original's failure texts) and hands an
:class:`OutboundMessage` to the :class:`OutboundSink` the engine implements, which builds and
routes the Vumi message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import Run

OutboundKind = Literal["reply_to", "reply_to_group", "send_to_endpoint"]


@dataclass(frozen=True)
class OutboundMessage:
    kind: OutboundKind
    content: str | None
    helper_metadata: Mapping[str, Any] = field(default_factory=dict)
    #: The inbound message replied to (``reply_to`` and ``reply_to_group``).
    in_reply_to: Mapping[str, Any] | None = None
    continue_session: bool = True
    #: Recipient and endpoint of a ``send_to_endpoint`` (``send_to_tag`` gives ``pool:tag``).
    to_addr: str | None = None
    endpoint: str | None = None


class OutboundSink(Protocol):
    """Implemented by the engine. Raising fails the app's request with the exception's text."""

    async def send(self, account_key: str, conversation_key: str, msg: OutboundMessage) -> None: ...


class InMemoryOutbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, OutboundMessage]] = []

    async def send(self, account_key: str, conversation_key: str, msg: OutboundMessage) -> None:
        self.sent.append((account_key, conversation_key, msg))


_REPLY_FIELDS = {
    "content": "string or null: the reply text",
    "in_reply_to": "string: message_id of the message being replied to (this run's message)",
    "continue_session": "boolean, default true: whether the session stays open",
    "helper_metadata": "object or null: extra helper metadata (allowed keys only)",
}
_REPLY_ERRORS = (
    "'content' must be given.",
    "'content' must be unicode or null.",
    "'in_reply_to' must be given.",
    "'continue_session' must be either true or false if given",
    "Could not find original message with id: <id>",
    "'helper_metadata' is not allowed",
    "'helper_metadata' must be object or null.",
    "'helper_metadata' may only contain the following keys: <keys>",
)


class OutboundResource(Resource):
    """Send replies and messages."""

    name = "outbound"
    limits = {
        "helper_metadata": "no keys unless the operator allows some (setting "
        "VUMIGO_JSBOX_ALLOWED_HELPER_METADATA)",
        "replies": "only to this run's own message",
    }

    def __init__(self, sink: OutboundSink, allowed_helper_metadata: Iterable[str] = ()) -> None:
        self.sink = sink
        self.allowed_helper_metadata = frozenset(allowed_helper_metadata)

    def _content(self, request: Request) -> str | None:
        if "content" not in request:
            raise ResourceError("'content' must be given.")
        content = request["content"]
        if not isinstance(content, str | None):
            raise ResourceError("'content' must be unicode or null.")
        return content

    def _helper_metadata(self, request: Request) -> dict[str, Any]:
        value = request.get("helper_metadata")
        if value is None or value == {}:
            return {}
        if not self.allowed_helper_metadata:
            raise ResourceError("'helper_metadata' is not allowed")
        if not isinstance(value, dict):
            raise ResourceError("'helper_metadata' must be object or null.")
        if any(key not in self.allowed_helper_metadata for key in value):
            allowed = ", ".join(sorted(self.allowed_helper_metadata))
            raise ResourceError(f"'helper_metadata' may only contain the following keys: {allowed}")
        return value

    def _to_addr(self, request: Request) -> str:
        to_addr = request.get("to_addr")
        if not isinstance(to_addr, str):
            raise ResourceError("'to_addr' must be given in sends.")
        return to_addr

    async def _send(self, run: Run, msg: OutboundMessage) -> Reply:
        await self.sink.send(run.account_key, run.context.conversation_key, msg)
        return {}

    async def _reply(self, kind: OutboundKind, request: Request, run: Run) -> Reply:
        content = self._content(request)
        in_reply_to = request.get("in_reply_to")
        if not isinstance(in_reply_to, str):
            raise ResourceError("'in_reply_to' must be given.")
        continue_session = request.get("continue_session", True)
        if continue_session is not True and continue_session is not False:
            raise ResourceError("'continue_session' must be either true or false if given")
        if in_reply_to != run.message_id:
            raise ResourceError(f"Could not find original message with id: {in_reply_to!r}")
        helper_metadata = self._helper_metadata(request)
        msg = OutboundMessage(
            kind=kind,
            content=content,
            helper_metadata=helper_metadata,
            in_reply_to=run.message,
            continue_session=continue_session,
        )
        return await self._send(run, msg)

    @command(
        "Reply to the sender of this run's message.", request=_REPLY_FIELDS, errors=_REPLY_ERRORS
    )
    async def reply_to(self, request: Request, run: Run) -> Reply:
        return await self._reply("reply_to", request, run)

    @command(
        "Reply to the group this run's message came from.",
        request=_REPLY_FIELDS,
        errors=_REPLY_ERRORS,
    )
    async def reply_to_group(self, request: Request, run: Run) -> Reply:
        return await self._reply("reply_to_group", request, run)

    @command(
        "Send a new message through one of the conversation's endpoints.",
        request={
            "content": "string or null",
            "to_addr": "string: the recipient's address",
            "endpoint": "string: 'default' or one of the conversation's extra endpoints",
            "helper_metadata": "object or null (allowed keys only)",
        },
        errors=(
            "'content' must be given.",
            "'content' must be unicode or null.",
            "'to_addr' must be given in sends.",
            "'endpoint' must be given in sends.",
            "Endpoint <endpoint> not configured",
        ),
    )
    async def send_to_endpoint(self, request: Request, run: Run) -> Reply:
        content = self._content(request)
        to_addr = self._to_addr(request)
        endpoint = request.get("endpoint")
        if not isinstance(endpoint, str):
            raise ResourceError("'endpoint' must be given in sends.")
        if endpoint != "default" and endpoint not in run.context.endpoints:
            raise ResourceError(f"Endpoint {endpoint!r} not configured")
        msg = OutboundMessage(
            kind="send_to_endpoint",
            content=content,
            helper_metadata=self._helper_metadata(request),
            to_addr=to_addr,
            endpoint=endpoint,
        )
        return await self._send(run, msg)

    @command(
        "Send a new message from a tag the account holds (deprecated: use send_to_endpoint).",
        request={
            "content": "string",
            "to_addr": "string",
            "tagpool": "string: the tag's pool",
            "tag": "string: the tag",
        },
        errors=("Tag, content or to_addr not specified", "Tag (<pool>, <tag>) not held by account"),
    )
    async def send_to_tag(self, request: Request, run: Run) -> Reply:
        fields = [request.get(name) for name in ("tagpool", "tag", "content", "to_addr")]
        if not all(isinstance(value, str) for value in fields):
            raise ResourceError("Tag, content or to_addr not specified")
        pool, tag, content, to_addr = (str(value) for value in fields)
        endpoint = f"{pool}:{tag}"
        if endpoint not in run.context.tags:
            raise ResourceError(f"Tag {(pool, tag)!r} not held by account")
        msg = OutboundMessage(
            kind="send_to_endpoint", content=content, to_addr=to_addr, endpoint=endpoint
        )
        return await self._send(run, msg)
