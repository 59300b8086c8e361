"""The Vumi message format: user messages and events as they travel between workers.

A message is a plain dict (``Message.payload``) wrapped in a thin class that fills the
defaults, validates the fields and encodes/decodes the JSON wire form. The wire form is the
one Vumi has used since ``message_version`` "20110921", so payloads stay compatible with
Vumi transports, the Go HTTP API and the JS sandbox.

This module sits on the hot path of every message, so it deliberately avoids pydantic and
deep copies: encoding is one ``json`` call and decoding is ``json.loads`` plus a handful of
dict look-ups.

Construction fills every default (ids, timestamp, nulls, empty metadata) and validates.
Decoding fills only the defaults that carry no information (nulls, empty metadata,
``message_version``) and requires the rest; unknown extra keys are kept, as Vumi does.

Timestamps are **naive datetimes in UTC**. The wire form carries no offset, so naive values
are what decoding yields; constructing with naive values too keeps ``decode(encode(m)) == m``
and lets timestamps compare without TypeErrors. Aware datetimes are converted to naive UTC.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar, cast, overload

__all__ = [
    "ADDRESS_TYPES",
    "CACHE_KEY",
    "DEFAULT_ENDPOINT",
    "DELIVERY_STATUSES",
    "EVENT_TYPES",
    "MESSAGE_VERSION",
    "SESSION_EVENTS",
    "TRANSPORT_TYPES",
    "VUMI_DATE_FORMAT",
    "Event",
    "Message",
    "MessageError",
    "UserMessage",
    "from_dict",
    "from_json",
    "generate_id",
]

VUMI_DATE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
MESSAGE_VERSION = "20110921"
DEFAULT_ENDPOINT = "default"
CACHE_KEY = "__cache__"

SESSION_EVENTS: frozenset[str | None] = frozenset({None, "new", "resume", "close"})
# Canonical values, for UIs and APIs. Like Vumi, validation does not enforce them: third-party
# transports add their own types and a message must not be dropped for that.
ADDRESS_TYPES = frozenset(
    {"msisdn", "irc_nickname", "twitter_handle", "gtalk_id", "jabber_id", "mxit_id", "wechat_id"}
)
TRANSPORT_TYPES = frozenset(
    {"http_api", "irc", "telnet", "twitter", "sms", "ussd", "xmpp", "mxit", "wechat"}
)
EVENT_TYPES = frozenset({"ack", "nack", "delivery_report"})
DELIVERY_STATUSES = frozenset({"pending", "failed", "delivered"})

# The exact Vumi timestamp shape, microseconds optional (1-6 digits, as strptime's %f takes).
# The regex gates datetime.fromisoformat, which is ~10x faster than strptime but lenient.
_TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?", re.ASCII)

_STR = (str,)
_STR_OR_NONE = (str, type(None))
_DICT = (dict,)
# (field, accepted types, description for the error message)
_FieldSpec = tuple[str, tuple[type, ...], str]


class MessageError(ValueError):
    """An invalid message; ``str(err)`` is one line for a person, e.g. "missing field 'to_addr'"."""


def generate_id() -> str:
    """A new message or event id (uuid4 hex), for code that needs one before the message."""
    return uuid.uuid4().hex


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _format_timestamp(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # isoformat with fixed microseconds is the Vumi format, at a fraction of strftime's cost.
    return value.isoformat(" ", "microseconds")


def _parse_timestamp(value: str) -> datetime:
    if _TIMESTAMP_RE.fullmatch(value) is None:
        raise MessageError(f"invalid timestamp {value!r}, expected 'YYYY-MM-DD HH:MM:SS[.ffffff]'")
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # right shape, impossible date such as month 13
        raise MessageError(f"invalid timestamp {value!r}") from None


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return _format_timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default)


def _jsonable(value: Any) -> Any:
    """A JSON-able deep copy of plain message data (dicts, lists, scalars, datetimes)."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return _format_timestamp(value)
    return value


_T = TypeVar("_T")


class _Field(Generic[_T]):
    """A read-only, typed view of one payload field (write through ``msg[name] = value``)."""

    __slots__ = ("name",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: Message, owner: type) -> _T: ...
    def __get__(self, obj: Message | None, owner: type) -> Self | _T:
        if obj is None:
            return self
        return cast(_T, obj.payload.get(self.name))


class Message:
    """Base of the transport messages: a validated wire payload with dict-like access.

    Subclasses declare their ``MESSAGE_TYPE``, defaults and field types; construction fills
    the defaults and validates, decoding (``from_dict``/``from_json``) validates what came in.
    """

    __slots__ = ("payload",)

    MESSAGE_TYPE: ClassVar[str]
    _ID_FIELD: ClassVar[str]
    _NULL_DEFAULTS: ClassVar[tuple[str, ...]] = ()
    _DICT_DEFAULTS: ClassVar[tuple[str, ...]] = ("routing_metadata", "helper_metadata")
    _FIELDS: ClassVar[tuple[_FieldSpec, ...]] = (
        ("routing_metadata", _DICT, "an object"),
        ("helper_metadata", _DICT, "an object"),
    )

    payload: dict[str, Any]

    def __init__(self, **fields: Any) -> None:
        # Only construction generates identity fields; a decoded message must carry its own.
        fields.setdefault("message_type", self.MESSAGE_TYPE)
        if self._ID_FIELD not in fields:
            fields[self._ID_FIELD] = uuid.uuid4().hex
        if "timestamp" not in fields:
            fields["timestamp"] = _utcnow()
        self.payload = fields
        self._fill_defaults()
        self._validate()

    @classmethod
    def _decoded(cls, payload: dict[str, Any]) -> Self:
        msg = cls.__new__(cls)
        msg.payload = payload
        msg._fill_defaults()
        msg._validate()
        return msg

    def _fill_defaults(self) -> None:
        # Decoding fills these too: older Vumi payloads and the Go docs' examples omit them,
        # and their defaults carry no information.
        payload = self.payload
        payload.setdefault("message_version", MESSAGE_VERSION)
        for name in self._DICT_DEFAULTS:
            if name not in payload:
                payload[name] = {}
        for name in self._NULL_DEFAULTS:
            if name not in payload:
                payload[name] = None

    def _validate(self) -> None:
        payload = self.payload
        if payload["message_type"] != self.MESSAGE_TYPE:
            raise MessageError(
                f"message_type must be {self.MESSAGE_TYPE!r}, not {payload['message_type']!r}"
            )
        if payload["message_version"] != MESSAGE_VERSION:
            raise MessageError(f"unsupported message_version {payload['message_version']!r}")
        name = ""
        try:
            for name, types, description in self._FIELDS:
                if not isinstance(payload[name], types):
                    kind = type(payload[name]).__name__
                    raise MessageError(f"{name} must be {description}, not {kind}")
        except KeyError:  # one handler for the whole loop keeps the valid path lean
            raise MessageError(f"missing field {name!r}") from None
        timestamp = payload.get("timestamp")
        if type(timestamp) is str:
            payload["timestamp"] = _parse_timestamp(timestamp)
        elif isinstance(timestamp, datetime):
            if timestamp.tzinfo is not None:
                payload["timestamp"] = timestamp.astimezone(UTC).replace(tzinfo=None)
        elif "timestamp" in payload:
            raise MessageError(f"timestamp must be a datetime, not {type(timestamp).__name__}")
        else:
            raise MessageError("missing field 'timestamp'")

    # -- dict-like access ---------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.payload[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.payload[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self.payload

    def get(self, key: str, default: Any = None) -> Any:
        return self.payload.get(key, default)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message):
            return self.payload == other.payload
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by payload

    def __repr__(self) -> str:
        return f"<{type(self).__name__} payload={self.payload!r}>"

    # -- encoding -------------------------------------------------------------------------

    def to_json(self) -> str:
        """Compact JSON; datetimes in VUMI_DATE_FORMAT; the ``__cache__`` key left out."""
        payload = self.payload
        if CACHE_KEY in payload:
            payload = {key: value for key, value in payload.items() if key != CACHE_KEY}
        return _ENCODER.encode(payload)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able deep copy of the payload, as ``to_json`` would encode it."""
        return {key: _jsonable(value) for key, value in self.payload.items() if key != CACHE_KEY}

    def copy(self) -> Self:
        """A deep copy, ``__cache__`` included (it is only left out of the wire form)."""
        clone = type(self).__new__(type(self))
        clone.payload = copy.deepcopy(self.payload)
        return clone

    # -- common fields ----------------------------------------------------------------

    message_type: _Field[str] = _Field()
    message_version: _Field[str] = _Field()
    timestamp: _Field[datetime] = _Field()  # naive UTC
    helper_metadata: _Field[dict[str, Any]] = _Field()
    routing_metadata: _Field[dict[str, Any]] = _Field()

    @property
    def cache(self) -> dict[str, Any]:
        """Scratch space that travels with the object but never goes on the wire."""
        value: dict[str, Any] = self.payload.setdefault(CACHE_KEY, {})
        return value

    @property
    def routing_endpoint(self) -> str:
        name: str | None = self.routing_metadata.get("endpoint_name")
        return DEFAULT_ENDPOINT if name is None else name

    def set_routing_endpoint(self, name: str | None = None) -> None:
        self.routing_metadata["endpoint_name"] = DEFAULT_ENDPOINT if name is None else name


# Fields a reply takes from the message it answers and a caller may not override: the
# addressing, and the transport context, which is opaque (e.g. it holds a USSD session id).
_REPLY_ADDRESSING = ("to_addr", "from_addr", "group", "in_reply_to", "provider")
_REPLY_FIXED = (*_REPLY_ADDRESSING, "transport_name", "transport_type", "transport_metadata")


class UserMessage(Message):
    """A message to or from a person (Vumi's ``TransportUserMessage``)."""

    __slots__ = ()

    MESSAGE_TYPE = "user_message"
    _ID_FIELD = "message_id"
    _NULL_DEFAULTS = (
        "in_reply_to",
        "session_event",
        "content",
        "group",
        "provider",
        "to_addr_type",
        "from_addr_type",
    )
    _DICT_DEFAULTS = (*Message._DICT_DEFAULTS, "transport_metadata")
    # Must be present but may be null: a group message has no to_addr, and an outbound
    # message gets its from_addr and transport fields when it is routed.
    _NULLABLE_REQUIRED = ("to_addr", "from_addr", "transport_name", "transport_type")
    _FIELDS = (
        ("message_id", _STR, "a string"),
        *((name, _STR_OR_NONE, "a string or null") for name in _NULLABLE_REQUIRED),
        *((name, _STR_OR_NONE, "a string or null") for name in _NULL_DEFAULTS),
        ("transport_metadata", _DICT, "an object"),
        *Message._FIELDS,
    )

    def __init__(
        self,
        *,
        to_addr: str | None,
        from_addr: str | None,
        transport_name: str | None,
        transport_type: str | None,
        content: str | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(
            to_addr=to_addr,
            from_addr=from_addr,
            transport_name=transport_name,
            transport_type=transport_type,
            content=content,
            **fields,
        )

    def _validate(self) -> None:
        super()._validate()
        session_event = self.payload["session_event"]  # a string or None by now
        if session_event not in SESSION_EVENTS:
            raise MessageError(f"invalid session_event {session_event!r}")

    @classmethod
    def send(cls, to_addr: str | None, content: str | None, **fields: Any) -> UserMessage:
        """A new outbound message; from_addr and the transport are filled in by routing."""
        fields.setdefault("from_addr", None)
        fields.setdefault("transport_name", None)
        fields.setdefault("transport_type", None)
        return cls(to_addr=to_addr, content=content, **fields)

    def reply(
        self, content: str | None, continue_session: bool = True, **overrides: Any
    ) -> UserMessage:
        """A reply to this message, sent back the way it came (same routing endpoint).

        Addresses (and their types) are swapped and ``in_reply_to`` is this message's id. The
        fields in ``_REPLY_FIXED`` come from this message and cannot be overridden.
        ``session_event`` is null, or "close" when ``continue_session`` is false, unless given.
        ``helper_metadata`` is copied but may be overridden: Go's sandbox replies with merged
        metadata. Metadata is copied, not shared, so editing the reply cannot alter this message.
        """
        for name in _REPLY_FIXED:
            if name in overrides:
                raise TypeError(f"reply() may not override {name!r}")
        payload = self.payload
        fields: dict[str, Any] = {
            "to_addr_type": payload["from_addr_type"],
            "from_addr_type": payload["to_addr_type"],
            "session_event": None if continue_session else "close",
            **overrides,
        }
        if "helper_metadata" not in fields:
            fields["helper_metadata"] = _jsonable(payload["helper_metadata"])
        reply = UserMessage(
            to_addr=payload["from_addr"],
            from_addr=payload["to_addr"],
            group=payload["group"],
            in_reply_to=payload["message_id"],
            provider=payload["provider"],
            transport_name=payload["transport_name"],
            transport_type=payload["transport_type"],
            transport_metadata=_jsonable(payload["transport_metadata"]),
            content=content,
            **fields,
        )
        reply.set_routing_endpoint(self.routing_endpoint)
        return reply

    def reply_group(
        self, content: str | None, continue_session: bool = True, **overrides: Any
    ) -> UserMessage:
        """Like ``reply``, but to the whole group when this message came from one.

        As in Vumi, the group reply keeps ``group`` and sets ``to_addr`` to null (a group
        message addresses nobody in particular); without a group it is a plain reply.
        """
        reply = self.reply(content, continue_session, **overrides)
        if self.payload["group"] is not None:
            reply.payload["to_addr"] = None
            reply.payload["to_addr_type"] = None
        return reply

    # -- typed fields -------------------------------------------------------------------

    message_id: _Field[str] = _Field()
    to_addr: _Field[str | None] = _Field()
    from_addr: _Field[str | None] = _Field()
    content: _Field[str | None] = _Field()
    session_event: _Field[str | None] = _Field()
    in_reply_to: _Field[str | None] = _Field()
    transport_name: _Field[str | None] = _Field()
    transport_type: _Field[str | None] = _Field()
    group: _Field[str | None] = _Field()
    provider: _Field[str | None] = _Field()
    to_addr_type: _Field[str | None] = _Field()
    from_addr_type: _Field[str | None] = _Field()
    transport_metadata: _Field[dict[str, Any]] = _Field()


class Event(Message):
    """A transport's report about an outbound user message (Vumi's ``TransportEvent``)."""

    __slots__ = ()

    MESSAGE_TYPE = "event"
    _ID_FIELD = "event_id"
    _FIELDS = (
        ("event_id", _STR, "a string"),
        ("user_message_id", _STR, "a string"),
        ("event_type", _STR, "a string"),
        *Message._FIELDS,
    )

    def __init__(self, *, event_type: str, user_message_id: str, **fields: Any) -> None:
        super().__init__(event_type=event_type, user_message_id=user_message_id, **fields)

    @classmethod
    def ack(cls, user_message_id: str, sent_message_id: str, **fields: Any) -> Event:
        """The transport handed the message on; ``sent_message_id`` is the third party's id."""
        return cls(
            event_type="ack",
            user_message_id=user_message_id,
            sent_message_id=sent_message_id,
            **fields,
        )

    @classmethod
    def nack(cls, user_message_id: str, nack_reason: str, **fields: Any) -> Event:
        """The transport could not hand the message on."""
        return cls(
            event_type="nack", user_message_id=user_message_id, nack_reason=nack_reason, **fields
        )

    @classmethod
    def delivery_report(cls, user_message_id: str, delivery_status: str, **fields: Any) -> Event:
        """Delivery status from the network: pending, failed or delivered."""
        return cls(
            event_type="delivery_report",
            user_message_id=user_message_id,
            delivery_status=delivery_status,
            **fields,
        )

    def _validate(self) -> None:
        super()._validate()
        payload = self.payload
        event_type = payload["event_type"]
        if event_type == "ack":
            if not isinstance(payload.get("sent_message_id"), str):
                raise MessageError("ack needs sent_message_id (a string)")
        elif event_type == "nack":
            if not isinstance(payload.get("nack_reason"), str):
                raise MessageError("nack needs nack_reason (a string)")
        elif event_type == "delivery_report":
            if "delivery_status" not in payload:
                raise MessageError("delivery_report needs delivery_status")
            status = payload["delivery_status"]
            if not isinstance(status, str) or status not in DELIVERY_STATUSES:
                raise MessageError(f"invalid delivery_status {status!r}")
        else:
            raise MessageError(f"invalid event_type {event_type!r}")

    event_id: _Field[str] = _Field()
    user_message_id: _Field[str] = _Field()
    event_type: _Field[str] = _Field()
    sent_message_id: _Field[str | None] = _Field()  # ack only
    nack_reason: _Field[str | None] = _Field()  # nack only
    delivery_status: _Field[str | None] = _Field()  # delivery_report only

    @property
    def status(self) -> str:
        """The status name Vumi's metrics use: ack, nack or delivery_report.<status>."""
        event_type: str = self.payload["event_type"]
        if event_type == "delivery_report":
            return f"delivery_report.{self.payload['delivery_status']}"
        return event_type


_CLASSES: dict[str, type[UserMessage] | type[Event]] = {
    "user_message": UserMessage,
    "event": Event,
}


def _decode_payload(payload: dict[str, Any]) -> UserMessage | Event:
    message_type = payload.get("message_type")
    if message_type is None:
        raise MessageError("missing field 'message_type'")
    cls = _CLASSES.get(message_type) if isinstance(message_type, str) else None
    if cls is None:
        raise MessageError(f"unknown message_type {message_type!r}")
    return cls._decoded(payload)


def from_dict(data: dict[str, Any]) -> UserMessage | Event:
    """Validate a decoded payload; the dict is copied shallowly, nested values are shared.

    Only the top-level ``timestamp`` string becomes a datetime. Vumi turned *any* string in
    the timestamp format into one, anywhere in the message; that would silently change
    content or metadata that merely looks like a date, so we don't.
    """
    if not isinstance(data, dict):
        raise MessageError(f"a message must be a JSON object, not {type(data).__name__}")
    return _decode_payload(dict(data))


def from_json(data: str | bytes) -> UserMessage | Event:
    """Decode and validate one message from its JSON wire form."""
    try:
        payload = json.loads(data)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise MessageError(f"invalid JSON: {exc}") from None
    if not isinstance(payload, dict):
        kind = "array" if isinstance(payload, list) else type(payload).__name__
        raise MessageError(f"a message must be a JSON object, not {kind}")
    return _decode_payload(payload)
