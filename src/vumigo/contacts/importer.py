"""Importing contacts from CSV, XLS and XLSX files under the original's three rules.

* ``new``: every row becomes a new contact; the file needs an msisdn column. All or nothing:
  any bad row means nothing is saved, and every bad row is reported.
* ``upload_is_truth``: rows update the contacts named by their ``key`` column; the upload's
  values win and its extras are merged over the existing ones.
* ``existing_is_truth``: likewise, but only empty fields are filled and existing extras win.
  In both update rules a bad row is reported and skipped; the other rows are saved.

Rows are read and normalised off the event loop (a 100,000-row file takes seconds of CPU) and
written in batches, so memory stays flat whatever the file's size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts.columns import (
    Column,
    Target,
    apply_specs,
    cell_is_empty,
    guess_columns,
    resolve,
)
from vumigo.contacts.dbutil import insert_ignoring_duplicates
from vumigo.contacts.fields import MAX_MAP_ENTRIES, TEXT_FIELDS, check_text
from vumigo.contacts.normalise import Cell, check_region, region_for_msisdn
from vumigo.contacts.parsers import Row, Sheet, open_sheet
from vumigo.contacts.service import new_contact_key, side_field_rows
from vumigo.db.base import Base, utcnow
from vumigo.db.engine import Database
from vumigo.db.models.accounts import Account
from vumigo.db.models.contacts import Contact, ContactField, ContactGroup, GroupMember
from vumigo.errors import InvalidInput, NotFound

RULES = ("new", "upload_is_truth", "existing_is_truth")
BATCH_SIZE = 1000
MAX_REPORTED_ERRORS = 1000

# Called with (rows read so far, rows expected or None) after each batch.
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class RowError:
    row: int
    message: str


@dataclass
class ImportResult:
    rule: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    error_count: int = 0
    # The first MAX_REPORTED_ERRORS errors; ``error_count`` has them all.
    errors: list[RowError] = field(default_factory=list)
    saved: bool = False

    def add_error(self, row: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, message))


@dataclass
class ParsedRow:
    number: int
    key: str | None
    fields: dict[str, str]
    extra: dict[str, str]
    subscription: dict[str, str]


class RowReader:
    """Turns a row's cells into contact values, or raises InvalidInput with the row's error."""

    def __init__(self, targets: Sequence[Target], width: int, strict_width: bool) -> None:
        self.targets = targets
        self.width = width
        self.strict_width = strict_width

    def read(self, number: int, cells: list[Cell]) -> ParsedRow:
        extra_cells = cells[self.width :]
        if any(not cell_is_empty(c) for c in extra_cells):
            raise InvalidInput("Invalid row: too many fields.")
        if self.strict_width and len(cells) < self.width:
            raise InvalidInput("Invalid row: not enough fields.")
        row = ParsedRow(number, None, {}, {}, {})
        for target, cell in zip(self.targets, cells, strict=False):
            if target.kind == "skip" or cell_is_empty(cell):
                continue  # empty values are skipped, never stored as blanks
            value = check_text(target.name, target.normalise(cell), target.max_length)
            if target.kind == "key":
                row.key = value
            elif target.kind == "text":
                row.fields[target.name] = value
            elif target.kind == "extra":
                row.extra[target.name] = value
            else:
                row.subscription[target.name] = value
        return row


def _read_batch(
    rows: Iterator[Row], reader: RowReader, size: int, result: ImportResult, need_msisdn: bool
) -> tuple[list[ParsedRow], bool]:
    """Reads up to ``size`` rows (in a worker thread); errors go to ``result``."""
    batch: list[ParsedRow] = []
    for read, (number, cells) in enumerate(rows, start=1):
        result.rows += 1
        try:
            parsed = reader.read(number, cells)
            if need_msisdn and "msisdn" not in parsed.fields:
                raise InvalidInput("Missing Contact Number.")
            batch.append(parsed)
        except InvalidInput as exc:
            result.add_error(number, str(exc))
        if read >= size:
            return batch, False
    return batch, True


async def import_contacts(
    db: Database,
    account_key: str,
    path: Path,
    *,
    filename: str | None = None,
    columns: Sequence[Column] | None = None,
    column_specs: Sequence[str] = (),
    rule: str = "new",
    group_keys: Sequence[str] = (),
    country: str | None = None,
    has_header: bool | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Imports the file at ``path`` (its type from ``filename`` or the path's extension).

    ``columns`` maps the file's columns (guessed from the header row if None), and
    ``column_specs`` (``COLUMN=FIELD[:NORMALISER]``, as the CLI's --map) adjust that. MSISDNs
    are read for ``country`` (ISO code; default: the country of the account's own number).
    Imported or updated contacts are added to the groups ``group_keys``. Setup problems
    (unknown rule, account or group, unreadable file, a mapping without the needed column)
    raise InvalidInput or NotFound; row problems are reported in the result.
    """
    if rule not in RULES:
        raise InvalidInput(f"Unknown import rule {rule!r}; use one of: {', '.join(RULES)}")
    region = await _region(db, account_key, country)
    await _check_groups(db, account_key, group_keys)
    with open_sheet(path, filename, has_header) as sheet:
        if columns is None:
            if sheet.header is None and not column_specs:
                raise InvalidInput("Please map the columns: the file has no header row.")
            columns = guess_columns(sheet.header or [])
        if column_specs:
            columns = apply_specs(columns, column_specs, sheet.header, sheet.width)
        targets = resolve(columns, region)
        mapped = {t.name for t in targets if t.kind in ("text", "key")}
        if rule == "new" and "msisdn" not in mapped:
            raise InvalidInput("Please specify a Contact Number field.")
        if rule == "new" and "key" in mapped:
            raise InvalidInput("A key column is only for the update rules.")
        if rule != "new" and "key" not in mapped:
            raise InvalidInput("Please specify a Contact Key field.")
        width = max(sheet.width, len(targets))
        reader = RowReader(targets, width, sheet.strict_width)
        result = ImportResult(rule=rule)
        if rule == "new":
            await _import_new(
                db, account_key, sheet, reader, group_keys, result, progress, batch_size
            )
        else:
            await _import_updates(
                db, account_key, sheet, reader, group_keys, result, progress, batch_size
            )
    return result


async def _region(db: Database, account_key: str, country: str | None) -> str | None:
    async with db.sessions() as session:
        account = await session.get(Account, account_key)
    if account is None:
        raise NotFound(f"Account '{account_key}' not found.")
    return check_region(country) if country else region_for_msisdn(account.msisdn)


async def _check_groups(db: Database, account_key: str, group_keys: Sequence[str]) -> None:
    if not group_keys:
        return
    async with db.sessions() as session:
        found = set(
            (
                await session.scalars(
                    select(ContactGroup.key).where(
                        ContactGroup.account_key == account_key,
                        ContactGroup.key.in_(list(group_keys)),
                    )
                )
            ).all()
        )
    for key in group_keys:
        if key not in found:
            raise NotFound(f"Group '{key}' not found.")


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class _Rollback(Exception):
    """Raised inside the transaction of a ``new`` import that had bad rows, to undo it."""


async def _import_new(
    db: Database,
    account_key: str,
    sheet: Sheet,
    reader: RowReader,
    group_keys: Sequence[str],
    result: ImportResult,
    progress: Progress | None,
    batch_size: int,
) -> None:
    def read() -> asyncio.Future[tuple[list[ParsedRow], bool]]:
        return asyncio.ensure_future(
            asyncio.to_thread(_read_batch, sheet.rows, reader, batch_size, result, True)
        )

    pending = read()
    try:
        async with db.transaction() as session:
            done = False
            while not done:
                batch, done = await pending
                # Read the next batch (in a thread) while this one is written.
                pending = read() if not done else pending
                # After the first bad row keep reading (to report every error), stop writing.
                if batch and not result.error_count:
                    await _insert(session, account_key, batch, group_keys)
                    result.created += len(batch)
                if progress:
                    progress(result.rows, sheet.total)
            if result.error_count:
                raise _Rollback
    except _Rollback:
        result.created = 0
        return
    finally:
        # Never leave a reader thread on the file after we return (or fail).
        await asyncio.gather(pending, return_exceptions=True)
    result.saved = True


async def _insert(
    session: AsyncSession, account_key: str, batch: list[ParsedRow], group_keys: Sequence[str]
) -> None:
    contacts = []
    side_rows: list[dict[str, str]] = []
    for row in batch:
        key = new_contact_key()
        contact = dict.fromkeys(TEXT_FIELDS)
        contact.update(row.fields)
        contacts.append(
            {
                **contact,
                "key": key,
                "account_key": account_key,
                "extra": row.extra,
                "subscription": row.subscription,
                "created_at": utcnow(),
            }
        )
        side_rows.extend(side_field_rows(account_key, key, row.extra, row.subscription))
    # Core inserts on the tables: the ORM's bulk path costs more than the database here.
    await session.execute(insert(_table(Contact)), contacts)
    if side_rows:
        await session.execute(insert(_table(ContactField)), side_rows)
    members = [{"group_key": g, "contact_key": c["key"]} for c in contacts for g in group_keys]
    if members:
        await session.execute(insert(_table(GroupMember)), members)


async def _import_updates(
    db: Database,
    account_key: str,
    sheet: Sheet,
    reader: RowReader,
    group_keys: Sequence[str],
    result: ImportResult,
    progress: Progress | None,
    batch_size: int,
) -> None:
    upload_wins = result.rule == "upload_is_truth"
    done = False
    while not done:
        batch, done = await asyncio.to_thread(
            _read_batch, sheet.rows, reader, batch_size, result, False
        )
        if batch:
            # One transaction per batch: a long import does not hold the write lock throughout.
            async with db.transaction() as session:
                await _update_batch(session, account_key, batch, group_keys, upload_wins, result)
        if progress:
            progress(result.rows, sheet.total)
    result.saved = True


async def _update_batch(
    session: AsyncSession,
    account_key: str,
    batch: list[ParsedRow],
    group_keys: Sequence[str],
    upload_wins: bool,
    result: ImportResult,
) -> None:
    keys = list({row.key for row in batch if row.key})
    found = await session.scalars(
        select(Contact).where(Contact.account_key == account_key, Contact.key.in_(keys))
    )
    contacts = {contact.key: contact for contact in found}
    touched: dict[str, Contact] = {}
    for row in batch:
        contact = contacts.get(row.key or "")
        if contact is None:
            result.add_error(row.number, f"No contact with key '{row.key}'.")
            continue
        try:
            _merge(contact, row, upload_wins)
        except InvalidInput as exc:
            result.add_error(row.number, str(exc))
            continue
        touched[contact.key] = contact
        result.updated += 1
    if not touched:
        return
    await session.flush()
    # Rewrite the side table for the touched contacts so queries see the merged maps.
    await session.execute(delete(ContactField).where(ContactField.contact_key.in_(list(touched))))
    side_rows = [
        row
        for contact in touched.values()
        for row in side_field_rows(account_key, contact.key, contact.extra, contact.subscription)
    ]
    if side_rows:
        await session.execute(insert(ContactField), side_rows)
    members = [{"group_key": g, "contact_key": k} for k in touched for g in group_keys]
    if members:
        await session.execute(insert_ignoring_duplicates(session, GroupMember), members)


def _merge(contact: Contact, row: ParsedRow, upload_wins: bool) -> None:
    for name, value in row.fields.items():
        if upload_wins or not getattr(contact, name):
            setattr(contact, name, value)
    for attr, incoming in (("extra", row.extra), ("subscription", row.subscription)):
        if not incoming:
            continue
        current = dict(getattr(contact, attr) or {})
        merged = {**current, **incoming} if upload_wins else {**incoming, **current}
        if len(merged) > MAX_MAP_ENTRIES:
            raise InvalidInput(f"Too many {attr} entries (at most {MAX_MAP_ENTRIES}).")
        # A new dict object, so SQLAlchemy sees the JSON column change.
        setattr(contact, attr, merged)
