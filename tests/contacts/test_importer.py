"""Importing real CSV, XLSX and XLS files under the three rules, with bad rows and progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.support.factories import make_account
from vumigo.contacts import service
from vumigo.contacts.columns import Column
from vumigo.contacts.groups import count_group_contacts, create_group
from vumigo.contacts.importer import import_contacts
from vumigo.db.engine import Database
from vumigo.db.models.contacts import Contact
from vumigo.errors import InvalidInput, NotFound

DATA = Path(__file__).parent / "data"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def everyone(db: Database, account: str) -> dict[str, Contact]:
    """The account's contacts by name."""
    async with db.sessions() as s:
        return {c.name or "": c for c in await service.list_contacts(s, account, limit=1000)}


@pytest.fixture
def csv_mixed(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        "people.csv",
        "Phone,Name,Surname,City\n"
        "0821234567,Thandi,Nkosi,CPT\n"
        "27821234568,Sipho,,JHB\n"
        '"+27 82 123 4569",Lerato,Mokoena,\n'
        "\n"  # blank lines are skipped
        "0027821234570,Bongani,Zulu,DBN\n",
    )


async def test_new_rule_csv(db: Database, account: str, csv_mixed: Path) -> None:
    async with db.transaction() as s:
        group = await create_group(s, account, "Imported")
    seen: list[tuple[int, int | None]] = []
    result = await import_contacts(
        db,
        account,
        csv_mixed,
        country="ZA",
        group_keys=[group.key],
        progress=lambda done, total: seen.append((done, total)),
        batch_size=2,
    )
    assert (result.rows, result.created, result.error_count, result.saved) == (4, 4, 0, True)
    people = await everyone(db, account)
    assert {name: c.msisdn for name, c in people.items()} == {
        "Thandi": "+27821234567",
        "Sipho": "+27821234568",
        "Lerato": "+27821234569",
        "Bongani": "+27821234570",
    }
    # Empty cells are skipped; the unknown "City" column lands in extra.
    assert people["Sipho"].surname is None and people["Sipho"].extra == {"city": "JHB"}
    assert people["Lerato"].extra == {}
    # Progress comes per batch, counting rows read, against the file's line count.
    assert seen[-1][0] == 4 and all(total == 5 for _, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    async with db.sessions() as s:
        assert await count_group_contacts(s, account, group.key) == 4
        assert await service.count_contacts(s, account, query="extras-city:CPT") == 1


async def test_new_rule_is_all_or_nothing(sqlite_db: Database, tmp_path: Path) -> None:
    account, _ = await make_account(sqlite_db)
    path = write(
        tmp_path,
        "bad.csv",
        "msisdn,name\n"
        "+27821234567,Ann\n"
        "not-a-number,Ben\n"
        "+27821234568,Cat,extra\n"
        "+27821234569\n"
        ",Dan\n"
        "+27821234570,Eve\n",
    )
    result = await import_contacts(sqlite_db, account, path, batch_size=1)
    assert not result.saved and result.created == 0 and result.rows == 6
    assert [(e.row, e.message) for e in result.errors] == [
        (3, "Invalid MSISDN: not-a-number"),
        (4, "Invalid row: too many fields."),
        (5, "Invalid row: not enough fields."),
        (6, "Missing Contact Number."),
    ]
    assert await everyone(sqlite_db, account) == {}


async def test_delimiters_and_explicit_mapping(sqlite_db: Database, tmp_path: Path) -> None:
    account, _ = await make_account(sqlite_db)
    # No header row: the mapping says what the columns are.
    pipes = write(tmp_path, "pipes.csv", "Ann|0821234567|gold\nBen|0821234568|silver\n")
    result = await import_contacts(
        sqlite_db,
        account,
        pipes,
        columns=[Column("name"), Column("msisdn", "msisdn_za"), Column("extras-tier")],
    )
    assert result.created == 2
    tabs = write(tmp_path, "tabs.csv", "Cat\t254712345678\tx\n")
    result = await import_contacts(
        sqlite_db, account, tabs, column_specs=["0=name", "1=msisdn:msisdn_int", "2=-"]
    )
    assert result.created == 1
    people = await everyone(sqlite_db, account)
    assert people["Ann"].extra == {"tier": "gold"} and people["Ann"].msisdn == "+27821234567"
    assert people["Cat"].msisdn == "+254712345678" and people["Cat"].extra == {}


async def test_xlsx_with_excel_numbers(db: Database, account: str, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [
        ["Name", "MSISDN", "Score", "Notes"],
        ["Ann", 821234567, 3.0, "first"],
        ["Ben", 27821234568.0, 4.5, None],
        ["Cat", "+27 82 123 4569", None, "third"],
        [None, None, None, None],  # an empty row in the middle of a sheet
        ["Dan", "082 123 4570", 7, None],
    ]:
        sheet.append(row)
    path = tmp_path / "people.xlsx"
    book.save(path)
    result = await import_contacts(db, account, path, country="ZA")
    assert (result.created, result.error_count) == (4, 0)
    people = await everyone(db, account)
    assert [people[n].msisdn for n in ("Ann", "Ben", "Cat", "Dan")] == [
        "+27821234567",
        "+27821234568",
        "+27821234569",
        "+27821234570",
    ]
    # Excel keeps numbers as floats; whole ones read as integers.
    assert people["Ann"].extra == {"score": "3", "notes": "first"}
    assert people["Ben"].extra == {"score": "4.5"}
    assert people["Dan"].extra == {"score": "7"}


async def test_xls_fixture(db: Database, tmp_path: Path) -> None:
    # The account's own number sets the country for national numbers.
    account, _ = await make_account(db, msisdn="+27820000000")
    result = await import_contacts(db, account, DATA / "contacts.xls", column_specs=["3=dob"])
    assert (result.created, result.error_count) == (4, 0)
    people = await everyone(db, account)
    assert {n: (c.msisdn, c.dob) for n, c in people.items()} == {
        "Thandi": ("+27821234567", "1990-05-17"),
        "Sipho": ("+27821234568", None),
        "Lerato": ("+27821234569", None),
        "Bongani": ("+27821234570", "2001-01-02"),
    }
    assert people["Thandi"].extra == {"city": "CPT", "age": "31"}
    assert people["Bongani"].extra == {"city": "DBN", "age": "22.5"}


async def _existing(db: Database, account: str) -> dict[str, str]:
    async with db.transaction() as s:
        ann = await service.create_contact(
            s,
            account,
            name="Ann",
            surname=None,
            msisdn="+27821234567",
            extra={"city": "CPT", "lang": "en"},
        )
        ben = await service.create_contact(s, account, name="Ben", msisdn="+27821234568")
    return {"ann": ann.key, "ben": ben.key}


def _update_file(tmp_path: Path, keys: dict[str, str]) -> Path:
    return write(
        tmp_path,
        "update.csv",
        "key,name,surname,msisdn,extras-city,extras-team\n"
        f"{keys['ann']},Annie,Lee,,JHB,red\n"
        f"{'f' * 32},Nobody,,,,\n"
        f"{keys['ben']},,Ngubane,0829999999,,blue\n",
    )


async def test_upload_is_truth(db: Database, account: str, tmp_path: Path) -> None:
    keys = await _existing(db, account)
    path = _update_file(tmp_path, keys)
    result = await import_contacts(db, account, path, rule="upload_is_truth", country="ZA")
    assert (result.updated, result.saved) == (2, True)
    assert [(e.row, e.message) for e in result.errors] == [
        (3, f"No contact with key '{'f' * 32}'.")
    ]
    people = await everyone(db, account)
    ann, ben = people["Annie"], people["Ben"]
    assert (ann.surname, ann.msisdn) == ("Lee", "+27821234567")  # empty cells change nothing
    assert ann.extra == {"city": "JHB", "lang": "en", "team": "red"}  # merged, upload wins
    assert (ben.surname, ben.msisdn, ben.extra) == ("Ngubane", "+27829999999", {"team": "blue"})
    async with db.sessions() as s:
        assert await service.count_contacts(s, account, query="extras-city:JHB") == 1
        assert await service.count_contacts(s, account, query="extras-city:CPT") == 0
        assert await service.count_contacts(s, account) == 2


async def test_existing_is_truth(db: Database, account: str, tmp_path: Path) -> None:
    keys = await _existing(db, account)
    path = _update_file(tmp_path, keys)
    result = await import_contacts(db, account, path, rule="existing_is_truth", country="ZA")
    assert (result.updated, result.error_count) == (2, 1)
    people = await everyone(db, account)
    ann, ben = people["Ann"], people["Ben"]
    assert ann.surname == "Lee"  # was empty, so filled
    assert ann.extra == {"city": "CPT", "lang": "en", "team": "red"}  # merged, existing wins
    assert (ben.surname, ben.msisdn) == ("Ngubane", "+27821234568")


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "message"),
    [
        ("people.txt", "msisdn\n+27821234567\n", {}, "No parser available for type txt"),
        ("people.csv", "name,city\nAnn,CPT\n", {}, "Please specify a Contact Number field."),
        (
            "people.csv",
            "msisdn,name\n+27821234567,Ann\n",
            {"rule": "upload_is_truth"},
            "Please specify a Contact Key field.",
        ),
        ("people.csv", "Ann,+27821234567\n", {}, "Please map the columns"),
        ("people.csv", "", {}, "The file has no rows."),
        ("people.csv", "msisdn\n1\n", {"rule": "newest"}, "Unknown import rule 'newest'"),
        ("people.csv", "msisdn\n1\n", {"column_specs": ["9=name"]}, "No column 9"),
        ("people.csv", "msisdn\n1\n", {"column_specs": ["0=msisdn:phone"]}, "Unknown normaliser"),
        (
            "people.csv",
            "msisdn,phone\n1,2\n",
            {},
            "More than one column is mapped to msisdn.",
        ),
        ("people.xlsx", "not a zip", {}, "Could not read the file as XLSX"),
        ("people.xls", "not an xls", {}, "Could not read the file as XLS"),
    ],
)
async def test_setup_errors(
    sqlite_db: Database,
    tmp_path: Path,
    name: str,
    text: str,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    account, _ = await make_account(sqlite_db)
    path = write(tmp_path, name, text)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        await import_contacts(sqlite_db, account, path, **kwargs)


async def test_unknown_account_or_group(sqlite_db: Database, csv_mixed: Path) -> None:
    with pytest.raises(NotFound, match="Account 'nope' not found"):
        await import_contacts(sqlite_db, "nope", csv_mixed)
    account, _ = await make_account(sqlite_db)
    with pytest.raises(NotFound, match="Group 'nope' not found"):
        await import_contacts(sqlite_db, account, csv_mixed, group_keys=["nope"])


async def test_windows_1252_csv(sqlite_db: Database, tmp_path: Path) -> None:
    account, _ = await make_account(sqlite_db)
    path = write(tmp_path, "legacy.csv", "msisdn,name\n+27821234567,José\n", "cp1252")
    result = await import_contacts(sqlite_db, account, path)
    assert result.created == 1
    assert "José" in await everyone(sqlite_db, account)
