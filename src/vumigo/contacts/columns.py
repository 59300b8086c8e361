"""Column mappings for imports: which contact field each column fills, and how to normalise it.

A mapping is a list of ``Column`` (one per file column, left to right). The UI builds one from
its column pickers; the CLI from ``--map COLUMN=FIELD[:NORMALISER]``; with neither, it is guessed
from the header row. A field that is not a contact field goes into ``extra`` under that name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from vumigo.contacts.fields import (
    DEFAULT_MAX_LENGTH,
    MAX_LENGTH,
    MAX_MAP_KEY,
    MAX_MAP_VALUE,
    TEXT_FIELDS,
)
from vumigo.contacts.normalise import Cell, Normaliser, get_normaliser
from vumigo.errors import InvalidInput

SKIP = ""
# Columns of our own exports that an import does not write back.
READ_ONLY = frozenset(("created_at", "groups"))
# Header words that mean a contact field (besides the field names themselves).
ALIASES = {
    "phone": "msisdn",
    "number": "msisdn",
    "contact": "msisdn",
    "mobile": "msisdn",
    "cell": "msisdn",
    "phone_number": "msisdn",
    "contact_number": "msisdn",
    "mobile_number": "msisdn",
    "first_name": "name",
    "firstname": "name",
    "last_name": "surname",
    "lastname": "surname",
    "email": "email_address",
    "date_of_birth": "dob",
    "key": "key",
}


@dataclass(frozen=True)
class Column:
    """What to do with one column: its target field ("" skips it) and normaliser name."""

    field: str = SKIP
    normaliser: str = "string"


@dataclass(frozen=True)
class Target:
    """A column resolved: kind is "skip", "key", "text", "extra" or "subscription"."""

    kind: str
    name: str
    normalise: Normaliser
    max_length: int


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


def guess_column(header: str) -> Column:
    """The mapping a header cell suggests: a known field, else an ``extra`` of that name."""
    text = header.strip()
    if text.startswith(("extras-", "subscription-")):
        return Column(field=text)  # already a field name, as exports spell them
    slug = _slug(text)
    if not slug or slug in READ_ONLY:
        return Column()
    field = slug if slug in TEXT_FIELDS else ALIASES.get(slug)
    if field is None:
        return Column(field=slug)
    return Column(field=field, normaliser="msisdn" if field == "msisdn" else "string")


def guess_columns(header: Sequence[str]) -> list[Column]:
    return [guess_column(cell) for cell in header]


def apply_specs(
    base: Sequence[Column], specs: Sequence[str], header: Sequence[str] | None, width: int
) -> list[Column]:
    """Applies CLI-style specs ``COLUMN=FIELD[:NORMALISER]`` on top of ``base``.

    COLUMN is a 0-based index or a header cell (case-insensitive); FIELD "-" skips the column.
    """
    columns = list(base) + [Column()] * max(0, width - len(base))
    names = [cell.strip().lower() for cell in header or ()]
    for spec in specs:
        where, sep, target = spec.partition("=")
        if not sep or not where.strip() or not target.strip():
            raise InvalidInput(f"Bad column mapping {spec!r}; use COLUMN=FIELD[:NORMALISER].")
        where = where.strip()
        if where.isdigit():
            index = int(where)
        elif where.lower() in names:
            index = names.index(where.lower())
        else:
            raise InvalidInput(f"No column {where!r} in the file.")
        if index >= len(columns):
            raise InvalidInput(f"No column {index} in the file (it has {len(columns)}).")
        field, _, normaliser = target.strip().partition(":")
        field = SKIP if field == "-" else field.strip()
        default = "msisdn" if field == "msisdn" else "string"
        columns[index] = Column(field=field, normaliser=normaliser.strip() or default)
    return columns


def resolve(columns: Sequence[Column], country: str | None) -> list[Target]:
    """Checks a mapping (fields, normalisers) and resolves it for reading rows."""
    targets = []
    for column in columns:
        normalise = get_normaliser(column.normaliser, country)
        field = column.field.strip()
        if not field:
            targets.append(Target("skip", "", normalise, 0))
        elif field == "key":
            targets.append(Target("key", "key", normalise, 32))
        elif field in TEXT_FIELDS:
            limit = MAX_LENGTH.get(field, DEFAULT_MAX_LENGTH)
            targets.append(Target("text", field, normalise, limit))
        else:
            kind, name = "extra", field
            for prefix, prefixed_kind in (("extras-", "extra"), ("subscription-", "subscription")):
                if field.startswith(prefix) and len(field) > len(prefix):
                    kind, name = prefixed_kind, field[len(prefix) :]
            if len(name) > MAX_MAP_KEY:
                raise InvalidInput(f"Field name too long: {name[:40]}...")
            targets.append(Target(kind, name, normalise, MAX_MAP_VALUE))
    fields = [t.name for t in targets if t.kind in ("text", "key")]
    duplicated = sorted({f for f in fields if fields.count(f) > 1})
    if duplicated:
        raise InvalidInput(f"More than one column is mapped to {', '.join(duplicated)}.")
    return targets


def cell_is_empty(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
