"""Exports to CSV and XLSX: every field, group keys, extras columns, and a round trip."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from vumigo.contacts import service
from vumigo.contacts.export import csv_chunks, write_csv, write_xlsx
from vumigo.contacts.groups import create_group
from vumigo.contacts.importer import import_contacts
from vumigo.db.engine import Database


async def _fill(db: Database, account: str, other_account: str) -> str:
    async with db.transaction() as s:
        group = await create_group(s, account, "VIP")
        await service.create_contact(
            s,
            account,
            name="Ann",
            msisdn="+27821234567",
            extra={"city": "CPT"},
            subscription={"news": "yes"},
            groups=[group.key],
        )
        await service.create_contact(s, account, name="=HYPERLINK(1)", msisdn="+27821234568")
        await service.create_contact(s, other_account, name="Not mine")
    return group.key


async def test_csv_export(db: Database, account: str, other_account: str) -> None:
    group_key = await _fill(db, account, other_account)
    out = io.BytesIO()
    async with db.sessions() as s:
        assert await write_csv(s, account, out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8"))))
    # A name that a spreadsheet would run as a formula is written as text.
    assert sorted(r["name"] for r in rows) == ["'=HYPERLINK(1)", "Ann"]
    ann = next(r for r in rows if r["name"] == "Ann")
    assert ann["msisdn"] == "+27821234567" and ann["groups"] == group_key
    assert (ann["extras-city"], ann["subscription-news"], ann["surname"]) == ("CPT", "yes", "")
    assert "Not mine" not in out.getvalue().decode()
    async with db.sessions() as s:
        chunks = [c async for c in csv_chunks(s, account, group_key=group_key)]
        only_group = b"".join(chunks).decode()
        assert "Ann" in only_group and "HYPERLINK" not in only_group
        by_query = b"".join([c async for c in csv_chunks(s, account, query="msisdn:*8")])
        assert b"HYPERLINK" in by_query and b"Ann" not in by_query


async def test_xlsx_export_is_text_only(
    db: Database, account: str, other_account: str, tmp_path: Path
) -> None:
    await _fill(db, account, other_account)
    path = tmp_path / "out.xlsx"
    async with db.sessions() as s:
        assert await write_xlsx(s, account, path) == 2
    sheet = openpyxl.load_workbook(path).active
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    names = {row[header.index("name")] for row in values[1:]}
    assert names == {"Ann", "=HYPERLINK(1)"}
    # A name that looks like a formula stays text.
    cell = next(c for row in sheet.iter_rows(min_row=2) for c in row if c.value == "=HYPERLINK(1)")
    assert cell.data_type == "s"


async def test_export_then_import_updates_round_trip(
    db: Database, account: str, other_account: str, tmp_path: Path
) -> None:
    await _fill(db, account, other_account)
    path = tmp_path / "contacts.csv"
    async with db.sessions() as s:
        with path.open("wb") as handle:
            await write_csv(s, account, handle)
    text = path.read_text().replace("CPT", "JHB")
    path.write_text(text)
    result = await import_contacts(db, account, path, rule="upload_is_truth")
    assert (result.updated, result.error_count) == (2, 0)
    async with db.sessions() as s:
        assert await service.count_contacts(s, account, query="extras-city:JHB") == 1
        assert await service.count_contacts(s, account) == 2
