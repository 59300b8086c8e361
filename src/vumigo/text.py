"""Checks on text that comes from outside before it reaches the database."""

from __future__ import annotations


def storable(text: str) -> bool:
    """False for text a database would refuse: NULs (PostgreSQL) and lone surrogates, which
    JSON's ``\\ud800`` escapes can produce."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# What a spreadsheet reads as the start of a formula. "+" and "-" start phone numbers and
# amounts too, so those are left alone when the rest is a plain number.
_FORMULA_STARTS = ("=", "@", "\t", "\r")
_NUMBER_CHARS = frozenset("0123456789 .,()")


def spreadsheet_safe(value: str) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text and never runs as a formula: a
    leading apostrophe for what would start one (``=HYPERLINK(...)``, ``@SUM``, ``+cmd|...``).
    Message content and contact fields come from anyone, and exports are opened by staff."""
    if not value:
        return value
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    if value[0] in "+-" and not set(value[1:]) <= _NUMBER_CHARS:
        return "'" + value
    return value
