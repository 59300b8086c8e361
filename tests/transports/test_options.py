"""Reading transport settings from pool metadata, and checking webhook credentials."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from vumigo.transports.options import OptionError, Options, check_webhook_auth
from vumigo.transports.smpp_transport import smpp_config_from


@pytest.mark.parametrize(
    ("getter", "value", "expected"),
    [
        ("get_int", "2775", 2775),
        ("get_int", 2775, 2775),
        ("get_int", 10.0, 10),
        ("get_float", "0.5", 0.5),
        ("get_float", 3, 3.0),
        ("get_bool", "yes", True),
        ("get_bool", "0", False),
        ("get_bool", True, True),
        ("get_str", 5, "5"),
        ("get_list", "a, b,,c", ["a", "b", "c"]),
        ("get_list", '["x", "y"]', ["x", "y"]),
        ("get_list", [1, 2], ["1", "2"]),
    ],
)
def test_typed_getters(getter: str, value: Any, expected: Any) -> None:
    options = Options({"t.key": value}, "t")
    if getter in ("get_list",):
        assert getattr(options, getter)("key") == expected
    else:
        assert getattr(options, getter)("key", type(expected)()) == expected


@pytest.mark.parametrize(
    ("getter", "value"),
    [
        ("get_int", "twelve"),
        ("get_int", 1.5),
        ("get_int", True),
        ("get_float", "fast"),
        ("get_bool", "maybe"),
        ("get_str", {"a": 1}),
        ("get_list", "[not json"),
    ],
)
def test_bad_values_name_the_key(getter: str, value: Any) -> None:
    options = Options({"t.key": value}, "t")
    with pytest.raises(OptionError, match=r"t\.key"):
        if getter == "get_list":
            options.get_list("key")
        else:
            getattr(options, getter)("key", 0 if getter != "get_str" else "")


def test_mapping_nested_or_json() -> None:
    flat = Options({"t.fields.to": "{to}", "t.fields.text": "{content}"}, "t")
    assert flat.get_mapping("fields") == {"to": "{to}", "text": "{content}"}
    whole = Options({"t.fields": '{"to": "{to}"}'}, "t")
    assert whole.get_mapping("fields") == {"to": "{to}"}
    dotted_keys = Options({"t.passwords.bot@chat.example.org": "pw"}, "t")
    assert dotted_keys.get_mapping("passwords") == {"bot@chat.example.org": "pw"}
    assert Options({}, "t").get_mapping("fields") == {}


def test_choice() -> None:
    assert (
        Options({"t.mode": "UDH"}, "t").get_choice("mode", "payload", ("udh", "payload")) == "udh"
    )
    with pytest.raises(OptionError, match="one of udh, payload"):
        Options({"t.mode": "x"}, "t").get_choice("mode", "udh", ("udh", "payload"))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("meta", "headers", "params", "allowed"),
    [
        ({}, {}, {}, True),
        ({"w.secret": "s"}, {}, {}, False),
        ({"w.secret": "s"}, {"x-vumigo-secret": "s"}, {}, True),
        ({"w.secret": "s"}, {}, {"secret": "s"}, True),
        ({"w.secret": "s"}, {}, {"secret": "S"}, False),
        ({"w.secret": "s", "w.secret_header": "X-Token"}, {"x-token": "s"}, {}, True),
        ({"w.secret": "s", "w.secret_param": "key"}, {}, {"key": "s"}, True),
        ({"w.username": "u", "w.password": "p"}, {"authorization": _basic("u", "p")}, {}, True),
        ({"w.username": "u", "w.password": "p"}, {"authorization": _basic("u", "x")}, {}, False),
        ({"w.username": "u", "w.password": "p"}, {"authorization": "Basic !!"}, {}, False),
        (
            {"w.secret": "s", "w.username": "u", "w.password": "p"},
            {"authorization": _basic("u", "p")},
            {},
            True,
        ),
    ],
)
def test_webhook_auth(
    meta: dict[str, Any], headers: dict[str, str], params: dict[str, str], allowed: bool
) -> None:
    assert check_webhook_auth(Options(meta, "w"), headers, params) is allowed


def test_smpp_settings_from_metadata() -> None:
    config, own = smpp_config_from(
        {
            "smpp.host": "smsc.example.org",
            "smpp.port": "2776",
            "smpp.system_id": "vumi",
            "smpp.password": "pw",
            "smpp.bind_mode": "transmitter+receiver",
            "smpp.window": "20",
            "smpp.mt_tps": "50",
            "smpp.long_messages": "payload",
            "smpp.data_coding": 3,
            "smpp.ussd": "true",
            "smpp.submit_id_base": "hex",
            "smpp.receipt_retention_days": 2,
            "transport_name": "ignored, not smpp.*",
        }
    )
    assert (config.host, config.port, config.system_id, config.password) == (
        "smsc.example.org", 2776, "vumi", "pw"
    )  # fmt: skip
    assert config.bind_roles == ("transmitter", "receiver")
    assert (config.window, config.mt_tps, config.long_messages) == (20, 50.0, "payload")
    assert (config.data_coding, config.ussd, config.submit_id_base) == (3, True, "hex")
    assert config.inbound_concurrency == 8  # the transport's default, not the client's
    assert own.receipt_retention_days == 2


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        ({"smpp.windw": 5}, "unknown settings: smpp.windw"),
        ({"smpp.port": "http"}, "smpp.port must be a whole number"),
        ({"smpp.bind_mode": "receiver"}, "smpp.bind_mode must be one of"),
        ({"smpp.window": 0}, "window must be at least 1"),
        ({"smpp.system_id": "x" * 20}, "system_id is longer than 15"),
    ],
)
def test_bad_smpp_settings(meta: dict[str, Any], problem: str) -> None:
    with pytest.raises(OptionError, match=problem):
        smpp_config_from(meta)
