"""Option values as operators type them, and the JSON/text output helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
import pytest

from vumigo.cli.common import columns, parse_pairs, parse_value, to_json


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("false", False),
        ("null", None),
        ("42", 42),
        ("-3", -3),
        ("2.5", 2.5),
        ("0123", "0123"),  # leading zeros: a code, not a number
        ("+27821234567", "+27821234567"),
        ("-", "-"),
        ("", ""),
        ("True", "True"),
        ("hello world", "hello world"),
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ("[1]", [1]),
        ('"quoted"', "quoted"),
    ],
)
def test_parse_value(text: str, value: Any) -> None:
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


@pytest.mark.parametrize("text", ["{oops", "[1,", '"open'])
def test_parse_value_refuses_broken_json(text: str) -> None:
    with pytest.raises(click.BadParameter, match="looks like JSON but is not"):
        parse_value(text)


def test_parse_pairs() -> None:
    pairs = ["a=1", " b = x=y", "display_name=2020", "empty="]
    assert parse_pairs(pairs, "--meta", strings={"display_name"}) == {
        "a": 1,
        "b": " x=y",
        "display_name": "2020",
        "empty": "",
    }
    for bad in ("novalue", "=1"):
        with pytest.raises(click.BadParameter, match="expected KEY=VALUE"):
            parse_pairs([bad], "--meta")


def test_output_helpers() -> None:
    assert columns([("a", None), ("long", 3)], ["X", "Y"]) == ["X     Y", "a", "long  3"]
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert to_json({"at": moment, "s": {2, 1}}) == (
        '{\n  "at": "2026-01-02T03:04:05+00:00",\n  "s": [\n    1,\n    2\n  ]\n}'
    )
