"""Tests for vumigo.message: defaults, the JSON wire form, reply semantics, events, bad input."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from vumigo.message import (
    ADDRESS_TYPES,
    DELIVERY_STATUSES,
    EVENT_TYPES,
    MESSAGE_VERSION,
    SESSION_EVENTS,
    TRANSPORT_TYPES,
    VUMI_DATE_FORMAT,
    Event,
    Message,
    MessageError,
    UserMessage,
    from_dict,
    from_json,
)

# -- fixtures: the examples from the Vumi Go HTTP API docs ----------------------------------
# Pasted from the docs; only the `// ...` comments inside the metadata objects and the
# event's trailing comma were removed, since they are not JSON.

DOC_USER_MESSAGE_JSON = """
{
    "message_id": "59b37288d8d94e42ab804158bdbf53e5",
    "in_reply_to": null,
    "session_event": null,
    "to_addr": "1234",
    "to_addr_type": "msisdn",
    "from_addr": "+27761234567",
    "from_addr_type": "msisdn",
    "content": "This is an incoming SMS!",
    "transport_name": "smpp_transport",
    "transport_type": "sms",
    "transport_metadata": {
    },
    "helper_metadata": {
    }
}
"""

DOC_EVENT_JSON = """
{
    "message_type": "event",
    "event_id": "b04ec322fc1c4819bc3f28e6e0c69de6",
    "event_type": "ack",
    "user_message_id": "60c48289d8d94e42ab804159acce42d4",
    "helper_metadata": {
    },
    "timestamp": "2014-10-28 16:19:37.485612",
    "sent_message_id": "external-id"
}
"""

# A complete inbound message as a Vumi transport puts it on the wire, with Go's routing
# metadata and an extra key that is not part of the format.
FULL_WIRE_JSON = json.dumps(
    {
        "message_version": "20110921",
        "message_type": "user_message",
        "timestamp": "2014-10-28 16:19:37.485612",
        "routing_metadata": {
            "endpoint_name": "default",
            "go_hops": [[["TRANSPORT_TAG:pool:tag", "default"], ["CONVERSATION:jsbox:k", "x"]]],
        },
        "helper_metadata": {
            "go": {"user_account": "acc", "conversation_type": "jsbox", "conversation_key": "k"},
            "tag": {"tag": ["pool", "tag"]},
        },
        "message_id": "59b37288d8d94e42ab804158bdbf53e5",
        "to_addr": "*120*1234#",
        "from_addr": "+27761234567",
        "in_reply_to": None,
        "session_event": "new",
        "content": None,
        "transport_name": "ussd_transport",
        "transport_type": "ussd",
        "transport_metadata": {"session_id": "s-1"},
        "group": None,
        "provider": "mtn",
        "to_addr_type": None,
        "from_addr_type": "msisdn",
        "inbound_push_trigger": True,
    }
)

DROP = object()  # marks a field to remove in `wire()`


def make_msg(**fields: Any) -> UserMessage:
    base: dict[str, Any] = {
        "to_addr": "+27761234567",
        "from_addr": "1234",
        "transport_name": "sms_transport",
        "transport_type": "sms",
        "content": "hello",
    }
    base.update(fields)
    return UserMessage(**base)


def wire(source: Message | None = None, **changes: Any) -> dict[str, Any]:
    """A valid wire dict (default: a user message) with some fields changed or dropped."""
    data = (source or make_msg()).to_dict()
    for key, value in changes.items():
        if value is DROP:
            del data[key]
        else:
            data[key] = value
    return data


# -- constants ------------------------------------------------------------------------------


def test_constants() -> None:
    assert MESSAGE_VERSION == "20110921"
    assert VUMI_DATE_FORMAT == "%Y-%m-%d %H:%M:%S.%f"
    assert frozenset({None, "new", "resume", "close"}) == SESSION_EVENTS
    assert frozenset({"ack", "nack", "delivery_report"}) == EVENT_TYPES
    assert frozenset({"pending", "failed", "delivered"}) == DELIVERY_STATUSES
    assert {"msisdn", "twitter_handle", "wechat_id"} <= ADDRESS_TYPES
    assert {"sms", "ussd", "http_api", "xmpp"} <= TRANSPORT_TYPES
    assert issubclass(MessageError, ValueError)


# -- defaults ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("message_type", "user_message"),
        ("message_version", "20110921"),
        ("routing_metadata", {}),
        ("helper_metadata", {}),
        ("transport_metadata", {}),
        ("in_reply_to", None),
        ("session_event", None),
        ("content", None),
        ("group", None),
        ("provider", None),
        ("to_addr_type", None),
        ("from_addr_type", None),
    ],
)
def test_user_message_defaults(field: str, expected: object) -> None:
    msg = UserMessage(to_addr="a", from_addr="b", transport_name="t", transport_type="sms")
    assert field in msg
    assert msg[field] == expected


def test_generated_ids_and_timestamp() -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    first, second = make_msg(), make_msg()
    after = datetime.now(UTC).replace(tzinfo=None)
    assert re.fullmatch(r"[0-9a-f]{32}", first.message_id)
    assert first.message_id != second.message_id
    assert first.timestamp.tzinfo is None  # naive UTC
    assert before <= first.timestamp <= after


def test_mutable_defaults_are_not_shared() -> None:
    first, second = make_msg(), make_msg()
    first.helper_metadata["go"] = {}
    first.transport_metadata["x"] = 1
    assert second.helper_metadata == {}
    assert second.transport_metadata == {}


def test_given_fields_are_kept() -> None:
    stamp = datetime(2020, 1, 2, 3, 4, 5, 6)
    msg = make_msg(message_id="abc", timestamp=stamp, session_event="new", group="#chan")
    assert (msg.message_id, msg.timestamp, msg.session_event, msg.group) == (
        "abc",
        stamp,
        "new",
        "#chan",
    )


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("message_id", "id-1"),
        ("to_addr", "+27761234567"),
        ("from_addr", "1234"),
        ("content", "hello"),
        ("session_event", "resume"),
        ("in_reply_to", "id-0"),
        ("transport_name", "sms_transport"),
        ("transport_type", "sms"),
        ("group", "#chan"),
        ("provider", "mtn"),
        ("to_addr_type", "msisdn"),
        ("from_addr_type", "msisdn"),
        ("helper_metadata", {"go": {"user_account": "acc"}}),
        ("routing_metadata", {"endpoint_name": "extra"}),
        ("transport_metadata", {"session_id": "s"}),
        ("timestamp", datetime(2014, 10, 28, 16, 19, 37)),
    ],
)
def test_typed_properties_read_the_payload(attribute: str, value: object) -> None:
    msg = make_msg(**{attribute: value})
    assert getattr(msg, attribute) == value
    assert msg[attribute] == value


def test_properties_are_read_only() -> None:
    msg = make_msg()
    with pytest.raises(AttributeError):
        msg.content = "changed"  # type: ignore[misc]
    msg["content"] = "changed"
    assert msg.content == "changed"


def test_send_leaves_routing_fields_null() -> None:
    msg = UserMessage.send("+27761234567", "hi", helper_metadata={"go": {}})
    assert msg.to_addr == "+27761234567"
    assert msg.content == "hi"
    assert (msg.from_addr, msg.transport_name, msg.transport_type) == (None, None, None)
    assert msg.session_event is None
    assert msg.helper_metadata == {"go": {}}


def test_routing_endpoint() -> None:
    msg = make_msg()
    assert msg.routing_endpoint == "default"
    msg.set_routing_endpoint("extra")
    assert msg.routing_endpoint == "extra"
    assert msg.routing_metadata == {"endpoint_name": "extra"}
    msg.set_routing_endpoint(None)
    assert msg.routing_endpoint == "default"
    msg.routing_metadata["endpoint_name"] = None
    assert msg.routing_endpoint == "default"


# -- dict-like access, equality, copies ----------------------------------------------------


def test_dict_like_access() -> None:
    msg = make_msg()
    assert msg["content"] == "hello"
    assert msg.get("content") == "hello"
    assert msg.get("nope") is None
    assert msg.get("nope", 5) == 5
    assert "to_addr" in msg
    assert "nope" not in msg
    msg["extra"] = [1]
    assert msg.payload["extra"] == [1]
    assert msg.message_type == "user_message"
    with pytest.raises(KeyError):
        msg["nope"]


def test_equality_is_payload_equality() -> None:
    msg = make_msg()
    same = UserMessage(**dict(msg.payload))
    assert msg == same
    same["content"] = "other"
    assert msg != same
    assert msg != msg.payload  # a dict is not a message
    with pytest.raises(TypeError):
        hash(msg)


def test_copy_is_deep() -> None:
    msg = make_msg(helper_metadata={"go": {"user_account": "acc"}})
    msg.cache["seen"] = True
    clone = msg.copy()
    assert clone == msg
    assert type(clone) is UserMessage
    clone.helper_metadata["go"]["user_account"] = "other"
    clone.cache["seen"] = False
    assert msg.helper_metadata["go"]["user_account"] == "acc"
    assert msg.cache == {"seen": True}


def test_to_dict_is_a_jsonable_deep_copy() -> None:
    msg = make_msg(helper_metadata={"go": {"user_account": "acc"}, "when": datetime(2020, 1, 1)})
    data = msg.to_dict()
    assert json.loads(json.dumps(data)) == data  # no default= needed
    assert data["timestamp"] == msg.timestamp.strftime(VUMI_DATE_FORMAT)
    assert data["helper_metadata"]["when"] == "2020-01-01 00:00:00.000000"
    assert data == json.loads(msg.to_json())
    data["helper_metadata"]["go"]["user_account"] = "other"
    assert msg.helper_metadata["go"]["user_account"] == "acc"


def test_repr_names_the_class() -> None:
    assert repr(make_msg()).startswith("<UserMessage payload={")


# -- the wire form -------------------------------------------------------------------------


def test_to_json_is_compact_and_formats_the_timestamp() -> None:
    msg = make_msg(timestamp=datetime(2014, 10, 28, 16, 19, 37, 485612))
    text = msg.to_json()
    assert ", " not in text
    assert '": ' not in text
    assert '"timestamp":"2014-10-28 16:19:37.485612"' in text


def test_timestamp_without_microseconds_is_encoded_with_them() -> None:
    msg = make_msg(timestamp=datetime(2014, 10, 28, 16, 19, 37))
    assert json.loads(msg.to_json())["timestamp"] == "2014-10-28 16:19:37.000000"


def test_aware_timestamp_becomes_naive_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    msg = make_msg(timestamp=datetime(2014, 10, 28, 18, 19, 37, tzinfo=plus2))
    assert msg.timestamp == datetime(2014, 10, 28, 16, 19, 37)
    assert json.loads(msg.to_json())["timestamp"] == "2014-10-28 16:19:37.000000"


def test_round_trip_of_a_constructed_message() -> None:
    msg = make_msg(session_event="close", helper_metadata={"go": {"is_paid": True}})
    decoded = from_json(msg.to_json())
    assert type(decoded) is UserMessage
    assert decoded == msg
    assert from_dict(msg.to_dict()) == msg


def test_full_wire_message_round_trip() -> None:
    msg = from_json(FULL_WIRE_JSON)
    assert isinstance(msg, UserMessage)
    assert msg.timestamp == datetime(2014, 10, 28, 16, 19, 37, 485612)
    assert msg["inbound_push_trigger"] is True  # unknown keys are kept
    assert msg.session_event == "new"
    assert msg.provider == "mtn"
    assert msg.to_dict() == json.loads(FULL_WIRE_JSON)
    assert json.loads(msg.to_json()) == json.loads(FULL_WIRE_JSON)
    assert from_json(msg.to_json()) == msg


def test_bytes_are_decoded() -> None:
    assert from_json(FULL_WIRE_JSON.encode()) == from_json(FULL_WIRE_JSON)


def test_doc_user_message_round_trip() -> None:
    doc = json.loads(DOC_USER_MESSAGE_JSON)
    msg = UserMessage(**doc)
    for key, value in doc.items():
        assert msg[key] == value
    decoded = from_json(msg.to_json())
    assert decoded == msg
    assert {k: decoded[k] for k in doc} == doc


def test_doc_user_message_alone_is_not_a_wire_message() -> None:
    # The docs' example leaves out message_type and timestamp, which the wire form needs.
    with pytest.raises(MessageError, match="missing field 'message_type'"):
        from_json(DOC_USER_MESSAGE_JSON)
    with pytest.raises(MessageError, match="missing field 'timestamp'"):
        from_dict({**json.loads(DOC_USER_MESSAGE_JSON), "message_type": "user_message"})


def test_doc_event_round_trip() -> None:
    event = from_json(DOC_EVENT_JSON)
    assert isinstance(event, Event)
    assert event.event_id == "b04ec322fc1c4819bc3f28e6e0c69de6"
    assert event.event_type == "ack"
    assert event.user_message_id == "60c48289d8d94e42ab804159acce42d4"
    assert event.sent_message_id == "external-id"
    assert event.timestamp == datetime(2014, 10, 28, 16, 19, 37, 485612)
    # Defaults the example leaves out are filled in on decoding.
    assert event["message_version"] == "20110921"
    assert event.routing_metadata == {}
    encoded = json.loads(event.to_json())
    assert {k: encoded[k] for k in json.loads(DOC_EVENT_JSON)} == json.loads(DOC_EVENT_JSON)
    assert from_json(event.to_json()) == event


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-10-28 16:19:37.485612", datetime(2014, 10, 28, 16, 19, 37, 485612)),
        ("2014-10-28 16:19:37", datetime(2014, 10, 28, 16, 19, 37)),
        ("2014-10-28 16:19:37.000000", datetime(2014, 10, 28, 16, 19, 37)),
        ("2014-10-28 16:19:37.4", datetime(2014, 10, 28, 16, 19, 37, 400000)),
        ("1999-12-31 23:59:59.999999", datetime(1999, 12, 31, 23, 59, 59, 999999)),
    ],
)
def test_timestamp_decoding(text: str, expected: datetime) -> None:
    msg = from_dict(wire(timestamp=text))
    assert msg.timestamp == expected
    assert msg.timestamp.tzinfo is None


@pytest.mark.parametrize(
    "text",
    [
        "2014-10-28T16:19:37",
        "2014-10-28 16:19:37+00:00",
        "2014-10-28 16:19:37.1234567",
        "2014-10-28 16:19",
        "2014-10-28",
        "2014-13-28 16:19:37",
        "2014-02-30 16:19:37",
        " 2014-10-28 16:19:37",
        "yesterday",
        "",
    ],
)
def test_bad_timestamps(text: str) -> None:
    with pytest.raises(MessageError, match="invalid timestamp"):
        from_dict(wire(timestamp=text))


def test_only_the_timestamp_field_becomes_a_datetime() -> None:
    looks_like_a_date = "2014-10-28 16:19:37.485612"
    msg = from_json(
        make_msg(content=looks_like_a_date, helper_metadata={"at": looks_like_a_date}).to_json()
    )
    assert msg["content"] == looks_like_a_date
    assert msg.helper_metadata == {"at": looks_like_a_date}


@pytest.mark.parametrize(
    "content",
    ["Ça va? Đà Nẵng", "日本語のテキスト", "emoji 👋🏽 and \u200b zero-width", 'line\nbreak\t"q"'],
)
def test_non_ascii_content_round_trip(content: str) -> None:
    msg = make_msg(content=content)
    text = msg.to_json()
    assert text.isascii()  # escaped, so any byte transport carries it
    assert from_json(text)["content"] == content
    assert from_json(text.encode("utf-8"))["content"] == content
    raw_utf8 = json.dumps(msg.to_dict(), ensure_ascii=False).encode("utf-8")
    assert from_json(raw_utf8)["content"] == content


def test_cache_is_never_serialised() -> None:
    msg = make_msg()
    msg.cache["contact"] = object()  # not even JSON-able
    assert "__cache__" not in msg.to_json()
    assert "__cache__" not in msg.to_dict()
    assert "__cache__" in msg  # but stays on the object
    assert "__cache__" not in from_json(msg.to_json())


def test_from_dict_does_not_mutate_its_argument() -> None:
    data = wire()
    del data["group"]  # a default the decoder fills in
    snapshot = dict(data)
    msg = from_dict(data)
    assert data == snapshot  # no group added, timestamp still a string
    assert isinstance(data["timestamp"], str)
    assert msg["group"] is None


# -- reply() -------------------------------------------------------------------------------


def inbound(**fields: Any) -> UserMessage:
    base: dict[str, Any] = {
        "to_addr": "*120*1234#",
        "from_addr": "+27761234567",
        "to_addr_type": None,
        "from_addr_type": "msisdn",
        "transport_name": "ussd_transport",
        "transport_type": "ussd",
        "transport_metadata": {"session_id": "s-1"},
        "helper_metadata": {"go": {"user_account": "acc"}, "tag": {"tag": ["pool", "t1"]}},
        "routing_metadata": {"endpoint_name": "extra", "go_hops": [[["a", "b"], ["c", "d"]]]},
        "provider": "mtn",
        "group": None,
        "session_event": "resume",
        "content": "1",
    }
    base.update(fields)
    return UserMessage(**base)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("to_addr", "+27761234567"),
        ("from_addr", "*120*1234#"),
        ("to_addr_type", "msisdn"),
        ("from_addr_type", None),
        ("content", "Welcome!"),
        ("session_event", None),
        ("group", None),
        ("provider", "mtn"),
        ("transport_name", "ussd_transport"),
        ("transport_type", "ussd"),
        ("transport_metadata", {"session_id": "s-1"}),
        ("helper_metadata", {"go": {"user_account": "acc"}, "tag": {"tag": ["pool", "t1"]}}),
        ("routing_metadata", {"endpoint_name": "extra"}),  # same endpoint, no hops
        ("message_type", "user_message"),
    ],
)
def test_reply_fields(field: str, expected: object) -> None:
    assert inbound().reply("Welcome!")[field] == expected


def test_reply_identity() -> None:
    msg = inbound()
    reply = msg.reply("Welcome!")
    assert reply.in_reply_to == msg.message_id
    assert reply.message_id != msg.message_id
    assert re.fullmatch(r"[0-9a-f]{32}", reply.message_id)
    assert reply.timestamp >= msg.timestamp


def test_reply_closing_the_session() -> None:
    assert inbound().reply("Bye", continue_session=False).session_event == "close"
    assert inbound().reply("Bye", False).session_event == "close"


def test_reply_session_event_override_wins() -> None:
    assert inbound().reply("x", continue_session=False, session_event="new").session_event == "new"


def test_reply_keeps_the_default_endpoint() -> None:
    msg = make_msg()
    assert msg.reply("x").routing_metadata == {"endpoint_name": "default"}


def test_reply_keeps_the_group() -> None:
    assert inbound(group="#chan").reply("x").group == "#chan"


def test_reply_copies_metadata_instead_of_sharing_it() -> None:
    msg = inbound()
    reply = msg.reply("x")
    reply.helper_metadata["go"]["user_account"] = "other"
    reply.transport_metadata["session_id"] = "other"
    assert msg.helper_metadata["go"] == {"user_account": "acc"}
    assert msg.transport_metadata == {"session_id": "s-1"}


def test_reply_helper_metadata_may_be_overridden() -> None:
    # Go's sandbox replies with the original metadata merged with the app's.
    reply = inbound().reply("x", helper_metadata={"voice": {"speech_url": "u"}})
    assert reply.helper_metadata == {"voice": {"speech_url": "u"}}


def test_reply_takes_other_overrides() -> None:
    reply = inbound().reply("x", provider_extra=1, to_addr_type="msisdn")
    assert reply["provider_extra"] == 1
    assert reply.to_addr_type == "msisdn"


@pytest.mark.parametrize(
    "field",
    [
        "to_addr",
        "from_addr",
        "group",
        "in_reply_to",
        "provider",
        "transport_name",
        "transport_type",
        "transport_metadata",
    ],
)
def test_reply_refuses_to_override_addressing_and_transport(field: str) -> None:
    with pytest.raises(TypeError, match=f"may not override {field!r}"):
        overrides: dict[str, Any] = {field: "other"}
        inbound().reply("x", **overrides)


def test_reply_validates() -> None:
    with pytest.raises(MessageError, match="content must be a string or null"):
        inbound().reply(5)  # type: ignore[arg-type]
    assert inbound().reply(None).content is None


def test_reply_group_with_a_group_goes_to_the_group() -> None:
    msg = inbound(group="#chan", to_addr="bot", to_addr_type="irc_nickname")
    reply = msg.reply_group("hi all", continue_session=False)
    assert reply.to_addr is None
    assert reply.to_addr_type is None
    assert reply.group == "#chan"
    assert reply.from_addr == "bot"
    assert reply.in_reply_to == msg.message_id
    assert reply.session_event == "close"
    assert reply.routing_endpoint == "extra"


def test_reply_group_without_a_group_is_a_reply() -> None:
    msg = inbound()
    group_reply = msg.reply_group("x")
    reply = msg.reply("x")
    for field in ("to_addr", "from_addr", "group", "in_reply_to", "helper_metadata"):
        assert group_reply[field] == reply[field]


# -- events --------------------------------------------------------------------------------


def test_ack() -> None:
    event = Event.ack("msg-1", "ext-1", transport_name="smpp")
    assert event.message_type == "event"
    assert event.event_type == "ack"
    assert event.user_message_id == "msg-1"
    assert event.sent_message_id == "ext-1"
    assert event["transport_name"] == "smpp"
    assert event.nack_reason is None
    assert event.status == "ack"
    assert re.fullmatch(r"[0-9a-f]{32}", event.event_id)
    assert event.event_id != Event.ack("msg-1", "ext-1").event_id


def test_nack() -> None:
    event = Event.nack("msg-1", "no route")
    assert (event.event_type, event.nack_reason, event.status) == ("nack", "no route", "nack")


@pytest.mark.parametrize("status", sorted(DELIVERY_STATUSES))
def test_delivery_report(status: str) -> None:
    event = Event.delivery_report("msg-1", status)
    assert event.delivery_status == status
    assert event.status == f"delivery_report.{status}"
    assert from_json(event.to_json()) == event


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("message_type", "event"),
        ("message_version", "20110921"),
        ("routing_metadata", {}),
        ("helper_metadata", {}),
    ],
)
def test_event_defaults(field: str, expected: object) -> None:
    assert Event.ack("m", "s")[field] == expected


def test_event_round_trip() -> None:
    event = Event.nack("msg-1", "throttled", helper_metadata={"go": {"user_account": "a"}})
    event.set_routing_endpoint("extra")
    decoded = from_json(event.to_json())
    assert type(decoded) is Event
    assert decoded == event
    assert decoded.routing_endpoint == "extra"


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: Event(event_type="ack", user_message_id="m"), "ack needs sent_message_id"),
        (lambda: Event.ack("m", None), "ack needs sent_message_id"),  # type: ignore[arg-type]
        (lambda: Event(event_type="nack", user_message_id="m"), "nack needs nack_reason"),
        (lambda: Event.nack("m", None), "nack needs nack_reason"),  # type: ignore[arg-type]
        (
            lambda: Event(event_type="delivery_report", user_message_id="m"),
            "delivery_report needs delivery_status",
        ),
        (lambda: Event.delivery_report("m", "lost"), "invalid delivery_status 'lost'"),
        (lambda: Event.delivery_report("m", None), "invalid delivery_status None"),  # type: ignore[arg-type]
        (lambda: Event(event_type="read", user_message_id="m"), "invalid event_type 'read'"),
        (lambda: Event.ack(None, "s"), "user_message_id must be a string"),  # type: ignore[arg-type]
        (lambda: Event.ack("m", "s", message_type="user_message"), "message_type must be 'event'"),
    ],
)
def test_event_validation(build: Any, error: str) -> None:
    with pytest.raises(MessageError, match=re.escape(error)):
        build()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"event_id": DROP}, "missing field 'event_id'"),
        ({"user_message_id": DROP}, "missing field 'user_message_id'"),
        ({"event_type": DROP}, "missing field 'event_type'"),
        ({"sent_message_id": DROP}, "ack needs sent_message_id"),
        ({"sent_message_id": None}, "ack needs sent_message_id"),
        ({"event_type": "nack"}, "nack needs nack_reason"),
        ({"event_type": "delivery_report"}, "delivery_report needs delivery_status"),
        ({"event_type": "delivery_report", "delivery_status": "x"}, "invalid delivery_status"),
    ],
)
def test_bad_wire_events(changes: dict[str, Any], error: str) -> None:
    with pytest.raises(MessageError, match=re.escape(error)):
        from_dict(wire(Event.ack("m", "s"), **changes))


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"to_addr": DROP}, "missing field 'to_addr'"),
        ({"from_addr": DROP}, "missing field 'from_addr'"),
        ({"transport_name": DROP}, "missing field 'transport_name'"),
        ({"transport_type": DROP}, "missing field 'transport_type'"),
        ({"message_id": DROP}, "missing field 'message_id'"),
        ({"timestamp": DROP}, "missing field 'timestamp'"),
        ({"message_type": DROP}, "missing field 'message_type'"),
        ({"to_addr": 27761234567}, "to_addr must be a string or null, not int"),
        ({"from_addr": ["1234"]}, "from_addr must be a string or null, not list"),
        ({"content": 5}, "content must be a string or null, not int"),
        ({"content": True}, "content must be a string or null, not bool"),
        ({"content": {"text": "x"}}, "content must be a string or null, not dict"),
        ({"message_id": None}, "message_id must be a string, not NoneType"),
        ({"session_event": "foo"}, "invalid session_event 'foo'"),
        ({"session_event": "continue"}, "invalid session_event 'continue'"),
        ({"session_event": ["new"]}, "session_event must be a string or null, not list"),
        ({"helper_metadata": []}, "helper_metadata must be an object, not list"),
        ({"helper_metadata": None}, "helper_metadata must be an object, not NoneType"),
        ({"routing_metadata": "x"}, "routing_metadata must be an object, not str"),
        ({"transport_metadata": 1}, "transport_metadata must be an object, not int"),
        ({"timestamp": 1414513177}, "timestamp must be a datetime, not int"),
        ({"message_version": "20120101"}, "unsupported message_version '20120101'"),
        ({"message_type": "status_event"}, "unknown message_type 'status_event'"),
        ({"message_type": "foo"}, "unknown message_type 'foo'"),
        ({"message_type": ["user_message"]}, "unknown message_type ['user_message']"),
    ],
)
def test_bad_wire_user_messages(changes: dict[str, Any], error: str) -> None:
    data = wire(**changes)
    with pytest.raises(MessageError, match=re.escape(error)):
        from_dict(data)
    with pytest.raises(MessageError, match=re.escape(error)):
        from_json(json.dumps(data))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("{not json", "invalid JSON"),
        ("", "invalid JSON"),
        ('{"a": 1} trailing', "invalid JSON"),
        (b"\xff\xfe\xfa", "invalid JSON"),
        ("[]", "a message must be a JSON object, not array"),
        ('[{"message_type": "user_message"}]', "a message must be a JSON object, not array"),
        ('"a string"', "a message must be a JSON object, not str"),
        ("null", "a message must be a JSON object, not NoneType"),
        ("{}", "missing field 'message_type'"),
    ],
)
def test_bad_json(data: str | bytes, error: str) -> None:
    with pytest.raises(MessageError, match=re.escape(error)) as caught:
        from_json(data)
    assert "\n" not in str(caught.value)


def test_from_dict_rejects_non_dicts() -> None:
    with pytest.raises(MessageError, match="a message must be a JSON object, not list"):
        from_dict([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"to_addr": 123}, "to_addr must be a string or null, not int"),
        ({"content": b"bytes"}, "content must be a string or null, not bytes"),
        ({"session_event": "open"}, "invalid session_event 'open'"),
        ({"timestamp": "nope"}, "invalid timestamp 'nope'"),
        ({"message_type": "event"}, "message_type must be 'user_message', not 'event'"),
        ({"message_version": "1"}, "unsupported message_version '1'"),
    ],
)
def test_constructor_validates(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(MessageError, match=re.escape(error)):
        make_msg(**fields)


def test_constructor_needs_the_addresses() -> None:
    with pytest.raises(TypeError):
        UserMessage(from_addr="b", transport_name="t", transport_type="sms")  # type: ignore[call-arg]


def test_null_addresses_are_allowed() -> None:
    # A group message has no to_addr; an outbound one gets from_addr and transport on routing.
    msg = from_dict(wire(to_addr=None, from_addr=None, transport_name=None, transport_type=None))
    assert (msg["to_addr"], msg["from_addr"]) == (None, None)
