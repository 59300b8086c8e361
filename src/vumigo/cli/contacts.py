"""Contacts from the command line: ``vumigo contacts import|export|list|groups ...``.

``import`` shows a progress bar on stderr (stdout stays clean for ``--json``) and exits 1 when
any row was bad; the report lists the bad rows by their row number in the file.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.cli.common import (
    OperationFailed,
    State,
    VumigoGroup,
    check_schema,
    columns,
    emit,
    pass_state,
    run,
    when,
)
from vumigo.contacts import groups as group_service
from vumigo.contacts import service
from vumigo.contacts.export import write_csv, write_xlsx
from vumigo.contacts.importer import RULES, ImportResult, import_contacts
from vumigo.db.engine import Database
from vumigo.db.models.accounts import Account
from vumigo.db.models.contacts import ContactGroup
from vumigo.errors import InvalidInput, NotFound

T = TypeVar("T")
SHOWN_ERRORS = 20
_ACCOUNT = click.option("--account", required=True, help="The account's key.")


async def _with_db(state: State, work: Callable[[Database], Awaitable[T]]) -> T:
    db = Database(state.settings.resolved_database_url)
    try:
        await check_schema(db)
        return await work(db)
    finally:
        await db.dispose()


def _run(state: State, work: Callable[[Database], Awaitable[T]]) -> T:
    return run(_with_db(state, work))


async def _account(session: AsyncSession, account_key: str) -> None:
    if await session.get(Account, account_key) is None:
        raise NotFound(f"unknown account {account_key!r}")


async def _group(session: AsyncSession, account_key: str, name_or_key: str) -> ContactGroup:
    """A group by key, else by its (unique) name."""
    group = await group_service.find_group(session, account_key, name_or_key)
    if group is not None:
        return group
    named = await group_service.groups_named(session, account_key, name_or_key)
    if len(named) > 1:
        raise InvalidInput(f"several groups are named {name_or_key!r}; give the group's key")
    if not named:
        raise NotFound(f"no group {name_or_key!r} in account {account_key}")
    return named[0]


@click.group(cls=VumigoGroup)
def contacts() -> None:
    """Import, export and list an account's contacts, and manage its groups."""


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_ACCOUNT
@click.option("--group", "group_name", help="Add the contacts to this group (made if missing).")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="COLUMN=FIELD[:NORMALISER]",
    help="Map a column (0-based index or header) to a field, e.g. 0=msisdn:msisdn_za, "
    "City=extras-city, 3=- to skip. Repeatable; unmapped headers are guessed.",
)
@click.option("--rule", type=click.Choice(RULES), default="new", show_default=True)
@click.option("--country", help="ISO country for national numbers (default: the account's).")
@click.option("--header/--no-header", default=None, help="Whether row 1 is a header (guessed).")
@pass_state
def import_(
    state: State,
    file: Path,
    account: str,
    group_name: str | None,
    maps: tuple[str, ...],
    rule: str,
    country: str | None,
    header: bool | None,
) -> None:
    """Import contacts from a CSV, XLS or XLSX FILE."""
    bar = click.progressbar(length=1, label="importing", file=sys.stderr)

    def progress(done: int, total: int | None) -> None:
        bar.length = max(total or done, done, 1)
        bar.update(done - bar.pos)

    async def work(db: Database) -> ImportResult:
        group_keys: list[str] = []
        made_group = False
        if group_name:
            async with db.transaction() as session:
                await _account(session, account)
                try:
                    group = await _group(session, account, group_name)
                except NotFound:
                    group = await group_service.create_group(session, account, group_name)
                    made_group = True
                group_keys.append(group.key)
        result: ImportResult | None = None
        try:
            with bar:
                result = await import_contacts(
                    db,
                    account,
                    file,
                    column_specs=maps,
                    rule=rule,
                    group_keys=group_keys,
                    country=country,
                    has_header=header,
                    progress=progress,
                )
            return result
        finally:
            if made_group and (result is None or not result.saved):
                # An import that saved nothing leaves no trace, not even its new group.
                async with db.transaction() as session:
                    await group_service.delete_group(session, account, group_keys[0])

    result = _run(state, work)
    data = {
        "rule": result.rule,
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "saved": result.saved,
        "error_count": result.error_count,
        "errors": [{"row": e.row, "message": e.message} for e in result.errors],
    }
    lines = [
        f"{result.rows} rows read: {result.created} contacts created, {result.updated} updated"
        + ("" if result.saved else " (nothing saved)")
    ]
    lines += [f"row {e.row}: {e.message}" for e in result.errors[:SHOWN_ERRORS]]
    if result.error_count > SHOWN_ERRORS:
        lines.append(f"... and {result.error_count - SHOWN_ERRORS} more bad rows")
    emit(state, data, lines)
    if result.error_count:
        raise OperationFailed(f"{result.error_count} bad rows")


@contacts.command("export")
@_ACCOUNT
@click.option("--group", "group_name", help="Only this group's contacts (name or key).")
@click.option("--query", help="Only contacts matching this Lucene query.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File (default: stdout).",
)
@pass_state
def export(
    state: State,
    account: str,
    group_name: str | None,
    query: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Export contacts as CSV or XLSX."""
    if fmt == "xlsx" and output is None:
        raise click.UsageError("--format xlsx needs --output FILE")

    async def work(db: Database) -> int:
        async with db.sessions() as session:
            await _account(session, account)
            group_key = (await _group(session, account, group_name)).key if group_name else None
            if fmt == "xlsx":
                assert output is not None
                return await write_xlsx(session, account, output, group_key=group_key, query=query)
            if output is None:
                out = sys.stdout.buffer
                return await write_csv(session, account, out, group_key=group_key, query=query)
            with output.open("wb") as handle:
                return await write_csv(session, account, handle, group_key=group_key, query=query)

    written = _run(state, work)
    if output is not None:
        emit(state, {"contacts": written, "file": str(output)}, f"{written} contacts -> {output}")


@contacts.command("list")
@_ACCOUNT
@click.option("--group", "group_name", help="Only this group's contacts (name or key).")
@click.option("--query", help="Only contacts matching this Lucene query.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@pass_state
def list_(
    state: State, account: str, group_name: str | None, query: str | None, limit: int
) -> None:
    """List contacts (first LIMIT, in key order) and how many there are."""

    async def work(db: Database) -> tuple[int, list[dict[str, Any]]]:
        async with db.sessions() as session:
            await _account(session, account)
            where = None
            if group_name:
                group = await _group(session, account, group_name)
                dialect = session.get_bind().dialect.name
                where = group_service.groups_condition([group], account, dialect)
            total = await service.count_contacts(session, account, query=query, where=where)
            found = await service.list_contacts(
                session, account, limit=limit, query=query, where=where
            )
            return total, [
                {
                    "key": c.key,
                    "name": c.name,
                    "surname": c.surname,
                    "msisdn": c.msisdn,
                    "created_at": c.created_at,
                }
                for c in found
            ]

    total, rows = _run(state, work)
    headers = ["key", "name", "surname", "msisdn", "created_at"]
    table = [[r["key"], r["name"], r["surname"], r["msisdn"], when(r["created_at"])] for r in rows]
    emit(state, {"total": total, "contacts": rows}, [*columns(table, headers), f"{total} contacts"])


@contacts.group(cls=VumigoGroup)
def groups() -> None:
    """List, create and delete contact groups (static or smart)."""


@groups.command("list")
@_ACCOUNT
@pass_state
def groups_list(state: State, account: str) -> None:
    """List the account's groups with their sizes."""

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.sessions() as session:
            await _account(session, account)
            found = await group_service.list_groups(session, account)
            return [
                {
                    "key": g.key,
                    "name": g.name,
                    "query": g.query,
                    "contacts": await group_service.count_group_contacts(session, account, g.key),
                }
                for g in found
            ]

    rows = _run(state, work)
    table = [[r["key"], r["name"], r["contacts"], r["query"] or "(static)"] for r in rows]
    emit(state, rows, columns(table, ["key", "name", "contacts", "query"]))


def _create(state: State, account: str, name: str, query: str | None) -> None:
    async def work(db: Database) -> str:
        async with db.transaction() as session:
            await _account(session, account)
            return (await group_service.create_group(session, account, name, query)).key

    key = _run(state, work)
    emit(state, {"key": key, "name": name, "query": query}, key)


@groups.command("create")
@click.argument("name")
@_ACCOUNT
@pass_state
def groups_create(state: State, name: str, account: str) -> None:
    """Create a static group called NAME; prints its key."""
    _create(state, account, name, None)


@groups.command("create-smart")
@click.argument("name")
@_ACCOUNT
@click.option("--query", required=True, help="Lucene query, e.g. 'extras-city:CPT'.")
@pass_state
def groups_create_smart(state: State, name: str, account: str, query: str) -> None:
    """Create a smart group called NAME whose members match QUERY; prints its key."""
    _create(state, account, name, query)


@groups.command("delete")
@click.argument("group")
@_ACCOUNT
@pass_state
def groups_delete(state: State, group: str, account: str) -> None:
    """Delete GROUP (a name or key); its contacts stay."""

    async def work(db: Database) -> str:
        async with db.transaction() as session:
            await _account(session, account)
            found = await _group(session, account, group)
            await group_service.delete_group(session, account, found.key)
            return found.key

    key = _run(state, work)
    emit(state, {"deleted": key}, f"deleted {key}")


COMMANDS = (contacts,)
