"""Reading pool descriptions: tag lists, ranges, the original tagpools.yaml, metadata."""

from __future__ import annotations

import re
from typing import Any

import pytest

from vumigo.channels.poolspec import (
    check_meta,
    check_pool_name,
    check_tags,
    meta_value,
    read_meta,
    read_pools_file,
    tag_range,
    tags_expression,
)
from vumigo.errors import InvalidInput


@pytest.mark.parametrize(
    ("spec", "tags"),
    [
        ("default:10001-10003", ["default10001", "default10002", "default10003"]),
        ("*120*:7-7", ["*120*7"]),
        (":1-2", ["1", "2"]),
        ("sc:008-010", ["sc008", "sc009", "sc010"]),  # zero padding kept
        ("xmpp:a:1-2", ["xmpp:a1", "xmpp:a2"]),  # the last ':' splits
    ],
)
def test_tag_range(spec: str, tags: list[str]) -> None:
    assert tag_range(spec) == tags


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("default10001-10003", "expected PREFIX:START-END"),
        ("p:5-1", "END is before START"),
        ("p:a-b", "expected PREFIX:START-END"),
        ("p:1-1000000", "too long"),
    ],
)
def test_tag_range_refuses(spec: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        tag_range(spec)


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ('["longcode-%d" % i for i in range(10001, 10001 + 3)]', [f"longcode-{n}" for n in (
            10001, 10002, 10003)]),
        ("['default%s' % i for i in range(3)]", ["default0", "default1", "default2"]),
        ("['u%03d' % n for n in range(8, 14, 3)]", ["u008", "u011"]),
        ("['a', 'b', 1]", ["a", "b", "1"]),
        ("p:1-2", ["p1", "p2"]),
    ],
)  # fmt: skip
def test_tags_expression_understands_the_original_idiom(text: str, tags: list[str]) -> None:
    assert tags_expression(text) == tags


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "[open('/etc/passwd').read() for i in range(1)]",
        "['%s' % i for i in range(len('abc'))]",
        "['%s' % i for i in range(10) if i]",
        "['%s' % x for i in range(3)]",
        "['%d' % i for i in range(10 ** 9)]",
        "['%d' % i for i in range(2 ** 40)]",
        "['%d %d' % i for i in range(2)]",
        "[",
    ],
)
def test_tags_expression_never_runs_code(text: str) -> None:
    with pytest.raises(InvalidInput, match="cannot read tags"):
        tags_expression(text)


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["a b"], "no spaces"),
        (["a::b"], "no spaces or '::'"),
        ([""], "1-128 characters"),
        (["x" * 129], "1-128 characters"),
        ([None], "1-128 characters"),
        ("abc", "tags must be a list"),
    ],
)
def test_check_tags_refuses(tags: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        check_tags(tags)


def test_check_tags_drops_duplicates_in_order() -> None:
    assert check_tags(["b", "a", "b", 7]) == ["b", "a", "7"]


@pytest.mark.parametrize("name", ["a:b", "", "with space", "x" * 129, "ünï"])
def test_pool_names(name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid pool name"):
        check_pool_name(name)


def test_metadata_is_flattened_and_checked() -> None:
    meta = check_meta(
        {
            "display_name": "SMS",
            "supports": {"generic_sends": True, "replies": False},
            "smpp": {"host": "h", "bind": {"system_id": "id"}},
            "msg_options": {"transport_name": "sms_transport"},
            "empty": {},
        }
    )
    assert meta == {
        "display_name": "SMS",
        "supports.generic_sends": True,
        "supports.replies": False,
        "smpp.host": "h",
        "smpp.bind.system_id": "id",
        "msg_options.transport_name": "sms_transport",
        "transport_name": "sms_transport",
        "empty": {},
    }
    assert check_meta({"transport_name": "a", "msg_options.transport_name": "b"}) == {
        "transport_name": "a",
        "msg_options.transport_name": "b",
    }


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"user_selects_tag": "yes"}, "user_selects_tag must be true or false"),
        ({"supports": {"replies": 1}}, "supports.replies must be true or false"),
        ({"transport_name": 5}, "transport_name must be a string"),
        ({"country_name": None}, "country_name must be a string"),
        (["x"], "must be a mapping"),
    ],
)
def test_metadata_refusals(meta: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_meta(meta)


def test_meta_defaults() -> None:
    assert meta_value({}, "country_name") == "International"
    assert meta_value({}, "unroutable_inbound_reply") == (
        "Vumi Go could not route your message. Please try again soon."
    )
    assert meta_value({"supports.replies": True}, "supports.replies") is True
    assert meta_value({}, "reply_to_unroutable_inbound") is False
    assert meta_value({}, "smpp.host") is None


ORIGINAL_SHAPE = """
# The defined pools
pools:
  longcode_tagpool:
    # Python code that can be eval()'d, or a YAML list
    tags: '["longcode-%d" % i for i in range(10001, 10001 + 1000)]'
    metadata:
      display_name: "Long code"
      delivery_class: sms
      transport_type: sms
      server_initiated: true
      msg_options:
        transport_name: sms_transport
  ussd_tagpool:
    tags: ["*120*1#", "*120*2#"]
    metadata:
      display_name: "USSD code"
      delivery_class: ussd
      transport_type: ussd
      transport_name: ussd_transport
      user_selects_tag: true
      supports: {generic_sends: false, replies: true}
      reply_to_unroutable_inbound: true
      unroutable_inbound_reply: "Sorry!"
      disable_global_opt_out: true
  empty: {}
"""


def test_reads_a_tagpools_file_in_the_original_shape() -> None:
    specs = read_pools_file(ORIGINAL_SHAPE)
    assert list(specs) == ["longcode_tagpool", "ussd_tagpool", "empty"]
    longcode = specs["longcode_tagpool"]
    assert len(longcode.tags) == 1000
    assert (longcode.tags[0], longcode.tags[-1]) == ("longcode-10001", "longcode-11000")
    assert longcode.meta["transport_name"] == "sms_transport"
    assert longcode.meta["server_initiated"] is True
    ussd = specs["ussd_tagpool"]
    assert ussd.tags == ["*120*1#", "*120*2#"]
    assert ussd.meta == {
        "display_name": "USSD code",
        "delivery_class": "ussd",
        "transport_type": "ussd",
        "transport_name": "ussd_transport",
        "user_selects_tag": True,
        "supports.generic_sends": False,
        "supports.replies": True,
        "reply_to_unroutable_inbound": True,
        "unroutable_inbound_reply": "Sorry!",
        "disable_global_opt_out": True,
    }
    assert (specs["empty"].tags, specs["empty"].meta) == ([], {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pools: [", "invalid YAML"),
        ("just: text", "needs a top-level 'pools' mapping"),
        ("- a", "needs a top-level 'pools' mapping"),
        ("pools:\n  p: [a]", "pool 'p': expected a mapping"),
        ("pools:\n  'a:b': {tags: [x]}", "invalid pool name"),
        ("pools:\n  p: {tags: 'os.system(1)'}", "cannot read tags"),
        ("pools:\n  p: {tags: [x], metadata: {supports: {replies: maybe}}}", "true or false"),
    ],
)
def test_bad_tagpools_files(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_pools_file(text)


def test_read_meta_from_yaml_or_json() -> None:
    assert read_meta("  \n") == {}
    assert read_meta("display_name: Long code\nsupports:\n  replies: true\n") == {
        "display_name": "Long code",
        "supports.replies": True,
    }
    assert read_meta('{"transport_name": "sms"}') == {"transport_name": "sms"}
    with pytest.raises(InvalidInput, match="invalid metadata YAML"):
        read_meta("a: [unclosed")
    with pytest.raises(InvalidInput, match="must be a mapping"):
        read_meta("- just\n- a list\n")
    with pytest.raises(InvalidInput, match=r"supports\.replies must be true or false"):
        read_meta("supports.replies: maybe")
