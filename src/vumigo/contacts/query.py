"""Smart-group and search queries: Lucene syntax parsed with luqum into a small query tree.

The tree (``Node``) is what both evaluators work on: ``vumigo.contacts.query_sql`` turns it into
SQL for SQLite and PostgreSQL, and ``matches`` below checks one contact in Python. Keeping the
luqum details here means the two evaluators only have to agree on a handful of node types.

Semantics (string fields, as the original's Riak Search string fields behaved):

* ``field:value`` is an exact, case-sensitive match; ``*`` and ``?`` are wildcards (any run,
  exactly one character); ``field:*`` means "has a non-empty value"; ``*`` or ``*:*`` is everyone.
* ``"a phrase"`` is an exact match of the whole phrase (no wildcards inside quotes).
* ``[a TO b]``, ``{a TO b}``, ``>a``, ``<=b`` compare as strings (code-point order).
* ``extras-<name>:v`` and ``subscription-<name>:v`` look inside ``extra`` and ``subscription``.
* A term without a field searches ``name`` and ``surname``.
* Terms side by side are OR'ed (Lucene's default); ``+term`` is required, ``-term`` excluded.
* ``msisdn:+2782...`` keeps the ``+`` as part of the value, since MSISDNs start with one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from luqum import tree
from luqum.parser import lexer as luqum_lexer
from luqum.parser import parser as luqum_parser

from vumigo.db.models.contacts import ADDRESS_FIELDS, PERSON_FIELDS
from vumigo.errors import InvalidInput
from vumigo.text import storable

# Plain columns a query may name.
COLUMNS = ("key", *PERSON_FIELDS, *ADDRESS_FIELDS)
DYNAMIC_KINDS = ("extras", "subscription")
NAME_FIELDS = ("name", "surname")
MAX_QUERY_LENGTH = 4000
MAX_DEPTH = 40
MAX_FIELD_NAME = 255


class InvalidQuery(InvalidInput):
    """A query that cannot be parsed or uses something this platform does not support."""


@dataclass(frozen=True)
class Field:
    """A plain column (``kind == "column"``) or one key of ``extra``/``subscription``."""

    kind: str
    name: str


# A wildcard pattern: literal text pieces and the markers STAR / QMARK.
STAR = "\x00*"
QMARK = "\x00?"
Pattern = tuple[str, ...]


@dataclass(frozen=True)
class Everything:
    pass


@dataclass(frozen=True)
class Equals:
    field: Field
    value: str


@dataclass(frozen=True)
class Wildcard:
    field: Field
    pattern: Pattern


@dataclass(frozen=True)
class Present:
    field: Field


@dataclass(frozen=True)
class Between:
    field: Field
    low: str | None
    high: str | None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Everything | Equals | Wildcard | Present | Between | And | Or | Not


def parse_field(name: str) -> Field:
    """The field a query names; raises InvalidQuery for an unknown one."""
    if name in COLUMNS:
        return Field("column", name)
    for kind in DYNAMIC_KINDS:
        prefix = f"{kind}-"
        if name.startswith(prefix) and len(name) > len(prefix):
            key = name[len(prefix) :]
            if len(key) > MAX_FIELD_NAME:
                raise InvalidQuery(f"Field name too long: {name[:40]}...")
            return Field(kind, key)
    raise InvalidQuery(
        f"Unknown field {name!r}. Use one of {', '.join(COLUMNS)}, "
        "extras-<name> or subscription-<name>."
    )


def _trim(query: str) -> str:
    """Strips surrounding white space, but keeps a trailing space that is escaped (``a\\ ``)."""
    text = query.lstrip()
    trimmed = text.rstrip()
    backslashes = len(trimmed) - len(trimmed.rstrip("\\"))
    if len(trimmed) < len(text) and backslashes % 2 == 1:
        return text[: len(trimmed) + 1]
    return trimmed


@lru_cache(maxsize=512)
def parse(query: str) -> Node:
    """Parses a Lucene query into a query tree, or raises InvalidQuery with a clear reason."""
    text = _trim(query)
    if not text:
        raise InvalidQuery("The query is empty.")
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidQuery(f"The query is too long (at most {MAX_QUERY_LENGTH} characters).")
    if not storable(text):
        raise InvalidQuery("The query contains a NUL character or invalid Unicode.")
    try:
        # A fresh lexer for every parse: ply's lexer keeps state between inputs, and after
        # some malformed queries a reused one rejects the next, valid, query.
        parsed = luqum_parser.parse(text, lexer=luqum_lexer.clone())
    except Exception as exc:  # luqum/ply raise several types; all mean "bad query" to a caller
        raise InvalidQuery(f"Invalid query: {exc}") from None
    return _Builder().build(parsed, None, 0)


class _Builder:
    def build(self, item: tree.Item, field: Field | None, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise InvalidQuery("The query is nested too deeply.")
        depth += 1
        if isinstance(item, tree.SearchField):
            if field is not None:
                raise InvalidQuery(f"A field cannot be nested in another field: {item}")
            if item.name == "*":
                return self.build(item.expr, Field("any", "*"), depth)
            target = parse_field(_unescape(item.name))
            if isinstance(item.expr, tree.Plus) and isinstance(item.expr.a, tree.Word):
                # ``msisdn:+27...``: luqum reads the + as "required"; it is part of the number.
                return _term(target, "+" + item.expr.a.value)
            return self.build(item.expr, target, depth)
        if isinstance(item, tree.Group | tree.FieldGroup):
            return self.build(item.expr, field, depth)
        if isinstance(item, tree.Boost):  # relevance does not change who matches
            return self.build(item.expr, field, depth)
        if isinstance(item, tree.AndOperation):
            return And(tuple(self.build(op, field, depth) for op in item.operands))
        if isinstance(item, tree.OrOperation):
            return Or(tuple(self.build(op, field, depth) for op in item.operands))
        if isinstance(item, tree.UnknownOperation):
            return self._implicit(item, field, depth)
        if isinstance(item, tree.Not | tree.Prohibit):
            return Not(self.build(item.a, field, depth))
        if isinstance(item, tree.Plus):
            return self.build(item.a, field, depth)
        if isinstance(item, tree.Word | tree.Phrase):
            return self._leaf(item, field)
        if isinstance(item, tree.Range):
            return _between(
                field, _bound(item.low), _bound(item.high), item.include_low, item.include_high
            )
        if isinstance(item, tree.From):
            return _between(field, _bound(item.a), None, item.include, True)
        if isinstance(item, tree.To):
            return _between(field, None, _bound(item.a), True, item.include)
        if isinstance(item, tree.Fuzzy):
            raise InvalidQuery("Fuzzy searches (term~) are not supported.")
        if isinstance(item, tree.Proximity):
            raise InvalidQuery('Proximity searches ("..."~n) are not supported.')
        if isinstance(item, tree.Regex):
            raise InvalidQuery("Regular expression searches (/.../) are not supported.")
        raise InvalidQuery(f"Unsupported query part: {item}")

    def _implicit(self, item: tree.UnknownOperation, field: Field | None, depth: int) -> Node:
        """Terms side by side, Lucene style: +required, -excluded, the rest optional (OR)."""
        required: list[Node] = []
        excluded: list[Node] = []
        optional: list[Node] = []
        for operand in item.operands:
            if isinstance(operand, tree.Word) and operand.value in ("&&", "||"):
                raise InvalidQuery("Use AND and OR instead of && and ||.")
            if isinstance(operand, tree.Plus):
                required.append(self.build(operand.a, field, depth))
            elif isinstance(operand, tree.Prohibit):
                excluded.append(self.build(operand.a, field, depth))
            else:
                optional.append(self.build(operand, field, depth))
        parts = list(required)
        if not required and optional:
            # With a required term, optional ones only affect ranking, not who matches.
            parts.append(optional[0] if len(optional) == 1 else Or(tuple(optional)))
        parts.extend(Not(node) for node in excluded)
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def _leaf(self, item: tree.Word | tree.Phrase, field: Field | None) -> Node:
        if field is not None and field.kind == "any":
            if isinstance(item, tree.Word) and _is_all_stars(item.value):
                return Everything()
            raise InvalidQuery("Only *:* may use the * field.")
        if isinstance(item, tree.Phrase):
            value = _unescape(item.value[1:-1])
            if field is None:
                return Or(tuple(Equals(Field("column", f), value) for f in NAME_FIELDS))
            return Equals(field, value)
        if field is None:
            if _is_all_stars(item.value):
                return Everything()
            return Or(tuple(_term(Field("column", f), item.value) for f in NAME_FIELDS))
        return _term(field, item.value)


def _between(
    field: Field | None, low: str | None, high: str | None, inc_low: bool, inc_high: bool
) -> Node:
    if field is None or field.kind == "any":
        raise InvalidQuery("A range needs a field, e.g. name:[a TO m].")
    if low is None and high is None:
        return Present(field)
    return Between(field, low, high, inc_low, inc_high)


def _bound(item: tree.Item) -> str | None:
    if isinstance(item, tree.Phrase):
        return _unescape(item.value[1:-1])
    if isinstance(item, tree.Word):
        return None if item.value == "*" else _unescape(item.value)
    raise InvalidQuery(f"Unsupported range bound: {item}")


def _is_all_stars(raw: str) -> bool:
    return bool(raw) and set(raw) == {"*"}


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw, flags=re.DOTALL)


def _term(field: Field, raw: str) -> Node:
    """A word: an exact match, a wildcard pattern, or "present" for a bare ``*``."""
    if _is_all_stars(raw):
        return Present(field)
    pattern = split_pattern(raw)
    if all(piece not in (STAR, QMARK) for piece in pattern):
        return Equals(field, "".join(pattern))
    return Wildcard(field, pattern)


def split_pattern(raw: str) -> Pattern:
    """Splits a word into literal pieces and wildcard markers, honouring backslash escapes."""
    pieces: list[str] = []
    literal: list[str] = []
    chars = iter(raw)
    for char in chars:
        if char == "\\":
            literal.append(next(chars, "\\"))
        elif char in "*?":
            if literal:
                pieces.append("".join(literal))
                literal = []
            pieces.append(STAR if char == "*" else QMARK)
        else:
            literal.append(char)
    if literal:
        pieces.append("".join(literal))
    return tuple(pieces)


# --- evaluation in Python: one contact at a time ---------------------------------------------

# Reads a field of a contact: the value, or None when it is unset.
Getter = Callable[[Field], str | None]


def matches(node: Node, get: Getter) -> bool:
    """Whether a contact (seen through ``get``) matches the query tree."""
    if isinstance(node, Everything):
        return True
    if isinstance(node, And):
        return all(matches(part, get) for part in node.parts)
    if isinstance(node, Or):
        return any(matches(part, get) for part in node.parts)
    if isinstance(node, Not):
        return not matches(node.part, get)
    value = get(node.field)
    if value is None:
        return False
    if isinstance(node, Equals):
        return value == node.value
    if isinstance(node, Present):
        return value != ""
    if isinstance(node, Wildcard):
        return _pattern_regex(node.pattern).fullmatch(value) is not None
    return _in_range(node, value)


def _in_range(node: Between, value: str) -> bool:
    if node.low is not None and (value < node.low or (value == node.low and not node.include_low)):
        return False
    return node.high is None or value < node.high or (value == node.high and node.include_high)


@lru_cache(maxsize=256)
def _pattern_regex(pattern: Pattern) -> re.Pattern[str]:
    parts = [
        ".*" if piece == STAR else "." if piece == QMARK else re.escape(piece) for piece in pattern
    ]
    return re.compile("".join(parts), re.DOTALL)


def contact_getter(contact: object) -> Getter:
    """A Getter over anything shaped like a Contact (attributes plus extra/subscription maps)."""

    def get(field: Field) -> str | None:
        if field.kind == "column":
            value = getattr(contact, field.name, None)
            return value if isinstance(value, str) else None
        attr = "extra" if field.kind == "extras" else "subscription"
        value = (getattr(contact, attr, None) or {}).get(field.name)
        return value if isinstance(value, str) else None

    return get


def contact_matches(query: str | Node, contact: object) -> bool:
    """Whether one contact matches a query, without the database (e.g. a new contact)."""
    node = parse(query) if isinstance(query, str) else query
    return matches(node, contact_getter(contact))
