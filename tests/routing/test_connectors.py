"""Connector strings in the original's forms, and which links join opposite directions."""

from __future__ import annotations

import pytest

from vumigo.errors import InvalidInput
from vumigo.routing.connectors import (
    OPT_OUT,
    Connector,
    check_link,
    conversation,
    parse,
    router,
    transport_tag,
    validate_endpoint,
)

# (text, kind, parts, receives, sends)
PARSE_CASES = [
    ("TRANSPORT_TAG:pool:tag", "TRANSPORT_TAG", ("pool", "tag"), "OUTBOUND", "INBOUND"),
    ("TRANSPORT_TAG:xmpp:me@host:5222", "TRANSPORT_TAG", ("xmpp", "me@host:5222"), "OUTBOUND",
     "INBOUND"),
    ("CONVERSATION:jsbox:abc", "CONVERSATION", ("jsbox", "abc"), "INBOUND", "OUTBOUND"),
    ("ROUTER:keyword:k1:INBOUND", "ROUTER", ("keyword", "k1", "INBOUND"), "INBOUND",
     "OUTBOUND"),
    ("ROUTER:keyword:k1:OUTBOUND", "ROUTER", ("keyword", "k1", "OUTBOUND"), "OUTBOUND",
     "INBOUND"),
    # OPT_OUT takes inbound opt-out messages and hands them on, still inbound.
    ("OPT_OUT", "OPT_OUT", (), "INBOUND", "INBOUND"),
    ("BILLING:INBOUND", "BILLING", ("INBOUND",), "INBOUND", "OUTBOUND"),
    ("BILLING:OUTBOUND", "BILLING", ("OUTBOUND",), "OUTBOUND", "INBOUND"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "kind", "parts", "receives", "sends"), PARSE_CASES)
def test_parse(text: str, kind: str, parts: tuple[str, ...], receives: str, sends: str) -> None:
    conn = parse(text)
    assert (conn.kind, conn.parts, conn.receives, conn.sends) == (kind, parts, receives, sends)
    assert str(conn) == text
    assert parse(str(conn)) == conn


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty connector"),
        ("TRANSPORT_TAG:pool", "expected TRANSPORT_TAG:<pool>:<tag>"),
        ("TRANSPORT_TAG::tag", "expected TRANSPORT_TAG:<pool>:<tag>"),
        ("TRANSPORT_TAG:pool:", "expected TRANSPORT_TAG:<pool>:<tag>"),
        ("CONVERSATION:jsbox", "expected CONVERSATION:<type>:<key>"),
        ("CONVERSATION:jsbox:k:extra", "expected CONVERSATION:<type>:<key>"),
        ("ROUTER:keyword:k", "expected ROUTER:<type>:<key>:INBOUND|OUTBOUND"),
        ("ROUTER:keyword:k:SIDEWAYS", "expected ROUTER:<type>:<key>:INBOUND|OUTBOUND"),
        ("ROUTER::k:INBOUND", "expected ROUTER:<type>:<key>:INBOUND|OUTBOUND"),
        ("OPT_OUT:x", "OPT_OUT takes no parts"),
        ("BILLING", "expected BILLING:INBOUND|OUTBOUND"),
        ("BILLING:SIDEWAYS", "expected BILLING:INBOUND|OUTBOUND"),
        ("conversation:jsbox:k", "unknown kind 'conversation'"),
        ("SMS:pool:tag", "unknown kind 'SMS'"),
    ],
)
def test_parse_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("|", "\\|")):
        parse(text)


def test_builders_match_parse() -> None:
    assert transport_tag("p", "t") == parse("TRANSPORT_TAG:p:t")
    assert conversation("jsbox", "k") == parse("CONVERSATION:jsbox:k")
    assert router("group", "k", "OUTBOUND") == parse("ROUTER:group:k:OUTBOUND")
    assert parse("OPT_OUT") == OPT_OUT
    tag = transport_tag("p", "t")
    conv = conversation("jsbox", "k")
    assert (tag.pool, tag.tag, conv.app_type, conv.key) == ("p", "t", "jsbox", "k")


TAG = "TRANSPORT_TAG:p:t"
CONV = "CONVERSATION:jsbox:k"
R_IN = "ROUTER:keyword:r:INBOUND"
R_OUT = "ROUTER:keyword:r:OUTBOUND"

# (source, target, allowed): a link carries messages from what the source sends to what
# the target receives, so inbound flows tag → router → conversation and outbound back.
LINK_CASES = [
    (TAG, CONV, True),
    (CONV, TAG, True),
    (TAG, R_IN, True),
    (R_IN, TAG, True),
    (R_OUT, CONV, True),
    (CONV, R_OUT, True),
    (TAG, "OPT_OUT", True),
    (R_OUT, "OPT_OUT", True),
    ("OPT_OUT", CONV, True),
    ("OPT_OUT", R_IN, True),
    (TAG, TAG, False),
    (CONV, CONV, False),
    (TAG, R_OUT, False),
    (R_IN, CONV, False),
    (CONV, R_IN, False),
    (R_OUT, TAG, False),
    (R_IN, R_IN, False),
    ("OPT_OUT", TAG, False),
    (CONV, "OPT_OUT", False),
]


@pytest.mark.parametrize(("source", "target", "allowed"), LINK_CASES)
def test_check_link(source: str, target: str, allowed: bool) -> None:
    if allowed:
        check_link(parse(source), parse(target))
        return
    with pytest.raises(InvalidInput, match="an entry must join opposite directions"):
        check_link(parse(source), parse(target))


def test_check_link_explains_the_directions() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_link(parse(TAG), parse(R_OUT))
    assert str(caught.value) == (
        f"invalid routing entry {TAG} -> {R_OUT}: an entry must join opposite directions "
        f"({TAG} sends inbound, {R_OUT} receives outbound)"
    )


@pytest.mark.parametrize("name", ["default", "sms", "help_2", "kw.x"])
def test_valid_endpoints(name: str) -> None:
    assert validate_endpoint(name) == name


@pytest.mark.parametrize("name", ["", "a b", "a::b", "\t", 5])
def test_invalid_endpoints(name: object) -> None:
    with pytest.raises(InvalidInput, match="invalid endpoint name"):
        validate_endpoint(name)  # type: ignore[arg-type]


def test_connector_is_hashable_and_frozen() -> None:
    conn = Connector("OPT_OUT")
    assert {conn, parse("OPT_OUT")} == {conn}
    with pytest.raises(AttributeError):
        conn.kind = "ROUTER"  # type: ignore[misc]
