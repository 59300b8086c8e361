"""Normalisers for imported cells: string, integer, float and MSISDN (E.164 via phonenumbers).

Spreadsheet cells arrive as str, int, float (Excel keeps every number as a float, so a phone
number 0821234567 typed as a number is 821234567.0) or dates; each normaliser turns a cell into
the text stored on the contact, or raises InvalidInput with the message shown for the row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, time

import phonenumbers

from vumigo.errors import InvalidInput

Cell = str | int | float | bool | date | datetime | time | None
Normaliser = Callable[[Cell], str]


def cell_text(value: Cell) -> str:
    """A cell as text: whole floats lose their ``.0``, dates become ISO 8601, text is trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def to_string(value: Cell) -> str:
    return cell_text(value)


def to_integer(value: Cell) -> str:
    text = cell_text(value)
    try:
        number = float(text)
        if not (math.isfinite(number) and number.is_integer()):
            raise ValueError(text)
        # int(text) keeps precision for long digit strings that a float would round.
        return str(int(text)) if text.lstrip("+-").isdigit() else str(int(number))
    except ValueError:
        raise InvalidInput(f"Invalid integer: {text}") from None


def to_float(value: Cell) -> str:
    text = cell_text(value)
    try:
        number = float(text)
    except ValueError:
        raise InvalidInput(f"Invalid float: {text}") from None
    if not math.isfinite(number):
        raise InvalidInput(f"Invalid float: {text}")
    return repr(number)


def to_msisdn(value: Cell, region: str | None) -> str:
    """An MSISDN in E.164 (``+27821234567``).

    ``region`` (ISO 3166, e.g. "ZA") reads national forms: 0821234567, 821234567 (a number cell
    that lost its 0) and 27821234567 (country code without +). Without a region the number must
    be international: +27..., 0027... or 27... .
    """
    text = cell_text(value)
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits or len(text) > 40:
        raise InvalidInput(f"Invalid MSISDN: {text}")
    candidate = text
    if region is None:
        stripped = text.lstrip()
        if stripped.startswith("00"):
            candidate = "+" + stripped[2:]
        elif not stripped.startswith("+"):
            candidate = "+" + stripped
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"Invalid MSISDN: {text}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"Invalid MSISDN: {text}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_region(region: str) -> str:
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"Unknown country {region!r}; use an ISO code such as ZA or KE.")
    return code


def region_for_msisdn(msisdn: str | None) -> str | None:
    """The country of an E.164 number (e.g. an account's own number), if it can be told."""
    if not msisdn:
        return None
    try:
        number = phonenumbers.parse(msisdn, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


NAMES = ("string", "integer", "float", "msisdn", "msisdn_int", "msisdn_<country>")


def get_normaliser(name: str, country: str | None = None) -> Normaliser:
    """The normaliser called ``name``.

    ``msisdn`` reads numbers for the import's ``country`` (or international ones if none),
    ``msisdn_int`` only international ones, and ``msisdn_za`` etc. numbers for that country.
    """
    key = name.strip().lower()
    if key == "string":
        return to_string
    if key == "integer":
        return to_integer
    if key == "float":
        return to_float
    if key == "msisdn":
        region = check_region(country) if country else None
        return lambda value: to_msisdn(value, region)
    if key == "msisdn_int":
        return lambda value: to_msisdn(value, None)
    if key.startswith("msisdn_"):
        # The original had msisdn_za, _ke, _ug, _gh, _cm, _ng and _tz; any ISO code works here.
        region = check_region(key.removeprefix("msisdn_"))
        return lambda value: to_msisdn(value, region)
    raise InvalidInput(f"Unknown normaliser {name!r}; use one of: {', '.join(NAMES)}")
