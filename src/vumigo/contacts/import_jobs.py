"""Imports as stored jobs: an upload is checked and previewed, mapped by a person, then run.

A job moves uploaded → running → done (or failed). The upload step reads the file's header and
first rows (so a damaged or wrong file is refused at once) and guesses each column's field from
its header with the importer's own guesses; the person then confirms or changes each one. The
run itself is ``vumigo.contacts.import_runner``'s.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts.columns import Column, guess_column, resolve
from vumigo.contacts.fields import TEXT_FIELDS
from vumigo.contacts.importer import RULES
from vumigo.contacts.normalise import cell_text, check_region
from vumigo.contacts.parsers import extension_of, open_sheet
from vumigo.contacts.service import plausible_key
from vumigo.db.base import new_key, utcnow
from vumigo.db.engine import Database
from vumigo.db.models.contact_imports import ContactImport
from vumigo.errors import InvalidInput, NotFound

# A 100,000-row CSV of the usual columns is about 5 MB; spreadsheets are compressed.
MAX_UPLOAD = 20 * 1024 * 1024
PREVIEW_ROWS = 5
PREVIEW_CELL = 80
MAX_HEADER = 255
# The widest file the mapping step lays out; wider files are nearly always the wrong file.
MAX_COLUMNS = 100
# Uploads never mapped and started are dropped after this long.
ABANDONED_AFTER = timedelta(days=1)
NORMALISERS = ("string", "msisdn", "msisdn_int", "integer", "float")
_PHONE = re.compile(r"^\+?[\d ()-]{7,20}$")


@dataclass(frozen=True)
class Preview:
    header: list[str] | None
    rows: list[list[str]]
    width: int
    total: int | None
    guessed: list[Column]

    def as_json(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "rows": self.rows,
            "width": self.width,
            "total": self.total,
            "guessed": [[c.field, c.normaliser] for c in self.guessed],
        }


@contextmanager
def spooled(content: bytes, filename: str) -> Iterator[Path]:
    """The content as a temporary file named like the upload (the parsers go by extension)."""
    handle, name = tempfile.mkstemp(suffix="." + extension_of(filename), prefix="vumigo-import-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _shown(text: str) -> str:
    """Text fit to keep and show: no NUL (PostgreSQL refuses it in JSON), no lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _guess(header: str | None, samples: Sequence[str]) -> Column:
    if header is not None:
        return guess_column(header)
    # No header: a column whose values all look like phone numbers is the contact number.
    filled = [s for s in samples if s]
    if filled and all(_PHONE.match(s) for s in filled):
        return Column(field="msisdn", normaliser="msisdn")
    return Column()


def _names_fields(cells: Sequence[str]) -> bool:
    """Whether a row reads as column names: one of them names a contact field or an alias."""
    return any(guess_column(cell).field in (*TEXT_FIELDS, "key") for cell in cells)


def read_preview(content: bytes, filename: str) -> Preview:
    """The header, first rows and guessed mapping of an upload; InvalidInput if unreadable."""
    with spooled(content, filename) as path, open_sheet(path, filename) as sheet:
        rows: list[list[str]] = []
        for _number, cells in sheet.rows:
            rows.append([_shown(cell_text(c)[:PREVIEW_CELL]) for c in cells])
            if len(rows) > PREVIEW_ROWS:
                break
        header = [_shown(cell[:MAX_HEADER]) for cell in sheet.header] if sheet.header else None
        width = max([sheet.width, *(len(r) for r in rows)])
        total = sheet.total
    # The parser knows the original's header words; "Mobile" or "First name" name fields too.
    if header is None and rows and _names_fields(rows[0]):
        header = [cell[:MAX_HEADER] for cell in rows.pop(0)]
        total = total - 1 if total else total
    rows = rows[:PREVIEW_ROWS]
    if width > MAX_COLUMNS:
        raise InvalidInput(f"The file has {width} columns; at most {MAX_COLUMNS} can be mapped.")
    if width == 0:
        raise InvalidInput("The file has no columns.")
    guessed = []
    for index in range(width):
        title = header[index] if header is not None and index < len(header) else None
        samples = [row[index] if index < len(row) else "" for row in rows]
        guessed.append(_guess(title, samples))
    return Preview(header, rows, width, total, guessed)


async def create_upload(
    db: Database, account_key: str, filename: str, content: bytes
) -> ContactImport:
    """Checks and previews an uploaded file and keeps it for the mapping step."""
    filename = _shown(Path(filename.replace("\\", "/")).name.strip()[:255])
    extension_of(filename)  # "No parser available for type ..." before reading anything
    if not content:
        raise InvalidInput("The file is empty.")
    if len(content) > MAX_UPLOAD:
        raise InvalidInput(f"The file is too big (at most {MAX_UPLOAD // (1024 * 1024)} MB).")
    try:
        preview = await asyncio.to_thread(read_preview, content, filename)
    except InvalidInput:
        raise
    except Exception as exc:  # the spreadsheet libraries raise many types for hostile files
        raise InvalidInput(f"Could not read the file: {exc}") from None
    now = utcnow()
    job = ContactImport(
        key=new_key(),
        account_key=account_key,
        filename=filename,
        size=len(content),
        content=content,
        status="uploaded",
        preview=preview.as_json(),
        columns=[],
        has_header=preview.header is not None,
        rule="new",
        rows_total=preview.total,
        rows_done=0,
        created=0,
        updated=0,
        failed=0,
        saved=False,
        errors=[],
        created_at=now,
        updated_at=now,
    )
    async with db.transaction() as session:
        # Uploads nobody went on with would otherwise keep their files for ever.
        await session.execute(
            delete(ContactImport).where(
                ContactImport.account_key == account_key,
                ContactImport.status == "uploaded",
                ContactImport.created_at < now - ABANDONED_AFTER,
            )
        )
        session.add(job)
    return job


async def find_import(session: AsyncSession, account_key: str, key: str) -> ContactImport:
    job = await session.get(ContactImport, key) if plausible_key(key) else None
    if job is None or job.account_key != account_key:
        raise NotFound(f"Import '{key}' not found.")
    return job


async def recent_imports(
    session: AsyncSession, account_key: str, limit: int = 10
) -> list[ContactImport]:
    stmt = (
        select(ContactImport)
        .where(ContactImport.account_key == account_key)
        .order_by(ContactImport.created_at.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def content_of(session: AsyncSession, key: str) -> bytes:
    stmt = select(ContactImport.content).where(ContactImport.key == key)
    return (await session.execute(stmt)).scalar_one_or_none() or b""


@dataclass(frozen=True)
class Plan:
    """What the person chose on the mapping step, checked."""

    columns: list[Column]
    rule: str
    has_header: bool
    country: str | None


def check_plan(columns: Sequence[Column], rule: str, has_header: bool, country: str | None) -> Plan:
    """Refuses a mapping the importer would refuse, before anything runs in the background."""
    if rule not in RULES:
        raise InvalidInput(f"Unknown import rule {rule!r}; use one of: {', '.join(RULES)}")
    region = check_region(country) if country else None
    for column in columns:
        if column.normaliser not in NORMALISERS:
            raise InvalidInput(f"Unknown normaliser {column.normaliser!r}.")
    targets = resolve(columns, region)
    mapped = {t.name for t in targets if t.kind in ("text", "key")}
    if rule == "new" and "msisdn" not in mapped:
        raise InvalidInput("Please specify a Contact Number field.")
    if rule == "new" and "key" in mapped:
        raise InvalidInput("A key column is only for the update rules.")
    if rule != "new" and "key" not in mapped:
        raise InvalidInput("Please specify a Contact Key field.")
    return Plan(list(columns), rule, has_header, region)
