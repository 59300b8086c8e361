"""Cell normalisers: MSISDNs in every format people type, integers, floats, strings."""

from __future__ import annotations

import datetime

import pytest

from vumigo.contacts.normalise import (
    Cell,
    cell_text,
    get_normaliser,
    region_for_msisdn,
    to_msisdn,
)
from vumigo.errors import InvalidInput


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("0821234567", "ZA", "+27821234567"),
        ("27821234567", "ZA", "+27821234567"),
        ("+27 82 123 4567", "ZA", "+27821234567"),
        ("+27 (0)82 123-4567", "ZA", "+27821234567"),
        ("0027821234567", "ZA", "+27821234567"),
        (821234567.0, "ZA", "+27821234567"),  # an Excel number cell loses the leading 0
        (27821234567.0, "ZA", "+27821234567"),
        (27821234567, "ZA", "+27821234567"),
        ("0712345678", "KE", "+254712345678"),
        ("+27821234567", "KE", "+27821234567"),  # international numbers ignore the region
        ("27821234567", None, "+27821234567"),
        ("0027821234567", None, "+27821234567"),
        ("+254712345678", None, "+254712345678"),
    ],
)
def test_msisdns(value: Cell, region: str | None, expected: str) -> None:
    assert to_msisdn(value, region) == expected


@pytest.mark.parametrize(
    ("value", "region"),
    [("abc", "ZA"), ("", "ZA"), ("0821", "ZA"), ("0712345678", None), ("27821234567", "KE")],
)
def test_bad_msisdns(value: Cell, region: str | None) -> None:
    with pytest.raises(InvalidInput, match="Invalid MSISDN"):
        to_msisdn(value, region)


@pytest.mark.parametrize(
    ("name", "country", "value", "expected"),
    [
        ("string", None, "  Ann ", "Ann"),
        ("string", None, 12.0, "12"),
        ("string", None, 1.5, "1.5"),
        ("string", None, datetime.datetime(1990, 5, 17), "1990-05-17"),
        ("integer", None, "42", "42"),
        ("integer", None, 42.0, "42"),
        ("integer", None, "12345678901234567890", "12345678901234567890"),
        ("float", None, "1.50", "1.5"),
        ("float", None, 3, "3.0"),
        ("msisdn", "ZA", "0821234567", "+27821234567"),
        ("msisdn", None, "+27821234567", "+27821234567"),
        ("msisdn_za", None, "0821234567", "+27821234567"),
        ("msisdn_ke", None, "0712345678", "+254712345678"),
        ("msisdn_int", None, "254712345678", "+254712345678"),
    ],
)
def test_normalisers(name: str, country: str | None, value: Cell, expected: str) -> None:
    assert get_normaliser(name, country)(value) == expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("integer", "4.5", "Invalid integer: 4.5"),
        ("integer", "four", "Invalid integer: four"),
        ("float", "nan", "Invalid float: nan"),
        ("float", "x", "Invalid float: x"),
    ],
)
def test_bad_values(name: str, value: Cell, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        get_normaliser(name)(value)


def test_unknown_normalisers_and_countries() -> None:
    with pytest.raises(InvalidInput, match="Unknown normaliser 'phone'"):
        get_normaliser("phone")
    with pytest.raises(InvalidInput, match="Unknown country 'XX'"):
        get_normaliser("msisdn", "XX")
    with pytest.raises(InvalidInput, match="Unknown country"):
        get_normaliser("msisdn_zz")


def test_helpers() -> None:
    assert region_for_msisdn("+27821234567") == "ZA"
    assert region_for_msisdn("nonsense") is None
    assert region_for_msisdn(None) is None
    assert cell_text(None) == "" and cell_text(True) == "true"
