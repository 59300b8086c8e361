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
