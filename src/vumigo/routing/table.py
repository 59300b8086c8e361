"""An account's routing table: which connector endpoint each message goes on to.

Stored as one row per link, it is read and written in the original's JSON shape,
``{source_connector: {source_endpoint: [target_connector, target_endpoint]}}``.

Every link is checked when it is made: both connectors well formed, joining opposite directions
(``connectors.check_link``), both belonging to the account (a tag it holds, a conversation or
router of its own that is not archived) and both endpoints declared by their connector. Each
(source, endpoint) has exactly one target; the table's unique key enforces that too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.models import Account, Conversation, Router, RoutingEntry, Tag
from vumigo.errors import Conflict, InvalidInput, NotFound
from vumigo.routing.connectors import (
    DEFAULT_ENDPOINT,
    Connector,
    check_link,
    parse,
    validate_endpoint,
)

RoutingTable = dict[str, dict[str, list[str]]]


@dataclass(frozen=True, slots=True)
class Entry:
    source: Connector
    source_endpoint: str
    target: Connector
    target_endpoint: str

    def __str__(self) -> str:
        return f"{self.source} [{self.source_endpoint}] -> {self.target} [{self.target_endpoint}]"


def make_entry(source: str, source_endpoint: str, target: str, target_endpoint: str) -> Entry:
    """Parses and checks the shape of one link (not whether its connectors exist)."""
    entry = Entry(
        parse(source),
        validate_endpoint(source_endpoint),
        parse(target),
        validate_endpoint(target_endpoint),
    )
    for connector in (entry.source, entry.target):
        if connector.kind == "BILLING":
            raise InvalidInput(
                f"{connector} is part of the platform's own routing, not an account's table"
            )
    check_link(entry.source, entry.target)
    return entry


def entries_of(table: Any) -> list[Entry]:
    """The links of a table in the JSON shape; InvalidInput naming the first bad part."""
    if not isinstance(table, Mapping):
        raise InvalidInput("a routing table must be an object of connectors")
    entries = []
    for source, endpoints in table.items():
        if not isinstance(endpoints, Mapping):
            raise InvalidInput(f"routing table: {source!r} must map endpoints to targets")
        for endpoint, target in endpoints.items():
            if not (
                isinstance(target, list | tuple)
                and len(target) == 2
                and all(isinstance(part, str) for part in target)
            ):
                raise InvalidInput(
                    f"routing table: {source!r} [{endpoint}] must map to "
                    "[target_connector, target_endpoint]"
                )
            entries.append(make_entry(source, endpoint, target[0], target[1]))
    return entries


async def _endpoints(session: AsyncSession, account_key: str, conn: Connector) -> frozenset[str]:
    """The endpoints ``conn`` offers in this account; NotFound / InvalidInput if unusable."""
    if conn.kind == "TRANSPORT_TAG":
        owner = await session.execute(
            select(Tag.owner).where(Tag.pool == conn.pool, Tag.tag == conn.tag)
        )
        if owner.scalar_one_or_none() != account_key:
            raise NotFound(f"account {account_key} does not hold channel {conn.pool}:{conn.tag}")
        return frozenset({DEFAULT_ENDPOINT})
    if conn.kind == "CONVERSATION":
        conv = await session.get(Conversation, conn.key)
        if conv is None or conv.account_key != account_key:
            raise NotFound(f"account {account_key} has no conversation {conn.key}")
        if conv.conversation_type != conn.app_type:
            raise InvalidInput(
                f"conversation {conn.key} is of type {conv.conversation_type}, not {conn.app_type}"
            )
        if conv.archived:
            raise InvalidInput(f"conversation {conn.key} is archived")
        return frozenset({DEFAULT_ENDPOINT, *conv.extra_endpoints})
    if conn.kind == "ROUTER":
        router = await session.get(Router, conn.key)
        if router is None or router.account_key != account_key:
            raise NotFound(f"account {account_key} has no router {conn.key}")
        if router.router_type != conn.app_type:
            raise InvalidInput(
                f"router {conn.key} is of type {router.router_type}, not {conn.app_type}"
            )
        if router.archived:
            raise InvalidInput(f"router {conn.key} is archived")
        inbound = conn.parts[-1] == "INBOUND"
        extra = router.extra_inbound_endpoints if inbound else router.extra_outbound_endpoints
        return frozenset({DEFAULT_ENDPOINT, *extra})
    return frozenset({DEFAULT_ENDPOINT})  # OPT_OUT: always there, one endpoint


async def _check_entries(session: AsyncSession, account_key: str, entries: Iterable[Entry]) -> None:
    if await session.get(Account, account_key) is None:
        raise NotFound(f"unknown account {account_key!r}")
    known: dict[Connector, frozenset[str]] = {}
    for entry in entries:
        for conn, endpoint in (
            (entry.source, entry.source_endpoint),
            (entry.target, entry.target_endpoint),
        ):
            if conn not in known:
                known[conn] = await _endpoints(session, account_key, conn)
            if endpoint not in known[conn]:
                raise InvalidInput(
                    f"{conn} has no endpoint {endpoint!r} (it has {', '.join(sorted(known[conn]))})"
                )


def _row(account_key: str, entry: Entry) -> RoutingEntry:
    return RoutingEntry(
        account_key=account_key,
        source_connector=str(entry.source),
        source_endpoint=entry.source_endpoint,
        target_connector=str(entry.target),
        target_endpoint=entry.target_endpoint,
    )


async def _source_row(
    session: AsyncSession, account_key: str, source: str, endpoint: str
) -> RoutingEntry | None:
    result = await session.execute(
        select(RoutingEntry).where(
            RoutingEntry.account_key == account_key,
            RoutingEntry.source_connector == source,
            RoutingEntry.source_endpoint == endpoint,
        )
    )
    return result.scalar_one_or_none()


async def load_table(session: AsyncSession, account_key: str) -> RoutingTable:
    """The account's table in the original's JSON shape (empty for an unknown account)."""
    rows = await session.execute(
        select(RoutingEntry)
        .where(RoutingEntry.account_key == account_key)
        .order_by(RoutingEntry.id)
    )
    table: RoutingTable = {}
    for row in rows.scalars():
        table.setdefault(row.source_connector, {})[row.source_endpoint] = [
            row.target_connector,
            row.target_endpoint,
        ]
    return table


async def lookup(
    session: AsyncSession, account_key: str, connector: str | Connector, endpoint: str
) -> tuple[str, str] | None:
    """Where a message leaving ``connector`` on ``endpoint`` goes: (connector, endpoint) or None.

    The dispatcher's hot path: one query on the table's unique (account, source, endpoint) key.
    """
    result = await session.execute(
        select(RoutingEntry.target_connector, RoutingEntry.target_endpoint).where(
            RoutingEntry.account_key == account_key,
            RoutingEntry.source_connector == str(connector),
            RoutingEntry.source_endpoint == endpoint,
        )
    )
    row = result.one_or_none()
    return None if row is None else (row[0], row[1])


async def add_entry(
    session: AsyncSession,
    account_key: str,
    source: str,
    source_endpoint: str,
    target: str,
    target_endpoint: str,
) -> bool:
    """Adds one link; False if exactly that link was there already.

    Conflict if (source, source_endpoint) already goes somewhere else, naming that target.
    """
    entry = make_entry(source, source_endpoint, target, target_endpoint)
    await _check_entries(session, account_key, [entry])
    existing = await _source_row(session, account_key, str(entry.source), entry.source_endpoint)
    if existing is not None:
        if (existing.target_connector, existing.target_endpoint) == (
            str(entry.target),
            entry.target_endpoint,
        ):
            return False
        raise Conflict(
            f"{entry.source} [{entry.source_endpoint}] is already routed to "
            f"{existing.target_connector} [{existing.target_endpoint}]; remove that entry first"
        )
    session.add(_row(account_key, entry))
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent add of the same source won the race
        raise Conflict(f"{entry.source} [{entry.source_endpoint}] is already routed") from exc
    return True


async def remove_entry(
    session: AsyncSession,
    account_key: str,
    source: str,
    source_endpoint: str,
    target: str,
    target_endpoint: str,
) -> None:
    """Removes exactly this link; NotFound if the table does not have it."""
    entry = Entry(
        parse(source),
        validate_endpoint(source_endpoint),
        parse(target),
        validate_endpoint(target_endpoint),
    )
    row = await _source_row(session, account_key, str(entry.source), entry.source_endpoint)
    if row is None or (row.target_connector, row.target_endpoint) != (
        str(entry.target),
        entry.target_endpoint,
    ):
        raise NotFound(f"account {account_key} has no routing entry {entry}")
    await session.delete(row)
    await session.flush()


async def clear_table(session: AsyncSession, account_key: str) -> int:
    """Removes every link of the account; returns how many there were."""
    result = await session.execute(
        delete(RoutingEntry).where(RoutingEntry.account_key == account_key)
    )
    return cast(CursorResult[Any], result).rowcount


async def replace_table(session: AsyncSession, account_key: str, table: Any) -> int:
    """Replaces the whole table after checking every link (nothing changes if one is bad).

    Returns the number of links in the new table.
    """
    entries = entries_of(table)
    await _check_entries(session, account_key, entries)
    await clear_table(session, account_key)
    session.add_all(_row(account_key, entry) for entry in entries)
    await session.flush()
    return len(entries)


async def remove_connector_entries(
    session: AsyncSession,
    account_key: str,
    connectors: Iterable[str],
    endpoints: Collection[str] | None = None,
) -> int:
    """Drops the links naming any of ``connectors`` on either side (only on ``endpoints`` if
    given): what releasing a tag, archiving a conversation or dropping an endpoint needs."""
    names = [str(c) for c in connectors]
    as_source: ColumnElement[bool] = RoutingEntry.source_connector.in_(names)
    as_target: ColumnElement[bool] = RoutingEntry.target_connector.in_(names)
    if endpoints is not None:
        as_source = and_(as_source, RoutingEntry.source_endpoint.in_(list(endpoints)))
        as_target = and_(as_target, RoutingEntry.target_endpoint.in_(list(endpoints)))
    result = await session.execute(
        delete(RoutingEntry).where(
            RoutingEntry.account_key == account_key, or_(as_source, as_target)
        )
    )
    return cast(CursorResult[Any], result).rowcount
