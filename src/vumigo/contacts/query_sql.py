"""Query trees (``vumigo.contacts.query``) as SQL conditions on ``contacts``, for both databases.

Every condition is two-valued (never SQL NULL), so ``NOT`` means "everyone else", as in
Lucene: a contact without a surname matches ``NOT surname:Smith``.

Matching is case-sensitive on both databases: PostgreSQL's LIKE already is; on SQLite, whose
LIKE ignores ASCII case, wildcards use GLOB instead. Ranges compare code points, so PostgreSQL
compares under the "C" collation whatever the database's default is.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from vumigo.contacts.query import (
    QMARK,
    STAR,
    And,
    Between,
    Equals,
    Everything,
    Node,
    Not,
    Or,
    Pattern,
    Present,
    Wildcard,
    parse,
)
from vumigo.db.models.contacts import Contact, ContactField


def contact_condition(query: str | Node, account_key: str, dialect: str) -> ColumnElement[bool]:
    """The WHERE condition selecting the account's contacts that match ``query``.

    It does not itself restrict ``contacts.account_key``; callers add that (and usually have).
    """
    node = parse(query) if isinstance(query, str) else query
    return _Compiler(account_key, dialect).compile(node)


class _Compiler:
    def __init__(self, account_key: str, dialect: str) -> None:
        self.account_key = account_key
        self.dialect = dialect

    def compile(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, Everything):
            return true()
        if isinstance(node, And):
            return and_(*(self.compile(part) for part in node.parts))
        if isinstance(node, Or):
            return or_(*(self.compile(part) for part in node.parts))
        if isinstance(node, Not):
            return not_(self.compile(node.part))
        if node.field.kind == "column":
            column = getattr(Contact, node.field.name)
            return and_(column.is_not(None), self._value(node, column))
        # extras/subscription: a semi-join on the indexed side table.
        side = (
            select(ContactField.contact_key)
            .where(
                ContactField.account_key == self.account_key,
                ContactField.kind == node.field.kind,
                ContactField.name == node.field.name,
                self._value(node, ContactField.value),
            )
            .scalar_subquery()
        )
        return Contact.key.in_(side)

    def _value(
        self, node: Equals | Wildcard | Present | Between, column: InstrumentedAttribute[str]
    ) -> ColumnElement[bool]:
        if isinstance(node, Equals):
            return column == node.value
        if isinstance(node, Present):
            return column != ""
        if isinstance(node, Wildcard):
            return self._wildcard(column, node.pattern)
        return self._range(column, node)

    def _wildcard(
        self, column: InstrumentedAttribute[str], pattern: Pattern
    ) -> ColumnElement[bool]:
        if self.dialect == "sqlite":
            return column.op("GLOB")(_glob(pattern))
        return column.like(_like(pattern), escape="\\")

    def _range(self, column: InstrumentedAttribute[str], node: Between) -> ColumnElement[bool]:
        compared = column.collate("C") if self.dialect == "postgresql" else column
        conditions: list[ColumnElement[bool]] = []
        if node.low is not None:
            conditions.append(compared >= node.low if node.include_low else compared > node.low)
        if node.high is not None:
            conditions.append(compared <= node.high if node.include_high else compared < node.high)
        return and_(*conditions)


def _glob(pattern: Pattern) -> str:
    out: list[str] = []
    for piece in pattern:
        if piece == STAR:
            out.append("*")
        elif piece == QMARK:
            out.append("?")
        else:
            # GLOB has no escape character; a one-character class matches a special literally.
            out.append("".join(f"[{c}]" if c in "*?[" else c for c in piece))
    return "".join(out)


def _like(pattern: Pattern) -> str:
    out: list[str] = []
    for piece in pattern:
        if piece == STAR:
            out.append("%")
        elif piece == QMARK:
            out.append("_")
        else:
            out.append(piece.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
    return "".join(out)
