"""Exporting contacts to CSV and XLSX, streamed in batches (no 100,000-contact ceiling).

The columns are the contact fields, the static group keys, and one column per ``extra`` and
``subscription`` key in use (``extras-<k>``, ``subscription-<k>``, as queries spell them), so an
export can be edited and imported again with ``upload_is_truth``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts.dbutil import dialect_of
from vumigo.contacts.fields import CREATED_AT_FORMAT, TEXT_FIELDS
from vumigo.contacts.groups import get_group, groups_condition
from vumigo.contacts.service import groups_of, list_contacts
from vumigo.db.models.contacts import Contact, ContactField
from vumigo.text import spreadsheet_safe

BATCH_SIZE = 1000
# An XLSX sheet holds 1,048,576 rows; beyond that the export goes on in a new sheet.
XLSX_SHEET_ROWS = 1_048_575


async def _side_columns(session: AsyncSession, account_key: str) -> list[tuple[str, str]]:
    stmt = (
        select(ContactField.kind, ContactField.name)
        .where(ContactField.account_key == account_key)
        .distinct()
        .order_by(ContactField.kind, ContactField.name)
    )
    return [(kind, name) for kind, name in await session.execute(stmt)]


async def export_rows(
    session: AsyncSession,
    account_key: str,
    *,
    group_key: str | None = None,
    query: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[list[str]]:
    """The header row, then one row per contact (of a group or matching a query, if given)."""
    where: ColumnElement[bool] | None = None
    if group_key is not None:
        group = await get_group(session, account_key, group_key)
        where = groups_condition([group], account_key, dialect_of(session))
    side = await _side_columns(session, account_key)
    yield ["key", *TEXT_FIELDS, "created_at", "groups", *(f"{k}-{n}" for k, n in side)]
    after: str | None = None
    while True:
        batch = await list_contacts(
            session, account_key, after=after, limit=batch_size, query=query, where=where
        )
        if not batch:
            return
        memberships = await groups_of(session, [contact.key for contact in batch])
        for contact in batch:
            yield _row(contact, memberships[contact.key], side)
        # The identity map holds contacts weakly, so earlier batches do not pile up.
        after = batch[-1].key


def _row(contact: Contact, groups: list[str], side: list[tuple[str, str]]) -> list[str]:
    maps = {"extras": contact.extra or {}, "subscription": contact.subscription or {}}
    return [
        contact.key,
        *(getattr(contact, name) or "" for name in TEXT_FIELDS),
        contact.created_at.strftime(CREATED_AT_FORMAT),
        " ".join(groups),
        *(str(maps[kind].get(name, "")) for kind, name in side),
    ]


async def csv_chunks(
    session: AsyncSession,
    account_key: str,
    *,
    group_key: str | None = None,
    query: str | None = None,
) -> AsyncIterator[bytes]:
    """The export as UTF-8 CSV, in chunks of about a batch each (for a streamed response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    count = 0
    async for row in export_rows(session, account_key, group_key=group_key, query=query):
        writer.writerow([spreadsheet_safe(value) for value in row])
        count += 1
        if count % BATCH_SIZE == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


async def write_csv(
    session: AsyncSession,
    account_key: str,
    out: IO[bytes],
    *,
    group_key: str | None = None,
    query: str | None = None,
) -> int:
    """Writes the CSV export to a binary file; returns the number of contacts written."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    rows = -1  # the header is not a contact
    async for row in export_rows(session, account_key, group_key=group_key, query=query):
        writer.writerow([spreadsheet_safe(value) for value in row])
        rows += 1
    text.detach()  # leave ``out`` open for the caller
    return rows


async def write_xlsx(
    session: AsyncSession,
    account_key: str,
    out: Path | IO[bytes],
    *,
    group_key: str | None = None,
    query: str | None = None,
) -> int:
    """Writes the XLSX export; returns the number of contacts written.

    openpyxl's write-only mode spools rows to a temporary file, so memory stays flat.
    """
    book = Workbook(write_only=True)
    sheet = book.create_sheet("contacts")
    header: list[str] = []
    written = 0
    async for row in export_rows(session, account_key, group_key=group_key, query=query):
        if not header:
            header = row
            sheet.append(header)
            continue
        if written and written % XLSX_SHEET_ROWS == 0:
            sheet = book.create_sheet(f"contacts {written // XLSX_SHEET_ROWS + 1}")
            sheet.append(header)
        sheet.append([_text_cell(sheet, value) for value in row])
        written += 1
    book.save(out)
    return written


def _text_cell(sheet: object, value: str) -> WriteOnlyCell:
    # Always a string cell: openpyxl would turn "=..." into a formula (a CSV-injection vector).
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"
    return cell
